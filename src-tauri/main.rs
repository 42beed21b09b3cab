//! The Till desktop app: a thin Tauri shell over `till-core`. Commands deserialize and validate,
//! call one core function and map its error; the bridge turns the core's status into events.
//! Nothing here knows a business rule.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bindings;
mod bridge;
mod closing;
mod commands;
mod error;
mod input;
mod ipc;
mod logging;
mod terminal;
mod triggers;

use std::path::{Path, PathBuf};

use clap::Parser;
use tauri::Manager;

/// Command-line arguments of the app.
#[derive(Debug, Parser)]
#[command(
    name = "till",
    version = till_cli::version!(),
    about = "Till: the offline-first point-of-sale terminal"
)]
struct Args {
    /// The terminal's data directory (store, logs, window state). Else `TILL_DATA_DIR`, else the
    /// platform's app data directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() {
    terminal::mark_process_start();
    lean_rendering();
    logging::private_umask();
    let args = Args::parse();
    let data_dir = match till_core::data_dir::resolve(args.data_dir.as_deref()) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("till: {e} ({})", e.code());
            std::process::exit(2);
        }
    };
    if let Err(e) = till_core::data_dir::create_private(&data_dir) {
        eprintln!(
            "till: cannot create the data directory {}: {e}",
            data_dir.display()
        );
        std::process::exit(2);
    }
    // Dropped by hand when the app stops: the event loop ends the process without returning
    // here, and only dropping the guard waits for the last lines to reach the log file.
    let mut log_guard = logging::init(&data_dir);
    tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "till starting");

    let app = match build(&data_dir).build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "the app could not start");
            eprintln!("till: the app could not start: {err}");
            drop(log_guard);
            std::process::exit(1);
        }
    };
    app.run(move |app, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(state) = app.try_state::<terminal::AppState>() {
                state.shutdown();
            }
            tracing::info!("till stopped");
            drop(log_guard.take());
        }
    });
}

/// Renders the window without OpenGL unless the environment already says how: WebKit paints the
/// page on the CPU and GTK creates no GL context. A till's screen is text and flat boxes; composited
/// through software OpenGL (a till without a GPU, a virtual display) the web process alone held
/// about 110 MiB more, and the app process loaded the GL driver for nothing. Setting
/// `WEBKIT_DISABLE_COMPOSITING_MODE=0` (or any `GDK_GL`) brings GPU compositing back. Runs first in
/// `main`, before any thread exists, as changing the environment must.
fn lean_rendering() {
    for (name, value) in [
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
        ("GDK_GL", "disable"),
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

/// The app: plugins, our commands, and the start-up that opens the store and the sync engine.
fn build(data_dir: &Path) -> tauri::Builder<tauri::Wry> {
    let setup_dir = data_dir.to_path_buf();
    tauri::Builder::default()
        // First plugin, so a second launch on the same data dir hands over before anything opens.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(terminal::instance_id(data_dir))
                .callback(|app, _argv, _cwd| focus_main_window(app))
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::new()
                // An absolute path: the plugin joins it onto its config dir, and joining an
                // absolute path yields it, so each terminal's window state lives in its data dir.
                .with_filename(data_dir.join("window-state.json").to_string_lossy())
                .build(),
        )
        .invoke_handler(commands::handler())
        .on_window_event(|window, event| {
            closing::on_window_event(window, event);
            triggers::on_window_event(window, event);
        })
        .setup(move |app| {
            let state = terminal::start(app.handle(), &setup_dir);
            app.manage(state);
            triggers::watch_network(app.handle());
            #[cfg(unix)]
            closing::exit_on_signals(app.handle().clone());
            Ok(())
        })
}

/// Brings the running window to the front (a second launch was made on the same data dir).
fn focus_main_window<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    tracing::info!("a second launch was redirected to this window");
}
