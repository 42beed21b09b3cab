//! The network, behind a trait so the state machine can be driven in tests without I/O, and the
//! one place where HTTP failures are classified.
//!
//! The real transport guards what a back office could do to a till: the token goes only to the
//! origin it was given for ([`Credential`]), redirects are not followed, every request has a
//! connect and a total timeout, and every answer is read with a size cap, so a rogue server can
//! neither learn the token, nor hold a sync forever, nor exhaust the till's memory. The cap holds
//! for the decoded answer: answers are asked for zstd or gzip, and a small one that inflates
//! without end stops at the cap. Push bodies go in the coding the back office says it reads
//! ([`till_protocol::encoding`]); every request is tallied ([`wire`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};
use serde::de::DeserializeOwned;
use till_protocol::bundle::TerminalKey;
use till_protocol::encoding::{self, Codec, Coding};
use till_protocol::{Ack, ApiError, Health, PullResponse, PushResponse, WhoAmI};
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::ErrorCode;

use super::tls;
use super::trust::{self, ServerTrust};
use super::wire::{self, Exchange, Meter, WireTally};

/// A boxed future, so `Transport` can be used as `Arc<dyn Transport>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the engine talks to the back office.
pub trait Transport: Send + Sync + 'static {
    /// `POST /v1/push` with `body`, the JSON bytes of a `PushRequest` (built from the outbox's
    /// stored payloads so a resend is byte-identical).
    fn push(&self, body: Vec<u8>) -> BoxFuture<'_, Result<PushResponse, TransportError>>;
    /// `GET /v1/pull?cursor=…&limit=…`.
    fn pull(&self, cursor: u64, limit: u32) -> BoxFuture<'_, Result<PullResponse, TransportError>>;
    /// `GET /v1/terminals/{id}/ack`.
    fn ack(&self, terminal_id: Uuid) -> BoxFuture<'_, Result<Ack, TransportError>>;
    /// `GET /v1/health` (no token).
    fn health(&self) -> BoxFuture<'_, Result<Health, TransportError>>;
    /// `GET /v1/whoami`.
    fn whoami(&self) -> BoxFuture<'_, Result<WhoAmI, TransportError>>;
    /// `PUT /v1/terminals/{id}/key`: registers the terminal's public key.
    fn register_key(
        &self,
        terminal_id: Uuid,
        key: TerminalKey,
    ) -> BoxFuture<'_, Result<TerminalKey, TransportError>>;
    /// What the requests since the last call cost on the wire. Required, so that a transport
    /// wrapping another cannot drop the inner one's tally by forgetting it.
    fn take_tally(&self) -> WireTally;
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later with back-off.
    Transient,
    /// Stop until the token is fixed.
    Auth,
    /// The request as sent will never succeed.
    Permanent,
}

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No connection could be made: the request was certainly not processed.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The request may have been sent but no (complete) answer came: timeout, reset, cut short.
    #[error("no answer from the server: {0}")]
    NoAnswer(String),
    /// 5xx, with the server's own code (`database_error`, `busy`, …).
    #[error("server error {status} ({code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// 429.
    #[error("the server asks to slow down")]
    RateLimited { retry_after: Option<Duration> },
    /// 401 or 403.
    #[error("the server refused this terminal's token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// Any other 4xx: the request as sent will never be accepted.
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// A 2xx whose body is not what the protocol says. Logged; nothing is dropped.
    #[error("malformed answer from the server: {0}")]
    Malformed(String),
    /// The client could not be built (bad URL, TLS set-up).
    #[error("bad server address: {0}")]
    Config(String),
    /// Plain http to another machine, not allowed for this back office. Nothing was sent.
    #[error("{0}")]
    Cleartext(String),
    /// The back office's certificate is not the pinned one. Nothing was sent.
    #[error("{0}")]
    PinMismatch(String),
    /// The back office's certificate is not trusted (no trusted CA issued it, or it names another
    /// host, or it is out of date). Nothing was sent.
    #[error("{0}")]
    Untrusted(String),
    /// A request would have carried the token to another origin than the one it was given for.
    /// Nothing was sent.
    #[error("{0}")]
    TokenOrigin(String),
}

