//! Who is at the till: a PIN checked against the employees the back office sent
//! ([`crate::employees`]), behind a lock-out. Five wrong PINs in a row make the till refuse every
//! PIN for 60 s, and each further lock-out before a right PIN lasts twice as long as the one
//! before. The count and the lock-out are kept in the store, so quitting the app or running
//! `tillctl` again does not reset them; each lock-out is an event in the journal.
//!
//! A till without employees (a demo till, or one enrolled on an empty back office) has no one
//! to sign in: [`operator`] answers `None` and every operation goes on as before employees.

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::{Approval, ApprovalAction, Operator, Role};

use crate::clock::Clock;
use crate::config;
use crate::employees::{self, Employee};
use crate::error::{CoreError, Result};
use crate::journal::{self, Event, PinLockout};

/// Wrong PINs in a row that lock the till.
pub const WRONG_PINS_BEFORE_LOCKOUT: u32 = 5;
/// How long the first lock-out lasts; each further one lasts twice as long as the last.
pub const FIRST_LOCKOUT_MS: i64 = 60_000;

/// The lock-out's state: wrong PINs since the last right one or the last lock-out, how many
/// lock-outs since the last right PIN, and until when PINs are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    pub wrong_in_a_row: u32,
    pub lockouts: u32,
    pub locked_until_ms: Option<i64>,
}

const LOCKOUT: config::Key<Lockout> = config::Key::new("pin_lockout");

impl Lockout {
    /// The lock-out after one more wrong PIN at `now_ms`: locked when it is the fifth in a row.
    pub fn after_wrong_pin(self, now_ms: i64) -> Lockout {
        let wrong = self.wrong_in_a_row + 1;
        if wrong < WRONG_PINS_BEFORE_LOCKOUT {
            return Lockout {
                wrong_in_a_row: wrong,
                ..self
            };
        }
        let lockouts = self.lockouts.saturating_add(1);
        let factor = 1_i64
            .checked_shl(lockouts.saturating_sub(1).min(20))
            .unwrap_or(i64::MAX);
        Lockout {
            wrong_in_a_row: 0,
            lockouts,
            locked_until_ms: Some(now_ms.saturating_add(FIRST_LOCKOUT_MS.saturating_mul(factor))),
        }
    }

    /// The refusal while locked at `now_ms`, if it is.
    pub fn refusal(&self, now_ms: i64) -> Option<CoreError> {
        let until_ms = self.locked_until_ms.filter(|&until| until > now_ms)?;
        let seconds = (until_ms - now_ms + 999) / 1000;
        Some(CoreError::PinLocked { until_ms, seconds })
    }
}

/// Whether the till has any active employee, and so needs a PIN for everything it records.
pub fn has_employees(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM employees WHERE disabled = 0)")?
        .query_row([], |r| r.get(0))?)
}

/// The lock-out as stored.
pub fn lockout(conn: &Connection) -> Result<Lockout> {
    Ok(config::get(conn, &LOCKOUT)?.unwrap_or_default())
}

/// What happened to one PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The PIN is this employee's.
    SignedIn(Employee),
    /// The PIN is no active employee's; `lockout` is the state after it.
    Wrong { lockout: Lockout },
}

/// Checks `pin` and records the attempt (in one transaction): refused with `pin_locked` while
/// locked out, else a right PIN clears the count and a wrong one adds to it.
pub fn attempt(conn: &mut Connection, pin: &str, clock: &dyn Clock) -> Result<Attempt> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = clock.now_ms();
    let state = lockout(&tx)?;
    if let Some(refused) = state.refusal(now) {
        return Err(refused);
    }
    let attempt = match employees::verify_pin(&tx, pin)? {
        Some(employee) => {
            config::set(&tx, &LOCKOUT, &Lockout::default())?;
            Attempt::SignedIn(employee)
        }
        None => {
            let after = state.after_wrong_pin(now);
            config::set(&tx, &LOCKOUT, &after)?;
            if let Some(until_ms) = after
                .locked_until_ms
                .filter(|_| after.locked_until_ms != state.locked_until_ms)
            {
                journal::append_event(
                    &tx,
                    &Event::PinLockout(PinLockout {
                        at_ms: now,
                        lockouts: after.lockouts,
                        locked_until_ms: until_ms,
                    }),
                )?;
                tracing::warn!(
                    lockouts = after.lockouts,
                    until_ms = after.locked_until_ms,
                    "too many wrong PINs: the till refuses PINs for a while"
                );
            }
            Attempt::Wrong { lockout: after }
        }
    };
    tx.commit()?;
    Ok(attempt)
}

