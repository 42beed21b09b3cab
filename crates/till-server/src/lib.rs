//! `till-server`: the back office every Till terminal syncs with. Exactly-once push of
//! mutations, delta pull of catalog and customers, one bearer token per terminal.
//!
//! The HTTP layer ([`http`]) only parses, authenticates and maps errors; what a mutation does is
//! decided by [`rules`] and stored by a [`storage::Storage`] backend in one transaction.

pub mod catalog_file;
pub mod clock;
pub mod http;
pub mod rules;
pub mod sample;
pub mod serve;
pub mod storage;
pub mod token;
