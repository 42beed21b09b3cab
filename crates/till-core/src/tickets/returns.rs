//! What was already returned of a sale: its voids and refunds, read line by line, and how many
//! units of each of the sale's lines they took back. A refund checks against it (each line up
//! to what is left), a void requires it to be nothing, and the ticket detail shows it.

use rusqlite::{params, Connection};
use till_protocol::{TicketKind, TicketLine};
use uuid::Uuid;

use crate::error::Result;

use super::rows::{parse_kind, parse_uuid};

/// One void or refund of a sale, as far as returns go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    pub id: Uuid,
    pub kind: TicketKind,
    /// What it paid back.
    pub total: i64,
    /// Its lines in order.
    pub lines: Vec<ReturnedLine>,
}

/// One line of a void or refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedLine {
    /// The sale's line it returns (1-based), as the refund recorded it; `None` for a refund
    /// from before that was recorded (then it is matched by product and price).
    pub from_line: Option<usize>,
    pub product_id: Uuid,
    pub unit_price: i64,
    pub quantity: i64,
    /// What it paid back for those units (its amount: after its discount, before tax).
    pub amount: i64,
}

/// The voids and refunds of the sale `sale_id` on this till, oldest first.
pub fn reversals(conn: &Connection, sale_id: Uuid) -> Result<Vec<Reversal>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.kind, t.total, l.returns_line, l.product_id, l.unit_price, l.quantity,
             l.amount
         FROM tickets t JOIN ticket_lines l ON l.ticket_id = t.id
         WHERE t.reverses = ?1 ORDER BY t.number, l.line_no",
    )?;
    let mut rows = stmt.query([sale_id.to_string()])?;
    let mut out: Vec<Reversal> = Vec::new();
    while let Some(r) = rows.next()? {
        let id = parse_uuid(&r.get::<_, String>(0)?)?;
        let from_line: Option<i64> = r.get(3)?;
        let line = ReturnedLine {
            from_line: from_line.and_then(|n| usize::try_from(n).ok()),
            product_id: parse_uuid(&r.get::<_, String>(4)?)?,
            unit_price: r.get(5)?,
            quantity: r.get(6)?,
            amount: r.get(7)?,
        };
        match out.last_mut() {
            Some(last) if last.id == id => last.lines.push(line),
            _ => out.push(Reversal {
                id,
                kind: parse_kind(&r.get::<_, String>(1)?)?,
                total: r.get(2)?,
                lines: vec![line],
            }),
        }
    }
    Ok(out)
}

/// Records which line of the sale each line of the refund `refund_id` returns.
pub(super) fn record_sources(tx: &Connection, refund_id: Uuid, from_lines: &[usize]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE ticket_lines SET returns_line = ?3 WHERE ticket_id = ?1 AND line_no = ?2",
    )?;
    for (i, from) in from_lines.iter().enumerate() {
        stmt.execute(params![refund_id.to_string(), i + 1, from])?;
    }
    Ok(())
}

/// How many units of each of a sale's `lines` its `reversals` returned, and what they paid back
/// for them. A void returns every line whole. A refund line names the sale's line it returns;
/// one from before that was recorded is matched to the first line after its previous line's
/// match with the same product and unit price and enough units not yet returned (a refund
/// lists its lines in the sale's order), so two such lines are told apart as well as they can be.
pub fn returned(lines: &[TicketLine], reversals: &[Reversal]) -> Vec<Returned> {
    let mut out = vec![Returned::default(); lines.len()];
    for r in reversals {
        if r.kind == TicketKind::Void {
            for (o, line) in out.iter_mut().zip(lines) {
                o.quantity = line.quantity;
                o.amount = line.figures.amount;
            }
            continue;
        }
        let mut next = 0;
        for back in &r.lines {
            let from = match back.from_line {
                Some(n) => n.checked_sub(1).filter(|&i| i < lines.len()),
                None => (next..lines.len()).find(|&i| {
                    let line = &lines[i];
                    line.product_id == back.product_id
                        && line.unit_price == back.unit_price
                        && back.quantity <= line.quantity - out[i].quantity
                }),
            };
            if let Some(i) = from {
                out[i].quantity += back.quantity;
                out[i].amount += back.amount;
                next = i + 1;
            }
        }
    }
    out
}

