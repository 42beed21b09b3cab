//! The register: quote a cart, the change due on cash, ring up, void and refund. A ring-up is a
//! local commit on the UI's own connection; it never waits for the network or for a sync.

use tauri::State;
use till_core::cart::{self, Cart, CartLine};
use till_core::clock::SystemClock;
use till_core::tender::{self, TenderInput};
use till_core::tickets;
use till_protocol::Ticket;
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc;
use crate::terminal::AppState;

impl From<ipc::Cart> for Cart {
    fn from(c: ipc::Cart) -> Self {
        Cart {
            lines: c
                .lines
                .into_iter()
                .map(|l| CartLine {
                    product_id: l.product_id,
                    quantity: l.quantity,
                    discount: l.discount,
                })
                .collect(),
            ticket_discount: c.ticket_discount,
            customer_id: c.customer_id,
        }
    }
}

impl From<ipc::TenderInput> for TenderInput {
    fn from(t: ipc::TenderInput) -> Self {
        match t {
            ipc::TenderInput::Cash { tendered } => TenderInput::Cash { tendered },
            ipc::TenderInput::Card {
                amount,
                approval_ref,
                last4,
            } => TenderInput::Card {
                amount,
                approval_ref,
                last4,
            },
        }
    }
}

fn committed(t: &Ticket) -> ipc::CommittedTicket {
    ipc::CommittedTicket {
        id: t.id,
        number: t.number,
        kind: t.kind,
        total: t.totals.total,
        change_due: tender::change_given(&t.tenders),
        created_at_ms: t.created_at_ms,
    }
}

fn quote_view(q: cart::Quote, exponent: u8) -> ipc::Quote {
    ipc::Quote {
        cash_suggestions: tender::quick_cash(q.totals.total, exponent),
        lines: q
            .lines
            .into_iter()
            .map(|l| ipc::QuoteLine {
                product_id: l.product_id,
                sku: l.sku,
                name: l.name,
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_rate_bp: l.tax_rate_bp,
                discount: l.discount,
                gross: l.figures.gross,
                line_discount: l.figures.line_discount,
                ticket_discount: l.figures.ticket_discount,
                amount: l.figures.amount,
                tax: l.figures.tax,
                total: l.figures.total,
            })
            .collect(),
        taxes: q.taxes,
        totals: q.totals,
    }
}

#[tauri::command]
pub async fn quote(state: State<'_, AppState>, cart: Input<ipc::Cart>) -> CmdResult<ipc::Quote> {
    let cart = Cart::from(cart.into_inner());
    state
        .terminal()?
        .db(move |c| {
            let q = cart::quote(c, &cart)?;
            let exponent = q.currency.exponent;
            Ok::<_, AppError>(quote_view(q, exponent))
        })
        .await
}

/// The change due when `tendered` cash pays `total`; `insufficient_tender` when it does not
/// cover it.
#[tauri::command]
pub fn change_due(total: Input<i64>, tendered: Input<i64>) -> CmdResult<i64> {
    let total = total.into_inner();
    let tendered = tendered.into_inner();
    if total < 0 {
        return Err(AppError::invalid_input("the total cannot be negative"));
    }
    let settled = tender::settle(&[TenderInput::Cash { tendered }], total)?;
    Ok(tender::change_given(&settled))
}

/// Commits a sale locally (ticket, journal, outbox in one transaction), then nudges the sync
/// engine. Returns as soon as the sale is on disk.
#[tauri::command]
pub async fn ring_up(
    state: State<'_, AppState>,
    cart: Input<ipc::Cart>,
    tenders: Input<Vec<ipc::TenderInput>>,
) -> CmdResult<ipc::CommittedTicket> {
    let cart = Cart::from(cart.into_inner());
    let tenders: Vec<TenderInput> = tenders
        .into_inner()
        .into_iter()
        .map(TenderInput::from)
        .collect();
    let terminal = state.terminal()?;
    let ticket = terminal
        .db(move |c| tickets::commit(c, &cart, &tenders, &SystemClock))
        .await?;
    tracing::info!(
        number = ticket.number,
        total = ticket.totals.total,
        "sale rung up"
    );
    terminal.local_write();
    Ok(committed(&ticket))
}

fn parse_id(what: &str, id: &str) -> CmdResult<Uuid> {
    Uuid::parse_str(id.trim())
        .map_err(|_| AppError::invalid_input(format!("{what} {id:?} is not a valid id")))
}

#[tauri::command]
pub async fn void_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
) -> CmdResult<ipc::CommittedTicket> {
    let ticket_id = ticket_id.into_inner();
    let id = parse_id("ticket", &ticket_id)?;
    let terminal = state.terminal()?;
    let ticket = terminal
        .db(move |c| tickets::void(c, id, &SystemClock))
        .await?;
    tracing::info!(number = ticket.number, voids = %id, "sale voided");
    terminal.local_write();
    Ok(committed(&ticket))
}

/// Refunds some units of some lines of a sale. The core works out what each returned unit
/// paid and pays it back the way the sale was paid.
#[tauri::command]
pub async fn refund_ticket(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
    lines: Input<Vec<ipc::RefundLine>>,
) -> CmdResult<ipc::CommittedTicket> {
    let ticket_id = ticket_id.into_inner();
    let id = parse_id("ticket", &ticket_id)?;
    let lines: Vec<tickets::RefundLine> = lines
        .into_inner()
        .into_iter()
        .map(refund_line)
        .collect::<CmdResult<_>>()?;
    let terminal = state.terminal()?;
    let ticket = terminal
        .db(move |c| tickets::refund(c, id, &lines, &SystemClock))
        .await?;
    tracing::info!(number = ticket.number, refunds = %id, "sale refunded");
    terminal.local_write();
    Ok(committed(&ticket))
}

fn refund_line(l: ipc::RefundLine) -> CmdResult<tickets::RefundLine> {
    let line_no = usize::try_from(l.line_no)
        .map_err(|_| AppError::invalid_input(format!("line {} does not exist", l.line_no)))?;
    Ok(tickets::RefundLine {
        line_no,
        quantity: l.quantity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_offers_the_core_quick_cash_amounts() {
        let q = cart::Quote {
            currency: till_protocol::Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            customer_id: None,
            lines: Vec::new(),
            ticket_discount: None,
            taxes: Vec::new(),
            totals: till_protocol::pricing::TicketTotals {
                subtotal: 1234,
                discount_total: 0,
                tax_total: 0,
                total: 1234,
            },
        };
        assert_eq!(
            quote_view(q, 2).cash_suggestions,
            vec![1234, 1300, 1500, 2000],
            "the exact total first, then round amounts above it"
        );
    }

    #[test]
    fn change_due_comes_from_the_core_and_refuses_short_cash() {
        assert_eq!(change_due(Input(1234), Input(2000)).expect("covers"), 766);
        let err = change_due(Input(1234), Input(1000)).expect_err("short");
        assert_eq!(err.code, "insufficient_tender");
    }
}
