//! Compression on the wire, the HTTP way, one implementation for the till and the back office.
//!
//! Two codings, zstd first: on a real push batch (100 five-line sales, 238,889 bytes of JSON)
//! gzip at its default level gives 41,456 bytes and zstd at its default level (3) 32,417, a
//! fifth less again and faster on both sides. gzip stays for the back offices and tills that
//! came before zstd.
//!
//! - Answers: a till asks with `Accept-Encoding: zstd, gzip;q=0.9` ([`ACCEPTED`]); the back
//!   office compresses with the coding weighted highest, so a till that knows only gzip gets
//!   gzip.
//! - Requests: a back office says in every answer which codings it reads request bodies in,
//!   with the same `Accept-Encoding` (RFC 7694, client-initiated content coding). A till sends
//!   its push bodies in the coding [`preferred`] picks from that; gzip before it heard anything,
//!   and plain once answers came that named none. A coding the back office does not read is
//!   refused with 415 [`UNSUPPORTED_ENCODING`], and a back office from before compression
//!   refuses a compressed body as 400 `malformed_json` (storing nothing); either way the till
//!   sends the same body plain at once and stops compressing.
//!
//! Compression is only on the wire: what is stored and hashed on both sides is the JSON itself,
//! so a resend means the same whether or not it was compressed.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The codings Till reads, with their weights: what a till asks answers in, and what a back
/// office says it reads request bodies in.
pub const ACCEPTED: &str = "zstd, gzip;q=0.9";

/// The code of the 415 answer to a body in a coding the back office does not read.
pub const UNSUPPORTED_ENCODING: &str = "unsupported_encoding";

/// A content coding Till compresses with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Zstd,
    Gzip,
}

impl Codec {
    /// Every codec, in Till's order of preference.
    pub const ALL: [Codec; 2] = [Codec::Zstd, Codec::Gzip];

    /// The codec's name in `Content-Encoding` and `Accept-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Gzip => "gzip",
        }
    }

    /// `body` compressed, at the codec's default level.
    pub fn encode(self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Codec::Zstd => zstd::bulk::compress(body, zstd::DEFAULT_COMPRESSION_LEVEL),
            Codec::Gzip => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::default());
                encoder.write_all(body)?;
                encoder.finish()
            }
        }
    }
}

/// A body's content coding, as its `Content-Encoding` header names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coding {
    /// No header, or `identity`.
    Identity,
    Packed(Codec),
    /// Anything else (a coding Till does not read, or several codings stacked).
    Other(String),
}

