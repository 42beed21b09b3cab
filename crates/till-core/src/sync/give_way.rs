//! The sync engine gives way to the cashier. A ring-up is a local commit that fsyncs; while the
//! engine writes a drain's bookkeeping beside it, that commit shares the lock, the disk's flushes
//! and the CPU with it. So before each of its writes the engine looks whether another connection
//! on the store committed lately (`PRAGMA data_version` changes when one has), and while one did
//! within the window it holds its write, for at most [`MAX_HOLD`] at a time so that a long burst
//! of local writes (an import) cannot stall sync for good. A request already on its way goes on.

use std::time::Duration;

use rusqlite::Connection;
use tokio::time::Instant;

use super::error::SyncError;

/// The longest one write is held; after it the engine writes once and looks again.
pub const MAX_HOLD: Duration = Duration::from_secs(2);

/// How often a held write looks again.
const POLL: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub struct GiveWay {
    /// How long after a local commit the engine holds its writes; zero never holds.
    window: Duration,
    /// `data_version` when last looked at.
    seen: Option<i64>,
    /// When a local commit was last noticed.
    last_local: Option<Instant>,
}

impl GiveWay {
    pub fn new(window: Duration) -> Self {
        GiveWay {
            window,
            seen: None,
            last_local: None,
        }
    }

    /// Waits until no other connection has committed for the window (or [`MAX_HOLD`] passed).
    pub async fn before_write(&mut self, conn: &mut Connection) -> Result<(), SyncError> {
        if self.window.is_zero() {
            return Ok(());
        }
        let started = Instant::now();
        loop {
            self.look(conn)?;
            let quiet = self.last_local.is_none_or(|at| at.elapsed() >= self.window);
            if quiet || started.elapsed() >= MAX_HOLD {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn look(&mut self, conn: &Connection) -> Result<(), SyncError> {
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if self.seen.is_some_and(|seen| seen != version) {
            self.last_local = Some(Instant::now());
        }
        self.seen = Some(version);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_for_the_till_to_go_quiet_but_never_longer_than_the_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let mut engine = store.connect().expect("connects");
        let till = store.connect().expect("connects");
        let mut give_way = GiveWay::new(Duration::from_millis(100));

        let start = Instant::now();
        give_way.before_write(&mut engine).await.expect("looks");
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a quiet till is not waited for"
        );

        till.execute(
            "UPDATE sync_state SET failures_in_a_row = failures_in_a_row + 1",
            [],
        )
        .expect("a local commit");
        let start = Instant::now();
        give_way.before_write(&mut engine).await.expect("looks");
        let held = start.elapsed();
        assert!(
            (Duration::from_millis(100)..Duration::from_millis(120)).contains(&held),
            "held for the window after a local commit: {held:?}"
        );

        till.execute(
            "UPDATE sync_state SET failures_in_a_row = failures_in_a_row + 1",
            [],
        )
        .expect("a local commit");
        let start = Instant::now();
        let busy_till = async {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                till.execute(
                    "UPDATE sync_state SET failures_in_a_row = failures_in_a_row + 1",
                    [],
                )
                .expect("a local commit");
            }
        };
        tokio::select! {
            result = give_way.before_write(&mut engine) => result.expect("looks"),
            () = busy_till => unreachable!("the till never stops"),
        }
        let held = start.elapsed();
        assert!(
            (MAX_HOLD..MAX_HOLD + Duration::from_millis(20)).contains(&held),
            "a till that never goes quiet holds sync for the cap, not for ever: {held:?}"
        );

        let mut never = GiveWay::new(Duration::ZERO);
        till.execute(
            "UPDATE sync_state SET failures_in_a_row = failures_in_a_row + 1",
            [],
        )
        .expect("a local commit");
        let start = Instant::now();
        never.before_write(&mut engine).await.expect("looks");
        assert_eq!(start.elapsed(), Duration::ZERO, "a zero window never holds");
    }
}
