//! Binding, TLS and graceful shutdown of the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

use crate::http::{router, AppState};
use crate::storage::Storage;

/// How long in-flight requests may run on after shutdown is asked, over TLS.
const TLS_DRAIN: Duration = Duration::from_secs(30);

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
    app: Router,
}

impl BoundServer {
    /// Binds `listen` (e.g. `127.0.0.1:0` for any free port) and loads TLS if given.
    pub fn bind(
        storage: Arc<dyn Storage>,
        listen: &str,
        tls: Option<&TlsFiles>,
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
            app: router(AppState { storage }),
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
    /// finish.
    pub async fn run<F>(self, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = self.app.into_make_service_with_connect_info::<SocketAddr>();
        match self.tls {
            None => {
                let listener = tokio::net::TcpListener::from_std(self.listener)
                    .map_err(|e| ServeError::Io(e.to_string()))?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .map_err(|e| ServeError::Io(e.to_string()))
            }
            Some(config) => {
                let handle = axum_server::Handle::new();
                let trigger = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    trigger.graceful_shutdown(Some(TLS_DRAIN));
                });
                axum_server::from_tcp_rustls(self.listener, config)
                    .handle(handle)
                    .serve(app)
                    .await
                    .map_err(|e| ServeError::Io(e.to_string()))
            }
        }
    }
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
