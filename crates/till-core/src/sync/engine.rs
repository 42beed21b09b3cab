//! The sync engine as a tokio actor: an explicit [`SyncState`], a command channel, and one
//! cycle at a time. Triggers are start-up, the periodic tick (sooner while a backlog remains), a
//! debounced trigger after each local write, connectivity regained (a health probe while
//! offline) and "Sync now"; a trigger that arrives during a cycle coalesces into one follow-up.
//!
//! [`drain`] runs the same cycles in the foreground until the outbox is empty (`tillctl sync`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use uuid::Uuid;

use crate::store::{wal, Store};
use crate::{outbox, Clock};

use super::backoff::Backoff;
use super::conflicts::PolicySet;
use super::error::SyncError;
use super::history::{self, SyncCycle};
use super::lock::SyncLock;
use super::pull;
use super::push::Pusher;
use super::state::SyncState;
use super::status::{
    read_status, status_or_last, ErrorInfo, Live, Reading, StatusSink, SyncStatus, Throttle,
};
use super::transport::{ErrorClass, Transport, TransportError};
use super::SyncConfig;
use super::{enrolment, persisted};

/// The answer to "Sync now": at once, with the reason when it cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncNowAnswer {
    pub accepted: bool,
    pub reason: Option<String>,
}

enum Command {
    SyncNow(oneshot::Sender<SyncNowAnswer>),
    Pause,
    Resume,
    LocalWrite,
    Shutdown(oneshot::Sender<()>),
}

/// A cheap-clone handle on a running engine.
#[derive(Clone)]
pub struct SyncHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<SyncStatus>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl SyncHandle {
    /// Asks for a cycle now. During a cycle it coalesces into one follow-up.
    pub async fn sync_now(&self) -> SyncNowAnswer {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::SyncNow(reply)).is_err() {
            return stopped_answer();
        }
        answer.await.unwrap_or_else(|_| stopped_answer())
    }

    /// Stops syncing (the batch in flight finishes) until [`resume`](Self::resume).
    pub fn pause(&self) {
        let _ = self.commands.send(Command::Pause);
    }

    pub fn resume(&self) {
        let _ = self.commands.send(Command::Resume);
    }

    /// Tells the engine a mutation was queued: a snapshot goes out at once and a cycle follows
    /// after the debounce.
    pub fn notify_local_write(&self) {
        let _ = self.commands.send(Command::LocalWrite);
    }

    /// The latest snapshot.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every published snapshot (latest wins).
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops the engine: the batch in flight is finished (its answer recorded) or, when the
    /// server does not answer, abandoned with its items left queued. Waits for the task to end.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Shutdown(reply)).is_ok() {
            let _ = done.await;
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

fn stopped_answer() -> SyncNowAnswer {
    SyncNowAnswer {
        accepted: false,
        reason: Some("sync is stopped".into()),
    }
}

/// What the engine is built from.
pub struct SyncEngine;