impl TransportError {
    pub fn code(&self) -> ErrorCode {
        match self {
            TransportError::Unreachable(_) => ErrorCode::ServerUnreachable,
            TransportError::NoAnswer(_) => ErrorCode::NoAnswer,
            TransportError::Server { .. } => ErrorCode::ServerError,
            TransportError::RateLimited { .. } => ErrorCode::RateLimited,
            TransportError::Unauthorized { .. } => ErrorCode::Unauthorized,
            TransportError::Refused { .. } => ErrorCode::RequestRefused,
            TransportError::Malformed(_) => ErrorCode::MalformedResponse,
            TransportError::Config(_) => ErrorCode::BadServerUrl,
            TransportError::Cleartext(_) => ErrorCode::CleartextRefused,
            TransportError::PinMismatch(_) => ErrorCode::CertificatePinMismatch,
            TransportError::Untrusted(_) => ErrorCode::UntrustedCertificate,
            TransportError::TokenOrigin(_) => ErrorCode::TokenOriginMismatch,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            TransportError::Unreachable(_)
            | TransportError::NoAnswer(_)
            | TransportError::Server { .. }
            | TransportError::RateLimited { .. }
            | TransportError::Malformed(_) => ErrorClass::Transient,
            // The token cannot be used with this address: nothing is sent until the till is
            // enrolled again.
            TransportError::Unauthorized { .. } | TransportError::TokenOrigin(_) => {
                ErrorClass::Auth
            }
            // A certificate refused may be a hostile network for a while: tried again later.
            TransportError::Refused { .. }
            | TransportError::Config(_)
            | TransportError::Cleartext(_)
            | TransportError::PinMismatch(_)
            | TransportError::Untrusted(_) => ErrorClass::Permanent,
        }
    }

    /// The back office's refusal of this till's push chain (409 `journal_break`), in words
    /// for the status, when that is what this is.
    pub fn journal_break(&self) -> Option<String> {
        match self {
            TransportError::Refused {
                status: 409,
                code,
                message,
            } if code == till_protocol::chain::JOURNAL_BREAK => Some(format!(
                "the back office refused this till's push chain: {message}"
            )),
            _ => None,
        }
    }

    /// Whether the server may have processed the request although we have no answer: the next
    /// attempt asks the ack endpoint before resending.
    pub fn ambiguous(&self) -> bool {
        matches!(
            self,
            TransportError::NoAnswer(_)
                | TransportError::Malformed(_)
                | TransportError::Server { .. }
        )
    }

    /// Whether the server could not be reached at all (the engine then goes offline and probes).
    pub fn unreachable(&self) -> bool {
        matches!(self, TransportError::Unreachable(_))
    }

    /// Whether the batch itself may be what fails: a server error other than `busy` (503). The
    /// back office answers a request it fails on, its own panics included, with a 500; a
    /// request that got no answer says nothing about its items, since a shop's link drops far
    /// more often than an item could stop a back office, and an innocent sale must never be
    /// withdrawn for a bad connection. Nor does the server being away, overloaded or refusing
    /// the request.
    pub fn may_be_the_batch(&self) -> bool {
        matches!(self, TransportError::Server { status, .. } if *status != 503)
    }

    /// The code and message a person reads: the server's own for a server error.
    pub fn reason(&self) -> (String, String) {
        match self {
            TransportError::Server { code, message, .. } => (code.clone(), message.clone()),
            other => (other.code().as_str().to_string(), other.to_string()),
        }
    }

    /// How long the server asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::Server { retry_after, .. }
            | TransportError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Timeouts of the HTTP client: every request has both.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// A whole request, answer included. A push of a full batch must fit in it.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// The largest answer to a pull the till reads: a full page of changes with room to spare.
pub const MAX_PULL_ANSWER: usize = 16 * 1024 * 1024;
/// The largest answer to a push the till reads: as large as the largest request the back office
/// reads, so a batch's results always fit.
pub const MAX_PUSH_ANSWER: usize = till_protocol::MAX_BODY_BYTES;
/// The largest of the other answers (health, whoami, ack) and of any error's body.
pub const MAX_SMALL_ANSWER: usize = 64 * 1024;

/// A terminal's bearer token and the one origin (scheme, host, port) it was given for: it is
/// attached to requests to that origin and to no other.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    token: String,
    origin: String,
}

impl Credential {
    /// `token`, given for the origin `origin` (as [`trust::origin`] writes it).
    pub fn new(token: &str, origin: &str) -> Self {
        Credential {
            token: token.to_string(),
            origin: origin.to_string(),
        }
    }

