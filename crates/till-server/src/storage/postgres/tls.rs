//! PostgreSQL over TLS with rustls (no OpenSSL). `sslmode` and `sslrootcert` are read from the
//! database URL as libpq reads them, and taken off it before tokio-postgres parses the rest
//! (it knows neither `verify-ca`, `verify-full` nor `sslrootcert`):
//!
//! - `disable`: plain TCP; `prefer` (the default, as in libpq): TLS when the server offers it;
//!   `require`: TLS or nothing. These two check no certificate, unless `sslrootcert` is given
//!   (then `require` checks the chain, as libpq does);
//! - `verify-ca`: TLS, the server's certificate chaining to the CA in `sslrootcert=FILE`;
//! - `verify-full`: that, and the certificate naming the host connected to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::storage::StorageError;

/// How a connection uses TLS (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of the CA certificates to trust.
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` off `url`: the URL left for tokio-postgres, and the TLS
/// options (`prefer` and no root certificate when absent).
pub fn split_url(url: &str) -> Result<(String, TlsOptions), StorageError> {
    let invalid = |reason: String| StorageError::Connect { reason };
    let mut options = TlsOptions {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), options));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                options.mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(invalid(format!(
                            "sslmode={other} is not one of disable, prefer, require, verify-ca, \
                             verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => options.root_cert = Some(PathBuf::from(percent_decoded(value)?)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, options))
}

/// `%XX` escapes decoded, as a URL may carry a path.
fn percent_decoded(value: &str) -> Result<String, StorageError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(StorageError::Connect {
                    reason: format!("sslrootcert={value} has a bad % escape"),
                });
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| StorageError::Connect {
        reason: format!("sslrootcert={value} is not UTF-8"),
    })
}

/// The mode tokio-postgres negotiates with, and the rustls connector that checks what
/// `options` asks.
pub fn connector(options: &TlsOptions) -> Result<(WireMode, MakeRustlsConnect), StorageError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = options.root_cert.as_deref().map(load_roots).transpose()?;
    let check = match (options.mode, roots) {
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(StorageError::Connect {
                reason: "sslmode=verify-ca and verify-full need sslrootcert=FILE, the CA that \
                         signed the database server's certificate"
                    .into(),
            })
        }
        (SslMode::VerifyFull, Some(roots)) => Check::Full(roots),
        (SslMode::VerifyCa | SslMode::Require, Some(roots)) => Check::ChainOnly(roots),
        (SslMode::Disable | SslMode::Prefer | SslMode::Require, _) => Check::Nothing,
    };
    let verifier = check.verifier(provider.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let wire = match options.mode {
        SslMode::Disable => WireMode::Disable,
        SslMode::Prefer => WireMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
    };
    Ok((wire, MakeRustlsConnect::new(config)))
}

fn tls_error(e: Error) -> StorageError {
    StorageError::Connect {
        reason: format!("TLS: {e}"),
    }
}

fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, StorageError> {
    let unusable = |e: String| StorageError::Connect {
        reason: format!("sslrootcert {}: {e}", path.display()),
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unusable(e.to_string()))? {
        roots
            .add(cert.map_err(|e| unusable(e.to_string()))?)
            .map_err(|e| unusable(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(unusable("no certificate in it".into()));
    }
    Ok(Arc::new(roots))
}

/// What is checked of the server's certificate.
enum Check {
    /// Nothing (`prefer`, `require` without a root certificate): encryption against a passive
    /// listener only, as libpq does.
    Nothing,
    /// That it chains to the roots, whatever host it names (`verify-ca`).
    ChainOnly(Arc<RootCertStore>),
    /// That it chains to the roots and names the host (`verify-full`).
    Full(Arc<RootCertStore>),
}

impl Check {
    fn verifier(
        self,
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>, StorageError> {
        let webpki = |roots| {
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| StorageError::Connect {
                    reason: format!("TLS: {e}"),
                })
        };
        Ok(match self {
            Check::Nothing => Arc::new(Lenient {
                provider,
                chain: None,
            }),
            Check::ChainOnly(roots) => Arc::new(Lenient {
                chain: Some(webpki(roots)?),
                provider,
            }),
            Check::Full(roots) => webpki(roots)?,
        })
    }
}

/// A verifier short of `verify-full`: with no `chain`, any certificate passes; with one, the
/// certificate must chain to its roots but may name another host. The handshake's signatures
/// are checked either way.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_off_the_url_and_the_rest_kept() {
        let (url, options) = split_url(
            "postgres://till@db:5432/till?sslmode=verify-full&options=-csearch_path%3Dshop\
             &sslrootcert=%2Fetc%2Fca.pem",
        )
        .expect("parses");
        assert_eq!(
            url,
            "postgres://till@db:5432/till?options=-csearch_path%3Dshop"
        );
        assert_eq!(options.mode, SslMode::VerifyFull);
        assert_eq!(options.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (url, options) = split_url("postgres://till@db/till").expect("parses");
        assert_eq!(url, "postgres://till@db/till");
        assert_eq!(options.mode, SslMode::Prefer, "libpq's default");
        let (url, options) = split_url("postgres://db/t?sslmode=require").expect("parses");
        assert_eq!(
            (url.as_str(), options.mode),
            ("postgres://db/t", SslMode::Require)
        );
    }

    #[test]
    fn an_unknown_mode_or_a_verifying_mode_without_a_root_certificate_is_a_clear_error() {
        let err = split_url("postgres://db/t?sslmode=strict").expect_err("unknown mode");
        assert!(err.to_string().contains("verify-full"), "{err}");
        for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let err = connector(&TlsOptions {
                mode,
                root_cert: None,
            })
            .err()
            .expect("needs a root certificate");
            assert!(err.to_string().contains("sslrootcert"), "{err}");
        }
        assert!(connector(&TlsOptions {
            mode: SslMode::Require,
            root_cert: None
        })
        .is_ok());
    }
}
