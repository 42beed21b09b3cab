//! How both backends write values into their columns and read them back: one encoding for
//! every value the two schemas store alike.

use serde::de::DeserializeOwned;
use serde::Serialize;
use till_protocol::shift::ShiftMismatch;
use till_protocol::{
    Approval, ChainHead, MutationBody, Operator, Role, StoredFigures, Ticket, TicketKind,
};
use uuid::Uuid;

use super::StorageError;
use crate::decide::chain::StoredLink;
use crate::decide::terminals::TokenSlot;
use crate::decide::tickets::{EarlierReversal, SoldLine};

/// The columns of a [`super::TerminalRecord`], in the order both backends read them.
pub(super) const TERMINAL_COLUMNS: &str =
    "id, name, created_at_ms, revoked_at_ms, last_seq, previous_expires_at_ms";

/// The columns of a product, its tombstone flag and its change number, in the order both
/// backends read them.
pub(super) const PRODUCT_COLUMNS: &str =
    "id, sku, barcode, name, category, unit_price, tax_category, active, deleted, change_seq";

/// The columns of a customer as a decision needs it, in the order both backends read them.
pub(super) const CUSTOMER_COLUMNS: &str =
    "server_id, version, name, email, phone, note, deleted, hlc, made_by, tags, loyalty_points";

/// The columns of an employee, in the order both backends read them.
pub(super) const EMPLOYEE_COLUMNS: &str = "id, name, role, pin_hash, disabled";

/// An employee's role read back from its column.
pub(super) fn parse_role(name: &str) -> Result<Role, StorageError> {
    Role::parse(name).ok_or_else(|| StorageError::Corrupt(format!("employee role {name:?}")))
}

/// Which token a lookup by token hash matched, from its `token_hash = $1` column.
pub(super) fn token_slot(current: bool) -> TokenSlot {
    if current {
        TokenSlot::Current
    } else {
        TokenSlot::Previous
    }
}

/// A count, sequence or number for an integer column; beyond `i64` it is refused, never wrapped.
pub(super) fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Invalid(format!("{what} {v} is out of range")))
}

/// An integer column read back as a count, sequence or number (never negative when written).
/// The push chain a terminal's mutations recorded, oldest first: each mutation's sequence, kind,
/// content and link, and the body of the ticket it stored, if it stored one. `{}` is the
/// backend's placeholder for the terminal's id.
pub(super) const PUSH_CHAIN_QUERY: &str = "SELECT m.seq, m.kind, m.content, m.link, t.body
     FROM mutations m LEFT JOIN tickets t ON t.mutation_id = m.id
     WHERE m.terminal_id = {} AND m.link IS NOT NULL ORDER BY m.seq";

/// A stored link from its row of [`PUSH_CHAIN_QUERY`], with its content recomputed from the
/// ticket its mutation stored (wrapped as the mutation's kind carried it).
pub(super) fn stored_link(
    seq: i64,
    kind: &str,
    content: String,
    link: String,
    body: Option<&str>,
) -> Result<StoredLink, StorageError> {
    let recomputed = match body {
        Some(body) => {
            let ticket = parse_ticket(body)?;
            let body = match kind {
                "ticket_created" => MutationBody::TicketCreated(ticket),
                "ticket_voided" => MutationBody::TicketVoided(ticket),
                "ticket_refunded" => MutationBody::TicketRefunded(ticket),
                other => {
                    return Err(StorageError::Corrupt(format!(
                        "mutation {seq} of kind {other} names a ticket"
                    )))
                }
            };
            let content = till_protocol::chain::content(&body)
                .map_err(|e| StorageError::Database(format!("cannot serialise a ticket: {e}")))?;
            Some(content)
        }
        None => None,
    };
    Ok(StoredLink {
        seq: to_u64(seq),
        content,
        link,
        recomputed,
    })
}

/// A chain head from its two columns (`None` when either is empty).
pub(super) fn chain_head(seq: Option<i64>, link: Option<String>) -> Option<ChainHead> {
    Some(ChainHead {
        seq: to_u64(seq?),
        link: link?,
    })
}

/// The two columns of a chain head.
pub(super) fn chain_head_columns(
    head: Option<&ChainHead>,
) -> Result<(Option<i64>, Option<&str>), StorageError> {
    Ok(match head {
        Some(h) => (
            Some(to_i64(h.seq, "chain sequence")?),
            Some(h.link.as_str()),
        ),
        None => (None, None),
    })
}

pub(super) fn to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

pub(super) fn kind_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "sale",
        TicketKind::Void => "void",
        TicketKind::Refund => "refund",
    }
}

pub(super) fn parse_kind(name: &str) -> Result<TicketKind, StorageError> {
    match name {
        "sale" => Ok(TicketKind::Sale),
        "void" => Ok(TicketKind::Void),
        "refund" => Ok(TicketKind::Refund),
        other => Err(StorageError::Corrupt(format!(
            "unknown ticket kind {other:?}"
        ))),
    }
}

