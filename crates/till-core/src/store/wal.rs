//! How the sync engine's writes share the store with the cashier's: its connections skip the
//! fsync (except for a write that takes a sequence number) and SQLite's automatic checkpoint, it
//! writes in short chunks with a pause between them that a waiting ring-up fits into, and it
//! copies the log back into the database file itself, off the request's path.

use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{CoreError, Result};

use super::Store;

/// How many rows one of the engine's write transactions changes at most: a few hundred
/// microseconds of holding the lock.
pub const WRITE_CHUNK: usize = 250;

/// Rows written before the engine checkpoints: outbox rows hold no payload, so a few hundred
/// log pages, well below SQLite's 1,000-page threshold at which a ring-up would copy them.
pub const CHECKPOINT_ROWS: usize = 2000;

/// How long the engine pauses between its write transactions: longer than a waiting ring-up's
/// busy-handler pause ([`super::wait_for_writer`]), so the ring-up takes the lock first.
const WRITERS_IN: Duration = Duration::from_micros(100);

/// A connection for the sync engine's own work.
///
/// Most of what it writes can be lost at a power cut without harm: outcomes are re-learnt from
/// the server (a replay answers with the original result), a pull page is fetched again, and the
/// engine's bookkeeping only spaces out retries and tells other processes where sync stands. So
/// those commits skip the fsync (WAL stays consistent; a later durable commit on any connection
/// makes these durable too), which keeps its write transactions short and ring-up on the other
/// connections unblocked. A write that may take a sequence number or tick the clock (a conflict
/// a policy settles queues a new mutation) is not re-learnt: it goes through [`write`] with
/// `durable` set, and [`ensure_durable`] refuses to hand out a number on this connection
/// otherwise.
///
/// Its automatic checkpoint is off: the engine copies the log back itself ([`checkpoint`],
/// [`Checkpointer`]), once a request is on its way, so the log it grows is copied by the engine,
/// not by whichever ring-up commit crosses the threshold, and not on the request's path.
pub fn engine_connection(store: &Store) -> Result<Connection> {
    let conn = store.connect()?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

/// Runs `f` in one immediate transaction on `conn` and commits it. With `durable`, the commit is
/// on disk before this returns (`synchronous=FULL` for this transaction, then back to what the
/// connection had): SQLite only changes the level between transactions.
pub fn write<T, E>(
    conn: &mut Connection,
    durable: bool,
    f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<rusqlite::Error>,
{
    let level = if durable {
        let level: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Some(level)
    } else {
        None
    };
    let result = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    })();
    if let Some(level) = level {
        conn.pragma_update(None, "synchronous", level)?;
    }
    result
}

/// `synchronous=NORMAL`: the level of the engine's re-learnable writes.
const RELEARNABLE: i64 = 1;

/// Refuses to go on when `conn` commits without the fsync of the engine's re-learnable writes.
/// Called by whatever hands out a number that must never be handed out twice (a ticket or
/// mutation sequence number, a clock stamp): after a power cut such a commit may be gone while
/// the server already holds what it numbered, and the number would be used again.
/// (`synchronous=OFF`, where a benchmark fills a store, is a choice made on purpose and passes.)
pub fn ensure_durable(conn: &Connection) -> Result<()> {
    let level: i64 = conn
        .prepare_cached("PRAGMA synchronous")?
        .query_row([], |r| r.get(0))?;
    if level == RELEARNABLE {
        return Err(CoreError::Database(
            "a sequence number or clock stamp was taken in a transaction that would not survive \
             a power cut (synchronous=NORMAL); write it with store::wal::write(.., durable)"
                .into(),
        ));
    }
    Ok(())
}

/// Copies what was written back into the database file (PASSIVE: never waits for and never
/// blocks a ring-up). The log then stays short enough that a ring-up commit never finds a long
/// one to copy itself.
pub fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::debug!(error = %e, "checkpoint skipped");
    }
}

