//! The Till terminal engine: the durable local store, the catalog, ring-up (quote and commit),
//! the hash-chained journal and the outbox. No Tauri here; the app shell and `tillctl` are thin
//! layers over these functions.
//!
//! Open a [`Store`] once per data dir, then give each thread that writes its own connection
//! from [`Store::connect`]. Writes are short `BEGIN IMMEDIATE` transactions.

pub mod approvals;
pub mod cart;
pub mod cash;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod counters;
pub mod data_dir;
pub mod demo;
pub mod employees;
pub mod error;
pub mod error_code;
pub mod hlc;
pub mod item_state;
pub mod journal;
pub mod migrations;
pub mod money;
pub mod outbox;
pub mod parked;
pub mod printer;
pub mod push_chain;
pub mod queue_export;
pub mod receipt;
pub mod recover;
pub mod register;
pub mod settings;
pub mod shifts;
pub mod signin;
pub mod status;
pub mod store;
pub mod sync;
pub mod tender;
pub mod terminal_key;
pub mod tickets;
pub mod unsent;

pub use cart::{Cart, CartLine, Quote};
pub use clock::{Clock, SystemClock};
pub use error::{CoreError, ErrorCode, Result};
pub use store::Store;
pub use tender::TenderInput;
