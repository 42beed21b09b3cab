//! The CLI's interface as scripts rely on it: output shapes, error lines and exit codes.

use std::process::{Command, Output};

const TILLCTL: &str = env!("CARGO_BIN_EXE_tillctl");

fn tillctl(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(TILLCTL)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TILL_DATA_DIR")
        .output()
        .expect("tillctl runs")
}

#[test]
fn ring_up_prints_one_number_per_committed_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tillctl(dir.path(), &["ring-up", "--demo", "5", "--seed", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n3\n4\n5\n");
}

#[test]
fn status_json_reports_the_documented_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(tillctl(dir.path(), &["ring-up", "--demo", "3"])
        .status
        .success());
    let out = tillctl(dir.path(), &["status", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["tickets"], 3);
    assert_eq!(
        (v["sales"].as_u64(), v["reversals"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(v["pending"], 3);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["conflicts"], 0);
    assert_eq!(v["state"], "idle");
    assert!(v["last_sync_at"].is_null());
}

#[test]
fn tickets_lists_newest_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(tillctl(dir.path(), &["ring-up", "--demo", "4"])
        .status
        .success());
    let out = tillctl(dir.path(), &["tickets", "--limit", "2", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let numbers: Vec<u64> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["number"].as_u64().expect("number"))
        .collect();
    assert_eq!(numbers, vec![4, 3]);
}

#[test]
fn one_ticket_shows_its_lines_with_what_was_returned() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        tillctl(dir.path(), &["ring-up", "--demo", "1", "--lines", "2"])
            .status
            .success()
    );
    let out = tillctl(dir.path(), &["tickets", "--number", "1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["number"], 1);
    assert_eq!(v["sync_state"], "pending", "not sent yet");
    let lines = v["lines"].as_array().expect("lines");
    assert!(!lines.is_empty());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["line_no"], i + 1, "numbered as refunds name them");
        assert_eq!(l["refunded_quantity"], 0, "nothing returned yet");
    }
    let missing = tillctl(dir.path(), &["tickets", "--number", "9"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.trim_end(), "error: no ticket 9 (ticket_not_found)");
}

#[test]
fn enrol_checks_the_address_and_token_as_the_app_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tillctl(
        dir.path(),
        &["enrol", "--server", "office:7878", "--token", "t"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: the back office's address starts with http:// or https:// (invalid_input)"
    );
    let out = tillctl(
        dir.path(),
        &["enrol", "--server", "http://127.0.0.1:9", "--token", "  "],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: enter the enrolment token (invalid_input)"
    );
}

#[test]
fn a_broken_journal_exits_3_and_names_the_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(tillctl(dir.path(), &["ring-up", "--demo", "4"])
        .status
        .success());
    assert!(tillctl(dir.path(), &["verify-journal"]).status.success());
    {
        let store = till_core::Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        conn.execute("UPDATE tickets SET total = total + 1 WHERE number = 2", [])
            .expect("tampers");
    }
    let out = tillctl(dir.path(), &["verify-journal"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ticket 2: edited"), "{err}");
    assert!(err.trim_end().ends_with("(journal_broken)"), "{err}");
}

#[test]
fn a_damaged_store_exits_4_with_its_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("till.db"), vec![7u8; 8192]).expect("writes");
    let out = tillctl(dir.path(), &["status"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("(database_corrupt)"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tillctl(dir.path(), &["ring-up", "--demo", "many"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_data_dir_comes_from_till_data_dir_when_not_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(TILLCTL)
        .args(["ring-up", "--demo", "2"])
        .env("TILL_DATA_DIR", dir.path())
        .output()
        .expect("tillctl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("till.db").exists(),
        "TILL_DATA_DIR names the store when --data-dir is absent"
    );
    let other = tempfile::tempdir().expect("temp dir");
    let out = Command::new(TILLCTL)
        .arg("--data-dir")
        .arg(other.path())
        .args(["status", "--json"])
        .env("TILL_DATA_DIR", dir.path())
        .output()
        .expect("tillctl runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["tickets"], 0, "--data-dir wins over TILL_DATA_DIR");
}

#[cfg(unix)]
#[test]
fn the_data_dir_and_database_tillctl_makes_are_private_and_loosened_ones_are_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = parent.path().join("till");
    assert!(tillctl(&dir, &["ring-up", "--demo", "1"]).status.success());
    let db = dir.join(till_core::store::DB_FILE);
    assert_eq!((mode(&dir), mode(&db)), (0o700, 0o600), "as created");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("loosens");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("loosens");
    assert!(tillctl(&dir, &["status", "--json"]).status.success());
    assert_eq!(
        (mode(&dir), mode(&db)),
        (0o700, 0o600),
        "tightened again at open"
    );
}

#[test]
fn a_reader_that_closes_early_ends_the_run_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["ring-up", "--demo", "3"][..],
        &["status"],
        &["status", "--json"],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = Command::new(TILLCTL)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("TILL_DATA_DIR")
            .stdout(writer)
            .output()
            .expect("tillctl runs");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "`tillctl {} | head` must end quietly with 0, got {:?}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `tillctl` with `env` set, and no `TILL_SYNC_…` of the caller's.
fn tillctl_with_env(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(TILLCTL);
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TILL_DATA_DIR");
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("TILL_SYNC_")) {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .output()
        .expect("tillctl runs")
}

fn setting<'a>(rows: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    rows.as_array()
        .expect("a JSON array")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

#[test]
fn sync_settings_show_each_value_and_where_it_comes_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let set = tillctl_with_env(
        dir.path(),
        &[],
        &["settings", "sync", "set", "debounce_ms", "700"],
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let env = [
        ("TILL_SYNC_BATCH_SIZE", "50"),
        ("TILL_SYNC_DEBOUNCE_MS", "900"),
    ];
    let out = tillctl_with_env(dir.path(), &env, &["settings", "sync", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let shown = |name| {
        let r = setting(&rows, name);
        (
            r["value"].as_str().map(String::from),
            r["source"].as_str().map(String::from),
        )
    };
    let pair = |v: &str, s: &str| (Some(v.to_owned()), Some(s.to_owned()));
    assert_eq!(shown("batch_size"), pair("50", "env"));
    assert_eq!(
        shown("debounce_ms"),
        pair("900", "env"),
        "the environment beats the store"
    );
    assert_eq!(shown("interval_secs"), pair("30", "default"));
    let out = tillctl_with_env(dir.path(), &[], &["settings", "sync", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(setting(&rows, "debounce_ms")["source"], "stored");
    let text = tillctl_with_env(dir.path(), &[], &["settings", "sync"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("debounce_ms = 700 ms (stored)\n"),
        "one line per setting"
    );
}

#[test]
fn a_refused_sync_setting_exits_1_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tillctl_with_env(
        dir.path(),
        &[],
        &["settings", "sync", "set", "pull_limit", "1001"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: the value \"1001\" is not a valid pull_limit: it is 1 to 1000 items (invalid_input)"
    );
    let fixed = tillctl_with_env(
        dir.path(),
        &[("TILL_SYNC_PULL_LIMIT", "200")],
        &["settings", "sync", "set", "pull_limit", "300"],
    );
    assert_eq!(fixed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fixed.stderr).contains("fixed by the environment"));
    let out = tillctl_with_env(dir.path(), &[], &["settings", "sync", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (
            &setting(&rows, "pull_limit")["value"],
            &setting(&rows, "pull_limit")["source"]
        ),
        (&serde_json::json!("500"), &serde_json::json!("default")),
        "nothing was saved"
    );

    let bad_env = [("TILL_SYNC_SEND_AHEAD", "yes")];
    let listed = tillctl_with_env(dir.path(), &bad_env, &["settings", "sync"]);
    assert_eq!(
        listed.status.code(),
        Some(1),
        "a refused value in force fails the listing"
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("send_ahead = yes (env): refused"));
    let sync = tillctl_with_env(dir.path(), &bad_env, &["sync"]);
    assert_eq!(
        sync.status.code(),
        Some(1),
        "sync never starts on a value nobody chose"
    );
    assert_eq!(
        String::from_utf8_lossy(&sync.stderr).trim_end(),
        "error: the environment's TILL_SYNC_SEND_AHEAD \"yes\" is not a valid send_ahead: it is \
         true or false (invalid_input)"
    );
    let flag = tillctl_with_env(dir.path(), &[], &["sync", "--give-way-ms", "5000"]);
    assert_eq!(
        flag.status.code(),
        Some(1),
        "a flag is checked by the same table"
    );
}
