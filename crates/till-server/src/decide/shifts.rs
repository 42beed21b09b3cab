//! Shifts as tills report them: one opened with a float, cash moved in and out of its drawer,
//! and its close with the Z report. A close is reconciled: the back office computes the shift's
//! figures again from the tickets and cash movements it holds for it, by the rule the till used
//! ([`ShiftFigures::compute`]), and compares them with the Z report ([`reconcile`]). A ticket
//! the back office refused or never received is missing from what it holds, so the close is a
//! mismatch naming that ticket's number.

use till_protocol::shift::{
    reconcile, CashMoved, CashMovementKind, ShiftClosed, ShiftFigures, ShiftMismatch, ShiftOpened,
    ShiftTicket,
};
use till_protocol::text::Lines;
use till_protocol::{ConflictCurrent, ConflictReason, Operator, Outcome, Ticket};
use uuid::Uuid;

use super::text::{self, MAX_REASON};
use super::Rejection;

/// A shift as stored, as far as the decisions on it need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredShift {
    pub server_id: i64,
    pub terminal_id: Uuid,
    pub z_number: u64,
    pub float: i64,
    pub closed: bool,
}

/// How a close compares with what the back office holds for the shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// `None`: the Z report matches.
    pub mismatch: Option<ShiftMismatch>,
}

impl Reconciled {
    /// The state a shift keeps: `matched` or `mismatch`.
    pub fn state(&self) -> &'static str {
        match self.mismatch {
            None => "matched",
            Some(_) => "mismatch",
        }
    }

    /// The answer to the till for its close of the shift stored as `server_id`: applied when it
    /// matches, else a conflict with what differs (the close is kept all the same).
    pub fn outcome(&self, server_id: i64) -> Outcome {
        match &self.mismatch {
            None => applied(server_id),
            Some(mismatch) => Outcome::Conflict {
                reason: ConflictReason::ShiftMismatch,
                current: Some(ConflictCurrent::Shift(mismatch.clone())),
            },
        }
    }
}

/// The answer to a shift mutation applied to the shift stored as `server_id`.
pub fn applied(server_id: i64) -> Outcome {
    Outcome::Applied {
        server_id,
        server_number: None,
        version: 1,
    }
}

/// A shift opened (`existing`: the shift stored under its id): a new shift id, a Z number and a
/// float in range, and who opened it named as a name may be.
pub fn open(existing: Option<&StoredShift>, opened: &ShiftOpened) -> Result<(), Rejection> {
    if existing.is_some() {
        return Err(Rejection::new(
            "shift_exists",
            format!("shift {} was opened before", opened.shift_id),
        ));
    }
    if opened.z_number == 0 || i64::try_from(opened.z_number).is_err() {
        return Err(Rejection::new(
            "invalid_z_number",
            format!("Z number {} is out of range", opened.z_number),
        ));
    }
    if opened.float < 0 {
        return Err(Rejection::new(
            "invalid_amount",
            "a shift's float cannot be negative",
        ));
    }
    check_operator("who opened the shift", &opened.opened_by)
}

/// Cash moved in the drawer of an open shift of `terminal_id`, whose movements so far are
/// `movements`: once per id, in a shift of this till that is still open, never a negative
/// amount, and nothing moved on a drawer opened without a sale.
pub fn move_cash(
    shift: Option<&StoredShift>,
    terminal_id: Uuid,
    moved: &CashMoved,
    movements: &[CashMoved],
) -> Result<(), Rejection> {
    open_shift_of(shift, terminal_id, moved.shift_id)?;
    if movements.iter().any(|m| m.id == moved.id) {
        return Err(Rejection::new(
            "duplicate_cash_movement",
            format!("cash movement {} was received before", moved.id),
        ));
    }
    let amount_ok = match moved.kind {
        CashMovementKind::CashIn | CashMovementKind::CashOut => moved.amount >= 0,
        CashMovementKind::NoSale => moved.amount == 0,
    };
    if !amount_ok {
        return Err(Rejection::new(
            "invalid_amount",
            format!(
                "{} of {} is not valid: amounts are never negative, and a drawer opened \
                 without a sale moves nothing",
                moved.kind.as_str(),
                moved.amount
            ),
        ));
    }
    text::check_lines("the reason", &moved.reason, MAX_REASON, Lines::Many).map_err(refused)?;
    check_operator("who moved the cash", &moved.operator)?;
    match &moved.approval {
        Some(approval) => text::check_approval(approval).map_err(refused),
        None => Ok(()),
    }
}

