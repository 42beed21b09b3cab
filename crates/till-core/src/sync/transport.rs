//! The network, behind a trait so the state machine can be driven in tests without I/O, and the
//! one place where HTTP failures are classified.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;
use till_protocol::{Ack, ApiError, Health, PullResponse, PushResponse, WhoAmI};
use uuid::Uuid;

use crate::error::ErrorCode;

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
    /// 5xx.
    #[error("server error {status}: {message}")]
    Server {
        status: u16,
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
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            TransportError::Unreachable(_)
            | TransportError::NoAnswer(_)
            | TransportError::Server { .. }
            | TransportError::RateLimited { .. }
            | TransportError::Malformed(_) => ErrorClass::Transient,
            TransportError::Unauthorized { .. } => ErrorClass::Auth,
            TransportError::Refused { .. } | TransportError::Config(_) => ErrorClass::Permanent,
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

    /// How long the server asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::Server { retry_after, .. }
            | TransportError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Timeouts of the HTTP client.
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

/// The real transport: reqwest with rustls.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl HttpTransport {
    /// A client for the server at `base_url` (`http://host:port`, no path) with `token`.
    pub fn new(base_url: &str, token: &str, timeouts: Timeouts) -> Result<Self, TransportError> {
        let base = base_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| TransportError::Config(format!("{base_url}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TransportError::Config(format!(
                "{base_url}: the scheme must be http or https"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("till/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        Ok(HttpTransport {
            client,
            base,
            token: token.to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.base, till_protocol::API_PREFIX)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, TransportError> {
        let response = request
            .bearer_auth(&self.token)
            .header(
                till_protocol::PROTOCOL_HEADER,
                till_protocol::PROTOCOL_REVISION.to_string(),
            )
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TransportError::NoAnswer(format!("reading the answer: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| {
                tracing::warn!(error = %e, bytes = bytes.len(), "malformed answer from the server");
                TransportError::Malformed(e.to_string())
            });
        }
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

fn classify_send_error(e: reqwest::Error) -> TransportError {
    if e.is_connect() {
        TransportError::Unreachable(e.to_string())
    } else if e.is_builder() {
        TransportError::Config(e.to_string())
    } else {
        // Timeouts, resets and closed connections after the request may have gone out.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        TransportError::NoAnswer(message)
    }
}

impl Transport for HttpTransport {
    fn push(&self, body: Vec<u8>) -> BoxFuture<'_, Result<PushResponse, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .post(self.url("/push"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            self.send(request).await
        })
    }

    fn pull(&self, cursor: u64, limit: u32) -> BoxFuture<'_, Result<PullResponse, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .get(self.url("/pull"))
                .query(&[("cursor", cursor.to_string()), ("limit", limit.to_string())]);
            self.send(request).await
        })
    }

    fn ack(&self, terminal_id: Uuid) -> BoxFuture<'_, Result<Ack, TransportError>> {
        Box::pin(async move {
            let request = self
                .client
                .get(self.url(&format!("/terminals/{terminal_id}/ack")));
            self.send(request).await
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<Health, TransportError>> {
        Box::pin(async move { self.send(self.client.get(self.url("/health"))).await })
    }

    fn whoami(&self) -> BoxFuture<'_, Result<WhoAmI, TransportError>> {
        Box::pin(async move { self.send(self.client.get(self.url("/whoami"))).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn a_bad_url_is_refused_up_front() {
        let err = HttpTransport::new("ftp://x", "t", Timeouts::default())
            .expect_err("only http and https");
        assert_eq!(err.code(), "bad_server_url");
    }
}
