//! Today's tickets, one ticket's detail, and any sale looked up by its number or its receipt's
//! code; each with where it stands with the back office.

use tauri::State;
use till_core::clock::SystemClock;
use till_core::tickets::view;

use crate::commands::register::parse_id;
use crate::error::CmdResult;
use crate::input::Input;
use crate::ipc::{ListedTicket, TicketDetail};
use crate::terminal::AppState;

/// The most recent tickets, newest first. With `today_only`, only those since midnight UTC.
#[tauri::command]
pub async fn tickets_list(
    state: State<'_, AppState>,
    limit: Input<u32>,
    today_only: Input<bool>,
) -> CmdResult<Vec<ListedTicket>> {
    let (limit, today_only) = (limit.into_inner(), today_only.into_inner());
    state
        .terminal()?
        .db(move |c| view::recent(c, limit, today_only, &SystemClock))
        .await
}

#[tauri::command]
pub async fn ticket_detail(
    state: State<'_, AppState>,
    ticket_id: Input<String>,
) -> CmdResult<TicketDetail> {
    let id = parse_id("ticket", &ticket_id.into_inner())?;
    state.terminal()?.db(move |c| view::detail(c, id)).await
}

/// Any ticket, not only today's, by its number (`12`, `#12`) or by its receipt's code as a
/// scanner types it; `ticket_not_found` naming the text.
#[tauri::command]
pub async fn ticket_lookup(
    state: State<'_, AppState>,
    text: Input<String>,
) -> CmdResult<TicketDetail> {
    let text = text.into_inner();
    state
        .terminal()?
        .db(move |c| view::detail_by_code(c, &text))
        .await
}
