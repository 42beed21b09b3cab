//! Compression on the wire, the HTTP way, one implementation for the till and the back office.
//!
//! Only gzip, for now: on a real push batch (100 five-line sales, 238,889 bytes of JSON) it gives
//! 41,456 bytes at its default level, a sixth, which brings a sale and the first catalog pull
//! well below a quarter of their plain size. zstd (level 3) gives 32,417 bytes, a fifth less
//! again and faster, at the price of a C library on both sides; the negotiation below names its
//! codings, so it can be added beside gzip without breaking either side.
//!
//! - Answers: a till asks with `Accept-Encoding: gzip`; the back office compresses when asked.
//! - Requests: a back office that reads gzip bodies says so in every answer, with
//!   `Accept-Encoding: gzip` (RFC 7694, client-initiated content coding). A till sends its push
//!   bodies gzip unless answers came that said nothing of it. A coding the back office does not
//!   read is refused with 415 [`UNSUPPORTED_ENCODING`], and a back office from before
//!   compression refuses gzip as 400 `malformed_json` (storing nothing); either way the till
//!   sends the same body plain at once and stops compressing.
//!
//! Compression is only on the wire: what is stored and hashed on both sides is the JSON itself,
//! so a resend means the same whether or not it was compressed.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The content coding Till compresses with.
pub const GZIP: &str = "gzip";

/// The code of the 415 answer to a body in a coding the back office does not read.
pub const UNSUPPORTED_ENCODING: &str = "unsupported_encoding";

/// A body's content coding, as its `Content-Encoding` header names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coding {
    /// No header, or `identity`.
    Identity,
    Gzip,
    /// Anything else (a coding Till does not read, or several codings stacked).
    Other(String),
}

impl Coding {
    /// The coding `header` (a `Content-Encoding` value, absent for none) names.
    pub fn named(header: Option<&str>) -> Coding {
        match header.map(str::trim) {
            None | Some("") => Coding::Identity,
            Some(name) if name.eq_ignore_ascii_case("identity") => Coding::Identity,
            Some(name) if name.eq_ignore_ascii_case(GZIP) => Coding::Gzip,
            Some(other) => Coding::Other(other.to_string()),
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is longer than {cap} bytes once decompressed")]
    TooLong { cap: usize },
    #[error("the body is not valid {coding}: {reason}")]
    Corrupt {
        coding: &'static str,
        reason: String,
    },
    #[error("the body is in a coding Till does not read ({0})")]
    Unsupported(String),
}

/// `body` compressed with gzip.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::default());
    // Writing into a Vec cannot fail.
    let written = encoder.write_all(body).and_then(|()| encoder.finish());
    written.unwrap_or_default()
}

/// `body`, in `coding`, decoded; refused once the decoded body would be longer than `cap`
/// bytes, which are all that is ever held: a small body that inflates without end (a zip bomb)
/// stops at the cap.
pub fn decode(coding: &Coding, body: Vec<u8>, cap: usize) -> Result<Vec<u8>, DecodeError> {
    match coding {
        Coding::Identity if body.len() > cap => Err(DecodeError::TooLong { cap }),
        Coding::Identity => Ok(body),
        Coding::Gzip => {
            let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
            let mut decoded = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            GzDecoder::new(body.as_slice())
                .take(limit)
                .read_to_end(&mut decoded)
                .map_err(|e| DecodeError::Corrupt {
                    coding: GZIP,
                    reason: e.to_string(),
                })?;
            if decoded.len() > cap {
                return Err(DecodeError::TooLong { cap });
            }
            Ok(decoded)
        }
        Coding::Other(name) => Err(DecodeError::Unsupported(name.clone())),
    }
}

/// Whether an `Accept-Encoding` value accepts gzip: listed (or `*`) with a weight above zero.
pub fn accepts_gzip(header: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(GZIP) {
            gzip = Some(weight);
        } else if name == "*" {
            any = Some(weight);
        }
    }
    gzip.or(any).is_some_and(|w| w > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_round_trips_through_gzip() {
        let body = br#"{"mutations":[{"kind":"sale","lines":5}]}"#.repeat(40);
        let packed = gzip(&body);
        assert!(
            packed.len() < body.len() / 4,
            "repetitive JSON compresses well"
        );
        assert_eq!(decode(&Coding::Gzip, packed, body.len()), Ok(body));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_cap() {
        let huge = vec![b' '; 9 * 1024 * 1024];
        let bomb = gzip(&huge);
        assert!(bomb.len() < 64 * 1024, "small on the wire: {}", bomb.len());
        assert_eq!(
            decode(&Coding::Gzip, bomb, 8 * 1024 * 1024),
            Err(DecodeError::TooLong {
                cap: 8 * 1024 * 1024
            }),
            "decoding stops one byte past the cap"
        );
        let exact = gzip(&[b'x'; 100]);
        assert_eq!(
            decode(&Coding::Gzip, exact, 100).map(|b| b.len()),
            Ok(100),
            "a body of exactly the cap is read"
        );
    }

    #[test]
    fn an_identity_body_is_held_to_the_same_cap() {
        assert_eq!(
            decode(&Coding::Identity, vec![0; 11], 10),
            Err(DecodeError::TooLong { cap: 10 })
        );
        assert_eq!(
            decode(&Coding::Identity, vec![0; 10], 10).map(|b| b.len()),
            Ok(10)
        );
    }

    #[test]
    fn a_corrupt_stream_and_an_unknown_coding_are_refused() {
        let mut cut = gzip(&b"{\"a\":1}".repeat(100));
        cut.truncate(cut.len() / 2);
        assert!(matches!(
            decode(&Coding::Gzip, cut, 1 << 20),
            Err(DecodeError::Corrupt { .. })
        ));
        assert!(matches!(
            decode(&Coding::Gzip, b"not gzip at all".to_vec(), 1 << 20),
            Err(DecodeError::Corrupt { .. })
        ));
        assert_eq!(
            decode(&Coding::named(Some("br")), vec![1], 10),
            Err(DecodeError::Unsupported("br".into()))
        );
    }

    #[test]
    fn codings_are_named_by_their_header() {
        assert_eq!(Coding::named(None), Coding::Identity);
        assert_eq!(Coding::named(Some("identity")), Coding::Identity);
        assert_eq!(Coding::named(Some(" GZIP ")), Coding::Gzip);
        assert_eq!(
            Coding::named(Some("gzip, gzip")),
            Coding::Other("gzip, gzip".into()),
            "stacked codings are not read"
        );
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"), "a weight of zero refuses it");
        assert!(
            !accepts_gzip("*, gzip;q=0"),
            "gzip's own weight wins over *"
        );
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip(""));
    }
}
