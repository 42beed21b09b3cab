//! Where print jobs go, parsed and checked in one place: `tcp://HOST:PORT` (a network printer,
//! usually port 9100), `file:///ABSOLUTE/PATH` (a USB printer's device file such as
//! `/dev/usb/lp0`, or a serial port) or `none`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A printer target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    /// No printer: nothing is queued and nothing prints.
    None,
    /// A network printer's raw port.
    Tcp { host: String, port: u16 },
    /// A device file written as a stream of bytes.
    File(PathBuf),
}

/// Why a printer target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("printer target {0:?} is not tcp://HOST:PORT, file:///PATH or none")]
    Scheme(String),
    #[error("printer target {0:?} needs a host and a port from 1 to 65535, as in tcp://192.168.1.50:9100")]
    HostPort(String),
    #[error("printer target {0:?} needs an absolute path, as in file:///dev/usb/lp0")]
    Path(String),
}

impl std::str::FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(Target::None);
        }
        if let Some(rest) = text.strip_prefix("tcp://") {
            let bad = || TargetError::HostPort(text.to_owned());
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port: u16 = port.parse().map_err(|_| bad())?;
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !host_ok || port == 0 {
                return Err(bad());
            }
            return Ok(Target::Tcp {
                host: host.to_owned(),
                port,
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') || path.len() < 2 || path.chars().any(char::is_control) {
                return Err(TargetError::Path(text.to_owned()));
            }
            return Ok(Target::File(PathBuf::from(path)));
        }
        Err(TargetError::Scheme(text.to_owned()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::None => f.write_str("none"),
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Target::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

impl TryFrom<String> for Target {
    type Error = TargetError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Target> for String {
    fn from(target: Target) -> String {
        target.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_kinds_of_target_parse_and_print_back_the_same() {
        for text in [
            "none",
            "tcp://192.168.1.50:9100",
            "tcp://printer.local:9100",
            "tcp://[::1]:9100",
            "file:///dev/usb/lp0",
            "file:///dev/ttyUSB0",
        ] {
            let target: Target = text.parse().expect(text);
            assert_eq!(
                target.to_string(),
                text,
                "a stored target reads back as set"
            );
        }
        assert_eq!(
            "tcp://10.0.0.2:9100".parse(),
            Ok(Target::Tcp {
                host: "10.0.0.2".into(),
                port: 9100
            })
        );
    }

    #[test]
    fn a_malformed_target_is_refused_with_what_it_should_look_like() {
        let refused = |t: &str| t.parse::<Target>().expect_err(t);
        assert!(matches!(refused("lpt1"), TargetError::Scheme(_)));
        assert!(matches!(refused("http://p:9100"), TargetError::Scheme(_)));
        assert!(matches!(refused("tcp://printer"), TargetError::HostPort(_)));
        assert!(matches!(refused("tcp://:9100"), TargetError::HostPort(_)));
        assert!(matches!(refused("tcp://p:0"), TargetError::HostPort(_)));
        assert!(matches!(refused("tcp://p:70000"), TargetError::HostPort(_)));
        assert!(matches!(
            refused("tcp://a b:9100"),
            TargetError::HostPort(_)
        ));
        assert!(matches!(refused("file://dev/lp0"), TargetError::Path(_)));
        assert!(
            refused("lpt1").to_string().contains("tcp://HOST:PORT"),
            "the message shows what a target looks like"
        );
    }
}
