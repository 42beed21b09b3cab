//! The push chain: every mutation a terminal queues is a link of one hash chain, which the
//! terminal and the back office both compute, so neither side's copy of the books can change
//! unseen once the other has seen it.
//!
//! Link `n` is `SHA-256(link(n − 1) || content(n))` (the 32 raw bytes of each), where link 0 is
//! [`GENESIS`] and `content(n)` is the SHA-256 of the mutation's body as the protocol's types
//! write it ([`content`]). A ticket's body carries its `journal_hash`, so a ticket's link also
//! binds the till's journal at that ticket. The terminal computes each link when it queues the
//! mutation and sends it as [`crate::Mutation::link`]; the back office recomputes it from the
//! body it receives and the link it accepted before, refuses a push whose link differs
//! ([`JOURNAL_BREAK`]), and answers each push with the head it accepted
//! ([`crate::PushResponse::head`]). A terminal also names its newest link with each push
//! ([`crate::PushRequest::head`]), so that queued mutations are anchored before they arrive.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::MutationBody;

/// Link 0: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The error code (HTTP 409) of a push whose chain does not go on from what the back office
/// accepted: a mutation's link is not the one its body and the link before give, a link is
/// missing after the chain began, or a head the terminal named before is not reached. Nothing
/// of the push is recorded; the terminal stops syncing until a person looks (as for a history
/// that diverged).
pub const JOURNAL_BREAK: &str = "journal_break";

/// A link of a terminal's chain at a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// The mutation sequence of the link.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// The link, 64 hex digits.
    pub link: String,
}

/// A link or content that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not a SHA-256 in hex: {value:?}")]
pub struct NotAHash {
    pub what: &'static str,
    pub value: String,
}

/// The content of a mutation's link: the hex SHA-256 of its body's JSON.
pub fn content(body: &MutationBody) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(body)?)))
}

/// The link after `prev` for a mutation of content `content` (both hex).
pub fn link(prev: &str, content: &str) -> Result<String, NotAHash> {
    let mut hasher = Sha256::new();
    hasher.update(digest(prev, "the link before")?);
    hasher.update(digest(content, "the content")?);
    Ok(hex::encode(hasher.finalize()))
}

fn digest(value: &str, what: &'static str) -> Result<[u8; 32], NotAHash> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(value, &mut bytes).map_err(|_| NotAHash {
        what,
        value: value.chars().take(80).collect(),
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomerDeleted, MutationBody};
    use uuid::Uuid;

    fn body() -> MutationBody {
        MutationBody::CustomerDeleted(CustomerDeleted {
            id: Uuid::nil(),
            base_version: 1,
            base: None,
        })
    }

    #[test]
    fn a_link_binds_the_link_before_and_the_content() {
        let content = content(&body()).expect("serializes");
        let first = link(GENESIS, &content).expect("hex");
        assert_eq!(first.len(), 64);
        assert_ne!(link(&first, &content).expect("hex"), first);
        let other = content_of_other();
        assert_ne!(link(GENESIS, &other).expect("hex"), first);
    }

    fn content_of_other() -> String {
        let MutationBody::CustomerDeleted(mut deleted) = body() else {
            unreachable!()
        };
        deleted.base_version = 2;
        content(&MutationBody::CustomerDeleted(deleted)).expect("serializes")
    }

    #[test]
    fn a_link_that_is_not_hex_is_refused() {
        let err = link("zz", GENESIS).expect_err("not hex");
        assert_eq!(err.what, "the link before");
        assert!(link(GENESIS, &"0".repeat(63)).is_err());
    }
}
