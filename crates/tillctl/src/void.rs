//! `tillctl void NUMBER [--json] --pin PIN --approve-pin PIN`: voids a whole sale (named by its
//! number, id or receipt barcode) and prints the void. On a till with employees it takes the
//! PIN of who voids and a manager's approving PIN.

use std::path::Path;

use till_core::approvals::Needed;
use till_core::{tickets, SystemClock};

use crate::reversal::Sale;
use crate::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sale: Sale,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    args.sale
        .reverse(data_dir, Needed::void, |conn, sale, signed| {
            tickets::void(
                conn,
                sale.id,
                signed.operator,
                signed.approval,
                &SystemClock,
            )
        })
}