/// The lines of a ticket kept whole (its JSON), as a reversal is checked against them.
pub(super) fn sold_lines(body: &str) -> Result<Vec<SoldLine>, StorageError> {
    let ticket = parse_ticket(body)?;
    Ok(ticket
        .lines
        .iter()
        .map(|l| SoldLine {
            product_id: l.product_id,
            unit_price: l.unit_price,
            quantity: l.quantity,
        })
        .collect())
}

/// The state of a shift not closed yet (a closed one is [`crate::decide::shifts::Reconciled`]'s).
pub(super) const OPEN: &str = "open";

/// A value kept as JSON in a text column (an approval, a shift's figures, a mismatch).
pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value)
        .map_err(|e| StorageError::Database(format!("cannot serialise for storage: {e}")))
}

/// A value read back from its JSON text column, `what` in the error.
pub(super) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Corrupt(format!("a stored {what} does not parse: {e}")))
}

/// A ticket's approval for its column.
pub(super) fn approval_column(approval: &Option<Approval>) -> Result<Option<String>, StorageError> {
    approval.as_ref().map(to_json).transpose()
}

/// An operator from its id and name columns (both or neither are set).
pub(super) fn operator_of(id: Option<Uuid>, name: Option<String>) -> Option<Operator> {
    Some(Operator {
        id: id?,
        name: name?,
    })
}

/// A ticket's approval read back from its column.
pub(super) fn approval_of(column: Option<&str>) -> Result<Option<Approval>, StorageError> {
    column.map(|text| from_json(text, "approval")).transpose()
}

/// A shift's mismatch read back from its column.
pub(super) fn mismatch_of(column: Option<&str>) -> Result<Option<ShiftMismatch>, StorageError> {
    column
        .map(|text| from_json(text, "shift mismatch"))
        .transpose()
}

/// The columns of a [`super::ShiftSummary`], in the order both backends read them (`s` is
/// `shifts`, `t` its terminal).
pub(super) const SHIFT_COLUMNS: &str = "s.id, s.terminal_id, t.name, s.z_number, s.opened_by_id,
    s.opened_by_name, s.opened_at_ms, s.opening_float, s.closed_by_id, s.closed_by_name,
    s.closed_at_ms, s.expected_cash, s.counted_cash, s.difference, s.state, s.mismatch";

/// The columns of a [`super::TicketSummary`], in the order both backends read them (`t` is
/// `tickets`, `m` the mutation that stored it).
pub(super) const TICKET_COLUMNS: &str = "t.server_id, t.server_number, t.id, t.terminal_id,
    t.number, t.kind, t.reverses, t.reversed_by, t.total, t.created_at_ms, m.recovered_terminal,
    t.operator_id, t.operator_name, t.approval, t.shift_id";

/// What the sales report reads of each ticket in its range (`t` is `tickets`, `term` its
/// terminal, `s` its shift), oldest first; `$1` and `$2` bound the range `[from, to)` in
/// milliseconds (SQLite numbers `$1` and `$2` as its first and second parameters too).
pub(super) const REPORT_QUERY: &str = "SELECT t.body, t.terminal_id, term.name, s.z_number
    FROM tickets t JOIN terminals term ON term.id = t.terminal_id
    LEFT JOIN shifts s ON s.id = t.shift_id
    WHERE t.created_at_ms >= $1 AND t.created_at_ms < $2
    ORDER BY t.created_at_ms, t.server_id";

/// A stored ticket from its JSON.
pub(super) fn parse_ticket(body: &str) -> Result<Ticket, StorageError> {
    from_json(body, "ticket")
}

/// The figures a ticket was stored with: its `total` column (what reports count) and the taxes
/// and tenders of its JSON.
pub(super) fn stored_figures(total: i64, body: &str) -> Result<StoredFigures, StorageError> {
    let ticket = parse_ticket(body)?;
    Ok(StoredFigures {
        total,
        taxes: ticket.taxes,
        tenders: ticket.tenders,
    })
}

/// A stored void or refund, from its kind column and its JSON.
pub(super) fn earlier_reversal(kind: &str, body: &str) -> Result<EarlierReversal, StorageError> {
    Ok(EarlierReversal {
        kind: parse_kind(kind)?,
        lines: sold_lines(body)?,
    })
}

/// A ticket as kept whole beside its columns: its JSON.
pub(super) fn ticket_body(ticket: &Ticket) -> Result<String, StorageError> {
    to_json(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_kinds_read_back_as_written() {
        for kind in [TicketKind::Sale, TicketKind::Void, TicketKind::Refund] {
            assert_eq!(parse_kind(kind_name(kind)).expect("a kind"), kind);
        }
        assert!(matches!(parse_kind("gift"), Err(StorageError::Corrupt(_))));
    }

    #[test]
    fn numbers_beyond_an_integer_column_are_refused_not_wrapped() {
        assert_eq!(to_i64(7, "sequence").expect("fits"), 7);
        assert!(matches!(
            to_i64(u64::MAX, "sequence"),
            Err(StorageError::Invalid(_))
        ));
        assert_eq!(to_u64(-1), 0);
    }
}