/// What of one line of a sale its voids and refunds took back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Returned {
    pub quantity: i64,
    /// What was paid back for those units, before tax.
    pub amount: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::pricing::LineFigures;

    fn line(product: u128, unit_price: i64, quantity: i64) -> TicketLine {
        TicketLine {
            product_id: Uuid::from_u128(product),
            sku: format!("SKU{product}"),
            name: format!("Product {product}"),
            quantity,
            unit_price,
            tax_category: "standard".into(),
            tax_rate_bp: 2000,
            discount: None,
            figures: LineFigures {
                gross: unit_price * quantity,
                line_discount: 0,
                ticket_discount: 0,
                amount: unit_price * quantity,
                tax: 0,
                total: unit_price * quantity,
            },
        }
    }

    fn back(
        from_line: Option<usize>,
        product: u128,
        unit_price: i64,
        quantity: i64,
    ) -> ReturnedLine {
        ReturnedLine {
            from_line,
            product_id: Uuid::from_u128(product),
            unit_price,
            quantity,
            amount: unit_price * quantity,
        }
    }

    fn reversal(kind: TicketKind, lines: Vec<ReturnedLine>) -> Reversal {
        Reversal {
            id: Uuid::now_v7(),
            kind,
            total: 0,
            lines,
        }
    }

    fn quantities(lines: &[TicketLine], reversals: &[Reversal]) -> Vec<i64> {
        returned(lines, reversals)
            .iter()
            .map(|r| r.quantity)
            .collect()
    }

    #[test]
    fn nothing_is_returned_before_a_reversal_and_everything_by_a_void() {
        let sale = [line(1, 100, 2), line(2, 50, 3)];
        assert_eq!(quantities(&sale, &[]), [0, 0]);
        let void = reversal(
            TicketKind::Void,
            vec![back(None, 1, 100, 2), back(None, 2, 50, 3)],
        );
        assert_eq!(
            returned(&sale, &[void]),
            [
                Returned {
                    quantity: 2,
                    amount: 200
                },
                Returned {
                    quantity: 3,
                    amount: 150
                }
            ]
        );
    }

    #[test]
    fn refunds_add_up_against_the_lines_they_name() {
        let sale = [line(1, 100, 2), line(2, 50, 3), line(1, 100, 3)];
        let first = reversal(TicketKind::Refund, vec![back(Some(3), 1, 100, 1)]);
        let second = reversal(
            TicketKind::Refund,
            vec![back(Some(1), 1, 100, 1), back(Some(3), 1, 100, 2)],
        );
        assert_eq!(
            quantities(&sale, &[first, second]),
            [1, 0, 3],
            "a named line counts against that line even when another has the same product"
        );
    }

    #[test]
    fn a_refund_counts_each_returned_line_against_the_line_it_came_from() {
        let sale = [line(1, 100, 2), line(2, 50, 3), line(3, 70, 1)];
        let refund = reversal(
            TicketKind::Refund,
            vec![back(None, 2, 50, 1), back(None, 3, 70, 1)],
        );
        assert_eq!(quantities(&sale, &[refund]), [0, 1, 1]);
    }

    #[test]
    fn the_same_product_on_two_lines_is_not_counted_twice() {
        let sale = [line(1, 100, 1), line(2, 50, 1), line(1, 100, 3)];
        let refund = reversal(TicketKind::Refund, vec![back(None, 1, 100, 2)]);
        assert_eq!(
            quantities(&sale, &[refund]),
            [0, 0, 2],
            "two units can only come from the line that had three"
        );
        let both = reversal(
            TicketKind::Refund,
            vec![back(None, 1, 100, 1), back(None, 1, 100, 3)],
        );
        assert_eq!(quantities(&sale, &[both]), [1, 0, 3]);
    }
}
