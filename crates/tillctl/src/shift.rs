//! `tillctl shift open|cash-in|cash-out|no-sale|show|close|list`: a till's shifts, from the
//! command line. `close` and `show` print the Z (or, mid-shift, X) report: as text one figure a
//! line with its currency, or with `--json` the view's fields (`shift_id`, `z_number`,
//! `opened_by` as `{id, name}`, `opened_at` as RFC 3339 UTC, `float`, `cash_sales`, …,
//! `reconciliation` as `pending|matched|mismatch` with `mismatch` saying what differs).

use std::path::Path;

use till_core::money::Money;
use till_core::shifts::{self, ShiftView};
use till_core::{signin, SystemClock};
use till_protocol::shift::CashMovementKind;
use till_protocol::ApprovalAction;

use crate::{open_checked, open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Open a shift with FLOAT (minor units) in the drawer
    Open {
        #[arg(long, value_name = "MINOR")]
        float: i64,
        #[command(flatten)]
        who: Who,
    },
    /// Cash put into the drawer outside a sale
    CashIn(Movement),
    /// Cash taken out of the drawer outside a sale
    CashOut(Movement),
    /// Open the drawer without a sale (a manager approves with --approve-pin)
    NoSale {
        #[arg(long, value_name = "PIN")]
        approve_pin: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// The open shift's X report, or else the last closed shift's Z report
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Close the open shift with the cash counted (minor units); prints its Z report
    Close {
        #[arg(long, value_name = "MINOR")]
        counted: i64,
        #[command(flatten)]
        who: Who,
    },
    /// Closed shifts, newest first, with their reconciliation
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Who records the step, and how to print it.
#[derive(clap::Args)]
struct Who {
    /// The PIN of the employee at the till
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct Movement {
    /// The amount, in minor units
    #[arg(value_name = "MINOR")]
    amount: i64,
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    who: Who,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let clock = SystemClock;
    let (store, json) = match &args.command {
        Command::Show { json } | Command::List { json, .. } => (open_store(data_dir)?, *json),
        Command::Open { who, .. }
        | Command::NoSale { who, .. }
        | Command::Close { who, .. }
        | Command::CashIn(Movement { who, .. })
        | Command::CashOut(Movement { who, .. }) => (open_checked(data_dir)?.0, who.json),
    };
    let mut conn = store.connect()?;
    let moved = match args.command {
        Command::Open { float, who } => {
            let op = shifts::operator(&mut conn, who.pin.as_deref(), &clock)?;
            return print_report(&shifts::open(&mut conn, &op, float, &clock)?, json);
        }
        Command::Close { counted, who } => {
            let op = shifts::operator(&mut conn, who.pin.as_deref(), &clock)?;
            let report = shifts::close(&mut conn, &op, counted, &clock)?;
            crate::printer::print_waiting(&store);
            return print_report(&report, json);
        }
        Command::Show { .. } => {
            return match shifts::show(&conn)? {
                Some(view) => print_report(&view, json),
                None if json => {
                    outln!("null");
                    Ok(())
                }
                None => {
                    outln!("no shift yet");
                    Ok(())
                }
            };
        }
        Command::List { limit, .. } => {
            let closed = shifts::list_closed(&conn, limit)?;
            if json {
                outln!("{}", serde_json::to_string(&closed)?);
            } else {
                for s in closed {
                    outln!(
                        "Z {}\t{}\t{}\t{}",
                        s.z_number,
                        s.closed_at.as_deref().unwrap_or("-"),
                        reconciliation_text(&s),
                        s.closed_by.map(|o| o.name).unwrap_or_default()
                    );
                }
            }
            return Ok(());
        }
        Command::CashIn(m) => {
            let op = shifts::operator(&mut conn, m.who.pin.as_deref(), &clock)?;
            let kind = CashMovementKind::CashIn;
            shifts::cash_move(&mut conn, kind, m.amount, &m.reason, &op, None, &clock)?
        }
        Command::CashOut(m) => {
            let op = shifts::operator(&mut conn, m.who.pin.as_deref(), &clock)?;
            let kind = CashMovementKind::CashOut;
            shifts::cash_move(&mut conn, kind, m.amount, &m.reason, &op, None, &clock)?
        }
        Command::NoSale { approve_pin, who } => {
            let op = shifts::operator(&mut conn, who.pin.as_deref(), &clock)?;
            let reason = shifts::NO_SALE_REASON;
            let approval = signin::approve(
                &mut conn,
                approve_pin.as_deref(),
                ApprovalAction::NoSale,
                reason,
                &clock,
            )?;
            let kind = CashMovementKind::NoSale;
            let moved = shifts::cash_move(&mut conn, kind, 0, reason, &op, Some(approval), &clock)?;
            crate::printer::print_waiting(&store);
            moved
        }
    };
    if json {
        outln!("{}", serde_json::to_string(&moved)?);
    } else {
        outln!(
            "{} {} ({})",
            moved.kind.as_str(),
            moved.amount,
            moved.reason
        );
    }
    Ok(())
}

fn print_report(view: &ShiftView, json: bool) -> Result<(), Failure> {
    if json {
        outln!("{}", serde_json::to_string(view)?);
        return Ok(());
    }
    let money = |minor: i64| Money::new(minor, &view.currency).to_string();
    let report = if view.state == "open" { "X" } else { "Z" };
    outln!("{report} report, shift {} ({})", view.z_number, view.state);
    outln!("shift id: {}", view.shift_id);
    outln!("opened by: {}", view.opened_by.name);
    outln!("opened at: {}", view.opened_at);
    outln!("float: {}", money(view.float));
    outln!("tickets: {}", view.tickets);
    outln!("sales: {}", money(view.sales));
    outln!("voids and refunds: {}", money(view.reversals));
    for t in &view.totals_by_tender {
        outln!("{} net: {}", t.tender, money(t.net));
    }
    for t in &view.tax_by_rate {
        let rate = format!("{}.{:02} %", t.rate_bp / 100, t.rate_bp % 100);
        outln!("tax at {rate}: {} on {}", money(t.tax), money(t.base));
    }
    outln!("cash sales: {}", money(view.cash_sales));
    outln!("cash refunds: {}", money(view.cash_refunds));
    outln!("cash in: {}", money(view.cash_in));
    outln!("cash out: {}", money(view.cash_out));
    outln!("expected cash: {}", money(view.expected_cash));
    if let (Some(by), Some(at), Some(counted), Some(difference)) = (
        &view.closed_by,
        &view.closed_at,
        view.counted_cash,
        view.difference,
    ) {
        outln!("closed by: {}", by.name);
        outln!("closed at: {at}");
        outln!("counted cash: {}", money(counted));
        outln!("difference: {}", money(difference));
    }
    outln!("reconciliation: {}", reconciliation_text(view));
    Ok(())
}

/// `pending`, `matched`, or `mismatch` with what differs.
fn reconciliation_text(view: &ShiftView) -> String {
    let Some(m) = &view.mismatch else {
        return view.reconciliation.as_str().to_owned();
    };
    let mut parts = Vec::new();
    if !m.missing_tickets.is_empty() {
        parts.push(format!("missing tickets {:?}", m.missing_tickets));
    }
    if !m.unexpected_tickets.is_empty() {
        parts.push(format!("unexpected tickets {:?}", m.unexpected_tickets));
    }
    for d in &m.differences {
        parts.push(format!(
            "{}: till {}, back office {}",
            d.figure, d.till, d.back_office
        ));
    }
    format!("mismatch ({})", parts.join("; "))
}
