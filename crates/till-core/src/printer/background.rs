//! Printing in the background, for the app: a task that sends the queue when told a job was
//! queued ([`PrinterHandle::print_waiting`]) and, while jobs wait on a printer that is off, tries
//! again every [`RETRY_EVERY`], so each waiting receipt prints once the printer is back without
//! anyone asking. After each attempt it publishes the printer's status ("Printer offline — 2
//! receipts waiting"). Sending runs on a blocking thread and holds no write transaction.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{flush, status, Flushed, PrinterStatus};
use crate::clock::Clock;
use crate::error::Result;
use crate::store::Store;

/// How long a printer that did not take a job is left before the next try.
pub const RETRY_EVERY: Duration = Duration::from_secs(5);

/// When to try again after a flush that did `flushed`: soon while jobs wait, else only when
/// told.
pub fn next_try(flushed: &Flushed) -> Option<Duration> {
    (flushed.queued > 0 || flushed.error.is_some()).then_some(RETRY_EVERY)
}

/// A cheap-clone handle on the printing task.
#[derive(Clone)]
pub struct PrinterHandle {
    poke: Arc<Notify>,
    status: watch::Receiver<PrinterStatus>,
    task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl PrinterHandle {
    /// Starts printing `store`'s queue in the background; it sends what waits at once.
    pub fn spawn(store: Store, clock: Arc<dyn Clock>) -> Result<PrinterHandle> {
        let (status_tx, status_rx) = watch::channel(status(&store.connect()?)?);
        let poke = Arc::new(Notify::new());
        let woken = Arc::clone(&poke);
        let task = tokio::spawn(async move {
            loop {
                let (store_again, clock_again) = (store.clone(), Arc::clone(&clock));
                let sent =
                    tokio::task::spawn_blocking(move || flush(&store_again, clock_again.as_ref()))
                        .await;
                let wait = match sent {
                    Ok(Ok(flushed)) => next_try(&flushed),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "printing failed");
                        Some(RETRY_EVERY)
                    }
                    Err(_) => Some(RETRY_EVERY),
                };
                if let Ok(now) = store.connect().and_then(|c| status(&c)) {
                    status_tx.send_replace(now);
                }
                match wait {
                    Some(wait) => {
                        let _ = tokio::time::timeout(wait, woken.notified()).await;
                    }
                    None => woken.notified().await,
                }
            }
        });
        Ok(PrinterHandle {
            poke,
            status: status_rx,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    /// Says jobs were queued (a sale, a reprint): the task sends them now.
    pub fn print_waiting(&self) {
        self.poke.notify_one();
    }

    /// The printer's status after the last attempt.
    pub fn status(&self) -> PrinterStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees each status published (latest wins).
    pub fn subscribe(&self) -> watch::Receiver<PrinterStatus> {
        self.status.clone()
    }

    /// Stops the task. A job being sent finishes on its thread and is marked as it went.
    pub async fn shutdown(&self) {
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}
