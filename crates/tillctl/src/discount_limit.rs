//! `tillctl discount-limit [PCT] [--json] [--pin PIN --approve-pin PIN]`: the largest discount,
//! in percent of what it discounts, this till rings up without a manager's approval (20 unless
//! set); with PCT (0 to 100) it is set, on a till with employees by who signs in with a
//! manager's approving PIN.

use std::path::Path;

use till_core::approvals::Needed;
use till_core::settings;

use crate::pin::Approved;
use crate::{open_store, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The new limit, a whole percent from 0 to 100
    #[arg(value_name = "PCT", allow_negative_numbers = true)]
    set: Option<i64>,
    #[command(flatten)]
    signed: Approved,
    /// Print {"discount_approval_above_pct": N} instead of N
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: Option<&Path>, args: Args) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let mut conn = store.connect()?;
    let pct = match args.set {
        Some(pct) => {
            let checked = settings::check_discount_limit(pct)?;
            let signed = args
                .signed
                .sign(&mut conn, &Needed::discount_limit(checked))?;
            settings::set_discount_approval_above_pct(
                &conn,
                pct,
                signed.operator.as_ref(),
                signed.approval,
            )?
        }
        None => settings::discount_approval_above_pct(&conn)?,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::json!({ "discount_approval_above_pct": pct })
        );
    } else {
        outln!("{pct}");
    }
    Ok(())
}
