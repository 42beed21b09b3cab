//! What the back office decides, as pure functions: facts a storage backend has read inside its
//! transaction go in, a decision comes out. Nothing here touches a database, so every rule is
//! written once, unit-tested here, and carried out alike by SQLite and PostgreSQL.
//!
//! One module per use case: [`push`] (settling a batch), [`tickets`] (sales, voids and refunds),
//! [`disputes`] (a manager's settlement of a disputed reversal), [`shifts`] (a shift opened, its
//! cash moved, its close reconciled), [`customers`], [`employees`] (who may work a till, their
//! PINs' hashes), [`catalog`] (`catalog import`, prices, product deletion), [`pull`] (a page of
//! changes), [`stats`], [`reports`] (the sales report's groups and figures), [`terminals`]
//! (enrolment, which token works, rotation), [`auth_failures`] (the failed-authentication
//! limit), [`stamps`] (a terminal clock ahead) and [`settings`] (the back office's own settings,
//! such as cross-till returns); [`text`] caps the length of every string stored; [`revision`]
//! renders answers for a terminal of an older protocol revision; [`formats`] says which payload
//! formats a push may carry.

pub mod auth_failures;
pub mod bundle;
pub mod catalog;
pub mod chain;
pub mod customers;
pub mod disputes;
pub mod employees;
pub mod formats;
pub mod pull;
pub mod push;
#[cfg(test)]
mod push_tests;
pub mod reports;
pub mod revision;
pub mod settings;
pub mod shifts;
pub mod stamps;
pub mod stats;
pub mod terminals;
pub mod text;
pub mod tickets;
#[cfg(test)]
mod tickets_tests;

use till_protocol::Outcome;

/// A mutation refused for good, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    pub fn into_outcome(self) -> Outcome {
        Outcome::Rejected {
            code: self.code.to_string(),
            message: self.message,
        }
    }
}
