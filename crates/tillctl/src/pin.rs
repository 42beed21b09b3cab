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

/// Who does it, and a manager's approval of it: `--pin PIN --approve-pin PIN`.
#[derive(clap::Args)]
pub struct Approved {
    #[command(flatten)]
    pin: Pin,
    /// A manager's PIN approving this (a void, a refund, a discard, the discount limit),
    /// required on a till with employees, even when a manager signs in with --pin
    #[arg(long, value_name = "PIN")]
    approve_pin: Option<String>,
}

/// Who did something, and the approval they were given.
pub struct Signed {
    pub operator: Option<Operator>,
    pub approval: Option<Approval>,
}

impl Approved {
    /// Signs in who does it, then, on a till with employees, asks for the manager's approval
    /// of `needed`.
    pub fn sign(&self, conn: &mut Connection, needed: &Needed) -> Result<Signed, Failure> {
        let operator = self.pin.operator(conn)?;
        let approval = approvals::obtain(
            conn,
            Some(needed),
            self.approve_pin.as_deref(),
            &SystemClock,
        )?;
        Ok(Signed { operator, approval })
    }
}
