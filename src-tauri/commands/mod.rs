//! The commands the UI invokes (`docs/app-api.md`). Each one validates its input, calls one core
//! function on a blocking thread and maps the error to `{code, message}`; none holds a rule of
//! its own. The list here, `command_names.rs` and the main window's capability agree (tested).

mod catalog;
mod register;
mod tickets;

/// The invoke handler with every app command.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        catalog::store_settings,
        catalog::catalog_search,
        catalog::catalog_by_barcode,
        catalog::catalog_categories,
        register::quote,
        register::change_due,
        register::ring_up,
        register::void_ticket,
        register::refund_ticket,
        tickets::tickets_list,
        tickets::ticket_detail,
    ]
}
