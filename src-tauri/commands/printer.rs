//! The receipt printer: its settings (a settings change, recorded by the employee signed in),
//! its status, a test page, sending what waits, a ticket's receipt printed again, and a ticket's
//! receipt as the core's model for the screen. Whatever prints is queued in the store first and
//! sent by the printing task in the background (`Terminal::print_waiting`), so a printer that is
//! off never fails what was asked: the job waits and the status says so.

use tauri::State;
use till_core::clock::{Clock, SystemClock};
use till_core::{printer, tickets};

use crate::commands::register::parse_id;
use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{Flushed, PrinterSettings, PrinterStatus, Receipt};
use crate::terminal::AppState;

/// The printer's status after the last attempt to print (also sent as `printer://status`).
#[tauri::command]
pub async fn printer_status(state: State<'_, AppState>) -> CmdResult<PrinterStatus> {
    state.terminal()?.printer_status().await
}

#[tauri::command]
pub async fn printer_settings(state: State<'_, AppState>) -> CmdResult<PrinterSettings> {
    state
        .terminal()?
        .db(|c| printer::settings(c).map(PrinterSettings::from))
        .await
}

/// Saves where to print, whether to print after each payment and the paper's width, all or
/// nothing; an invalid target is refused (`invalid_input`) and nothing is saved. On a till with
/// employees, someone signed in saves them. Whatever waits is sent to the new printer.
#[tauri::command]
pub async fn set_printer(
    state: State<'_, AppState>,
    settings: Input<PrinterSettings>,
) -> CmdResult<PrinterSettings> {
    let settings = settings.into_inner();
    let terminal = state.terminal()?;
    let by = terminal.operator().await?.map(|o| o.name);
    let saved = terminal
        .db(move |c| {
            let tx = c.transaction()?;
            printer::set_target(&tx, &settings.target)?;
            printer::set_auto(&tx, settings.auto)?;
            printer::set_paper(&tx, settings.paper)?;
            let saved = printer::settings(&tx)?;
            tx.commit()?;
            Ok::<_, till_core::CoreError>(saved)
        })
        .await?;
    tracing::info!(target = %saved.target, auto = saved.auto, paper = ?saved.paper, ?by, "printer set");
    terminal.print_waiting();
    Ok(saved.into())
}

/// Queues a test page and sends what waits now: the answer says whether the printer took it
/// (`error` names why not; the page then waits with the rest).
#[tauri::command]
pub async fn print_test(state: State<'_, AppState>) -> CmdResult<Flushed> {
    let terminal = state.terminal()?;
    terminal
        .db(|c| printer::queue_test(c, SystemClock.now_ms()))
        .await?;
    print_flush(state).await
}

/// Sends what waits, in order, now; the answer says what printed and what still waits.
#[tauri::command]
pub async fn print_flush(state: State<'_, AppState>) -> CmdResult<Flushed> {
    let terminal = state.terminal()?;
    let store = terminal.store().clone();
    let flushed =
        tauri::async_runtime::spawn_blocking(move || printer::flush(&store, &SystemClock))
            .await??;
    // The printing task publishes the new status (and retries what is left).
    terminal.print_waiting();
    Ok(flushed)
}

/// Queues the receipt of the ticket `ticket` names (its number, its id or its receipt's code),
/// marked `COPY` when `copy`, and has it sent; answers the ticket's number. Refused
/// (`invalid_input`) without a printer.
#[tauri::command]
pub async fn print_receipt(
    state: State<'_, AppState>,
    ticket: Input<String>,
    copy: Input<bool>,
) -> CmdResult<u64> {
    let (code, copy) = (ticket.into_inner(), copy.into_inner());
    let terminal = state.terminal()?;
    let ticket = terminal
        .db(move |c| printer::queue_reprint(c, &code, copy, SystemClock.now_ms()))
        .await?;
    tracing::info!(number = ticket.number, copy, "receipt queued to print");
    terminal.print_waiting();
    Ok(ticket.number)
}

/// A ticket's receipt as the core's model, the one the paper prints, for the screen.
#[tauri::command]
pub async fn receipt_view(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
    copy: Input<bool>,
) -> CmdResult<Receipt> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    let copy = copy.into_inner();
    state
        .terminal()?
        .db(move |c| {
            let ticket = tickets::lookup(c, &id.to_string())?;
            printer::receipt_of(c, &ticket, copy)
        })
        .await
}
