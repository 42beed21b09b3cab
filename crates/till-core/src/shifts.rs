//! Shifts: the float counted into the drawer, cash moved in and out of it outside a sale, and
//! the close with the cash counted out: the Z report. Each step is ONE immediate transaction that
//! writes the shift's rows, a journal event (so the Z report is in the hash chain) and an outbox
//! mutation for the back office, which reconciles the closed shift with what it holds.
//!
//! A till without employees keeps no shifts and sells as before. On a till with employees a
//! ticket needs an open shift and counts in it ([`for_ticket`]). A shift's figures come only from
//! `till_protocol::shift::ShiftFigures::compute` over its tickets and movements, the rule the back
//! office checks them with.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use till_protocol::pricing::TaxFigures;
use till_protocol::shift::{
    CashMoved, CashMovementKind, Reconciliation, ShiftClosed, ShiftFigures, ShiftMismatch,
    ShiftOpened, ShiftTicket, TenderTotal,
};
use till_protocol::{Approval, ApprovalAction, Currency, MutationBody, Operator};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::journal::{self, Event};
use crate::{catalog, counters, hlc, outbox, printer, signin, tickets};

/// Z numbers, gapless per till from 1.
pub const Z_NUMBER: &str = "z_number";

/// What `no_sale` records as its reason.
pub const NO_SALE_REASON: &str = "no sale";

/// Where a shift stands with the back office, as a till shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationState {
    /// Open, or closed and not yet answered by the back office.
    Pending,
    /// The back office holds exactly what the Z report says.
    Matched,
    /// The back office holds something else (`mismatch` says what).
    Mismatch,
}

impl ReconciliationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReconciliationState::Pending => "pending",
            ReconciliationState::Matched => "matched",
            ReconciliationState::Mismatch => "mismatch",
        }
    }
}

/// A shift as the till shows it: mid-shift its X report (figures so far), once closed its Z
/// report. Operators are `{id, name}`; times are RFC 3339 UTC text; money is minor units of
/// `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShiftView {
    pub shift_id: Uuid,
    pub z_number: u64,
    /// `open` or `closed`.
    pub state: String,
    pub opened_by: Operator,
    pub opened_at: String,
    pub currency: Currency,
    pub float: i64,
    pub cash_sales: i64,
    pub cash_refunds: i64,
    pub cash_in: i64,
    pub cash_out: i64,
    pub expected_cash: i64,
    /// How many tickets (sales, voids and refunds) the shift counts.
    pub tickets: u64,
    pub sales: i64,
    pub reversals: i64,
    pub totals_by_tender: Vec<TenderTotal>,
    pub tax_by_rate: Vec<TaxFigures>,
    pub reconciliation: ReconciliationState,
    /// What differs, when `reconciliation` is `mismatch`.
    pub mismatch: Option<ShiftMismatch>,
    pub closed_by: Option<Operator>,
    pub closed_at: Option<String>,
    pub counted_cash: Option<i64>,
    /// `counted_cash − expected_cash`: negative when the drawer is short.
    pub difference: Option<i64>,
}

/// Who records a shift's step: the employee whose PIN is `pin` (see [`signin::operator`]). A till
/// without employees keeps no shifts.
pub fn operator(conn: &mut Connection, pin: Option<&str>, clock: &dyn Clock) -> Result<Operator> {
    signin::operator(conn, pin, clock)?.ok_or_else(|| {
        CoreError::InvalidInput("this till has no employees: it sells without shifts".into())
    })
}

