//! The commands the UI invokes (`docs/app-api.md`). Each one validates its input, calls one core
//! function on a blocking thread and maps the error to `{code, message}`; none holds a rule of
//! its own. The list here, `command_names.rs` and the main window's capability agree (tested).

mod catalog;
mod customers;
mod parked;
mod printer;
mod register;
mod review;
mod session;
mod settings;
mod shifts;
mod sync;
mod tickets;

/// The invoke handler with every app command.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        catalog::store_settings,
        catalog::catalog_search,
        catalog::catalog_resolve,
        catalog::catalog_categories,
        register::quote,
        register::change_due,
        register::tender_balance,
        register::ring_up,
        register::void_ticket,
        register::refund_ticket,
        tickets::tickets_list,
        tickets::ticket_detail,
        tickets::ticket_lookup,
        sync::sync_status,
        sync::store_damage,
        sync::sync_now,
        sync::sync_pause,
        sync::sync_resume,
        sync::sync_history,
        sync::export_unsent,
        review::conflicts_list,
        review::conflict_detail,
        review::conflict_resolve,
        review::failed_list,
        review::failed_retry,
        review::failed_discard,
        customers::customers_search,
        customers::customer_save,
        settings::settings_get,
        settings::settings_set,
        settings::enrol,
        settings::test_connection,
        settings::sync_settings_get,
        settings::sync_settings_set,
        session::sign_in,
        session::lock,
        session::session,
        parked::park_sale,
        parked::parked_sales,
        parked::recall_sale,
        parked::save_current_sale,
        parked::current_sale,
        shifts::shift_current,
        shifts::shift_open,
        shifts::shift_cash_in,
        shifts::shift_cash_out,
        shifts::no_sale,
        shifts::cash_denominations,
        shifts::count_cash,
        shifts::shift_close,
        shifts::shifts_closed,
        printer::printer_status,
        printer::printer_settings,
        printer::set_printer,
        printer::print_test,
        printer::print_flush,
        printer::print_receipt,
        printer::receipt_view,
        crate::closing::close_app,
    ]
}

#[cfg(test)]
mod tests {
    include!("../command_names.rs");

    fn json(path: &str) -> serde_json::Value {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let text = std::fs::read_to_string(&full).expect("config file is readable");
        serde_json::from_str(&text).expect("config file is JSON")
    }

    #[test]
    fn main_window_is_granted_exactly_our_commands_and_event_listening() {
        let cap = json("src-tauri/capabilities/main.json");
        let mut granted: Vec<String> = cap["permissions"]
            .as_array()
            .expect("permissions is a list")
            .iter()
            .map(|p| p.as_str().expect("permission ids are strings").to_owned())
            .collect();
        granted.sort();
        let mut expected: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .chain([
                "core:event:allow-listen".into(),
                "core:event:allow-unlisten".into(),
            ])
            .collect();
        expected.sort();
        assert_eq!(
            granted, expected,
            "the webview may reach our commands and event listening, nothing more"
        );
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
    }

    #[test]
    fn webview_runs_under_a_strict_csp_with_a_frozen_prototype() {
        let conf = json("tauri.conf.json");
        let security = &conf["app"]["security"];
        let csp = security["csp"].as_str().expect("a CSP is set");
        assert!(
            csp.contains("script-src 'self'"),
            "scripts only from the app: {csp}"
        );
        assert!(
            !csp.contains("unsafe-eval"),
            "no eval in the webview: {csp}"
        );
        // `http://ipc.localhost` is Tauri's own IPC origin on some platforms, not a remote one.
        let remote = csp.replace("http://ipc.localhost", "");
        assert!(
            !remote.contains("http:") && !remote.contains("https:"),
            "no remote origins: {csp}"
        );
        assert_eq!(
            security["freezePrototype"], true,
            "prototype pollution is blocked"
        );
        assert_eq!(
            conf["app"]["withGlobalTauri"], false,
            "no global __TAURI__ object"
        );
    }
}