/// Counts the rows the engine wrote since its last checkpoint, and checkpoints every
/// [`CHECKPOINT_ROWS`] rows and when the queue goes quiet.
#[derive(Debug, Default)]
pub struct Checkpointer {
    unchecked_rows: usize,
}

impl Checkpointer {
    /// Counts `rows` just written and checkpoints once enough have piled up, or when `quiet`
    /// (nothing more is about to be written).
    pub fn wrote(&mut self, conn: &Connection, rows: usize, quiet: bool) {
        if self.due(rows, quiet) {
            checkpoint(conn);
        }
    }

    /// Whether `rows` more (and `quiet`) make a checkpoint due; resets the count when it is.
    fn due(&mut self, rows: usize, quiet: bool) -> bool {
        self.unchecked_rows += rows;
        if quiet || self.unchecked_rows >= CHECKPOINT_ROWS {
            self.unchecked_rows = 0;
            return true;
        }
        false
    }
}

/// Lets a writer waiting for the lock (a ring-up on another connection) in before the engine's
/// next write transaction.
///
/// The pause must be longer than the ring-up's busy-handler pause (50 µs) and as short as it
/// can be, since a drain takes it between every two chunks: the runtime's timers tick in whole
/// milliseconds, ten times too coarse (a drain of 10,000 tickets would wait some 80 ms more).
/// So the pause is a thread sleep on tokio's blocking pool: the engine's task awaits it without
/// holding up its runtime's thread (the request sent ahead and the status tick run meanwhile).
pub async fn let_writers_in() {
    let pause = tokio::task::spawn_blocking(|| std::thread::sleep(WRITERS_IN)).await;
    if let Err(e) = pause {
        tracing::debug!(error = %e, "the pause between two writes was cut short");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_come_every_so_many_rows_and_when_the_queue_goes_quiet() {
        let mut checkpointer = Checkpointer::default();
        let due: Vec<bool> = [1000, 900, 100, 250, 10]
            .iter()
            .map(|&rows| checkpointer.due(rows, false))
            .collect();
        assert_eq!(
            due,
            [false, false, true, false, false],
            "one checkpoint per {CHECKPOINT_ROWS} rows, counting from the last"
        );
        assert!(
            checkpointer.due(1, true),
            "a quiet queue is checkpointed whatever the count"
        );
        assert!(
            !checkpointer.due(1, false),
            "and the count starts over after it"
        );
    }

    fn level(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("reads the level")
    }

    #[test]
    fn the_engine_takes_a_sequence_number_only_in_a_durable_write() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let mut conn = engine_connection(&store).expect("connects");
        let refused = write(&mut conn, false, |tx| {
            crate::counters::next(tx, crate::counters::MUTATION)
        })
        .expect_err("a re-learnable write must not hand out a sequence number");
        assert_eq!(refused.code(), crate::ErrorCode::DatabaseError);
        let seq = write(&mut conn, true, |tx| {
            assert_eq!(
                level(tx),
                2,
                "a durable write commits with synchronous=FULL"
            );
            crate::counters::next(tx, crate::counters::MUTATION)
        })
        .expect("a durable write hands it out");
        assert_eq!(seq, 1, "the refused write gave its number back");
        assert_eq!(
            level(&conn),
            RELEARNABLE,
            "the engine's other writes stay re-learnable"
        );
        let failing = write(&mut conn, true, |tx| {
            crate::hlc::tick(tx, 5)?;
            Err::<(), _>(CoreError::InvalidInput("stop".into()))
        });
        assert!(failing.is_err());
        assert_eq!(level(&conn), RELEARNABLE, "also after a failed write");
    }

    #[tokio::test]
    async fn the_pause_between_two_writes_outlasts_a_waiting_writers_retry() {
        let start = std::time::Instant::now();
        let_writers_in().await;
        assert!(
            start.elapsed() >= WRITERS_IN,
            "a ring-up retrying every 50 µs gets the lock within the pause"
        );
    }
}
