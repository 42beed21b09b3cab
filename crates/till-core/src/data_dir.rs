//! Where a terminal keeps its data: `--data-dir`, else `TILL_DATA_DIR`, else the platform's app
//! data directory under the app identifier (the same place the desktop app uses).

use std::path::{Path, PathBuf};

use crate::error::{CoreError, Result};

/// The environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "TILL_DATA_DIR";
/// The app identifier, as in `tauri.conf.json`; the platform data dir is `<data dir>/<this>`.
pub const APP_IDENTIFIER: &str = "app.till.terminal";

/// Resolves the data directory: an explicit path wins, then `TILL_DATA_DIR` (when set and not
/// empty), then the platform's app data directory. Does not create it.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    let env = std::env::var_os(DATA_DIR_ENV).map(PathBuf::from);
    resolve_from(explicit, env.as_deref())
}

/// [`resolve`] with the environment value passed in, so it can be tested without touching the
/// process environment.
pub fn resolve_from(explicit: Option<&Path>, env: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = env.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(dir.to_path_buf());
    }
    platform_dir().ok_or_else(|| {
        CoreError::DataDir(format!(
            "no platform data directory; pass --data-dir or set {DATA_DIR_ENV}"
        ))
    })
}

/// The platform's app data directory for Till: the user's data directory (Linux
/// `$XDG_DATA_HOME`, else `~/.local/share`; macOS `~/Library/Application Support`; Windows the
/// roaming app data) joined with [`APP_IDENTIFIER`], where Tauri keeps the app's data and where
/// every existing till already has its store. `directories::ProjectDirs` would name it
/// differently (`…/terminal` on Linux, with a `data` folder below it on Windows), so the base
/// directory comes from `directories` and the identifier is joined here.
pub fn platform_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.data_dir().join(APP_IDENTIFIER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins_over_the_environment() {
        let dir = resolve_from(Some(Path::new("/a")), Some(Path::new("/b"))).expect("resolves");
        assert_eq!(
            dir,
            Path::new("/a"),
            "--data-dir must override TILL_DATA_DIR"
        );
    }

    #[test]
    fn environment_wins_over_the_platform_dir() {
        let dir = resolve_from(None, Some(Path::new("/b"))).expect("resolves");
        assert_eq!(dir, Path::new("/b"));
    }

    #[test]
    fn platform_dir_is_named_after_the_app_identifier() {
        if let Ok(dir) = resolve_from(None, Some(Path::new(""))) {
            assert!(dir.ends_with(APP_IDENTIFIER), "{}", dir.display());
        }
    }
}
