//! Closing the window. With mutations not yet at the back office the window stays open and the
//! UI asks (`app://close-requested`): send them first ("Sync now and close", a drain bounded by
//! [`DRAIN_WAIT`]) or close anyway. With nothing pending it closes at once, and so does a till
//! that is not enrolled: nothing can be sent from it, so the question would offer no real
//! choice, and its sales stay in the store until it is enrolled. Either way the process exit
//! that follows finishes the register's write in progress first (`AppState::shutdown`), as does
//! SIGTERM or SIGINT, which closes without asking: nobody is at the till to answer.

use std::time::Duration;

use tauri::{Emitter, Manager, Runtime, State, Window, WindowEvent};
use till_core::sync::state::SyncState;
use till_core::sync::SyncStatus;
use till_core::unsent::{self, Unsent};
use tokio::sync::watch;

use crate::bridge::CLOSE_REQUESTED;
use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{CloseAnswer, CloseChoice, CloseRequest};
use crate::terminal::AppState;

/// Longest "Sync now and close" waits for the queue to drain before it gives up and says why.
pub const DRAIN_WAIT: Duration = Duration::from_secs(30);

/// What a close request leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseDecision {
    /// Nothing is waiting that sync could send: close.
    CloseNow,
    /// Ask the cashier first.
    Ask(CloseRequest),
}

/// Decides whether closing asks first: only when the till can sync and something waits.
pub fn decide(enrolled: bool, unsent: Unsent) -> CloseDecision {
    if !enrolled || unsent.all == 0 {
        return CloseDecision::CloseNow;
    }
    CloseDecision::Ask(CloseRequest {
        sales: unsent.sales,
        pending: unsent.all,
    })
}

/// Where a drain stands, judged from one status snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Drain {
    Done,
    Waiting,
    /// Sync cannot send the rest now, and why.
    Stuck(String),
}

fn drain_verdict(status: &SyncStatus) -> Drain {
    match status.state {
        SyncState::Syncing => Drain::Waiting,
        _ if status.pending == 0 => Drain::Done,
        // Between a cycle and the follow-up it coalesced.
        SyncState::Idle => Drain::Waiting,
        state => Drain::Stuck(match &status.last_error {
            Some(e) => e.message.clone(),
            None => format!("sync is {}", state.name().replace('_', " ")),
        }),
    }
}

/// Waits for the snapshots after the current one to show the queue drained, at most `wait`.
async fn wait_drained(
    status: &mut watch::Receiver<SyncStatus>,
    wait: Duration,
) -> Result<(), String> {
    let watched = tokio::time::timeout(wait, async {
        loop {
            if status.changed().await.is_err() {
                return Err("sync stopped".to_owned());
            }
            match drain_verdict(&status.borrow_and_update()) {
                Drain::Done => return Ok(()),
                Drain::Waiting => {}
                Drain::Stuck(why) => return Err(why),
            }
        }
    })
    .await;
    watched.unwrap_or_else(|_| {
        Err(format!(
            "{} still waiting after {} seconds",
            status.borrow().pending,
            wait.as_secs()
        ))
    })
}

/// The main window's close request: held while the decision is made.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        api.prevent_close();
        let window = window.clone();
        tauri::async_runtime::spawn(async move { ask_or_close(window).await });
    }
}

async fn ask_or_close<R: Runtime>(window: Window<R>) {
    let state = window.state::<AppState>();
    // A store that could not be opened holds nothing sync could send.
    let decision = match state.terminal() {
        Ok(terminal) => {
            let enrolled = terminal.engine().is_some();
            match terminal.db(|c| unsent::count(c)).await {
                Ok(unsent) => decide(enrolled, unsent),
                Err(e) => {
                    tracing::warn!(code = %e.code, error = %e.message, "cannot count what is not yet sent; closing");
                    CloseDecision::CloseNow
                }
            }
        }
        Err(_) => CloseDecision::CloseNow,
    };
    match decision {
        CloseDecision::CloseNow => close(&window),
        CloseDecision::Ask(request) => {
            tracing::info!(
                sales = request.sales,
                pending = request.pending,
                "closing waits for the cashier"
            );
            if let Err(e) = window.emit(CLOSE_REQUESTED, request) {
                tracing::warn!(error = %e, "cannot ask before closing; closing");
                close(&window);
            }
        }
    }
}

/// Closes the window without a new close request; the app exits after its last window.
fn close<R: Runtime>(window: &Window<R>) {
    tracing::info!("the window closes");
    if let Err(e) = window.destroy() {
        tracing::error!(error = %e, "the window could not be closed");
    }
}

