//! `tillctl ring-up --demo N`: rings up N valid demo tickets, one committed before the next, and
//! prints each ticket's number on its own line as soon as its commit returned (stdout flushed),
//! so whoever reads the output knows exactly which tickets are durable. A reader that closes the
//! pipe ends the run quietly at the next number written. On a till with employees the tickets
//! are rung up by the employee whose `--pin` is given; a demo cart never needs a manager's
//! approval (its discounts are dropped when the till's limit is below them). With a printer set,
//! what each commit queued (the drawer kick, the receipt) prints right after it; a printer that
//! does not answer is a warning on stderr and the run goes on.

use std::path::Path;

use till_core::demo::{self, DemoRng};
use till_core::{approvals, cart, catalog, tickets, SystemClock};

use crate::pin::Pin;
use crate::{open_checked, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// How many demo tickets to ring up
    #[arg(long, value_name = "N")]
    demo: u64,
    /// Lines per ticket
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=500))]
    lines: u16,
    /// Seed of the demo generator [default: from the clock]
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    pin: Pin,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let (store, _) = open_checked(data_dir)?;
    let mut conn = store.connect()?;
    let operator = args.pin.operator(&mut conn)?;
    let products = catalog::active_products(&conn)?;
    if products.is_empty() {
        return Err(Failure {
            code: till_core::ErrorCode::NoProducts,
            message: "the catalog has no active products to ring up".into(),
            exit: crate::failure::EXIT_RUNTIME,
        });
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let mut rng = DemoRng::new(seed);
    for _ in 0..args.demo {
        let mut cart = demo::cart(&mut rng, &products, usize::from(args.lines));
        if approvals::for_cart(&conn, &cart)?.is_some() {
            cart.ticket_discount = None;
            for line in &mut cart.lines {
                line.discount = None;
            }
        }
        let total = cart::quote(&conn, &cart)?.totals.total;
        let tenders = demo::tenders(&mut rng, total);
        let ticket = tickets::commit(
            &mut conn,
            &cart,
            &tenders,
            operator.clone(),
            None,
            &SystemClock,
        )?;
        outln!("{}", ticket.number);
        crate::printer::print_waiting(&store);
    }
    Ok(())
}