/// Whether a cash movement is well formed: cash in and out move a positive amount for a stated
/// reason; a drawer opened without a sale moves nothing and needs a manager's approval of it.
pub fn check_movement(
    kind: CashMovementKind,
    amount: i64,
    reason: &str,
    approval: Option<&Approval>,
) -> Result<()> {
    match kind {
        CashMovementKind::CashIn | CashMovementKind::CashOut => {
            if amount <= 0 {
                return Err(CoreError::InvalidInput(format!(
                    "{} needs an amount above 0, not {amount}",
                    kind.as_str()
                )));
            }
            if reason.trim().is_empty() {
                return Err(CoreError::InvalidInput(format!(
                    "{} needs a reason",
                    kind.as_str()
                )));
            }
        }
        CashMovementKind::NoSale => {
            if amount != 0 {
                return Err(CoreError::InvalidInput(
                    "a drawer opened without a sale moves no cash".into(),
                ));
            }
            if approval.is_none_or(|a| a.action != ApprovalAction::NoSale) {
                return Err(CoreError::ApprovalRequired {
                    action: ApprovalAction::NoSale.as_str().to_owned(),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The shift a ticket rung up now counts in: `None` on a till without employees, else the open
/// shift (`no_open_shift` without one). Called inside the ticket's write transaction.
pub fn for_ticket(tx: &Connection) -> Result<Option<Uuid>> {
    if !signin::has_employees(tx)? {
        return Ok(None);
    }
    Ok(Some(open_shift(tx)?.ok_or(CoreError::NoOpenShift)?.id))
}

/// Opens a shift with `float` in the drawer. `shift_already_open` while one is.
pub fn open(
    conn: &mut Connection,
    operator: &Operator,
    float: i64,
    clock: &dyn Clock,
) -> Result<ShiftView> {
    if float < 0 {
        return Err(CoreError::InvalidInput(format!(
            "a float is never negative, not {float}"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(open) = open_shift(&tx)? {
        return Err(CoreError::ShiftAlreadyOpen {
            z_number: open.z_number,
        });
    }
    let now = clock.now_ms();
    let opened = ShiftOpened {
        shift_id: Uuid::now_v7(),
        z_number: counters::next(&tx, Z_NUMBER)?,
        opened_by: operator.clone(),
        opened_at_ms: now,
        float,
    };
    insert_opened(&tx, &opened)?;
    let id = opened.shift_id;
    let event = Event::ShiftOpened(opened.clone());
    journal_and_send(
        &tx,
        &event,
        MutationBody::ShiftOpened(opened),
        operator,
        now,
    )?;
    let view = view_of(&tx, &load(&tx, id)?)?;
    tx.commit()?;
    tracing::info!(z_number = view.z_number, "shift opened");
    Ok(view)
}

/// Records cash moved in or out of the open shift's drawer, or the drawer opened without a sale
/// (`approval` a manager's, see [`check_movement`]). `no_open_shift` without a shift.
pub fn cash_move(
    conn: &mut Connection,
    kind: CashMovementKind,
    amount: i64,
    reason: &str,
    operator: &Operator,
    approval: Option<Approval>,
    clock: &dyn Clock,
) -> Result<CashMoved> {
    check_movement(kind, amount, reason, approval.as_ref())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let shift = open_shift(&tx)?.ok_or(CoreError::NoOpenShift)?;
    let now = clock.now_ms();
    let moved = CashMoved {
        id: Uuid::now_v7(),
        shift_id: shift.id,
        kind,
        amount,
        reason: reason.trim().to_owned(),
        operator: operator.clone(),
        approval,
        at_ms: now,
    };
    insert_movement(&tx, &moved)?;
    if kind == CashMovementKind::NoSale {
        printer::on_no_sale(&tx, now)?;
    }
    let event = Event::CashMoved(moved.clone());
    journal_and_send(
        &tx,
        &event,
        MutationBody::CashMoved(moved.clone()),
        operator,
        now,
    )?;
    tx.commit()?;
    Ok(moved)
}

/// Closes the open shift with `counted` cash in the drawer: its Z report, in the journal and on
/// its way to the back office. `no_open_shift` without a shift.
pub fn close(
    conn: &mut Connection,
    operator: &Operator,
    counted: i64,
    clock: &dyn Clock,
) -> Result<ShiftView> {
    if counted < 0 {
        return Err(CoreError::InvalidInput(format!(
            "counted cash is never negative, not {counted}"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let shift = open_shift(&tx)?.ok_or(CoreError::NoOpenShift)?;
    let (numbers, figures) = figures(&tx, &shift)?;
    let now = clock.now_ms();
    let closed = ShiftClosed {
        shift_id: shift.id,
        z_number: shift.z_number,
        closed_by: operator.clone(),
        closed_at_ms: now,
        counted_cash: counted,
        difference: counted
            .checked_sub(figures.expected_cash)
            .ok_or_else(|| CoreError::InvalidInput("the shift's figures overflow".into()))?,
        ticket_numbers: numbers,
        figures,
    };
    record_closed(&tx, &closed)?;
    let event = Event::ShiftClosed(closed.clone());
    journal_and_send(
        &tx,
        &event,
        MutationBody::ShiftClosed(closed),
        operator,
        now,
    )?;
    let view = view_of(&tx, &load(&tx, shift.id)?)?;
    printer::on_shift_closed(&tx, &view, now)?;
    tx.commit()?;
    tracing::info!(
        z_number = view.z_number,
        difference = view.difference,
        "shift closed"
    );
    Ok(view)
}

/// Appends `event` to the journal and queues `body` for the back office, done by `operator`.
fn journal_and_send(
    tx: &Connection,
    event: &Event,
    body: MutationBody,
    operator: &Operator,
    now: i64,
) -> Result<()> {
    journal::append_event(tx, event)?;
    let stamp = hlc::tick(tx, now)?;
    outbox::enqueue(tx, body, Some(operator.clone()), stamp, now)?;
    Ok(())
}

/// The open shift's X report, or else the last closed shift's Z report; `None` before the first.
pub fn show(conn: &Connection) -> Result<Option<ShiftView>> {
    let row = match open_shift(conn)? {
        Some(open) => Some(open),
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM shifts ORDER BY z_number DESC LIMIT 1"
            ))?
            .query_row([], row)
            .optional()?,
    };
    row.map(|r| view_of(conn, &r)).transpose()
}

/// The last `limit` closed shifts, newest first, each with its reconciliation.
pub fn list_closed(conn: &Connection, limit: u32) -> Result<Vec<ShiftView>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM shifts WHERE closed_at_ms IS NOT NULL
             ORDER BY z_number DESC LIMIT ?1"
        ))?
        .query_map([limit], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.iter().map(|r| view_of(conn, r)).collect()
}

/// Records the back office's answer to the close of shift `shift_id`.
pub(crate) fn reconciled(
    tx: &Connection,
    shift_id: Uuid,
    reconciliation: &Reconciliation,
) -> Result<()> {
    tx.prepare_cached("UPDATE shifts SET reconciliation = ?2 WHERE id = ?1")?
        .execute(params![shift_id.to_string(), to_json(reconciliation)?])?;
    Ok(())
}

/// Writes back the shift rows a journal event salvaged from a damaged store records; a run over
/// what is already here changes nothing.
pub(crate) fn restore(tx: &Connection, event: &Event) -> Result<()> {
    match event {
        Event::ShiftOpened(opened) => {
            if !exists(tx, opened.shift_id)? {
                insert_opened(tx, opened)?;
            }
        }
        Event::CashMoved(moved) => {
            tx.prepare_cached("DELETE FROM cash_movements WHERE id = ?1")?
                .execute([moved.id.to_string()])?;
            insert_movement(tx, moved)?;
        }
        Event::ShiftClosed(closed) => record_closed(tx, closed)?,
        Event::PinLockout(_)
        | Event::FailedItemDiscarded(_)
        | Event::ConflictResolved(_)
        | Event::QueueExported(_) => {}
    }
    Ok(())
}

/// A shift as stored.
#[derive(Debug)]
struct Row {
    id: Uuid,
    z_number: u64,
    opened_by: Operator,
    opened_at_ms: i64,
    float: i64,
    report: Option<ShiftClosed>,
    reconciliation: Reconciliation,
}

const COLUMNS: &str = "id, z_number, opened_by, opened_at_ms, float, report, reconciliation";

fn bad(i: usize, e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
}

fn json<T: serde::de::DeserializeOwned>(i: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| bad(i, e.to_string()))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let id: String = r.get(0)?;
    let report: Option<String> = r.get(5)?;
    Ok(Row {
        id: Uuid::parse_str(&id).map_err(|e| bad(0, e.to_string()))?,
        z_number: u64::try_from(r.get::<_, i64>(1)?).map_err(|e| bad(1, e.to_string()))?,
        opened_by: json(2, &r.get::<_, String>(2)?)?,
        opened_at_ms: r.get(3)?,
        float: r.get(4)?,
        report: report.map(|t| json(5, &t)).transpose()?,
        reconciliation: json(6, &r.get::<_, String>(6)?)?,
    })
}

fn open_shift(conn: &Connection) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM shifts WHERE closed_at_ms IS NULL"
        ))?
        .query_row([], row)
        .optional()?)
}

fn load(conn: &Connection, id: Uuid) -> Result<Row> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM shifts WHERE id = ?1"))?
        .query_row([id.to_string()], row)?)
}

fn exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM shifts WHERE id = ?1)")?
        .query_row([id.to_string()], |r| r.get(0))?)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| CoreError::Database(e.to_string()))
}