/// The employee whose PIN is `pin`: `wrong_pin` when it is no one's, `pin_locked` while locked
/// out (a wrong PIN that locks the till answers `pin_locked` at once).
pub fn sign_in(conn: &mut Connection, pin: &str, clock: &dyn Clock) -> Result<Employee> {
    match attempt(conn, pin, clock)? {
        Attempt::SignedIn(employee) => Ok(employee),
        Attempt::Wrong { lockout } => Err(lockout
            .refusal(clock.now_ms())
            .unwrap_or(CoreError::WrongPin)),
    }
}

/// Who an operation is recorded as done by: `None` on a till without employees (a PIN given
/// there is ignored), otherwise the employee whose PIN is `pin` (`pin_required` without one).
pub fn operator(
    conn: &mut Connection,
    pin: Option<&str>,
    clock: &dyn Clock,
) -> Result<Option<Operator>> {
    if !has_employees(conn)? {
        return Ok(None);
    }
    let pin = pin.ok_or(CoreError::PinRequired)?;
    Ok(Some(sign_in(conn, pin, clock)?.operator()))
}

/// A manager's approval of `action`, given by the PIN `approve_pin` (`approval_required`
/// without one, `not_a_manager` when it is a cashier's), recorded with `reason`. A wrong PIN
/// counts towards the lock-out like any other.
pub fn approve(
    conn: &mut Connection,
    approve_pin: Option<&str>,
    action: ApprovalAction,
    reason: &str,
    clock: &dyn Clock,
) -> Result<Approval> {
    let pin = approve_pin.ok_or_else(|| CoreError::ApprovalRequired {
        action: action.as_str().to_owned(),
        reason: reason.to_owned(),
    })?;
    let manager = sign_in(conn, pin, clock)?;
    if manager.role != Role::Manager {
        return Err(CoreError::NotAManager(manager.name));
    }
    Ok(Approval {
        by: manager.operator(),
        action,
        reason: reason.to_owned(),
    })
}

impl Employee {
    /// This employee as the books name them.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_wrong_pin_in_a_row_locks_for_a_minute() {
        let mut state = Lockout::default();
        for n in 1..WRONG_PINS_BEFORE_LOCKOUT {
            state = state.after_wrong_pin(1_000);
            assert_eq!(state.wrong_in_a_row, n);
            assert_eq!(state.refusal(1_000).map(|e| e.code()), None);
        }
        state = state.after_wrong_pin(1_000);
        assert_eq!(state.locked_until_ms, Some(61_000));
        match state.refusal(1_500) {
            Some(CoreError::PinLocked { until_ms, seconds }) => {
                assert_eq!((until_ms, seconds), (61_000, 60));
            }
            other => panic!("expected pin_locked, got {other:?}"),
        }
        assert!(state.refusal(61_000).is_none(), "the lock-out ends on time");
    }

    #[test]
    fn each_further_lockout_lasts_twice_as_long() {
        let mut state = Lockout::default();
        let mut lengths = Vec::new();
        for _ in 0..4 {
            for _ in 0..WRONG_PINS_BEFORE_LOCKOUT {
                state = state.after_wrong_pin(0);
            }
            lengths.push(state.locked_until_ms.expect("locked"));
        }
        assert_eq!(lengths, vec![60_000, 120_000, 240_000, 480_000]);
    }

    #[test]
    fn the_lockout_never_overflows() {
        let mut state = Lockout {
            wrong_in_a_row: 0,
            lockouts: u32::MAX,
            locked_until_ms: None,
        };
        for _ in 0..WRONG_PINS_BEFORE_LOCKOUT {
            state = state.after_wrong_pin(i64::MAX - 5);
        }
        assert_eq!(state.locked_until_ms, Some(i64::MAX));
    }
}
