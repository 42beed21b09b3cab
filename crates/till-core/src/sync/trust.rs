//! How a till trusts the back office it syncs with, and where its token may go.
//!
//! - **The token's origin.** A token is given for one origin (scheme, host and port) when the
//!   till is enrolled, is stored with it, and is never attached to a request to any other
//!   origin: moving the till to another address takes a new enrolment, with a new token.
//! - **No cleartext by default.** Plain `http://` is accepted only to this machine (loopback:
//!   `127.0.0.0/8`, `::1`, `localhost`) unless the operator allows it for the enrolment; the
//!   status snapshot then says so, and the status bar shows it in red.
//! - **A shop's own CA, or a pin.** An `https://` back office may be trusted through a CA
//!   certificate the shop gave the till (beside the usual roots, for this back office only) or
//!   pinned to its certificate's SHA-256, which is then the only certificate accepted, whatever
//!   any CA says (see [`super::tls`]).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

use super::transport::TransportError;

/// Largest CA file accepted, in bytes.
pub const MAX_CA_PEM_BYTES: usize = 256 * 1024;

/// How a till trusts its back office's address, as a person enters it (Settings, `tillctl enrol
/// --ca FILE | --pin SHA256 [--allow-cleartext]`) and as it is stored with the enrolment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ServerTrust {
    /// A CA certificate (PEM) the shop issued its back office's certificate with: trusted beside
    /// the usual roots, for this back office only.
    pub ca_pem: Option<String>,
    /// The SHA-256 of the back office's certificate (DER), 64 hex digits: the only certificate
    /// accepted, whatever any CA says.
    pub pin_sha256: Option<String>,
    /// Plain `http://` to another machine is allowed: the token and every sale cross the network
    /// unencrypted. Only kept when the address needs it.
    pub allow_cleartext: bool,
}

impl ServerTrust {
    /// Checks what a person entered for the back office at `url` (already checked as an http or
    /// https address) and returns it normalised: a pin as 64 lowercase hex digits (colons and
    /// spaces, as `openssl x509 -fingerprint -sha256` prints them, are dropped), blank fields as
    /// none, and the cleartext switch only where the address is plain http to another machine.
    /// A CA or a pin needs an `https://` address; the two are not given together.
    pub fn check(&self, url: &str) -> Result<ServerTrust, CoreError> {
        let parsed = parse(url).map_err(|e| CoreError::InvalidValue(e.to_string()))?;
        let ca_pem = self
            .ca_pem
            .as_deref()
            .map(str::trim)
            .filter(|pem| !pem.is_empty());
        let pin = self
            .pin_sha256
            .as_deref()
            .map(str::trim)
            .filter(|pin| !pin.is_empty());
        if ca_pem.is_some() && pin.is_some() {
            return Err(CoreError::InvalidValue(
                "give either a CA certificate or a certificate pin, not both".into(),
            ));
        }
        if (ca_pem.is_some() || pin.is_some()) && parsed.scheme() != "https" {
            return Err(CoreError::InvalidValue(
                "a CA certificate or a certificate pin needs an https:// address".into(),
            ));
        }
        let pin_sha256 = pin.map(normalise_pin).transpose()?;
        let ca_pem = ca_pem.map(check_ca).transpose()?;
        Ok(ServerTrust {
            ca_pem,
            pin_sha256,
            allow_cleartext: self.allow_cleartext && is_cleartext_to_another_machine(&parsed),
        })
    }

    /// What a till enrolled before trust was recorded is taken to have agreed to: its address,
    /// with the usual roots, and plain http where it already used it (shown in red from then on,
    /// until it is enrolled again).
    pub fn of_earlier_enrolment(url: &str) -> ServerTrust {
        ServerTrust {
            allow_cleartext: parse(url).is_ok_and(|u| is_cleartext_to_another_machine(&u)),
            ..ServerTrust::default()
        }
    }
}

/// `url` parsed as an http or https address.
pub fn parse(url: &str) -> Result<reqwest::Url, TransportError> {
    let parsed = reqwest::Url::parse(url.trim_end_matches('/'))
        .map_err(|e| TransportError::Config(format!("{url}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(TransportError::Config(format!(
            "{url}: the address is http:// or https:// and a host"
        )));
    }
    Ok(parsed)
}

/// The origin of `url` (scheme, host and port, the default port left out): where a token given
/// for `url` may be sent.
pub fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether `url` is plain http to a machine other than this one: anything but `localhost`,
/// `127.0.0.0/8` and `::1`. A name is not resolved: only `localhost` itself counts as loopback.
pub fn is_cleartext_to_another_machine(url: &reqwest::Url) -> bool {
    url.scheme() == "http" && !is_loopback(url)
}

/// Whether `url` names this machine.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Refuses plain http to another machine unless `trust` allows it.
pub fn refuse_cleartext(url: &reqwest::Url, trust: &ServerTrust) -> Result<(), TransportError> {
    if is_cleartext_to_another_machine(url) && !trust.allow_cleartext {
        return Err(TransportError::Cleartext(format!(
            "{} is plain http to another machine: the token and every sale would cross the \
             network unencrypted; use https://, or allow plain http for this back office",
            origin(url)
        )));
    }
    Ok(())
}

/// A pin as 64 lowercase hex digits.
fn normalise_pin(pin: &str) -> Result<String, CoreError> {
    let hex: String = pin
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CoreError::InvalidValue(
            "a certificate pin is the SHA-256 of the back office's certificate: 64 hex digits"
                .into(),
        ));
    }
    Ok(hex)
}