fn insert_opened(tx: &Connection, opened: &ShiftOpened) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO shifts (id, z_number, opened_by, opened_at_ms, float)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        opened.shift_id.to_string(),
        i64::try_from(opened.z_number).unwrap_or(i64::MAX),
        to_json(&opened.opened_by)?,
        opened.opened_at_ms,
        opened.float
    ])?;
    Ok(())
}

fn insert_movement(tx: &Connection, moved: &CashMoved) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO cash_movements (id, shift_id, at_ms, movement) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        moved.id.to_string(),
        moved.shift_id.to_string(),
        moved.at_ms,
        to_json(moved)?
    ])?;
    Ok(())
}

fn record_closed(tx: &Connection, closed: &ShiftClosed) -> Result<()> {
    tx.prepare_cached("UPDATE shifts SET closed_at_ms = ?2, report = ?3 WHERE id = ?1")?
        .execute(params![
            closed.shift_id.to_string(),
            closed.closed_at_ms,
            to_json(closed)?
        ])?;
    Ok(())
}

fn movements(conn: &Connection, shift_id: Uuid) -> Result<Vec<CashMoved>> {
    let texts = conn
        .prepare_cached("SELECT movement FROM cash_movements WHERE shift_id = ?1 ORDER BY at_ms")?
        .query_map([shift_id.to_string()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| CoreError::Database(e.to_string())))
        .collect()
}

