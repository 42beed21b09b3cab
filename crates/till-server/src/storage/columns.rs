//! How both backends write values into their columns and read them back: one encoding for
//! every value the two schemas store alike.

use till_protocol::{Role, Ticket, TicketKind};

use super::StorageError;
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
    "server_id, version, name, email, phone, note, deleted, hlc, made_by";

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
    let ticket: Ticket = serde_json::from_str(body)
        .map_err(|e| StorageError::Corrupt(format!("a stored ticket does not parse: {e}")))?;
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

/// A stored void or refund, from its kind column and its JSON.
pub(super) fn earlier_reversal(kind: &str, body: &str) -> Result<EarlierReversal, StorageError> {
    Ok(EarlierReversal {
        kind: parse_kind(kind)?,
        lines: sold_lines(body)?,
    })
}

/// A ticket as kept whole beside its columns: its JSON.
pub(super) fn ticket_body(ticket: &Ticket) -> Result<String, StorageError> {
    serde_json::to_string(ticket)
        .map_err(|e| StorageError::Database(format!("cannot serialise a ticket: {e}")))
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