/// The cashier's answer to `app://close-requested`. "Sync now and close" answers only when the
/// window stays open, with the reason.
#[tauri::command]
pub async fn close_app<R: Runtime>(
    window: Window<R>,
    state: State<'_, AppState>,
    choice: Input<CloseChoice>,
) -> CmdResult<CloseAnswer> {
    if choice.into_inner() == CloseChoice::SyncAndClose {
        if let Err(why) = drain(&state).await? {
            tracing::info!(reason = %why, "sync before closing did not finish");
            return Ok(CloseAnswer {
                closed: false,
                reason: Some(why),
            });
        }
    }
    close(&window);
    Ok(CloseAnswer {
        closed: true,
        reason: None,
    })
}

/// Asks for a sync and waits for the queue to drain; progress reaches the UI as the engine's
/// usual `sync://state` and `sync://progress` events.
async fn drain(state: &AppState) -> CmdResult<Result<(), String>> {
    let Some(engine) = state.terminal()?.engine() else {
        return Ok(Err(
            "this till is not enrolled with a back office".to_owned()
        ));
    };
    let mut status = engine.subscribe();
    status.borrow_and_update();
    let answer = engine.sync_now().await;
    if !answer.accepted {
        return Ok(Err(answer
            .reason
            .unwrap_or_else(|| "sync could not start".to_owned())));
    }
    Ok(wait_drained(&mut status, DRAIN_WAIT).await)
}

/// Exits the app cleanly (the same shutdown as closing the window) on SIGTERM or SIGINT.
#[cfg(unix)]
pub fn exit_on_signals<R: Runtime>(app: tauri::AppHandle<R>) {
    use tokio::signal::unix::{signal, SignalKind};
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM and SIGINT");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: closing"),
            _ = int.recv() => tracing::info!("SIGINT: closing"),
        }
        app.exit(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::sync::ErrorInfo;
    use till_core::ErrorCode;

    fn unsent(sales: u64, all: u64) -> Unsent {
        Unsent { sales, all }
    }

    #[test]
    fn closing_asks_only_an_enrolled_till_with_something_to_send() {
        let cases = [
            (true, unsent(0, 0), CloseDecision::CloseNow),
            (
                true,
                unsent(12, 14),
                CloseDecision::Ask(CloseRequest {
                    sales: 12,
                    pending: 14,
                }),
            ),
            (
                true,
                unsent(0, 2),
                CloseDecision::Ask(CloseRequest {
                    sales: 0,
                    pending: 2,
                }),
            ),
            (false, unsent(12, 14), CloseDecision::CloseNow),
        ];
        for (enrolled, unsent, expected) in cases {
            assert_eq!(
                decide(enrolled, unsent),
                expected,
                "enrolled {enrolled}, {unsent:?}: only sync could change the answer, so only a till that syncs asks"
            );
        }
    }

    fn snapshot(state: SyncState, pending: u64) -> SyncStatus {
        SyncStatus {
            pending,
            ..SyncStatus::initial(state)
        }
    }

    #[test]
    fn a_drain_waits_while_sync_can_progress_and_says_why_when_it_cannot() {
        assert_eq!(
            drain_verdict(&snapshot(SyncState::Syncing, 0)),
            Drain::Waiting
        );
        assert_eq!(drain_verdict(&snapshot(SyncState::Idle, 3)), Drain::Waiting);
        assert_eq!(drain_verdict(&snapshot(SyncState::Idle, 0)), Drain::Done);
        assert_eq!(
            drain_verdict(&snapshot(SyncState::Offline, 0)),
            Drain::Done,
            "nothing left to send is done, however the last cycle ended"
        );
        assert_eq!(
            drain_verdict(&snapshot(SyncState::Paused, 3)),
            Drain::Stuck("sync is paused".into())
        );
        let refused = SyncStatus {
            last_error: Some(ErrorInfo {
                code: ErrorCode::Unauthorized,
                message: "the back office refused this till's token".into(),
            }),
            ..snapshot(SyncState::AuthError, 3)
        };
        assert_eq!(
            drain_verdict(&refused),
            Drain::Stuck("the back office refused this till's token".into()),
            "the cashier is told the engine's own reason"
        );
    }

    #[tokio::test]
    async fn wait_drained_ends_on_the_first_snapshot_that_decides() {
        let (tx, mut rx) = watch::channel(snapshot(SyncState::Offline, 3));
        let feed = tokio::spawn(async move {
            tx.send(snapshot(SyncState::Syncing, 3)).expect("sends");
            tokio::task::yield_now().await;
            tx.send(snapshot(SyncState::Idle, 0)).expect("sends");
            tx
        });
        assert_eq!(
            wait_drained(&mut rx, Duration::from_secs(5)).await,
            Ok(()),
            "the stale offline snapshot before the sync must not end the wait"
        );
        drop(feed.await.expect("feeds"));
    }

    #[tokio::test]
    async fn wait_drained_gives_up_at_its_bound_with_what_is_left() {
        let (_tx, mut rx) = watch::channel(snapshot(SyncState::Syncing, 7));
        assert_eq!(
            wait_drained(&mut rx, Duration::from_millis(20)).await,
            Err("7 still waiting after 0 seconds".into())
        );
    }
}
