//! The HTTP API (`/v1`). Handlers only parse, authenticate ([`auth`]), call one [`Storage`]
//! method and map errors to the one error shape `{code, message}`. Bad input never reaches
//! storage and never gets a 500: JSON, query and path rejections are mapped here. Every request
//! passes through [`limits`] first (a request slot, the request timeout); a 5xx answer carries
//! its code and a generic message naming the request id, never the cause, which goes to the log.
//!
//! Compression ([`till_protocol::encoding`]): a JSON body may come zstd or gzip, and is decoded
//! with the decoded size held to the same [`MAX_BODY_BYTES`]; every answer says
//! `Accept-Encoding: zstd, gzip;q=0.9` so a till knows what it may send; answers are compressed
//! in the coding the request weights highest.

mod auth;
mod limits;

pub use auth::AuthedTerminal;
pub use limits::Limits;

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use till_protocol::bundle::TerminalKey;
use till_protocol::encoding::{self, Coding, DecodeError};
use till_protocol::{
    Ack, ApiError, ChainHead, Health, PullQuery, PullResponse, PushRequest, PushResponse, WhoAmI,
    MAX_BODY_BYTES, MAX_PULL_LIMIT, MAX_PUSH_BATCH,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::decide::push::{self, Received};
use crate::decide::revision::{self, Revision};
use crate::decide::stamps::StampLimit;
use crate::storage::{Storage, StorageError};

/// Page size of a pull that names no limit.
pub const DEFAULT_PULL_LIMIT: u32 = 200;

/// Every route of the API, as (method, OpenAPI path). The OpenAPI test holds the document to it.
pub const ROUTES: [(&str, &str); 7] = [
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/whoami"),
    ("POST", "/v1/push"),
    ("GET", "/v1/pull"),
    ("GET", "/v1/terminals/{id}/ack"),
    ("PUT", "/v1/terminals/{id}/key"),
];

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub limits: Arc<Limits>,
}

/// A non-2xx answer: a status and the `{code, message}` body. For a 5xx, `message` is the cause
/// for the log; the client is told only the code and the request id.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (429, 503; a 503 says 1 unless told).
    pub retry_after_s: Option<u64>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        HttpError {
            retry_after_s: Some(seconds),
            ..self
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let message = if self.status.is_server_error() {
            public_message(&self)
        } else {
            self.message
        };
        let body = Json(ApiError {
            code: self.code.to_string(),
            message,
        });
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry_after = match self.status {
            StatusCode::SERVICE_UNAVAILABLE => Some(self.retry_after_s.unwrap_or(1)),
            _ => self.retry_after_s,
        };
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What a 5xx answer says: its code, a generic sentence and the request id. The cause (a
/// database's own text, a path, a query) is logged here with that id, never sent.
fn public_message(error: &HttpError) -> String {
    let request_id = limits::request_id();
    if error.status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(code = error.code, cause = %error.message, "request refused for now");
        format!("the back office is busy; try again later (request id {request_id})")
    } else {
        tracing::error!(code = error.code, cause = %error.message, "request failed");
        format!(
            "the back office could not complete the request; see its log (request id {request_id})"
        )
    }
}

impl From<StorageError> for HttpError {
    fn from(e: StorageError) -> Self {
        let status = match &e {
            StorageError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            StorageError::NotFound { .. } => StatusCode::NOT_FOUND,
            StorageError::Invalid(_) => StatusCode::BAD_REQUEST,
            StorageError::PinTaken | StorageError::JournalBreak(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError::new(status, e.code(), e.to_string())
    }
}

/// A JSON body, plain or compressed, whose rejections are mapped to `{code, message}`.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        let coding = Coding::named(
            req.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap_or("?")),
        );
        if coding == Coding::Identity && !plain_json(req.headers()) {
            return match Json::<T>::from_request(req, state).await {
                Ok(Json(value)) => Ok(ApiJson(value)),
                Err(rejection) => Err(json_rejection(rejection)),
            };
        }
        if coding != Coding::Identity && !json_type(req.headers()) {
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        // The compressed body is held to the body limit, and decoded to the same limit.
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| json_rejection(e.into()))?;
        let bytes = encoding::decode(&coding, bytes.into(), MAX_BODY_BYTES).map_err(undecodable)?;
        // The same steps as `Json`, with one parse without path tracking for a valid body (the
        // cost of a large push); an invalid one is parsed again by `Json` for its exact error.
        if let Ok(value) = serde_json::from_slice::<T>(&bytes) {
            return Ok(ApiJson(value));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A body that could not be decoded: too large once decoded (413), in a coding the back office
/// does not read (415), or not valid in its coding (400).
fn undecodable(e: DecodeError) -> HttpError {
    let (status, code) = match &e {
        DecodeError::TooLong { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        DecodeError::Unsupported(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            encoding::UNSUPPORTED_ENCODING,
        ),
        DecodeError::Corrupt { .. } => (StatusCode::BAD_REQUEST, "corrupt_body"),
    };
    HttpError::new(status, code, e.to_string())
}

/// A JSON content type (`application/json`, with parameters or not), as `Json` checks it.
fn json_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// `Content-Type: application/json` exactly, which `Json` accepts; anything else goes through
/// `Json`'s own check.
fn plain_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json")
}

fn json_rejection(rejection: JsonRejection) -> HttpError {
    let status = rejection.status();
    let code = match &rejection {
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::JsonDataError(_) => "invalid_body",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            "body_too_large"
        }
        JsonRejection::BytesRejection(_) => "unreadable_body",
        _ => "invalid_body",
    };
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    HttpError::new(status, code, rejection.body_text())
}

/// Query parameters whose rejections are mapped to `{code, message}`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> HttpError {
    HttpError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        rejection.body_text(),
    )
}

