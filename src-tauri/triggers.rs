//! The shell's hints to the sync engine that now is a good time to try: the window gaining
//! focus (a cashier back at the till, often after the network came back) and, on Linux, the
//! system saying the network came back (`till_core::sync::network`). Each is a nudge; the
//! engine decides what it is worth (a probe while offline or failing, a cycle while something
//! waits) and lets at most one act every few seconds, so a burst of focus changes is no storm.

use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};

use crate::terminal::AppState;

/// A window event: the window gaining focus nudges the engine.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if gained_focus(event) {
        nudge(window.app_handle());
    }
}

/// Whether `event` is the window gaining focus (not losing it, nor anything else).
fn gained_focus(event: &WindowEvent) -> bool {
    matches!(event, WindowEvent::Focused(true))
}

/// Nudges the running engine, if the terminal is open and enrolled.
fn nudge<R: Runtime>(app: &AppHandle<R>) {
    if let Some(state) = app.try_state::<AppState>() {
        if let Ok(terminal) = state.terminal() {
            terminal.nudge_sync();
        }
    }
}

/// Listens, for the app's lifetime, for the system saying the network came back; without a
/// system bus or NetworkManager it logs once and the engine's polling is all there is.
pub fn watch_network<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(target_os = "linux")]
    {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            till_core::sync::network::watch(move || nudge(&app)).await;
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_window_gaining_focus_nudges_the_engine() {
        assert!(gained_focus(&WindowEvent::Focused(true)));
        assert!(
            !gained_focus(&WindowEvent::Focused(false)),
            "losing focus says nothing about the network"
        );
        assert!(
            !gained_focus(&WindowEvent::Destroyed),
            "nor does any other window event"
        );
    }
}
