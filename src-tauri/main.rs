//! The Till desktop app: a thin Tauri shell over `till-core`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(err) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("till: the app could not start: {err}");
        std::process::exit(1);
    }
}
