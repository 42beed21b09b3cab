//! Binding, TLS, connection timeouts and graceful shutdown of the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use hyper_util::rt::TokioTimer;

use crate::http::{router, AppState, Limits};
use crate::storage::Storage;

/// How long in-flight requests may run on after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(30);

/// How the server protects itself from slow, greedy or guessing clients, and how far ahead of
/// its clock a terminal's stamp may be. Each field is a flag of `till-server serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers, on plain HTTP and TLS alike
    /// (`--header-timeout`); an idle kept-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// How long one request may take, from waiting for a slot and reading its body to the
    /// answer (`--request-timeout`): 408 `request_timeout` after it.
    pub request_timeout: Duration,
    /// Requests handled at once (`--max-concurrent`); more wait for a slot, and the wait counts
    /// toward their request timeout.
    pub max_concurrent: usize,
    /// Failed authentications one client address may make per minute (`--max-auth-failures`)
    /// before its requests get 429 `too_many_auth_failures` until the minute is over; 0: no
    /// limit.
    pub max_auth_failures: u32,
    /// How far ahead of this server's clock a terminal's HLC stamp on a customer change may be
    /// before the change is refused as `clock_ahead` (`--max-clock-skew`).
    pub max_clock_skew: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_concurrent: 64,
            max_auth_failures: 20,
            max_clock_skew: Duration::from_secs(5 * 60),
        }
    }
}

/// A certificate chain and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the server cannot start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: address in use")]
    AddressInUse { addr: String },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("cannot use the TLS certificate or key: {0}")]
    Tls(String),
    #[error("the server failed: {0}")]
    Io(String),
}

impl ServeError {
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::AddressInUse { .. } => "address_in_use",
            ServeError::Listen { .. } => "cannot_listen",
            ServeError::Tls(_) => "invalid_tls",
            ServeError::Io(_) => "server_failed",
        }
    }
}

/// A server bound to its address, not yet serving.
pub struct BoundServer {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<RustlsConfig>,
    header_timeout: Duration,
    app: Router,
}

impl BoundServer {
    /// Binds `listen` (e.g. `127.0.0.1:0` for any free port) and loads TLS if given.
    pub fn bind(
        storage: Arc<dyn Storage>,
        listen: &str,
        tls: Option<&TlsFiles>,
        options: &ServeOptions,
    ) -> Result<BoundServer, ServeError> {
        let tls = tls.map(load_tls).transpose()?;
        let listener = std::net::TcpListener::bind(listen).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => ServeError::AddressInUse {
                addr: listen.to_string(),
            },
            _ => ServeError::Listen {
                addr: listen.to_string(),
                reason: e.to_string(),
            },
        })?;
        let io = |e: std::io::Error| ServeError::Listen {
            addr: listen.to_string(),
            reason: e.to_string(),
        };
        listener.set_nonblocking(true).map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        Ok(BoundServer {
            listener,
            addr,
            tls,
            header_timeout: options.header_timeout,
            app: router(AppState {
                storage,
                limits: Arc::new(Limits::new(options)),
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish, for at most [`DRAIN`].
    pub async fn run<F>(self, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = axum_server::Handle::new();
        let trigger = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.graceful_shutdown(Some(DRAIN));
        });
        let app = self.app.into_make_service_with_connect_info::<SocketAddr>();
        let served = match self.tls {
            None => {
                let mut server = axum_server::from_tcp(self.listener).handle(handle);
                with_timer(&mut server, self.header_timeout);
                server.serve(app).await
            }
            Some(config) => {
                let mut server = axum_server::from_tcp_rustls(self.listener, config).handle(handle);
                with_timer(&mut server, self.header_timeout);
                server.serve(app).await
            }
        };
        served.map_err(|e| ServeError::Io(e.to_string()))
    }
}

/// Gives hyper a timer, without which it silently runs no timeout at all, and the header
/// timeout: a client that opens a connection and sends half a request is dropped after it.
fn with_timer<A>(server: &mut axum_server::Server<A>, header_timeout: Duration) {
    let builder = server.http_builder();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
}

fn load_tls(files: &TlsFiles) -> Result<RustlsConfig, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let shown = |p: &Path| p.display().to_string();
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServeError::Tls(format!("{}: {e}", shown(&files.cert))))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{}: no certificate found",
            shown(&files.cert)
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| ServeError::Tls(format!("{}: {e}", shown(&files.key))))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