/// A shift of `terminal_id` closed with its Z report `closed`, reconciled with `held`, the
/// tickets the back office holds for that shift and till, and `movements`, the cash moved in it.
pub fn close(
    shift: Option<&StoredShift>,
    terminal_id: Uuid,
    closed: &ShiftClosed,
    held: &[Ticket],
    movements: &[CashMoved],
) -> Result<Reconciled, Rejection> {
    let shift = open_shift_of(shift, terminal_id, closed.shift_id)?;
    if closed.z_number != shift.z_number {
        return Err(Rejection::new(
            "z_number_mismatch",
            format!(
                "shift {} was opened as Z {}, not Z {}",
                closed.shift_id, shift.z_number, closed.z_number
            ),
        ));
    }
    check_operator("who closed the shift", &closed.closed_by)?;
    let tickets: Vec<ShiftTicket<'_>> = held.iter().map(ShiftTicket::from).collect();
    let figures = ShiftFigures::compute(shift.float, &tickets, movements)
        .map_err(|e| Rejection::new("figures_overflow", e.to_string()))?;
    let numbers: Vec<u64> = held.iter().map(|t| t.number).collect();
    Ok(Reconciled {
        mismatch: reconcile(closed, &numbers, &figures),
    })
}

/// The shift `id` as stored, when it is an open shift of `terminal_id`.
fn open_shift_of(
    shift: Option<&StoredShift>,
    terminal_id: Uuid,
    id: Uuid,
) -> Result<&StoredShift, Rejection> {
    let Some(shift) = shift else {
        return Err(Rejection::new(
            "unknown_shift",
            format!("shift {id} is not known to the back office"),
        ));
    };
    if shift.terminal_id != terminal_id {
        return Err(Rejection::new(
            "not_your_shift",
            format!("shift {id} belongs to another till"),
        ));
    }
    if shift.closed {
        return Err(Rejection::new(
            "shift_closed",
            format!("shift {id} is closed"),
        ));
    }
    Ok(shift)
}

fn check_operator(what: &str, operator: &Operator) -> Result<(), Rejection> {
    text::check_operator(what, operator).map_err(refused)
}

