//! The sync engine as a tokio actor: a [`Machine`] that decides, and a small driver that carries
//! out its effects. The driver waits on the command channel, the machine's wake, the running
//! cycle (a future polled in the same loop), the status tick and the throttle's flush, hands
//! each to the machine and does what it answers. Triggers are start-up, the periodic tick
//! (sooner while a backlog remains), a debounced trigger after each local write, connectivity
//! regained (a health probe while offline or while the circuit is open), a nudge (the window
//! gaining focus, the system saying the network came back) and "Sync now"; a trigger that
//! arrives during a cycle coalesces into one follow-up.
//!
//! [`drain`](super::drain()) drives the same machine in the foreground (`tillctl sync`).

use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant, Interval};
use uuid::Uuid;

use crate::store::Store;
use crate::{outbox, Clock};

use super::cycle::{outcome, CycleReport, Worker};
use super::error::SyncError;
use super::machine::{Effect, Event, Machine, Mode, Now, Snapshot, Timing};
use super::persisted::Record;
use super::state::SyncState;
use super::status::{read_status, status_or_last, Live, StatusSink, SyncStatus, Throttle};
use super::transport::Transport;
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
    Nudge,
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

    /// Hints that now is a good time to try: the window gained focus, the network came back.
    /// Cheap and safe to call often: while offline, backing off or with the circuit open the
    /// server's health is probed at once; while idle with something to send a cycle starts;
    /// otherwise, or within a few seconds of the last nudge that acted, nothing happens.
    pub fn nudge(&self) {
        let _ = self.commands.send(Command::Nudge);
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
        let worker = Worker::new(
            &store,
            terminal_id,
            config.clone(),
            Arc::clone(&transport),
            Arc::clone(&clock),
            Some(Arc::clone(&sink)),
        )?;
        let status_conn = store.connect()?;
        let recorded = persisted::read(&status_conn).unwrap_or_default();
        let (commands, rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(SyncStatus::initial(SyncState::Idle));
        let actor = Actor {
            machine: Machine::new(
                Timing::from(&config),
                Mode::Background,
                StdRng::from_entropy(),
            ),
            worker: Arc::new(tokio::sync::Mutex::new(worker)),
            transport,
            clock,
            status_conn,
            commands: rx,
            commands_open: true,
            status_tx,
            throttle: Throttle::new(sink, config.status_interval),
            tick_every: config.status_interval.max(MIN_TICK),
            live: Arc::new(Mutex::new(None)),
            wake: None,
            abandon_at: None,
            cycle: None,
            stop: None,
            tick: None,
            sync_now_reply: None,
            shutdown_reply: None,
        };
        let task = tokio::spawn(actor.run(Event::started(&recorded)));
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
        let transport = enrolment.transport(config.timeouts)?;
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

/// The status tick while a cycle runs is never more frequent than this.
const MIN_TICK: Duration = Duration::from_millis(250);

/// A running cycle: it holds the worker until it ends.
type Running = Pin<Box<dyn Future<Output = Result<CycleReport, SyncError>> + Send>>;

/// The driver of the engine's machine.
struct Actor {
    machine: Machine,
    worker: Arc<tokio::sync::Mutex<Worker>>,
    /// For health probes.
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    /// Snapshots are read through this connection, and the records made while a cycle holds
    /// the worker's (see [`Actor::keep`]).
    status_conn: Connection,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Until every handle is dropped.
    commands_open: bool,
    status_tx: watch::Sender<SyncStatus>,
    throttle: Throttle,
    tick_every: Duration,
    /// Progress of the running cycle, for snapshots.
    live: Arc<Mutex<Option<Live>>>,
    /// The machine's next wake.
    wake: Option<Instant>,
    /// When a shutdown stops waiting for the batch in flight.
    abandon_at: Option<Instant>,
    cycle: Option<Running>,
    /// Asks the running cycle to stop after the batch in flight.
    stop: Option<Arc<AtomicBool>>,
    /// The status tick of the running cycle.
    tick: Option<Interval>,
    /// Who asked "Sync now", until the machine answers.
    sync_now_reply: Option<oneshot::Sender<SyncNowAnswer>>,
    /// Who asked for the shutdown, answered once the engine stopped.
    shutdown_reply: Option<oneshot::Sender<()>>,
}

impl Actor {
    async fn run(mut self, first: Event) {
        let mut event = first;
        loop {
            let effects = self.machine.step(event, self.now());
            match self.carry_out(effects).await {
                Carried::Exit => break,
                Carried::Then(next) => event = next,
                Carried::Done => event = self.next_event().await,
            }
        }
        self.throttle.flush();
        if let Some(reply) = self.shutdown_reply.take() {
            let _ = reply.send(());
        }
    }

    fn now(&self) -> Now {
        Now {
            at: Instant::now().into_std(),
            wall_ms: self.clock.now_ms(),
        }
    }

    /// Waits for the next event for the machine; flushes the throttle meanwhile.
    async fn next_event(&mut self) -> Event {
        loop {
            let flush_at = self.throttle.flush_at();
            tokio::select! {
                command = self.commands.recv(), if self.commands_open => {
                    return self.command(command);
                }
                () = at(self.wake) => {
                    self.wake = None;
                    return Event::Wake;
                }
                () = at(self.abandon_at) => {
                    self.abandon_at = None;
                    return Event::GraceElapsed;
                }
                result = running(&mut self.cycle) => {
                    self.end_cycle();
                    return Event::CycleEnded(outcome(&result));
                }
                () = ticking(&mut self.tick) => return Event::Tick,
                () = at(flush_at) => self.throttle.flush(),
            }
        }
    }

    /// The machine's event for a command; keeps the reply it will answer.
    fn command(&mut self, command: Option<Command>) -> Event {
        match command {
            None => {
                self.commands_open = false;
                Event::CommandsClosed
            }
            Some(Command::SyncNow(reply)) => {
                self.sync_now_reply = Some(reply);
                Event::SyncNow
            }
            Some(Command::Pause) => Event::Pause,
            Some(Command::Resume) => Event::Resume,
            Some(Command::LocalWrite) => Event::LocalWrite,
            Some(Command::Nudge) => {
                // Read now: a sale rung up on another connection may not have been published.
                let pending = outbox::counts(&self.status_conn)
                    .map(|c| c.pending + c.in_flight > 0)
                    .unwrap_or(true);
                Event::Nudge { pending }
            }
            Some(Command::Shutdown(reply)) => {
                self.shutdown_reply = Some(reply);
                Event::Shutdown
            }
        }
    }

    /// Carries out the machine's effects in order.
    async fn carry_out(&mut self, effects: Vec<Effect>) -> Carried {
        let mut then = Carried::Done;
        for effect in effects {
            match effect {
                Effect::StartCycle => self.start_cycle(),
                // Awaited in place, as one short request with its own timeout: a command that
                // arrives meanwhile is handled right after it.
                Effect::Probe => then = Carried::Then(probe(self.transport.as_ref()).await),
                Effect::StopCycle => {
                    if let Some(stop) = &self.stop {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                Effect::AbandonCycle => {
                    // The server does not answer: leave the batch in flight; it is checked with
                    // the ack endpoint and resent on next start.
                    tracing::warn!("shutdown abandons the batch in flight");
                    self.end_cycle();
                }
                Effect::Schedule(wake) => self.wake = wake.map(Instant::from_std),
                Effect::AbandonAt(at) => self.abandon_at = Some(Instant::from_std(at)),
                Effect::Persist(record) => self.keep(&record),
                Effect::Publish(snapshot) => self.publish(snapshot),
                Effect::Reply(answer) => {
                    if let Some(reply) = self.sync_now_reply.take() {
                        let _ = reply.send(answer);
                    }
                }
                Effect::Exit => return Carried::Exit,
            }
        }
        then
    }

    /// Writes one of the machine's records through the worker's connection, so that the
    /// engine never gives way to its own writes ([`super::give_way`] holds the cycle's writes
    /// after any other connection commits). A record made while a cycle holds that connection
    /// (a pause or resume) is written through the status connection at once, so that it survives a crash.
    fn keep(&self, record: &Record) {
        match self.worker.try_lock() {
            Ok(worker) => persisted::keep(worker.conn(), record),
            Err(_) => persisted::keep(&self.status_conn, record),
        }
    }

    fn start_cycle(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Arc::clone(&self.worker);
        let live = Arc::clone(&self.live);
        let stopping = Arc::clone(&stop);
        self.cycle = Some(Box::pin(async move {
            worker.lock().await.cycle(&stopping, &live).await
        }));
        self.stop = Some(stop);
        self.tick = Some(tokio::time::interval(self.tick_every));
    }

    /// Forgets the running cycle: it ended, or is abandoned.
    fn end_cycle(&mut self) {
        self.cycle = None;
        self.stop = None;
        self.tick = None;
        self.abandon_at = None;
    }

    fn publish(&mut self, snapshot: Snapshot) {
        let read = read_status(
            &self.status_conn,
            &self.live,
            snapshot.state,
            snapshot.completed_cycles,
            snapshot.reading,
        );
        let status = status_or_last(read, &self.status_tx.borrow());
        self.status_tx.send_replace(status.clone());
        self.throttle.offer(status, snapshot.force);
    }
}

/// What carrying out one step's effects leads to.
enum Carried {
    /// Wait for the next event.
    Done,
    /// Hand the machine this event next (a probe's answer).
    Then(Event),
    /// The engine stopped.
    Exit,
}

/// Asks the server's health endpoint whether it is reachable (again).
pub(super) async fn probe(transport: &dyn Transport) -> Event {
    let answer = transport.health().await;
    if let Err(e) = &answer {
        tracing::debug!(error = %e, "still offline");
    }
    Event::Probed {
        reachable: answer.is_ok(),
    }
}

/// Completes at `instant`, or never.
async fn at(instant: Option<Instant>) {
    match instant {
        Some(instant) => sleep_until(instant).await,
        None => pending().await,
    }
}

/// The result of the running cycle, or never when none runs.
async fn running(cycle: &mut Option<Running>) -> Result<CycleReport, SyncError> {
    match cycle {
        Some(cycle) => cycle.await,
        None => pending().await,
    }
}

/// The next status tick of the running cycle, or never when none runs.
async fn ticking(tick: &mut Option<Interval>) {
    match tick {
        Some(tick) => {
            tick.tick().await;
        }
        None => pending().await,
    }
}
