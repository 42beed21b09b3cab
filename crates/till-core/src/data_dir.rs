//! Where a terminal keeps its data: `--data-dir`, else `TILL_DATA_DIR`, else the platform's app
//! data directory under the app identifier (the same place the desktop app uses). And who may
//! read it: the data dir holds the store (with the enrolment token) and the logs, so it is
//! private to the user running Till: the directory `0700`, its files `0600`, set when they are
//! made (whatever the umask) and tightened again on every open. On other platforms than Unix the
//! per-user application data directory's own permissions apply.

use std::io;
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

/// Creates `dir` (and any missing parent) private to the user running Till (`0700`, whatever the
/// umask), or makes an existing one private again. An existing directory that cannot be changed
/// (another user's) is used as it is, with a warning: the files in it are still private.
pub fn create_private(dir: &Path) -> io::Result<()> {
    let existed = dir.is_dir();
    private::create_dir(dir)?;
    match private::set_mode(dir, private::DIR_MODE) {
        Err(e) if existed => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot make the directory private");
            Ok(())
        }
        other => other,
    }
}

/// Creates the file at `path` when absent, private to the user running Till (`0600`, whatever
/// the umask); an existing file is left as it is. Returns whether it was created.
pub fn create_private_file(path: &Path) -> io::Result<bool> {
    match private::create_new_file(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes the file at `path` private again (`0600`). A file that is not there is fine; one that
/// cannot be changed (another user's) is used as it is, with a warning.
pub fn make_private(path: &Path) {
    match private::set_mode(path, private::FILE_MODE) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            tracing::warn!(file = %path.display(), error = %e, "cannot make the file private");
        }
        _ => {}
    }
}

#[cfg(unix)]
mod private {
    use std::fs::{DirBuilder, File, OpenOptions, Permissions};
    use std::io;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub const DIR_MODE: u32 = 0o700;
    pub const FILE_MODE: u32 = 0o600;

    pub fn create_dir(dir: &Path) -> io::Result<()> {
        DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
    }

    pub fn create_new_file(path: &Path) -> io::Result<File> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)?;
        // The umask could only have taken bits away; set exactly what is meant.
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
        Ok(file)
    }

    pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        std::fs::set_permissions(path, Permissions::from_mode(mode))
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::Path;

    pub const DIR_MODE: u32 = 0;
    pub const FILE_MODE: u32 = 0;

    pub fn create_dir(dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    pub fn create_new_file(path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
        Ok(())
    }
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