/// Path parameters whose rejections are mapped to `{code, message}`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> HttpError {
    HttpError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        rejection.body_text(),
    )
}

/// The protocol revision a request names in its `Till-Protocol` header.
impl<S: Send + Sync> FromRequestParts<S> for Revision {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let named = parts
            .headers
            .get(till_protocol::PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok());
        Ok(Revision::named(named))
    }
}

fn wrong_terminal(token_terminal: Uuid, asked: Uuid) -> HttpError {
    HttpError::new(
        StatusCode::FORBIDDEN,
        "wrong_terminal",
        format!("the token belongs to terminal {token_terminal}, not {asked}"),
    )
}

/// Is the server up? Needs no token.
#[utoipa::path(get, path = "/v1/health", tag = "operations",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        server_time_ms: now_ms(),
    })
}

/// This OpenAPI document, generated from the Rust types.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response(),
    }
}

/// Which terminal the token belongs to.
#[utoipa::path(get, path = "/v1/whoami", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's terminal", body = WhoAmI),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
    ))]
pub async fn whoami(AuthedTerminal(terminal): AuthedTerminal) -> Json<WhoAmI> {
    Json(WhoAmI {
        terminal_id: terminal.id,
        name: terminal.name,
        last_applied_seq: terminal.last_seq,
        server_time_ms: now_ms(),
    })
}

/// A [`PushRequest`] as it arrived: each mutation parsed and kept as the bytes received, which
/// its payload hash is taken over.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedPush {
    terminal_id: Uuid,
    mutations: Vec<Received>,
    /// [`PushRequest::withdraw`].
    #[serde(default)]
    withdraw: Vec<Uuid>,
    /// [`PushRequest::head`].
    #[serde(default)]
    head: Option<ChainHead>,
}

/// Delivers a batch of the terminal's mutations, settled in one transaction, with one result
/// per mutation in the order sent. Safe to retry at any time.
#[utoipa::path(post, path = "/v1/push", tag = "sync", security(("bearer" = [])),
    request_body = PushRequest,
    params(("Till-Protocol" = Option<u32>, Header, description = "The protocol revision the terminal speaks; 1 when absent")),
    responses(
        (status = 200, description = "Per-mutation results", body = PushResponse),
        (status = 400, description = "Malformed request, or a compressed body that is not valid in its coding (`corrupt_body`)", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "The token belongs to another terminal", body = ApiError),
        (status = 409, description = "The push breaks the terminal's push chain (`journal_break`): nothing of it was recorded", body = ApiError),
        (status = 413, description = "Body (once decompressed) or batch too large", body = ApiError),
        (status = 415, description = "Not JSON, or a `Content-Encoding` other than zstd or gzip (`unsupported_encoding`)", body = ApiError),
        (status = 422, description = "JSON of the wrong shape", body = ApiError),
        (status = 503, description = "Busy; retry after the Retry-After delay", body = ApiError),
    ))]
pub async fn push(
    State(state): State<AppState>,
    AuthedTerminal(terminal): AuthedTerminal,
    revision: Revision,
    ApiJson(request): ApiJson<ReceivedPush>,
) -> Result<Json<PushResponse>, HttpError> {
    if request.terminal_id != terminal.id {
        return Err(wrong_terminal(terminal.id, request.terminal_id));
    }
    if request.mutations.len() > MAX_PUSH_BATCH {
        return Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "a push carries at most {MAX_PUSH_BATCH} mutations, this one has {}",
                request.mutations.len()
            ),
        ));
    }
    if let Some(m) = push::seq_out_of_range(&request.mutations) {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_seq",
            format!(
                "mutation {} has sequence {}, which is out of range",
                m.id, m.seq
            ),
        ));
    }
    let count = request.mutations.len();
    let skew = i64::try_from(state.limits.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    let stamps = StampLimit::ahead_of(now_ms(), skew);
    let outcome = state
        .storage
        .push(
            terminal.id,
            request.mutations,
            request.withdraw,
            request.head,
            stamps,
        )
        .await?;
    tracing::info!(
        mutations = count,
        last_applied_seq = outcome.last_applied_seq,
        "push settled"
    );
    Ok(Json(PushResponse {
        results: revision::results(outcome.results, revision),
        last_applied_seq: outcome.last_applied_seq,
        server_time_ms: now_ms(),
        head: outcome.head.filter(|_| revision.reads_chain_head()),
    }))
}

