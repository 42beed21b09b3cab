//! What `void` and `refund` share: the sale they name (by number, id or receipt barcode), the
//! PIN of who reverses it and the manager's approving PIN, and how the new ticket is printed:
//! one line of text, or with `--json` its number, kind, total, operator and approval.

use std::path::Path;

use serde::Serialize;
use till_core::approvals::Needed;
use till_core::sync::Connection;
use till_core::{tickets, Result as CoreResult};
use till_protocol::{Approval, Operator, Ticket, TicketKind};
use uuid::Uuid;

use crate::pin::{Approved, Signed};
use crate::tickets::{kind_name, money};
use crate::{open_checked, Failure};

/// The sale a void or refund reverses, and who does it.
#[derive(clap::Args)]
pub struct Sale {
    /// The sale: its number on this till, its id, or its receipt's barcode
    sale: String,
    #[command(flatten)]
    signed: Approved,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

impl Sale {
    /// Looks the sale up, signs in who reverses it and asks for the approval `needed` (given
    /// the sale's number), then commits the reversal `reverse` makes and prints it.
    pub fn reverse(
        &self,
        data_dir: Option<&Path>,
        needed: fn(u64) -> Needed,
        reverse: impl FnOnce(&mut Connection, &Ticket, Signed) -> CoreResult<Ticket>,
    ) -> Result<(), Failure> {
        let (store, _) = open_checked(data_dir)?;
        let mut conn = store.connect()?;
        let sale = tickets::lookup(&conn, &self.sale)?;
        let signed = self.signed.sign(&mut conn, &needed(sale.number))?;
        let ticket = reverse(&mut conn, &sale, signed)?;
        crate::printer::print_waiting(&store);
        print(&ticket, sale.number, self.json)
    }
}

/// A committed ticket as `--json` prints it.
#[derive(Serialize)]
struct Printed<'a> {
    id: Uuid,
    number: u64,
    kind: TicketKind,
    reverses: Option<Uuid>,
    total: i64,
    currency: &'a str,
    operator: Option<&'a Operator>,
    approval: Option<&'a Approval>,
}

/// Prints `ticket`, which reverses the sale numbered `sale_number`.
fn print(ticket: &Ticket, sale_number: u64, json: bool) -> Result<(), Failure> {
    if json {
        let printed = Printed {
            id: ticket.id,
            number: ticket.number,
            kind: ticket.kind,
            reverses: ticket.reverses,
            total: ticket.totals.total,
            currency: &ticket.currency.code,
            operator: ticket.operator.as_ref(),
            approval: ticket.approval.as_ref(),
        };
        outln!("{}", serde_json::to_string(&printed)?);
        return Ok(());
    }
    outln!(
        "#{} {} of #{}: {} {}{}{}",
        ticket.number,
        kind_name(ticket.kind),
        sale_number,
        money(ticket.totals.total, ticket.currency.exponent),
        ticket.currency.code,
        ticket
            .operator
            .as_ref()
            .map(|o| format!(" by {}", o.name))
            .unwrap_or_default(),
        ticket
            .approval
            .as_ref()
            .map(|a| format!(", approved by {}", a.by.name))
            .unwrap_or_default(),
    );
    Ok(())
}
