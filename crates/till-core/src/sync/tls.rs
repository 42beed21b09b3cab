//! TLS for the till's HTTP client, as its [`ServerTrust`] says: the usual roots, plus a shop's
//! own CA for this back office only, or a pin on the back office's certificate. And the one
//! place a refused certificate is recognised in a failed request.

use std::error::Error as StdError;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

use super::transport::TransportError;
use super::trust::ServerTrust;

/// The certificates of a CA file (PEM), at least one.
pub fn ca_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Config(format!("the CA file: {e}")))?;
    if certificates.is_empty() {
        return Err(TransportError::Config(
            "the CA file holds no PEM certificate".into(),
        ));
    }
    Ok(certificates)
}

/// `builder` set up to trust the back office as `trust` says.
pub fn configure(
    builder: reqwest::ClientBuilder,
    trust: &ServerTrust,
) -> Result<reqwest::ClientBuilder, TransportError> {
    if let Some(pin) = &trust.pin_sha256 {
        let pin = hex::decode(pin)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| TransportError::Config("the certificate pin is not a SHA-256".into()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedCertificate {
            pin,
            algorithms: provider.signature_verification_algorithms,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Config(format!("TLS set-up: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        return Ok(builder.use_preconfigured_tls(config));
    }
    let mut builder = builder;
    if let Some(pem) = &trust.ca_pem {
        for der in ca_certificates(pem)? {
            let certificate = reqwest::Certificate::from_der(&der)
                .map_err(|e| TransportError::Config(format!("the CA file: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
    }
    Ok(builder)
}

/// The back office's certificate differs from the pin.
#[derive(Debug, thiserror::Error)]
#[error("the back office's certificate (SHA-256 {found}) is not the pinned one")]
struct PinMismatch {
    found: String,
}

/// Accepts exactly one certificate, by the SHA-256 of its DER, whoever issued it and whatever
/// name or dates it carries: the pin is what the shop checked. The handshake's signatures are
/// still verified, so only the holder of that certificate's key gets through.
#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if found == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(PinMismatch {
                found: hex::encode(found),
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The refused certificate behind a failed request, if that is why it failed: a pin mismatch, or
/// a certificate no trusted CA issued (or for another name, or out of date).
pub fn certificate_refused(error: &(dyn StdError + 'static)) -> Option<TransportError> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::InvalidCertificate(refused)) = tls_error(e) {
            let pin = match refused {
                CertificateError::Other(OtherError(other)) => other.downcast_ref::<PinMismatch>(),
                _ => None,
            };
            return Some(match pin {
                Some(mismatch) => TransportError::PinMismatch(mismatch.to_string()),
                None => TransportError::Untrusted(format!(
                    "the back office's certificate is not trusted: {refused}"
                )),
            });
        }
        next = e.source();
    }
    None
}

/// `e` as rustls's error, directly or inside I/O errors (whose `source` skips what they wrap; the
/// connector wraps the handshake's error twice).
fn tls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut e = e;
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(pin: [u8; 32], certificate: &[u8]) -> Result<ServerCertVerified, rustls::Error> {
        let verifier = PinnedCertificate {
            pin,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        verifier.verify_server_cert(
            &CertificateDer::from(certificate.to_vec()),
            &[],
            &ServerName::try_from("office").expect("a name"),
            &[],
            UnixTime::now(),
        )
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let certificate = b"the back office's certificate";
        let pin: [u8; 32] = Sha256::digest(certificate).into();
        assert!(verify(pin, certificate).is_ok());
        let refused = verify(pin, b"another certificate").expect_err("not the pinned one");
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            refused,
        ));
        assert_eq!(
            certificate_refused(&io).map(|e| e.code()),
            Some(crate::ErrorCode::CertificatePinMismatch),
            "recognised inside the I/O errors the connector wraps it in"
        );
    }

    #[test]
    fn another_refused_certificate_is_untrusted() {
        let refused = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(
            certificate_refused(&refused).map(|e| e.code()),
            Some(crate::ErrorCode::UntrustedCertificate)
        );
        let other = std::io::Error::other("connection refused");
        assert!(certificate_refused(&other).is_none());
    }

    #[test]
    fn a_ca_file_holds_at_least_one_certificate() {
        assert!(ca_certificates("").is_err());
        assert!(ca_certificates("not pem").is_err());
    }
}
