//! One sync cycle: take the data dir's sync lock, push until the queue is drained (or asked to
//! stop), pull every page, register the terminal's key if the back office lacks it, prune what
//! was applied long ago, check the back office's record once drained ([`super::verify`]),
//! record the cycle in the history.
//! The engine's actor and `drain` run the same cycle; their machine decides when.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use serde::Serialize;
use tokio::time::Instant;
use uuid::Uuid;

use crate::store::{wal, Store};
use crate::{outbox, Clock};

use super::conflicts::PolicySet;
use super::error::SyncError;
use super::history::{self, SyncCycle};
use super::key_registration;
use super::lock::SyncLock;
use super::machine::{CycleOutcome, Failure};
use super::persisted;
use super::pull;
use super::push::link::BatchTiming;
use super::push::Pusher;
use super::status::{Live, StatusSink};
use super::transport::Transport;
use super::verify::{self, Verdict};
use super::SyncConfig;

/// What a cycle moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CycleReport {
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub failed: u64,
    /// Nothing unsent was left when the cycle ended.
    pub drained: bool,
}

/// The part of the engine that does the work: its own connection, the transport, the pusher.
pub(super) struct Worker {
    data_dir: PathBuf,
    terminal_id: Uuid,
    conn: Connection,
    transport: Arc<dyn Transport>,
    pusher: Pusher,
    policies: PolicySet,
    clock: Arc<dyn Clock>,
    config: SyncConfig,
    /// Where accepted tickets are announced (the engine's sink; none for `drain`).
    sink: Option<Arc<dyn StatusSink>>,
}

impl Worker {
    /// A worker for the engine of `store`, talking to `transport` as `terminal_id`; `sink`
    /// hears of accepted tickets and finished cycles.
    pub(super) fn new(
        store: &Store,
        terminal_id: Uuid,
        config: SyncConfig,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        sink: Option<Arc<dyn StatusSink>>,
    ) -> Result<Self, SyncError> {
        let conn = wal::engine_connection(store)?;
        Ok(Worker {
            data_dir: store.data_dir().to_path_buf(),
            terminal_id,
            conn,
            transport,
            pusher: Pusher::new(
                terminal_id,
                config.batch_size,
                config.max_batch_size,
                BatchTiming {
                    target: config.batch_target,
                    request_timeout: config.timeouts.request,
                },
                config.give_way,
            ),
            policies: config.policies.clone(),
            clock,
            config,
            sink,
        })
    }

    /// The engine's own connection, for its records between cycles.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// One cycle: take the data-dir lock, push until drained (or `stop`), pull every page,
    /// prune, record the cycle in the history.
    pub(super) async fn cycle(
        &mut self,
        stop: &AtomicBool,
        live: &Mutex<Option<Live>>,
    ) -> Result<CycleReport, SyncError> {
        let _lock = SyncLock::try_acquire(&self.data_dir)?;
        let started_ms = self.clock.now_ms();
        let started = Instant::now();
        // Probes and other requests between cycles are not this cycle's.
        self.transport.take_tally();
        let outcome = self.cycle_locked(stop, live).await;
        let wire = self.transport.take_tally();
        if let Ok(mut l) = live.lock() {
            *l = None;
        }
        let (report, verdict) = outcome.as_ref().cloned().unwrap_or_default();
        // A disagreement is the cycle's error, so a person sees it, with what it moved.
        let result = match outcome {
            Ok((_, Some(Verdict::Disagreed(what)))) => Err(SyncError::VerifyMismatch(what)),
            Ok((report, _)) => Ok(report),
            Err(e) => Err(e),
        };
        let cycle = SyncCycle {
            id: 0,
            started_at_ms: started_ms,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            pushed: report.pushed,
            pulled: report.pulled,
            conflicts: report.conflicts,
            errors: u64::from(result.is_err()) + report.failed,
            error: result.as_ref().err().map(|e| format!("{}: {e}", e.code())),
            bytes_sent: wire.bytes_sent,
            bytes_received: wire.bytes_received,
            requests: wire.requests(),
            latency_p50_ms: wire.latency_ms(50),
            latency_p99_ms: wire.latency_ms(99),
            verify: verdict.as_ref().map(|v| v.recorded().to_string()),
        };
        if let Err(e) = history::record(&self.conn, &cycle) {
            tracing::warn!(error = %e, "could not record the sync cycle");
        }
        if let Some(sink) = &self.sink {
            sink.cycle_finished(&cycle);
        }
        if let Err(e) = &result {
            tracing::warn!(code = e.code().as_str(), error = %e, "sync cycle failed");
        }
        result
    }