fn refused(r: text::Refusal) -> Rejection {
    Rejection::new(r.code, r.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn stored(opened: &ShiftOpened, terminal_id: Uuid) -> StoredShift {
        StoredShift {
            server_id: 7,
            terminal_id,
            z_number: opened.z_number,
            float: opened.float,
            closed: false,
        }
    }

    fn code<T: std::fmt::Debug>(decided: Result<T, Rejection>) -> &'static str {
        decided.expect_err("refused").code
    }

    #[test]
    fn a_shift_opens_once_with_a_z_number_and_a_float_in_range() {
        let ada = sample::operator("Ada");
        let opened = sample::shift_opened(1, 10_000, &ada);
        assert_eq!(open(None, &opened), Ok(()));
        let known = stored(&opened, Uuid::nil());
        assert_eq!(code(open(Some(&known), &opened)), "shift_exists");
        let negative = ShiftOpened {
            float: -1,
            ..opened.clone()
        };
        assert_eq!(code(open(None, &negative)), "invalid_amount");
        let zero = ShiftOpened {
            z_number: 0,
            ..opened.clone()
        };
        assert_eq!(code(open(None, &zero)), "invalid_z_number");
        let named = ShiftOpened {
            opened_by: sample::operator("Ada\u{1b}"),
            ..opened
        };
        assert_eq!(code(open(None, &named)), "invalid_text");
    }

    #[test]
    fn cash_moves_once_in_an_open_shift_of_the_same_till() {
        let ada = sample::operator("Ada");
        let till = Uuid::now_v7();
        let opened = sample::shift_opened(1, 0, &ada);
        let shift = stored(&opened, till);
        let cash_in = sample::cash_moved(opened.shift_id, CashMovementKind::CashIn, 500, &ada);
        assert_eq!(move_cash(Some(&shift), till, &cash_in, &[]), Ok(()));
        let before = [cash_in.clone()];
        assert_eq!(
            code(move_cash(Some(&shift), till, &cash_in, &before)),
            "duplicate_cash_movement"
        );
        assert_eq!(code(move_cash(None, till, &cash_in, &[])), "unknown_shift");
        assert_eq!(
            code(move_cash(Some(&shift), Uuid::now_v7(), &cash_in, &[])),
            "not_your_shift"
        );
        let closed = StoredShift {
            closed: true,
            ..shift.clone()
        };
        assert_eq!(
            code(move_cash(Some(&closed), till, &cash_in, &[])),
            "shift_closed"
        );
        let no_sale = sample::cash_moved(opened.shift_id, CashMovementKind::NoSale, 1, &ada);
        assert_eq!(
            code(move_cash(Some(&shift), till, &no_sale, &[])),
            "invalid_amount",
            "a drawer opened without a sale moves nothing"
        );
        let long = CashMoved {
            reason: "r".repeat(MAX_REASON + 1),
            ..cash_in
        };
        assert_eq!(
            code(move_cash(Some(&shift), till, &long, &[])),
            "text_too_long"
        );
    }

    #[test]
    fn a_close_matches_when_the_back_office_holds_what_the_z_report_counts() {
        let ada = sample::operator("Ada");
        let till = Uuid::now_v7();
        let opened = sample::shift_opened(3, 1_000, &ada);
        let shift = stored(&opened, till);
        let sales = [sample::sale(1), sample::sale(2)];
        let cash_out = sample::cash_moved(opened.shift_id, CashMovementKind::CashOut, 300, &ada);
        let movements = [cash_out];
        let closed = sample::shift_closed(&opened, &sales, &movements, 0);
        let reconciled =
            close(Some(&shift), till, &closed, &sales, &movements).expect("reconciled");
        assert_eq!(reconciled, Reconciled { mismatch: None });
        assert_eq!(reconciled.state(), "matched");
        assert_eq!(reconciled.outcome(7), applied(7));
    }

    #[test]
    fn a_close_missing_a_ticket_or_a_movement_is_a_mismatch_saying_what_differs() {
        let ada = sample::operator("Ada");
        let till = Uuid::now_v7();
        let opened = sample::shift_opened(3, 1_000, &ada);
        let shift = stored(&opened, till);
        let sales = [sample::sale(1), sample::sale(2)];
        let cash_in = sample::cash_moved(opened.shift_id, CashMovementKind::CashIn, 300, &ada);
        let closed = sample::shift_closed(&opened, &sales, &[cash_in], 0);
        let reconciled = close(Some(&shift), till, &closed, &sales[..1], &[]).expect("reconciled");
        let mismatch = reconciled.mismatch.clone().expect("a mismatch");
        assert_eq!(mismatch.missing_tickets, vec![2]);
        let figures: Vec<&str> = mismatch
            .differences
            .iter()
            .map(|d| d.figure.as_str())
            .collect();
        assert!(
            figures.contains(&"cash_in") && figures.contains(&"sales"),
            "{figures:?}"
        );
        assert_eq!(reconciled.state(), "mismatch");
        assert_eq!(
            reconciled.outcome(7),
            Outcome::Conflict {
                reason: ConflictReason::ShiftMismatch,
                current: Some(ConflictCurrent::Shift(mismatch)),
            }
        );
    }

    #[test]
    fn a_close_names_a_known_open_shift_of_its_till_and_its_z_number() {
        let ada = sample::operator("Ada");
        let till = Uuid::now_v7();
        let opened = sample::shift_opened(3, 0, &ada);
        let shift = stored(&opened, till);
        let closed = sample::shift_closed(&opened, &[], &[], 0);
        assert_eq!(code(close(None, till, &closed, &[], &[])), "unknown_shift");
        let other_z = ShiftClosed {
            z_number: 4,
            ..closed.clone()
        };
        assert_eq!(
            code(close(Some(&shift), till, &other_z, &[], &[])),
            "z_number_mismatch"
        );
        let done = StoredShift {
            closed: true,
            ..shift
        };
        assert_eq!(
            code(close(Some(&done), till, &closed, &[], &[])),
            "shift_closed"
        );
    }
}
