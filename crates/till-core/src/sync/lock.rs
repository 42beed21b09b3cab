//! One sync at a time per data dir, also across processes: an advisory lock on `sync.lock` in
//! the data dir, held for the duration of a cycle. The OS releases it when the process dies, so
//! a killed sync never leaves the data dir locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::error::SyncError;

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "sync.lock";

/// A held sync lock; released on drop.
#[derive(Debug)]
pub struct SyncLock {
    file: File,
}

impl SyncLock {
    /// Takes the lock, or `Busy` when another process or engine holds it.
    pub fn try_acquire(data_dir: &Path) -> Result<SyncLock, SyncError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))
            .map_err(|e| SyncError::Core(e.into()))?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { file }),
            Err(TryLockError::WouldBlock) => Err(SyncError::Busy),
            Err(TryLockError::Error(e)) => Err(SyncError::Core(e.into())),
        }
    }
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_sync_on_the_same_data_dir_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = SyncLock::try_acquire(dir.path()).expect("first takes the lock");
        let second = SyncLock::try_acquire(dir.path());
        assert!(
            matches!(second, Err(SyncError::Busy)),
            "two syncs on one data dir would race on the outbox"
        );
        drop(first);
        SyncLock::try_acquire(dir.path()).expect("free again once the first ends");
    }
}