    /// The cycle's work, and the verdict of the check at its end when one ran.
    async fn cycle_locked(
        &mut self,
        stop: &AtomicBool,
        live: &Mutex<Option<Live>>,
    ) -> Result<(CycleReport, Option<Verdict>), SyncError> {
        // A protocol stop, whichever process found it: nothing is sent or pulled.
        if let Some(why) = persisted::diverged(&self.conn)? {
            return Err(SyncError::Diverged(why));
        }
        if let Some(why) = persisted::journal_break(&self.conn)? {
            return Err(SyncError::JournalBreak(why));
        }
        let mut report = CycleReport::default();
        let counts = outbox::counts(&self.conn)?;
        if let Ok(mut l) = live.lock() {
            *l = Some(Live {
                done: 0,
                total: counts.pending + counts.in_flight,
                started: Instant::now(),
            });
        }
        loop {
            let stopping = stop.load(Ordering::SeqCst);
            if stopping && !self.pusher.has_batch_ahead() {
                return Ok((report, None));
            }
            let batch = self
                .pusher
                .push_batch(
                    &mut self.conn,
                    &self.transport,
                    &self.policies,
                    self.clock.as_ref(),
                    self.config.send_ahead && !stopping,
                )
                .await?;
            let Some(batch) = batch else { break };
            if let Some(sink) = &self.sink {
                if !batch.synced_tickets.is_empty() {
                    sink.tickets_synced(&batch.synced_tickets);
                }
            }
            report.pushed += batch.settled;
            report.conflicts += batch.conflicts;
            report.failed += batch.failed;
            if let Ok(mut l) = live.lock() {
                if let Some(l) = l.as_mut() {
                    l.done += batch.settled;
                    l.total = l.total.max(l.done);
                }
            }
        }
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok((report, None));
            }
            let page = pull::pull_page(
                &mut self.conn,
                self.transport.as_ref(),
                self.config.pull_limit,
                &self.policies,
                self.clock.as_ref(),
            )
            .await?;
            report.pulled += page.applied;
            report.conflicts += page.conflicts;
            wal::checkpoint(&self.conn);
            if !page.has_more {
                break;
            }
        }
        // After the sales: registering the key never holds them up.
        key_registration::offer(
            &mut self.conn,
            &self.data_dir,
            self.terminal_id,
            &*self.transport,
        )
        .await;
        self.prune()?;
        let counts = outbox::counts(&self.conn)?;
        report.drained = counts.pending + counts.in_flight == 0;
        let verdict = if report.drained {
            verify::check(
                &mut self.conn,
                &*self.transport,
                self.terminal_id,
                report.pushed,
            )
            .await?
        } else {
            None
        };
        Ok((report, verdict))
    }

    /// Deletes applied outbox rows older than the retention. Tickets and the journal stay.
    fn prune(&self) -> Result<(), SyncError> {
        let cutoff = self.clock.now_ms().saturating_sub(
            i64::try_from(self.config.applied_retention.as_millis()).unwrap_or(i64::MAX),
        );
        let n = outbox::prune_applied(&self.conn, cutoff)?;
        if n > 0 {
            tracing::info!(pruned = n, "pruned applied outbox rows");
            wal::checkpoint(&self.conn);
        }
        Ok(())
    }
}

/// What a cycle's result means to the machine.
pub(super) fn outcome(result: &Result<CycleReport, SyncError>) -> CycleOutcome {
    match result {
        Ok(report) => CycleOutcome::Done {
            drained: report.drained,
        },
        Err(e) => CycleOutcome::Failed(Failure::of(e)),
    }
}