impl Coding {
    /// The coding `header` (a `Content-Encoding` value, absent for none) names.
    pub fn named(header: Option<&str>) -> Coding {
        match header.map(str::trim) {
            None | Some("") => Coding::Identity,
            Some(name) if name.eq_ignore_ascii_case("identity") => Coding::Identity,
            Some(name) => Codec::ALL
                .into_iter()
                .find(|codec| name.eq_ignore_ascii_case(codec.name()))
                .map_or_else(|| Coding::Other(name.to_string()), Coding::Packed),
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

/// `body`, in `coding`, decoded; refused once the decoded body would be longer than `cap`
/// bytes, which are all that is ever held: a small body that inflates without end (a zip bomb)
/// stops at the cap, and a zstd frame may not ask for a window larger than the cap (or than
/// 8 MiB, when that is more, which a zstd level uses on a stream of unknown length).
pub fn decode(coding: &Coding, body: Vec<u8>, cap: usize) -> Result<Vec<u8>, DecodeError> {
    let codec = match coding {
        Coding::Identity if body.len() > cap => return Err(DecodeError::TooLong { cap }),
        Coding::Identity => return Ok(body),
        Coding::Other(name) => return Err(DecodeError::Unsupported(name.clone())),
        Coding::Packed(codec) => *codec,
    };
    let corrupt = |e: std::io::Error| DecodeError::Corrupt {
        coding: codec.name(),
        reason: e.to_string(),
    };
    let reader: Box<dyn Read + '_> = match codec {
        Codec::Gzip => Box::new(GzDecoder::new(body.as_slice())),
        Codec::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::with_buffer(body.as_slice()).map_err(corrupt)?;
            decoder.window_log_max(window_log(cap)).map_err(corrupt)?;
            Box::new(decoder)
        }
    };
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut decoded = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
    reader
        .take(limit)
        .read_to_end(&mut decoded)
        .map_err(corrupt)?;
    if decoded.len() > cap {
        return Err(DecodeError::TooLong { cap });
    }
    Ok(decoded)
}

/// The base-2 log of the largest zstd window allowed for a body of at most `cap` bytes: the
/// smallest that holds the whole body, but never below 2^23 (8 MiB), the most any zstd level
/// short of the "ultra" ones uses on a stream of unknown length (as an answer compressed on
/// the fly is), nor above zstd's own limit of 2^31.
fn window_log(cap: usize) -> u32 {
    let needed = usize::BITS - cap.saturating_sub(1).leading_zeros();
    needed.clamp(23, 31)
}

/// The codec to compress for a peer whose `Accept-Encoding` is `header`: of those Till has, the
/// one weighted highest (named, or by `*`) above zero; a tie goes to Till's order. None when the
/// header accepts none of them.
pub fn preferred(header: &str) -> Option<Codec> {
    let weight = |wanted: &str| {
        let mut named = None;
        let mut any = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(wanted) {
                named = Some(weight);
            } else if name == "*" {
                any = Some(weight);
            }
        }
        named.or(any).unwrap_or(0.0)
    };
    let mut best: Option<(Codec, f32)> = None;
    for codec in Codec::ALL {
        let w = weight(codec.name());
        if w > 0.0 && best.is_none_or(|(_, b)| w > b) {
            best = Some((codec, w));
        }
    }
    best.map(|(codec, _)| codec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(codec: Codec, body: &[u8]) -> Vec<u8> {
        codec.encode(body).expect("compresses into memory")
    }

    #[test]
    fn a_body_round_trips_through_each_codec() {
        let body = br#"{"mutations":[{"kind":"sale","lines":5}]}"#.repeat(40);
        for codec in Codec::ALL {
            let packed = packed(codec, &body);
            assert!(
                packed.len() < body.len() / 4,
                "repetitive JSON compresses well in {codec:?}"
            );
            assert_eq!(
                decode(&Coding::Packed(codec), packed, body.len()),
                Ok(body.clone()),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn a_bomb_stops_at_the_cap_in_each_codec() {
        let huge = vec![b' '; 9 * 1024 * 1024];
        for codec in Codec::ALL {
            let bomb = packed(codec, &huge);
            assert!(bomb.len() < 64 * 1024, "small on the wire: {}", bomb.len());
            assert_eq!(
                decode(&Coding::Packed(codec), bomb, 8 * 1024 * 1024),
                Err(DecodeError::TooLong {
                    cap: 8 * 1024 * 1024
                }),
                "{codec:?}: decoding stops one byte past the cap"
            );
            let exact = packed(codec, &[b'x'; 100]);
            assert_eq!(
                decode(&Coding::Packed(codec), exact, 100).map(|b| b.len()),
                Ok(100),
                "{codec:?}: a body of exactly the cap is read"
            );
        }
    }

    #[test]
    fn a_zstd_frame_asking_for_a_window_beyond_the_cap_and_any_usual_level_is_refused() {
        let body = vec![b'x'; 1 << 20];
        // Streamed with no size given, the frame keeps the window it was told to use.
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("an encoder");
        encoder
            .set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
            .expect("a window of 128 MiB");
        encoder.write_all(&body).expect("written");
        let wide = encoder.finish().expect("finished");
        assert!(
            matches!(
                decode(&Coding::Packed(Codec::Zstd), wide.clone(), 1 << 20),
                Err(DecodeError::Corrupt { coding: "zstd", .. })
            ),
            "the decoder never sets aside a 128 MiB window for a body of at most 1 MiB"
        );
        assert_eq!(
            decode(&Coding::Packed(Codec::Zstd), wide, 1 << 27).map(|b| b.len()),
            Ok(1 << 20),
            "the same frame is read where the cap allows its window"
        );
    }

    #[test]
    fn a_streamed_zstd_answer_of_any_usual_level_is_read_under_a_small_cap() {
        let body = br#"{"terminal_id":"0192f0c4-aaaa-7000-8000-000000000001"}"#;
        for level in [1, 3, 19] {
            // As a server compresses an answer on the fly: no size in the frame.
            let mut encoder =
                zstd::stream::write::Encoder::new(Vec::new(), level).expect("an encoder");
            encoder.write_all(body).expect("written");
            let streamed = encoder.finish().expect("finished");
            assert_eq!(
                decode(&Coding::Packed(Codec::Zstd), streamed, 1024).as_deref(),
                Ok(&body[..]),
                "level {level}"
            );
        }
    }

    #[test]
    fn zstd_windows_follow_the_cap() {
        assert_eq!(window_log(8 * 1024 * 1024), 23);
        assert_eq!(window_log(8 * 1024 * 1024 + 1), 24);
        assert_eq!(window_log(16 * 1024 * 1024), 24);
        assert_eq!(
            window_log(100),
            23,
            "a small body may still come in a frame with a level's usual window"
        );
        assert_eq!(window_log(usize::MAX), 31, "zstd's largest");
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
        for codec in Codec::ALL {
            let mut cut = packed(codec, &b"{\"a\":1}".repeat(100));
            cut.truncate(cut.len() / 2);
            assert!(
                matches!(
                    decode(&Coding::Packed(codec), cut, 1 << 20),
                    Err(DecodeError::Corrupt { .. })
                ),
                "{codec:?}: cut short"
            );
            assert!(
                matches!(
                    decode(
                        &Coding::Packed(codec),
                        b"not packed at all".to_vec(),
                        1 << 20
                    ),
                    Err(DecodeError::Corrupt { .. })
                ),
                "{codec:?}: not the coding at all"
            );
        }
        assert_eq!(
            decode(&Coding::named(Some("br")), vec![1], 10),
            Err(DecodeError::Unsupported("br".into()))
        );
    }

    #[test]
    fn codings_are_named_by_their_header() {
        assert_eq!(Coding::named(None), Coding::Identity);
        assert_eq!(Coding::named(Some("identity")), Coding::Identity);
        assert_eq!(Coding::named(Some(" GZIP ")), Coding::Packed(Codec::Gzip));
        assert_eq!(Coding::named(Some("zstd")), Coding::Packed(Codec::Zstd));
        assert_eq!(
            Coding::named(Some("gzip, gzip")),
            Coding::Other("gzip, gzip".into()),
            "stacked codings are not read"
        );
    }

    #[test]
    fn accept_encoding_picks_the_codec_weighted_highest() {
        assert_eq!(preferred(ACCEPTED), Some(Codec::Zstd), "Till's own list");
        assert_eq!(
            preferred("zstd, gzip"),
            Some(Codec::Zstd),
            "a tie goes to Till's order"
        );
        assert_eq!(preferred("gzip, zstd"), Some(Codec::Zstd));
        assert_eq!(
            preferred("gzip"),
            Some(Codec::Gzip),
            "a peer from before zstd"
        );
        assert_eq!(preferred("br, gzip;q=0.5"), Some(Codec::Gzip));
        assert_eq!(preferred("zstd;q=0.2, gzip;q=0.5"), Some(Codec::Gzip));
        assert_eq!(preferred("*"), Some(Codec::Zstd));
        assert_eq!(
            preferred("*, zstd;q=0"),
            Some(Codec::Gzip),
            "a named weight wins over *"
        );
        assert_eq!(preferred("gzip;q=0"), None, "a weight of zero refuses it");
        assert_eq!(preferred("identity"), None);
        assert_eq!(preferred(""), None);
    }
}
