//! The sync engine: pushes the outbox to the back office exactly once, pulls catalog and customer
//! changes, and parks every disagreement in the conflict table instead of overwriting it.
//!
//! The moving parts, one module each:
//! - [`state`]: the explicit engine state the UI shows;
//! - [`enrolment`]: which server this terminal syncs with; [`persisted`]: the engine's own state
//!   as stored (cursor, ack, retry timing, last success and error, pause flag);
//! - [`backoff`]: exponential back-off with full jitter, honouring `Retry-After`;
//! - [`transport`]: the HTTP client behind a trait, and how its errors are classified;
//!   [`trust`]: where the token may go and how the back office is trusted (no cleartext by
//!   default, a shop's CA or a certificate pin), [`tls`] the client's TLS for it;
//!   [`wire`]: what the requests cost on the wire (bytes each way, latency), per cycle;
//! - [`push`] and [`pull`]: one cycle's work against the store, in short transactions; `cycle`
//!   puts them together under the data dir's sync lock; [`verify`]: the check of the back
//!   office's record at the end of a drain;
//! - [`conflicts`], [`failed`], [`customers`], [`history`]: what a person reviews and edits;
//! - [`machine`]: the engine's decisions (when to run, probe, back off, record, publish) as a
//!   pure state machine, tested as a table of transitions;
//! - [`engine`]: the tokio actor that drives the machine, and its cheap-clone [`SyncHandle`]
//!   (whose `nudge` the app calls when its window gains focus, and when `network`, on Linux,
//!   hears from NetworkManager that the network came back);
//!   [`drain`](mod@drain): the same machine driven in the foreground (`tillctl sync`);
//! - [`settings`]: every setting of [`SyncConfig`] in one checked table, with where each
//!   value comes from (environment, store, default);
//! - [`status`]: the snapshot published to an injected, throttled [`StatusSink`].
//!
//! The engine always uses its own SQLite connection and short transactions, so ring-up on another
//! connection never waits on it for long. One cycle runs at a time per data dir, also across
//! processes (the app and `tillctl`), guarded by an advisory lock on `sync.lock`.

pub mod attribution;
pub mod backoff;
pub mod conflicts;
pub mod customers;
mod cycle;
pub mod drain;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod enrolment;
pub mod error;
pub mod failed;
pub mod give_way;
pub mod history;
pub mod key_registration;
pub mod lock;
pub mod machine;
#[cfg(test)]
mod machine_tests;
#[cfg(target_os = "linux")]
pub mod network;
pub mod persisted;
pub mod pull;
pub mod push;
pub mod settings;
pub mod state;
pub mod status;
pub mod tls;
pub mod transport;
#[cfg(test)]
mod transport_tests;
pub mod trust;
pub mod verify;
pub mod wire;

use std::time::Duration;

/// The SQLite connection type the plain functions of this module take.
pub use rusqlite::Connection;

pub use backoff::{Backoff, BackoffPolicy};
pub use conflicts::{Conflict, ConflictPolicy, PolicySet, Resolution};
pub use drain::{drain, DrainReport};
pub use engine::{SyncEngine, SyncHandle, SyncNowAnswer};
pub use error::SyncError;
pub use state::SyncState;
pub use status::{ErrorInfo, Progress, StatusSink, SyncStatus};
pub use transport::{Credential, HttpTransport, Transport, TransportError};
pub use trust::ServerTrust;

/// How the engine behaves. Every field has a sensible default; each one a shop may set is a row
/// of [`settings::SETTINGS`] (a new field gets its row there, and its line in the README).
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The first push batch size; grows while the server keeps up.
    pub batch_size: usize,
    /// The largest push batch (never above the protocol's limit).
    pub max_batch_size: usize,
    /// How long one push batch aims to take on the link, given its throughput and round trip
    /// as measured from the pushes: the batch never grows beyond what the link carries in this
    /// time (or in nine round trips, when longer), nor beyond a quarter of `timeouts.request`.
    /// Long enough that a round trip is a small share of a batch; short enough that a batch
    /// lost to a timeout costs little.
    pub batch_target: Duration,
    /// Whether the next batch is prepared and sent while the last answer is applied (the
    /// server still gets one request at a time). Off: each request waits for the one before
    /// to be answered and applied.
    pub send_ahead: bool,
    /// How long after a local commit (a ring-up) the engine holds its own writes, so the
    /// cashier's commit has the store to itself; at most `give_way::MAX_HOLD` at a time.
    /// Zero never holds.
    pub give_way: Duration,
    /// Pull page size.
    pub pull_limit: u32,
    /// The periodic tick while nothing is pending.
    pub tick: Duration,
    /// The tick while a backlog remains (e.g. after a cycle stopped early).
    pub backlog_tick: Duration,
    /// How long after a local write the engine waits for more writes before syncing.
    pub debounce: Duration,
    /// How often a health probe runs while offline.
    pub probe_interval: Duration,
    /// Back-off between failed attempts.
    pub backoff: BackoffPolicy,
    /// Server errors (5xx) or timeouts in a row that open the circuit breaker: no batch is sent
    /// until the back office's health endpoint answers (probed with the same back-off), then
    /// one cycle tries; a fault there opens it again. Zero never opens it.
    pub circuit_threshold: u32,
    /// Applied outbox rows older than this are pruned (tickets and the journal never are).
    pub applied_retention: Duration,
    /// The shortest gap between two status snapshots sent to the sink.
    pub status_interval: Duration,
    /// How long a shutdown waits for the batch in flight before abandoning it (its items stay
    /// queued and are checked with the server's ack endpoint on the next start).
    pub shutdown_grace: Duration,
    /// The conflict policy of each entity kind (a deployment may plug in its own).
    pub policies: PolicySet,
    /// The HTTP client's connect and whole-request timeouts.
    pub timeouts: transport::Timeouts,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: 100,
            max_batch_size: till_protocol::MAX_PUSH_BATCH,
            batch_target: Duration::from_secs(2),
            send_ahead: true,
            give_way: Duration::from_millis(100),
            pull_limit: 500,
            tick: Duration::from_secs(30),
            backlog_tick: Duration::from_secs(1),
            debounce: Duration::from_millis(300),
            probe_interval: Duration::from_secs(10),
            backoff: BackoffPolicy::default(),
            circuit_threshold: 5,
            applied_retention: Duration::from_secs(7 * 24 * 3600),
            status_interval: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(5),
            policies: PolicySet::default(),
            timeouts: transport::Timeouts::default(),
        }
    }
}