/// The numbers of the shift's tickets, ascending, and its figures so far.
fn figures(conn: &Connection, shift: &Row) -> Result<(Vec<u64>, ShiftFigures)> {
    let mut held = Vec::new();
    for id in journal::tickets_of_shift(conn, shift.id)? {
        held.push(
            tickets::load(conn, id)?.ok_or_else(|| CoreError::TicketNotFound(id.to_string()))?,
        );
    }
    let counted: Vec<ShiftTicket<'_>> = held.iter().map(ShiftTicket::from).collect();
    let figures = ShiftFigures::compute(shift.float, &counted, &movements(conn, shift.id)?)
        .map_err(|e| CoreError::InvalidInput(e.to_string()))?;
    Ok((held.iter().map(|t| t.number).collect(), figures))
}

fn view_of(conn: &Connection, shift: &Row) -> Result<ShiftView> {
    let figures = match &shift.report {
        Some(report) => report.figures.clone(),
        None => figures(conn, shift)?.1,
    };
    let (reconciliation, mismatch) = match &shift.reconciliation {
        Reconciliation::Pending => (ReconciliationState::Pending, None),
        Reconciliation::Matched => (ReconciliationState::Matched, None),
        Reconciliation::Mismatch(m) => (ReconciliationState::Mismatch, Some(m.clone())),
    };
    let report = shift.report.as_ref();
    Ok(ShiftView {
        shift_id: shift.id,
        z_number: shift.z_number,
        state: if report.is_some() { "closed" } else { "open" }.into(),
        opened_by: shift.opened_by.clone(),
        opened_at: rfc3339_utc(shift.opened_at_ms),
        currency: catalog::settings(conn)?.currency,
        float: figures.float,
        cash_sales: figures.cash_sales,
        cash_refunds: figures.cash_refunds,
        cash_in: figures.cash_in,
        cash_out: figures.cash_out,
        expected_cash: figures.expected_cash,
        tickets: figures.tickets,
        sales: figures.sales,
        reversals: figures.reversals,
        totals_by_tender: figures.totals_by_tender,
        tax_by_rate: figures.tax_by_rate,
        reconciliation,
        mismatch,
        closed_by: report.map(|r| r.closed_by.clone()),
        closed_at: report.map(|r| rfc3339_utc(r.closed_at_ms)),
        counted_cash: report.map(|r| r.counted_cash),
        difference: report.map(|r| r.difference),
    })
}

/// `ms` since the Unix epoch as RFC 3339 UTC text with milliseconds, e.g.
/// `2026-11-30T03:29:52.123Z`.
pub fn rfc3339_utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager_approval(action: ApprovalAction) -> Approval {
        Approval {
            by: Operator {
                id: Uuid::nil(),
                name: "Mia".into(),
            },
            action,
            reason: NO_SALE_REASON.into(),
        }
    }

    #[test]
    fn cash_in_and_out_need_a_positive_amount_and_a_reason() {
        for kind in [CashMovementKind::CashIn, CashMovementKind::CashOut] {
            assert!(check_movement(kind, 500, "change from the bank", None).is_ok());
            for (amount, reason) in [(0, "drop"), (-5, "drop"), (500, "  ")] {
                let err = check_movement(kind, amount, reason, None).expect_err("refused");
                assert_eq!(
                    err.code(),
                    crate::ErrorCode::InvalidInput,
                    "{amount} {reason:?}"
                );
            }
        }
    }

    #[test]
    fn a_no_sale_needs_a_managers_approval_of_a_no_sale() {
        let kind = CashMovementKind::NoSale;
        let refused = check_movement(kind, 0, NO_SALE_REASON, None).expect_err("refused");
        assert_eq!(refused.code(), crate::ErrorCode::ApprovalRequired);
        let other = manager_approval(ApprovalAction::Void);
        let refused = check_movement(kind, 0, NO_SALE_REASON, Some(&other)).expect_err("refused");
        assert_eq!(
            refused.code(),
            crate::ErrorCode::ApprovalRequired,
            "an approval of something else does not open the drawer"
        );
        let approved = manager_approval(ApprovalAction::NoSale);
        assert!(check_movement(kind, 0, NO_SALE_REASON, Some(&approved)).is_ok());
        assert!(
            check_movement(kind, 100, NO_SALE_REASON, Some(&approved)).is_err(),
            "a no sale moves no cash"
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_utc(1_796_009_392_123), "2026-11-30T03:29:52.123Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
    }
}
