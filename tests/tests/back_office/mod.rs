//! What the back office's end-to-end tests share: a real `till-server` with one till enrolled,
//! and mutations queued in that till's outbox as its own commands queue them (for what
//! `tillctl` cannot record yet), which its sync engine then pushes.

use std::path::Path;

use till_core::store::Store;
use till_core::{hlc, outbox, SystemClock};
use till_e2e::*;
use till_protocol::{MutationBody, Operator};

/// A back office and one till enrolled with it.
pub struct Shop {
    pub server_dir: tempfile::TempDir,
    pub server: Server,
    pub till: tempfile::TempDir,
    pub terminal_id: String,
}

impl Shop {
    /// Starts the server and enrols a till named `till-1`.
    pub async fn open() -> Shop {
        let server_dir = tempfile::tempdir().expect("temp dir");
        let till = tempfile::tempdir().expect("temp dir");
        let server = Server::start(server_dir.path()).await;
        let (terminal_id, token) = add_terminal(server_dir.path(), "till-1").await;
        tillctl_ok(
            till.path(),
            &["enrol", "--server", &server.url(), "--token", &token],
        )
        .await;
        Shop {
            server_dir,
            server,
            till,
            terminal_id,
        }
    }

    /// Syncs the till until its outbox is drained.
    pub async fn sync(&self) {
        let args = ["sync", "--until-drained", "--timeout", "60"];
        tillctl_ok(self.till.path(), &args).await;
    }
}

/// Queues `body`, made by `by`, in the outbox of the till at `till`.
pub fn queue(till: &Path, body: MutationBody, by: Option<&Operator>) {
    let store = Store::open(till).expect("the till's store opens");
    let conn = store.connect().expect("connects");
    let now = till_core::Clock::now_ms(&SystemClock);
    let stamp = hlc::tick(&conn, now).expect("stamps");
    outbox::enqueue(&conn, body, by.cloned(), stamp, now).expect("queued");
}
