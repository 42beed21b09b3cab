//! Settling a shift conflict. The Z report is in the journal and the tickets the back office
//! lacks are in its failed list or on their way: neither side is rewritten. A manager
//! acknowledges the difference, which is recorded (who, when) and queues nothing.

use super::super::error::SyncError;
use super::Resolution;

/// Settles a shift conflict as `resolution` says: only an acknowledgement (keep theirs) is one.
pub(super) fn settle(resolution: &Resolution) -> Result<Option<u64>, SyncError> {
    match resolution {
        Resolution::KeepTheirs => Ok(None),
        _ => Err(SyncError::NotApplicable(
            "a shift whose Z report the back office does not agree with is only acknowledged: \
             neither the Z report nor the back office's figures are rewritten"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rusqlite::Connection;
    use till_protocol::shift::{FigureDifference, ShiftClosed, ShiftFigures, ShiftMismatch};
    use till_protocol::Operator;
    use uuid::Uuid;

    use super::super::{
        get, record, resolve, ConflictReason, Detected, PolicySet, ServerWins, ShiftSides, Sides,
        TerminalWins,
    };
    use super::*;
    use crate::clock::FixedClock;
    use crate::journal::testing::{editing_breaks_the_chain, the_only_event};
    use crate::journal::Event;

    const NOW: FixedClock = FixedClock(1_000);

    fn mona() -> Operator {
        Operator {
            id: Uuid::nil(),
            name: "Mona".into(),
        }
    }

    /// Z report #1 counting tickets 1 and 2; the back office never received ticket 2.
    fn mismatch() -> Detected {
        let figures = ShiftFigures::compute(10_000, &[], &[]).expect("figures");
        let z = ShiftClosed {
            shift_id: Uuid::now_v7(),
            z_number: 1,
            closed_by: mona(),
            closed_at_ms: 900,
            counted_cash: 10_000,
            difference: 0,
            ticket_numbers: vec![1, 2],
            figures,
        };
        let differs = ShiftMismatch {
            missing_tickets: vec![2],
            unexpected_tickets: vec![],
            differences: vec![FigureDifference {
                figure: "tickets".into(),
                till: 2,
                back_office: 1,
            }],
        };
        Detected {
            entity_id: z.shift_id,
            outbox_seq: None,
            reason: ConflictReason::Server(till_protocol::ConflictReason::ShiftMismatch),
            sides: Sides::Shift(ShiftSides {
                mine: Some(z),
                theirs: Some(differs),
            }),
        }
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        (dir, conn)
    }

    #[test]
    fn no_policy_ever_settles_a_shift_conflict() {
        let (_dir, conn) = store();
        let eager = PolicySet {
            customer: Arc::new(ServerWins),
            ticket: Arc::new(TerminalWins),
        };
        let detected = mismatch();
        let id = record(&conn, &eager, detected.clone(), &NOW).expect("recorded");
        let c = get(&conn, id).expect("reads");
        assert_eq!(c.resolved_at_ms, None, "money: only a manager settles it");
        assert_eq!(c.policy, "manual");
        assert_eq!(
            c.sides.field_names(),
            ["missing_tickets", "tickets"],
            "what differs, by name"
        );
        assert_eq!(c.sides, detected.sides, "both sides read back as written");
    }

    #[test]
    fn acknowledging_a_shift_is_recorded_with_who_in_the_conflict_and_the_journal() {
        let (_dir, mut conn) = store();
        let id = record(&conn, &PolicySet::default(), mismatch(), &NOW).expect("recorded");
        let refused = resolve(&mut conn, id, &Resolution::KeepMine, "x", None, &NOW);
        assert!(
            refused.is_err(),
            "a Z report is never pushed over the office's"
        );
        let done = resolve(
            &mut conn,
            id,
            &Resolution::KeepTheirs,
            "x",
            Some(&mona()),
            &NOW,
        )
        .expect("acknowledged");
        assert_eq!(done.resolved_by.as_deref(), Some("Mona"));
        assert_eq!(done.resolution_seq, None, "nothing to send");
        let event = the_only_event(&mut conn);
        let Event::ConflictResolved(r) = event else {
            panic!("a conflict_resolved event: {event:?}")
        };
        assert_eq!(
            (r.conflict_id, r.entity_kind.as_str(), r.resolution.as_str()),
            (id, "shift", "acknowledged")
        );
        assert_eq!(r.operator, Some(mona()), "who acknowledged it");

        editing_breaks_the_chain(&mut conn, "Mona", "Moss", "conflict_resolved");
    }

    #[test]
    fn a_shift_is_only_acknowledged() {
        assert_eq!(
            settle(&Resolution::KeepTheirs).ok(),
            Some(None),
            "nothing queued"
        );
        for other in [
            Resolution::KeepMine,
            Resolution::Pick(Default::default()),
            Resolution::RefundStands,
            Resolution::CashCameBack { why: "x".into() },
        ] {
            assert!(
                settle(&other).is_err(),
                "{other:?} would rewrite a Z report or the back office's figures"
            );
        }
    }
}
