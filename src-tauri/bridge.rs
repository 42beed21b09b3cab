//! The one place core events become Tauri events.