impl SyncEngine {
    /// Starts the engine of `store` as a tokio task, talking to `transport` as `terminal_id`.
    pub fn spawn(
        store: Store,
        terminal_id: Uuid,
        config: SyncConfig,
        transport: Arc<dyn Transport>,
        sink: Arc<dyn StatusSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<SyncHandle, SyncError> {
        let mut worker = Worker::new(&store, terminal_id, config.clone(), transport, clock)?;
        worker.sink = Some(Arc::clone(&sink));
        let status_conn = store.connect()?;
        let (commands, rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(SyncStatus::initial(SyncState::Idle));
        let actor = Actor {
            worker,
            status_conn,
            rx,
            status_tx,
            throttle: Throttle::new(sink, config.status_interval),
            config,
            state: SyncState::Idle,
            completed_cycles: 0,
            progress: Arc::new(Mutex::new(None)),
        };
        let task = tokio::spawn(actor.run());
        Ok(SyncHandle {
            commands,
            status,
            task: Arc::new(Mutex::new(Some(task))),
        })
    }

    /// Starts the engine with the stored enrolment over HTTP; `not_enrolled` without one.
    pub fn spawn_enrolled(
        store: Store,
        config: SyncConfig,
        sink: Arc<dyn StatusSink>,
    ) -> Result<SyncHandle, SyncError> {
        let conn = store.connect()?;
        let enrolment = enrolment::get(&conn)?.ok_or(SyncError::NotEnrolled)?;
        let transport = super::HttpTransport::new(
            &enrolment.server_url,
            &enrolment.token,
            super::transport::Timeouts::default(),
        )?;
        Self::spawn(
            store,
            enrolment.terminal_id,
            config,
            Arc::new(transport),
            sink,
            Arc::new(crate::SystemClock),
        )
    }
}

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
struct Worker {
    data_dir: PathBuf,
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
    fn new(
        store: &Store,
        terminal_id: Uuid,
        config: SyncConfig,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SyncError> {
        let conn = wal::engine_connection(store)?;
        Ok(Worker {
            data_dir: store.data_dir().to_path_buf(),
            conn,
            transport,
            pusher: Pusher::new(
                terminal_id,
                config.batch_size,
                config.max_batch_size,
                config.give_way,
            ),
            policies: config.policies.clone(),
            clock,
            config,
            sink: None,
        })
    }

    /// One cycle: take the data-dir lock, push until drained (or `stop`), pull every page,
    /// prune, record the cycle in the history.
    async fn cycle(
        &mut self,
        stop: &AtomicBool,
        live: &Mutex<Option<Live>>,
    ) -> Result<CycleReport, SyncError> {
        let _lock = SyncLock::try_acquire(&self.data_dir)?;
        let started_ms = self.clock.now_ms();
        let started = Instant::now();
        let result = self.cycle_locked(stop, live).await;
        if let Ok(mut l) = live.lock() {
            *l = None;
        }
        let report = result.as_ref().copied().unwrap_or_default();
        let cycle = SyncCycle {
            id: 0,
            started_at_ms: started_ms,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            pushed: report.pushed,
            pulled: report.pulled,
            conflicts: report.conflicts,
            errors: u64::from(result.is_err()) + report.failed,
            error: result.as_ref().err().map(|e| format!("{}: {e}", e.code())),
        };
        if let Err(e) = history::record(&self.conn, &cycle) {
            tracing::warn!(error = %e, "could not record the sync cycle");
        }
        if let Some(sink) = &self.sink {
            sink.cycle_finished(&cycle);
        }
        match &result {
            Ok(_) => persisted::record_success(&self.conn, self.clock.as_ref())?,
            Err(e) => tracing::warn!(code = e.code(), error = %e, "sync cycle failed"),
        }
        result
    }

    async fn cycle_locked(
        &mut self,
        stop: &AtomicBool,
        live: &Mutex<Option<Live>>,
    ) -> Result<CycleReport, SyncError> {
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
                return Ok(report);
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
                return Ok(report);
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
        self.prune()?;
        let counts = outbox::counts(&self.conn)?;
        report.drained = counts.pending + counts.in_flight == 0;
        Ok(report)
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

/// What to do after a failed cycle.
fn after_failure(
    error: &SyncError,
    backoff: &mut Backoff,
    rng: &mut StdRng,
) -> (SyncState, Option<Duration>) {
    match error {
        SyncError::Busy => (SyncState::Idle, Some(Duration::from_secs(1))),
        SyncError::NotEnrolled => (SyncState::NotEnrolled, None),
        SyncError::Transport(e) if e.class() == ErrorClass::Auth => (SyncState::AuthError, None),
        SyncError::Transport(e) => {
            let wait = backoff.fail(rng, e.retry_after());
            if e.unreachable() {
                (SyncState::Offline, Some(wait))
            } else {
                (SyncState::BackingOff { until_ms: 0 }, Some(wait))
            }
        }
        _ => (
            SyncState::BackingOff { until_ms: 0 },
            Some(backoff.fail(rng, None)),
        ),
    }
}

fn error_info(e: &SyncError) -> ErrorInfo {
    ErrorInfo {
        code: e.code().to_string(),
        message: e.to_string(),
    }
}

struct Actor {
    worker: Worker,
    status_conn: Connection,
    rx: mpsc::UnboundedReceiver<Command>,
    status_tx: watch::Sender<SyncStatus>,
    throttle: Throttle,
    config: SyncConfig,
    state: SyncState,
    completed_cycles: u64,
    progress: Arc<Mutex<Option<Live>>>,
}

impl Actor {
    fn snapshot(&self) -> SyncStatus {
        let read = read_status(
            &self.status_conn,
            &self.progress,
            self.state,
            self.completed_cycles,
            Reading::Settled,
        );
        status_or_last(read, &self.status_tx.borrow())
    }

    fn publish(&mut self, force: bool) {
        let status = self.snapshot();
        self.status_tx.send_replace(status.clone());
        self.throttle.offer(status, force);
    }

    fn set_state(&mut self, state: SyncState) {
        if self.state != state {
            self.state = state;
            if let Err(e) = persisted::set_state_name(&self.worker.conn, state.name()) {
                tracing::warn!(error = %e, "could not record the sync state");
            }
        }
        self.publish(true);
    }

    async fn run(mut self) {
        let clock = Arc::clone(&self.worker.clock);
        let row = persisted::read(&self.status_conn).unwrap_or_default();
        let mut backoff = Backoff::with_failures(self.config.backoff, row.failures_in_a_row);
        let mut rng = StdRng::from_entropy();
        let mut paused = row.paused;
        // Set by "Sync now": the next wake runs a real cycle even while offline, so the person
        // who asked gets an answer (a finished cycle, or its error) instead of a silent probe.
        let mut asked = false;
        // A persisted retry time survives a restart, so a restart never hammers the server.
        let mut next_run = match row.next_retry_at_ms {
            Some(at) if at > clock.now_ms() => {
                let wait = Duration::from_millis(u64::try_from(at - clock.now_ms()).unwrap_or(0));
                self.set_state(SyncState::BackingOff { until_ms: at });
                Some(Instant::now() + wait.min(self.config.backoff.cap))
            }
            _ => {
                self.set_state(SyncState::Idle);
                Some(Instant::now())
            }
        };
        if paused {
            next_run = None;
            self.set_state(SyncState::Paused);
        }
        let mut shutdown_reply: Option<oneshot::Sender<()>> = None;
        'outer: loop {
            let flush_at = self.throttle.flush_at();
            tokio::select! {
                command = self.rx.recv() => match command {
                    None => break 'outer,
                    Some(Command::Shutdown(reply)) => { shutdown_reply = Some(reply); break 'outer; }
                    Some(Command::SyncNow(reply)) => {
                        let answer = if paused {
                            SyncNowAnswer { accepted: false, reason: Some("sync is paused".into()) }
                        } else {
                            next_run = Some(Instant::now());
                            asked = true;
                            SyncNowAnswer { accepted: true, reason: None }
                        };
                        let _ = reply.send(answer);
                    }
                    Some(Command::Pause) => {
                        paused = true;
                        next_run = None;
                        let _ = persisted::set_paused(&self.worker.conn, true);
                        self.set_state(SyncState::Paused);
                    }
                    Some(Command::Resume) => {
                        paused = false;
                        let _ = persisted::set_paused(&self.worker.conn, false);
                        next_run = Some(Instant::now());
                        self.set_state(SyncState::Idle);
                    }
                    Some(Command::LocalWrite) => {
                        self.publish(true);
                        if !paused && matches!(self.state, SyncState::Idle) {
                            let soon = Instant::now() + self.config.debounce;
                            next_run = Some(next_run.map_or(soon, |at| at.min(soon)));
                        }
                    }
                },
                _ = async { if let Some(at) = flush_at { sleep_until(at).await } }, if flush_at.is_some() => {
                    self.throttle.flush();
                }
                _ = async { if let Some(at) = next_run { sleep_until(at).await } }, if next_run.is_some() => {
                    let was_offline = self.state == SyncState::Offline;
                    if was_offline && !asked {
                        // Connectivity probe: cheap, no token needed.
                        if let Err(e) = self.worker.transport.health().await {
                            let wait = backoff.fail(&mut rng, None).min(self.config.probe_interval);
                            tracing::debug!(error = %e, "still offline");
                            next_run = Some(Instant::now() + wait);
                            continue 'outer;
                        }
                    }
                    asked = false;
                    self.set_state(SyncState::Syncing);
                    let stop = AtomicBool::new(false);
                    let mut follow_up = false;
                    let progress = Arc::clone(&self.progress);
                    let result = {
                        let cycle = self.worker.cycle(&stop, &progress);
                        tokio::pin!(cycle);
                        let mut tick = tokio::time::interval(self.config.status_interval.max(Duration::from_millis(250)));
                        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
                        let mut abandon_at = far;
                        loop {
                            tokio::select! {
                                result = &mut cycle => break result,
                                _ = sleep_until(abandon_at) => {
                                    // The server does not answer: leave the batch in flight; it
                                    // is checked with the ack endpoint and resent on next start.
                                    tracing::warn!("shutdown abandons the batch in flight");
                                    break Err(SyncError::Transport(TransportError::NoAnswer(
                                        "abandoned at shutdown".into(),
                                    )));
                                }
                                _ = tick.tick() => {
                                    let read = read_status(&self.status_conn, &progress, self.state, self.completed_cycles, Reading::During);
                                    let status = status_or_last(read, &self.status_tx.borrow());
                                    self.status_tx.send_replace(status.clone());
                                    self.throttle.offer(status, false);
                                }
                                command = self.rx.recv() => match command {
                                    None => stop.store(true, Ordering::SeqCst),
                                    Some(Command::Shutdown(reply)) => {
                                        shutdown_reply = Some(reply);
                                        stop.store(true, Ordering::SeqCst);
                                        abandon_at = Instant::now() + self.config.shutdown_grace;
                                    }
                                    Some(Command::SyncNow(reply)) => {
                                        follow_up = true;
                                        let _ = reply.send(SyncNowAnswer { accepted: true, reason: Some("coalesced with the running sync".into()) });
                                    }
                                    Some(Command::Pause) => {
                                        paused = true;
                                        let _ = persisted::set_paused(&self.status_conn, true);
                                        stop.store(true, Ordering::SeqCst);
                                    }
                                    Some(Command::Resume) => {
                                        paused = false;
                                        let _ = persisted::set_paused(&self.status_conn, false);
                                    }
                                    Some(Command::LocalWrite) => follow_up = true,
                                },
                            }
                        }
                    };
                    self.completed_cycles += 1;
                    let now = Instant::now();
                    match result {
                        Ok(report) => {
                            backoff.reset();
                            next_run = Some(if follow_up {
                                now
                            } else if report.drained {
                                now + self.config.tick
                            } else {
                                now + self.config.backlog_tick
                            });
                            self.set_state(SyncState::Idle);
                        }
                        Err(error) => {
                            let (state, wait) = after_failure(&error, &mut backoff, &mut rng);
                            let until_ms = wait.map(|w| clock.now_ms() + i64::try_from(w.as_millis()).unwrap_or(i64::MAX));
                            if !matches!(error, SyncError::Busy) {
                                let _ = persisted::record_failure(&self.worker.conn, &error_info(&error), until_ms, backoff.failures());
                            }
                            next_run = wait.map(|w| now + w);
                            let state = match state {
                                SyncState::BackingOff { .. } => SyncState::BackingOff { until_ms: until_ms.unwrap_or(0) },
                                other => other,
                            };
                            self.set_state(state);
                        }
                    }
                    if shutdown_reply.is_some() {
                        break 'outer;
                    }
                    if paused {
                        next_run = None;
                        self.set_state(SyncState::Paused);
                    }
                }
            }
        }
        self.set_state(SyncState::Stopped);
        self.throttle.flush();
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }
}

/// Reads the status after one of [`drain`]'s cycles into `last`.
fn report_cycle(
    conn: &Connection,
    progress: &Mutex<Option<Live>>,
    state: SyncState,
    report: &DrainReport,
    last: &mut SyncStatus,
) {
    let read = read_status(conn, progress, state, report.cycles, Reading::During);
    *last = status_or_last(read, last);
}

/// What [`drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    pub cycles: u64,
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub retries: u64,
    pub pending: u64,
}

/// Runs cycles in the foreground until nothing is left to send, retrying transient failures
/// with back-off, until `deadline`. Stops at once on an auth error. The same cycle as the
/// engine's, under the same data-dir lock.
pub async fn drain(
    store: &Store,
    terminal_id: Uuid,
    config: SyncConfig,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    deadline: Option<Duration>,
    mut on_cycle: impl FnMut(&SyncStatus),
) -> Result<DrainReport, SyncError> {
    let mut worker = Worker::new(
        store,
        terminal_id,
        config.clone(),
        transport,
        Arc::clone(&clock),
    )?;
    let started = Instant::now();
    let row = persisted::read(&worker.conn)?;
    let mut backoff = Backoff::with_failures(config.backoff, row.failures_in_a_row);
    let mut rng = StdRng::from_entropy();
    if let Some(at) = row.next_retry_at_ms {
        // Respect a retry time set before a restart, so restarts do not hammer the server.
        let wait = u64::try_from(at - clock.now_ms()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait).min(config.backoff.cap)).await;
    }
    let progress = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let mut report = DrainReport::default();
    let mut last = SyncStatus::initial(SyncState::Syncing);
    loop {
        let result = worker.cycle(&stop, &progress).await;
        report.cycles += 1;
        let status_state;
        match result {
            Ok(cycle) => {
                backoff.reset();
                report.pushed += cycle.pushed;
                report.pulled += cycle.pulled;
                report.conflicts += cycle.conflicts;
                report.failed += cycle.failed;
                status_state = SyncState::Idle;
                if cycle.drained {
                    persisted::set_state_name(&worker.conn, SyncState::Idle.name())?;
                    let counts = outbox::counts(&worker.conn)?;
                    report.pending = counts.pending + counts.in_flight;
                    report_cycle(&worker.conn, &progress, status_state, &report, &mut last);
                    on_cycle(&last);
                    return Ok(report);
                }
            }
            Err(error) => {
                let (state, wait) = after_failure(&error, &mut backoff, &mut rng);
                status_state = state;
                let until =
                    wait.map(|w| clock.now_ms() + i64::try_from(w.as_millis()).unwrap_or(0));
                if !matches!(error, SyncError::Busy) {
                    persisted::record_failure(
                        &worker.conn,
                        &error_info(&error),
                        until,
                        backoff.failures(),
                    )?;
                }
                let Some(wait) = wait else {
                    persisted::set_state_name(&worker.conn, state.name())?;
                    return Err(error);
                };
                report.retries += 1;
                if deadline.is_some_and(|d| started.elapsed() + wait > d) {
                    return Err(error);
                }
                tracing::info!(
                    code = error.code(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying after a failure"
                );
                tokio::time::sleep(wait).await;
            }
        }
        report_cycle(&worker.conn, &progress, status_state, &report, &mut last);
        on_cycle(&last);
        if deadline.is_some_and(|d| started.elapsed() > d) {
            return Err(SyncError::Transport(TransportError::NoAnswer(
                "the deadline passed before the queue drained".into(),
            )));
        }
    }
}
