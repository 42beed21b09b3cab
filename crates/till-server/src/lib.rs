//! `till-server`: the back office every Till terminal syncs with. Exactly-once push of
//! mutations, delta pull of catalog and customers, one bearer token per terminal.
//!
//! The HTTP layer ([`http`]) only parses, authenticates and maps errors. Every decision — what
//! outcome a mutation gets, what an import or a back-office edit writes, what a pull page or
//! the stats say — is pure code in [`decide`]; a [`storage::Storage`] backend (SQLite or
//! PostgreSQL) only loads the facts a decision needs and carries it out, in one transaction.

pub mod catalog_file;
pub mod clock;
pub mod dates;
pub mod decide;
pub mod duration;
pub mod http;
pub mod import_queue;
pub mod pin;
pub mod sample;
pub mod serve;
pub mod storage;
pub mod token;
