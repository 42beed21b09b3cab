//! Who is at the till: a PIN signs an employee in (another one's PIN takes the till over, the
//! sale in progress staying), and locking signs them out. The PIN is checked by the core, behind
//! its lock-out; the shell only remembers who signed in until the till locks.

use tauri::State;
use till_core::clock::{Clock, SystemClock};
use till_core::{signin, CoreError};

use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{Session, SignedIn};
use crate::terminal::AppState;

/// Signs in the employee whose PIN is `pin`: `wrong_pin`, or `pin_locked` while the till
/// refuses PINs after too many wrong ones (`session` says for how long).
#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, pin: Input<String>) -> CmdResult<SignedIn> {
    let pin = pin.into_inner();
    let terminal = state.terminal()?;
    let employee: SignedIn = terminal
        .db(move |c| signin::sign_in(c, &pin, &SystemClock))
        .await?
        .into();
    tracing::info!(employee = %employee.id, "signed in");
    terminal.set_signed_in(Some(employee.clone()));
    Ok(employee)
}

/// Locks the till: nobody is signed in until a PIN is entered. The sale in progress stays.
#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> CmdResult<()> {
    let terminal = state.terminal()?;
    if terminal.signed_in().is_some() {
        tracing::info!("the till locked");
    }
    terminal.set_signed_in(None);
    Ok(())
}

/// Who is signed in, whether the till has employees at all, and how long it still refuses PINs.
#[tauri::command]
pub async fn session(state: State<'_, AppState>) -> CmdResult<Session> {
    let terminal = state.terminal()?;
    let (has_employees, lockout) = terminal
        .db(|c| Ok::<_, CoreError>((signin::has_employees(c)?, signin::lockout(c)?)))
        .await?;
    let pin_locked_seconds = match lockout.refusal(SystemClock.now_ms()) {
        Some(CoreError::PinLocked { seconds, .. }) => Some(seconds),
        _ => None,
    };
    Ok(Session {
        employee: terminal.signed_in(),
        has_employees,
        pin_locked_seconds,
    })
}