/// Catalog, settings and customer changes after a cursor, oldest first, with tombstones.
#[utoipa::path(get, path = "/v1/pull", tag = "sync", security(("bearer" = [])),
    params(
        ("cursor" = Option<u64>, Query, description = "A cursor from an earlier page; 0 or absent for everything"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000"),
        ("Till-Protocol" = Option<u32>, Header, description = "The protocol revision the terminal speaks; 1 when absent"),
    ),
    responses(
        (status = 200, description = "One page of changes", body = PullResponse),
        (status = 400, description = "Bad cursor or limit", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
    ))]
pub async fn pull(
    State(state): State<AppState>,
    AuthedTerminal(terminal): AuthedTerminal,
    revision: Revision,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>, HttpError> {
    let limit = query.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    if limit == 0 || limit > MAX_PULL_LIMIT {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PULL_LIMIT}, not {limit}"),
        ));
    }
    let cursor = query.cursor.unwrap_or(0);
    if cursor > i64::MAX as u64 {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            format!("cursor {cursor} was never issued by this server"),
        ));
    }
    // A till upgraded from an older revision passed the employee changes before its cursor.
    if revision.reads_employees() && !state.storage.employees_sent(terminal.id).await? {
        state
            .storage
            .send_employees_again(terminal.id, cursor)
            .await?;
    }
    let page = state
        .storage
        .pull(cursor, limit, revision.reads_employees())
        .await?;
    Ok(Json(PullResponse {
        changes: revision::changes(page.changes, revision),
        cursor: page.cursor,
        has_more: page.has_more,
        server_time_ms: now_ms(),
    }))
}

/// The last sequence settled for this terminal: "did my mutation arrive?"; from revision 7, also
/// how many of its mutations are settled, which a till checks at the end of a drain.
#[utoipa::path(get, path = "/v1/terminals/{id}/ack", tag = "sync", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The terminal's id; must be the token's own"),
        ("Till-Protocol" = Option<u32>, Header, description = "The protocol revision the terminal speaks; 1 when absent"),
    ),
    responses(
        (status = 200, description = "The last settled sequence", body = Ack),
        (status = 400, description = "Not a terminal id", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Another terminal's id", body = ApiError),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    AuthedTerminal(terminal): AuthedTerminal,
    revision: Revision,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Ack>, HttpError> {
    if id != terminal.id {
        return Err(wrong_terminal(terminal.id, id));
    }
    let settled = if revision.reads_ack_counts() {
        Some(state.storage.settled_mutations(terminal.id).await?)
    } else {
        None
    };
    Ok(Json(Ack {
        terminal_id: terminal.id,
        last_applied_seq: terminal.last_seq,
        settled,
    }))
}

/// Registers the terminal's Ed25519 public key, which the back office checks the terminal's
/// queue bundles with (`till-server import-queue`). Registering again replaces it.
#[utoipa::path(put, path = "/v1/terminals/{id}/key", tag = "sync", security(("bearer" = [])),
    request_body = TerminalKey,
    params(("id" = Uuid, Path, description = "The terminal's id; must be the token's own")),
    responses(
        (status = 200, description = "The key as registered", body = TerminalKey),
        (status = 400, description = "Not a terminal id, or not a 32-byte key in hex", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Another terminal's id", body = ApiError),
        (status = 422, description = "JSON of the wrong shape", body = ApiError),
    ))]
pub async fn register_key(
    State(state): State<AppState>,
    AuthedTerminal(terminal): AuthedTerminal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(key): ApiJson<TerminalKey>,
) -> Result<Json<TerminalKey>, HttpError> {
    if id != terminal.id {
        return Err(wrong_terminal(terminal.id, id));
    }
    let bytes = key.bytes().ok_or_else(|| {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            "public_key must be a 32-byte Ed25519 public key in hex (64 digits)",
        )
    })?;
    let registered = TerminalKey {
        public_key: hex::encode(bytes),
    };
    state
        .storage
        .set_terminal_key(terminal.id, &registered.public_key)
        .await?;
    tracing::info!("terminal key registered");
    Ok(Json(registered))
}

async fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not answer that method",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    HttpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "a request handler panicked",
    )
    .into_response()
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Till back office", description = "Exactly-once push, delta pull and terminal auth for Till terminals."),
    paths(health, openapi_json, whoami, push, pull, ack, register_key),
    modifiers(&BearerAuth),
    tags(
        (name = "sync", description = "What terminals call, with their bearer token"),
        (name = "operations", description = "Health and documentation, no token"),
    )
)]
pub struct ApiDoc;

/// The whole application: routes, body limit, compression, request ids, tracing, panic safety,
/// and the request slots and timeout of [`limits`].
pub fn router(state: AppState) -> Router {
    let guard = axum::middleware::from_fn_with_state(state.clone(), limits::guard);
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/whoami", get(whoami))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/terminals/{id}/ack", get(ack))
        .route("/v1/terminals/{id}/key", put(register_key))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(CompressionLayer::new())
        // RFC 7694: the request bodies this server reads compressed.
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(encoding::ACCEPTED),
        ))
        .layer(guard)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        terminal = tracing::field::Empty,
                    )
                }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