/// A CA file holding at least one certificate, and nothing too large.
fn check_ca(pem: &str) -> Result<String, CoreError> {
    if pem.len() > MAX_CA_PEM_BYTES {
        return Err(CoreError::InvalidValue(format!(
            "a CA certificate file is at most {} KiB",
            MAX_CA_PEM_BYTES / 1024
        )));
    }
    super::tls::ca_certificates(pem).map_err(|e| CoreError::InvalidValue(e.to_string()))?;
    Ok(pem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn url(s: &str) -> reqwest::Url {
        parse(s).expect("an address")
    }

    #[test]
    fn only_this_machine_is_loopback() {
        for here in [
            "http://localhost:7878",
            "http://LOCALHOST",
            "http://127.0.0.1:7878",
            "http://127.1.2.3",
            "http://[::1]:7878",
        ] {
            assert!(is_loopback(&url(here)), "{here}");
            assert!(!is_cleartext_to_another_machine(&url(here)), "{here}");
        }
        for other in [
            "http://10.0.0.5:7878",
            "http://office.local",
            "http://localhost.example.com",
            "http://[::ffff:10.0.0.1]",
            "http://0.0.0.0",
        ] {
            assert!(!is_loopback(&url(other)), "{other}");
            assert!(is_cleartext_to_another_machine(&url(other)), "{other}");
        }
        assert!(!is_cleartext_to_another_machine(&url(
            "https://office.local"
        )));
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin(&url("https://Office.example:443/path")),
            "https://office.example"
        );
        assert_eq!(
            origin(&url("http://127.0.0.1:7878/")),
            "http://127.0.0.1:7878"
        );
        assert_ne!(
            origin(&url("http://127.0.0.1:7878")),
            origin(&url("http://127.0.0.1:7879")),
            "another port is another origin"
        );
        assert_ne!(
            origin(&url("https://office")),
            origin(&url("http://office")),
            "another scheme is another origin"
        );
    }

    #[test]
    fn plain_http_to_another_machine_needs_the_switch() {
        let refused = refuse_cleartext(&url("http://10.0.0.5:7878"), &ServerTrust::default())
            .expect_err("cleartext is off by default");
        assert_eq!(refused.code(), "cleartext_refused");
        let allowed = ServerTrust {
            allow_cleartext: true,
            ..ServerTrust::default()
        };
        assert!(refuse_cleartext(&url("http://10.0.0.5:7878"), &allowed).is_ok());
        assert!(refuse_cleartext(&url("http://127.0.0.1:7878"), &ServerTrust::default()).is_ok());
        assert!(refuse_cleartext(&url("https://office"), &ServerTrust::default()).is_ok());
    }

    #[test]
    fn a_pin_is_normalised_and_must_be_sixty_four_hex_digits() {
        let colons = PIN
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        let entered = ServerTrust {
            pin_sha256: Some(format!(" {colons} ")),
            ..ServerTrust::default()
        };
        assert_eq!(
            entered.check("https://office").expect("valid").pin_sha256,
            Some(PIN.to_string()),
            "as openssl prints it, or plain"
        );
        for bad in ["abc", &PIN[1..], &format!("{}g", &PIN[1..])] {
            let e = ServerTrust {
                pin_sha256: Some(bad.into()),
                ..ServerTrust::default()
            }
            .check("https://office")
            .expect_err(bad);
            assert_eq!(e.code(), "invalid_input");
        }
    }

    #[test]
    fn a_ca_or_a_pin_needs_https_and_they_do_not_go_together() {
        let pinned = ServerTrust {
            pin_sha256: Some(PIN.into()),
            ..ServerTrust::default()
        };
        assert_eq!(
            pinned
                .check("http://127.0.0.1:7878")
                .unwrap_err()
                .to_string(),
            "a CA certificate or a certificate pin needs an https:// address"
        );
        let both = ServerTrust {
            ca_pem: Some("-----BEGIN CERTIFICATE-----".into()),
            ..pinned
        };
        assert_eq!(
            both.check("https://office").unwrap_err().to_string(),
            "give either a CA certificate or a certificate pin, not both"
        );
        let not_a_certificate = ServerTrust {
            ca_pem: Some("hello".into()),
            ..ServerTrust::default()
        };
        assert_eq!(
            not_a_certificate
                .check("https://office")
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        let blank = ServerTrust {
            ca_pem: Some("  ".into()),
            pin_sha256: Some("".into()),
            allow_cleartext: false,
        };
        assert_eq!(
            blank.check("http://127.0.0.1").expect("blank is none"),
            ServerTrust::default()
        );
    }

    #[test]
    fn the_cleartext_switch_is_kept_only_where_the_address_needs_it() {
        let allowed = ServerTrust {
            allow_cleartext: true,
            ..ServerTrust::default()
        };
        assert!(
            allowed
                .check("http://10.0.0.5")
                .expect("ok")
                .allow_cleartext
        );
        assert!(!allowed.check("https://office").expect("ok").allow_cleartext);
        assert!(
            !allowed
                .check("http://127.0.0.1")
                .expect("ok")
                .allow_cleartext
        );
    }

    #[test]
    fn an_earlier_enrolment_keeps_what_it_used_and_shows_it() {
        assert!(ServerTrust::of_earlier_enrolment("http://10.0.0.5:7878").allow_cleartext);
        assert_eq!(
            ServerTrust::of_earlier_enrolment("http://127.0.0.1:7878"),
            ServerTrust::default()
        );
        assert_eq!(
            ServerTrust::of_earlier_enrolment("https://office"),
            ServerTrust::default()
        );
    }
}
