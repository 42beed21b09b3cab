//! The check at the end of a drain: once a cycle leaves nothing unsent, the till asks the back
//! office's ack endpoint what it holds of this terminal and compares it with its own record.
//!
//! What is compared, for the till's current terminal identity (its sequences as the back
//! office numbers them):
//! - the back office's last settled sequence and the till's last numbered one: a drained till
//!   has sent every mutation it numbered, and had each settled;
//! - the count of mutations the back office holds settled (`Ack::settled`, one per sequence
//!   whatever its outcome; from protocol revision 7, skipped with an older back office) and the
//!   till's count of settled mutations, which for a drained till is its last numbered sequence
//!   (nothing pending or in flight; the settled rows themselves are pruned after a while, so
//!   they are not counted one by one).
//!
//! It costs one small request, and runs only when it can find something new: after a cycle
//! that pushed something, and after a check that disagreed or could not ask (until one agrees,
//! kept in [`persisted::verify_owed`]), never on the idle cycles between. A sale rung up since the
//! drain defers the check to the next drain, which pushes it.

use rusqlite::Connection;
use till_protocol::Ack;
use uuid::Uuid;

use crate::outbox;

use super::error::SyncError;
use super::persisted;
use super::transport::Transport;

/// What a check that agrees records.
pub const AGREED: &str = "ok";

/// Whether a drained cycle checks: when it pushed something, or a check is owed (the last one
/// disagreed or could not ask).
pub fn due(pushed: u64, owed: bool) -> bool {
    pushed > 0 || owed
}

/// Compares the back office's `ack` with the till's `numbered`, its last sequence (and, once
/// drained, its count of settled mutations): `None` when they agree, else what disagreed.
pub fn disagreement(ack: &Ack, numbered: u64) -> Option<String> {
    let mut found = Vec::new();
    if ack.last_applied_seq != numbered {
        found.push(format!(
            "the back office settled this till's mutations up to {}, this till sent them up to \
             {numbered}",
            ack.last_applied_seq
        ));
    }
    if let Some(settled) = ack.settled.filter(|n| *n != numbered) {
        found.push(format!(
            "the back office holds {settled} of this till's mutations settled, this till had \
             {numbered} settled"
        ));
    }
    (!found.is_empty()).then(|| found.join("; "))
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Agreed,
    /// What disagreed.
    Disagreed(String),
}

impl Verdict {
    /// As the cycle's `verify` column records it.
    pub fn recorded(&self) -> &str {
        match self {
            Verdict::Agreed => AGREED,
            Verdict::Disagreed(what) => what,
        }
    }
}

/// Asks the back office and compares (see the module doc), after a cycle that left nothing
/// unsent and `pushed` this many mutations; keeps the verdict for the next drain. `None` when
/// no check was due. (The connection is taken `&mut` so the future stays `Send`.)
pub async fn check(
    conn: &mut Connection,
    transport: &dyn Transport,
    terminal_id: Uuid,
    pushed: u64,
) -> Result<Option<Verdict>, SyncError> {
    if !due(pushed, persisted::verify_owed(conn)?.is_some()) {
        return Ok(None);
    }
    // The last sequence first: a sale queued after it shows as unsent just below.
    let numbered = outbox::numbered(conn)?;
    let counts = outbox::counts(conn)?;
    if counts.pending + counts.in_flight > 0 {
        return Ok(None);
    }
    let ack = match transport.ack(terminal_id).await {
        Ok(ack) => ack,
        Err(e) => {
            persisted::set_verify_owed(conn, Some("the back office could not be asked"))?;
            return Err(e.into());
        }
    };
    let found = disagreement(&ack, numbered);
    persisted::set_verify_owed(conn, found.as_deref())?;
    Ok(Some(found.map_or(Verdict::Agreed, Verdict::Disagreed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(last_applied_seq: u64, settled: Option<u64>) -> Ack {
        Ack {
            terminal_id: Uuid::nil(),
            last_applied_seq,
            settled,
        }
    }

    #[test]
    fn a_drained_till_agrees_when_the_back_office_settled_every_sequence_it_sent() {
        assert_eq!(disagreement(&ack(7, Some(7)), 7), None);
        assert_eq!(
            disagreement(&ack(7, None), 7),
            None,
            "a back office before revision 7 tells no count: the sequence alone is checked"
        );
        let lagging = disagreement(&ack(5, Some(5)), 7).expect("an ack that lags disagrees");
        assert!(
            lagging.contains("up to 5") && lagging.contains("up to 7"),
            "{lagging}"
        );
        let lost = disagreement(&ack(7, Some(6)), 7).expect("a lost record disagrees");
        assert!(
            lost.contains("holds 6") && !lost.contains("up to"),
            "only the count is named: {lost}"
        );
    }

    #[test]
    fn the_check_runs_after_a_push_and_again_after_a_disagreement_only() {
        let rows = [
            ("nothing pushed since it agreed", 0, false, false),
            ("pushed", 3, false, true),
            (
                "nothing pushed after a disagreement or a failed ask",
                0,
                true,
                true,
            ),
            ("pushed after a disagreement", 3, true, true),
        ];
        for (why, pushed, owed, expected) in rows {
            assert_eq!(due(pushed, owed), expected, "{why}");
        }
    }
}
