//! `--pin PIN` and `--approve-pin PIN`, for the commands that record something. On a till with
//! employees `--pin` says who does it (`pin_required` without it) and `--approve-pin` is the
//! manager's approval an operation may need; a till without employees ignores both. A PIN is
//! never printed or logged: these structs have no `Debug`, and the errors never repeat it.

use till_core::approvals::{self, Needed};
use till_core::sync::Connection;
use till_core::{signin, SystemClock};
use till_protocol::{Approval, Operator};

use crate::Failure;

/// Who does it.
#[derive(clap::Args)]
pub struct Pin {
    /// The PIN of who does this (required on a till with employees)
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,
}

impl Pin {
    /// The employee whose PIN was given; `None` on a till without employees.
    pub fn operator(&self, conn: &mut Connection) -> Result<Option<Operator>, Failure> {
        Ok(signin::operator(conn, self.pin.as_deref(), &SystemClock)?)
    }
}

/// A manager's approval.
#[derive(clap::Args)]
pub struct ApprovePin {
    /// A manager's PIN approving this (a void, a refund, a discount above the limit, a price
    /// override, a discard), required for those on a till with employees
    #[arg(long, value_name = "PIN")]
    approve_pin: Option<String>,
}

impl ApprovePin {
    /// The manager's approval of `needed`, when the till has employees and something is
    /// needed.
    pub fn approval(
        &self,
        conn: &mut Connection,
        needed: Option<&Needed>,
    ) -> Result<Option<Approval>, Failure> {
        Ok(approvals::obtain(
            conn,
            needed,
            self.approve_pin.as_deref(),
            &SystemClock,
        )?)
    }
}