    /// `token`, given for the origin of `url`.
    pub fn for_address(token: &str, url: &str) -> Result<Self, TransportError> {
        Ok(Credential::new(token, &trust::origin(&trust::parse(url)?)))
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Adds the token to `request`, or refuses when it goes to another origin.
    fn authorize(&self, request: &mut reqwest::Request) -> Result<(), TransportError> {
        let to = trust::origin(request.url());
        if to != self.origin {
            return Err(TransportError::TokenOrigin(format!(
                "this till's token was given for {} and is never sent to {to}: enrol the till \
                 with that back office to sync with it",
                self.origin
            )));
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token)).map_err(|_| {
            TransportError::Config("the token holds characters a header cannot".into())
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

impl fmt::Debug for Credential {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The headers the client adds to every request on its own (`user-agent`, `accept`), in bytes.
const CLIENT_HEADER_BYTES: u64 = ("user-agent: till/\r\n".len()
    + env!("CARGO_PKG_VERSION").len()
    + "accept: */*\r\n".len()) as u64;

/// The coding the back office reads request bodies in, as far as this transport has heard.
#[derive(Debug, Default)]
struct PackedBodies(AtomicU8);

impl PackedBodies {
    /// No answer heard yet.
    const UNKNOWN: u8 = 0;
    /// Answers named no coding Till has: plain bodies.
    const PLAIN: u8 = 1;
    /// A compressed body was refused: plain bodies for good.
    const REFUSED: u8 = 2;
    const ZSTD: u8 = 3;
    const GZIP: u8 = 4;

    /// The codec to send a body in: the one the back office's answers prefer, or gzip (which
    /// every back office since compression reads) before any answer came; none once answers
    /// named none, or a compressed body was refused.
    fn codec(&self) -> Option<Codec> {
        match self.0.load(Ordering::Relaxed) {
            Self::UNKNOWN | Self::GZIP => Some(Codec::Gzip),
            Self::ZSTD => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Whether an answer said which coding the back office reads.
    fn heard(&self) -> bool {
        matches!(self.0.load(Ordering::Relaxed), Self::ZSTD | Self::GZIP)
    }

    /// An answer's `Accept-Encoding` (RFC 7694) names the codings request bodies may be in,
    /// unless the back office already refused one; the first answer naming none means plain.
    fn learn(&self, headers: &HeaderMap) {
        let named = headers
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .and_then(encoding::preferred);
        let update = |state: u8| match (state, named) {
            (Self::REFUSED, _) => None,
            (_, Some(Codec::Zstd)) => Some(Self::ZSTD),
            (_, Some(Codec::Gzip)) => Some(Self::GZIP),
            (Self::UNKNOWN, None) => Some(Self::PLAIN),
            (_, None) => None,
        };
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, update);
    }

    /// A compressed body was refused: plain bodies from now on, whatever answers say.
    fn refused(&self) {
        self.0.store(Self::REFUSED, Ordering::Relaxed);
    }
}

/// The real transport: reqwest with rustls. Clones share what they learnt about the back office
/// and their tally.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    credential: Option<Credential>,
    packed: Arc<PackedBodies>,
    meter: Arc<Meter>,
}

impl HttpTransport {
    /// A client for the back office at `base_url` (`https://host:port`, no path), trusted as
    /// `trust` says, sending `credential`'s token (when there is one) to its own origin only.
    /// Plain http to another machine is refused unless `trust` allows it.
    pub fn connect(
        base_url: &str,
        credential: Option<Credential>,
        trust: &ServerTrust,
        timeouts: Timeouts,
    ) -> Result<Self, TransportError> {
        let parsed = trust::parse(base_url)?;
        trust::refuse_cleartext(&parsed, trust)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            // A redirect could lead anywhere; the back office never answers one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("till/", env!("CARGO_PKG_VERSION")));
        if trust::is_loopback(&parsed) {
            // A proxy would reach its own loopback, not this machine's.
            builder = builder.no_proxy();
        }
        let client = tls::configure(builder, trust)?
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        Ok(HttpTransport {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            credential,
            packed: Arc::default(),
            meter: Arc::default(),
        })
    }

    /// A client for the back office at `base_url` with `token`, given for that address, and the
    /// usual roots.
    pub fn new(base_url: &str, token: &str, timeouts: Timeouts) -> Result<Self, TransportError> {
        let credential = Credential::for_address(token, base_url)?;
        Self::connect(
            base_url,
            Some(credential),
            &ServerTrust::default(),
            timeouts,
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.base, till_protocol::API_PREFIX)
    }

    /// Sends `request` (with the token when `with_token`) and reads an answer of at most `cap`
    /// bytes once decoded, tallying what it cost on the wire.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        with_token: bool,
        cap: usize,
    ) -> Result<T, TransportError> {
        let mut request = request
            .header(
                till_protocol::PROTOCOL_HEADER,
                till_protocol::PROTOCOL_REVISION.to_string(),
            )
            .header(ACCEPT_ENCODING, encoding::ACCEPTED)
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        if let Some(credential) = self.credential.as_ref().filter(|_| with_token) {
            credential.authorize(&mut request)?;
        }
        let body_len = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map_or(0, |b| b.len() as u64);
        let sent = wire::request_head_bytes(&request, body_len) + CLIENT_HEADER_BYTES + body_len;
        let started = Instant::now();
        let response = self
            .client
            .execute(request)
            .await
            .map_err(classify_send_error)?;
        self.packed.learn(response.headers());
        let status = response.status().as_u16();
        let head = wire::answer_head_bytes(response.status(), response.headers());
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let coding = Coding::named(
            response
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let success = (200..300).contains(&status);
        // An error's body only explains it: read up to a small cap.
        let cap = if success { cap } else { MAX_SMALL_ANSWER };
        let raw = read_capped(response, cap).await;
        self.meter.record(Exchange {
            sent,
            received: head + raw.as_ref().map_or(0, |b| b.len() as u64),
            latency: started.elapsed(),
        });
        let body = raw.and_then(|raw| {
            encoding::decode(&coding, raw, cap)
                .map_err(|e| TransportError::Malformed(e.to_string()))
        });
        if success {
            let bytes = body?;
            return serde_json::from_slice(&bytes).map_err(|e| {
                tracing::warn!(error = %e, bytes = bytes.len(), "malformed answer from the server");
                TransportError::Malformed(e.to_string())
            });
        }
        // One too long or undecodable is left unread; the status still counts.
        let bytes = match body {
            Err(TransportError::Malformed(_)) => Vec::new(),
            other => other?,
        };
        let body: Option<ApiError> = serde_json::from_slice(&bytes).ok();
        let (code, message) = match body {
            Some(e) => (e.code, e.message),
            None => (
                format!("http_{status}"),
                String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            ),
        };
        Err(match status {
            401 | 403 => TransportError::Unauthorized { status, message },
            429 => TransportError::RateLimited { retry_after },
            500..=599 => TransportError::Server {
                status,
                code,
                message,
                retry_after,
            },
            // 408 is the server giving up waiting for us: worth another try.
            408 => TransportError::NoAnswer(message),
            _ => TransportError::Refused {
                status,
                code,
                message,
            },
        })
    }
}

/// The body of `response`, refused as `Malformed` once it is longer than `cap` bytes: what the
/// server claims is never allocated, and a body that never ends stops being read at the cap.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, TransportError> {
    let too_long = || {
        TransportError::Malformed(format!(
            "the answer is longer than the {cap} bytes a till reads"
        ))
    };
    let claimed = response.content_length().unwrap_or(0);
    if claimed > u64::try_from(cap).unwrap_or(u64::MAX) {
        return Err(too_long());
    }
    let mut body = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0).min(MAX_SMALL_ANSWER));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TransportError::NoAnswer(format!("reading the answer: {}", chain(&e))))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify_send_error(e: reqwest::Error) -> TransportError {
    if let Some(refused) = tls::certificate_refused(&e) {
        refused
    } else if e.is_connect() {
        TransportError::Unreachable(e.to_string())
    } else if e.is_builder() {
        TransportError::Config(e.to_string())
    } else {
        // Timeouts, resets and closed connections after the request may have gone out.
        TransportError::NoAnswer(chain(&e))
    }
}

/// `e` and every error beneath it, on one line.
fn chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

impl Transport for HttpTransport {
    /// Compressed in the coding the back office's answers prefer (gzip before any came), plain
    /// once they named none. A refusal of the compressed body (415 `unsupported_encoding`, or
    /// the 400 `malformed_json` of a back office from before compression, which stored nothing)
    /// sends the same body plain at once, and every later one too. Trying first costs an older
    /// back office one refused request; asking first would cost every sync one.
    fn push(&self, body: Vec<u8>) -> BoxFuture<'_, Result<PushResponse, TransportError>> {
        Box::pin(async move {
            let post = || {
                self.client
                    .post(self.url("/push"))
                    .header(CONTENT_TYPE, "application/json")
            };
            if let Some((codec, packed)) = self
                .packed
                .codec()
                .and_then(|codec| Some((codec, codec.encode(&body).ok()?)))
            {
                let packed = post().header(CONTENT_ENCODING, codec.name()).body(packed);
                match self.send(packed, true, MAX_PUSH_ANSWER).await {
                    Err(TransportError::Refused { status, code, .. })
                        if (status == 415 && code == encoding::UNSUPPORTED_ENCODING)
                            || (status == 400
                                && code == "malformed_json"
                                && !self.packed.heard()) =>
                    {
                        tracing::info!(
                            coding = codec.name(),
                            "the back office refused a compressed body; pushing plain JSON"
                        );
                        self.packed.refused();
                    }
                    answered => return answered,
                }
            }
            self.send(post().body(body), true, MAX_PUSH_ANSWER).await
        })
    }

    fn pull(&self, cursor: u64, limit: u32) -> BoxFuture<'_, Result<PullResponse, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .get(self.url("/pull"))
                .query(&[("cursor", cursor.to_string()), ("limit", limit.to_string())]);
            self.send(request, true, MAX_PULL_ANSWER).await
        })
    }

    fn ack(&self, terminal_id: Uuid) -> BoxFuture<'_, Result<Ack, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .get(self.url(&format!("/terminals/{terminal_id}/ack")));
            self.send(request, true, MAX_SMALL_ANSWER).await
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<Health, TransportError>> {
        Box::pin(async move {
            let request = self.client.get(self.url("/health"));
            self.send(request, false, MAX_SMALL_ANSWER).await
        })
    }

    fn whoami(&self) -> BoxFuture<'_, Result<WhoAmI, TransportError>> {
        Box::pin(async move {
            let request = self.client.get(self.url("/whoami"));
            self.send(request, true, MAX_SMALL_ANSWER).await
        })
    }

    fn register_key(
        &self,
        terminal_id: Uuid,
        key: TerminalKey,
    ) -> BoxFuture<'_, Result<TerminalKey, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .put(self.url(&format!("/terminals/{terminal_id}/key")))
                .json(&key);
            self.send(request, true, MAX_SMALL_ANSWER).await
        })
    }

    fn take_tally(&self) -> WireTally {
        self.meter.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_409_journal_break_is_a_refused_push_chain() {
        let refused = |status: u16, code: &str| TransportError::Refused {
            status,
            code: code.into(),
            message: "the push chain breaks at sequence 12".into(),
        };
        let why = refused(409, "journal_break").journal_break();
        assert!(
            why.is_some_and(|w| w.contains("sequence 12")),
            "a stop, with the back office's words"
        );
        assert_eq!(refused(409, "pin_taken").journal_break(), None);
        assert_eq!(refused(400, "journal_break").journal_break(), None);
        assert_eq!(
            TransportError::NoAnswer("reset".into()).journal_break(),
            None
        );
    }

    #[test]
    fn failures_are_classified_by_what_to_do_next() {
        let auth = TransportError::Unauthorized {
            status: 401,
            message: "bad token".into(),
        };
        assert_eq!(auth.class(), ErrorClass::Auth, "401 stops sync until fixed");
        let busy = TransportError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(busy.class(), ErrorClass::Transient);
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(3)));
        let refused = TransportError::Refused {
            status: 400,
            code: "invalid_json".into(),
            message: "x".into(),
        };
        assert_eq!(refused.class(), ErrorClass::Permanent);
        assert!(
            TransportError::NoAnswer("reset".into()).ambiguous(),
            "may have committed"
        );
        assert!(TransportError::Malformed("eof".into()).ambiguous());
        assert!(!TransportError::Unreachable("refused".into()).ambiguous());
        assert_eq!(
            TransportError::TokenOrigin("elsewhere".into()).class(),
            ErrorClass::Auth,
            "a token that cannot go to this address stops sync until the till is enrolled again"
        );
        let pin = TransportError::PinMismatch("renewed".into());
        assert!(!pin.ambiguous() && !pin.unreachable(), "nothing was sent");
    }

    #[test]
    fn only_a_server_error_may_be_the_batchs_fault() {
        let server = |status| TransportError::Server {
            status,
            code: "database_error".into(),
            message: "see the log".into(),
            retry_after: None,
        };
        assert!(server(500).may_be_the_batch());
        assert!(
            !TransportError::NoAnswer("connection closed before message completed".into())
                .may_be_the_batch(),
            "a dropped connection is the link's, and never withdraws a sale"
        );
        assert!(
            !server(503).may_be_the_batch(),
            "busy is the server's state"
        );
        assert!(!TransportError::Unreachable("refused".into()).may_be_the_batch());
        assert!(!TransportError::RateLimited { retry_after: None }.may_be_the_batch());
        assert_eq!(
            server(500).reason(),
            ("database_error".into(), "see the log".into()),
            "the server's own code and message"
        );
    }

    #[test]
    fn a_bad_url_is_refused_up_front() {
        let err = HttpTransport::new("ftp://x", "t", Timeouts::default())
            .expect_err("only http and https");
        assert_eq!(err.code(), "bad_server_url");
    }
}
