//! `tillctl refund NUMBER --line LINE:QTY… [--json] --pin PIN --approve-pin PIN`: refunds
//! `QTY` units of each named line of a sale (named by its number, id or receipt barcode), each
//! up to what earlier refunds left of it, and prints the refund. On a till with employees it
//! takes the PIN of who refunds and a manager's approving PIN.

use std::path::Path;

use till_core::approvals::Needed;
use till_core::tickets::{self, RefundLine};
use till_core::{CoreError, SystemClock};

use crate::reversal::Sale;
use crate::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sale: Sale,
    /// A line of the sale and how many of its units go back, as LINE:QTY (1-based line)
    #[arg(long = "line", value_name = "LINE:QTY", required = true)]
    lines: Vec<String>,
}

/// `LINE:QTY` as a refund line.
fn refund_line(text: &str) -> Result<RefundLine, CoreError> {
    text.split_once(':')
        .and_then(|(line, qty)| {
            Some(RefundLine {
                line_no: line.trim().parse().ok()?,
                quantity: qty.trim().parse().ok()?,
            })
        })
        .ok_or_else(|| CoreError::InvalidInput(format!("{text:?}: expected LINE:QTY, e.g. 2:1")))
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let lines = args
        .lines
        .iter()
        .map(|l| refund_line(l))
        .collect::<Result<Vec<_>, _>>()?;
    args.sale
        .reverse(data_dir, Needed::refund, |conn, sale, signed| {
            tickets::refund(
                conn,
                sale.id,
                &lines,
                signed.operator,
                signed.approval,
                &SystemClock,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_line_is_line_colon_quantity() {
        assert_eq!(
            refund_line("2:3").ok(),
            Some(RefundLine {
                line_no: 2,
                quantity: 3
            })
        );
        for bad in ["2", "2:", ":3", "a:1", "2:x"] {
            assert_eq!(
                refund_line(bad).map_err(|e| e.code()).err(),
                Some(till_core::ErrorCode::InvalidInput),
                "{bad}"
            );
        }
    }
}
