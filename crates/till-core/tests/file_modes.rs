//! The store holds the enrolment token: its data dir is private to the user running Till
//! (`0700`) and the database with its `-wal` and `-shm` files `0600`, from a fresh data dir and
//! after opening one whose modes were loosened; and the helpers that make them so.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::open;
use till_core::data_dir::{create_private, create_private_file, make_private};
use till_core::store::DB_FILE;
use till_core::Store;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn store_files(dir: &Path) -> [std::path::PathBuf; 3] {
    ["", "-wal", "-shm"].map(|suffix| dir.join(format!("{DB_FILE}{suffix}")))
}

#[test]
fn a_fresh_store_is_readable_by_its_owner_only() {
    let (dir, _store, conn) = open();
    // A write, so the write-ahead log and its index are on disk.
    conn.execute_batch("CREATE TABLE probe (x); DROP TABLE probe;")
        .expect("writes");
    assert_eq!(mode(dir.path()), 0o700, "the data dir");
    for file in store_files(dir.path()) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn opening_a_store_tightens_modes_that_were_loosened() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("till");
    let store = Store::open(&dir).expect("opens");
    let conn = store.connect().expect("connects");
    conn.execute_batch("CREATE TABLE probe (x); DROP TABLE probe;")
        .expect("writes");
    let loose = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    loose(&dir, 0o755);
    for file in store_files(&dir) {
        loose(&file, 0o644);
    }
    let _reopened = Store::open(&dir).expect("opens again");
    assert_eq!(mode(&dir), 0o700, "the data dir, made private again");
    for file in store_files(&dir) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_new_dir_and_file_are_private_and_an_existing_one_is_made_private_again() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("a/b");
    create_private(&dir).expect("creates");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&root.path().join("a")), 0o700, "parents made here too");
    let file = dir.join("till.db");
    assert!(create_private_file(&file).expect("creates"));
    assert_eq!(mode(&file), 0o600);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    create_private(&dir).expect("tightens");
    assert!(!create_private_file(&file).expect("opens"), "it was there");
    assert_eq!(
        mode(&file),
        0o644,
        "creating never changes an existing file"
    );
    make_private(&file);
    assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
    make_private(&dir.join("absent"));
}
