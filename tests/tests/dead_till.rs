//! A till whose network or machine died still delivers its sales: `tillctl export-queue` writes
//! its unsent mutations, signed with the terminal's key, with no server to talk to, and
//! `till-server import-queue` applies them once. A second import, and the till's own later push,
//! are answered as duplicates; a file changed by one byte, or not signed by its terminal's key,
//! is refused with nothing applied.

use std::path::Path;

use serde_json::Value;
use till_e2e::*;
use tokio::process::Command;

/// `till-server import-queue FILE --json` on `server_dir`: (exit code, stdout, stderr).
async fn import(server_dir: &Path, file: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(bin("till-server"))
        .arg("import-queue")
        .arg(file)
        .arg("--json")
        .arg("--data-dir")
        .arg(server_dir)
        .output()
        .await
        .expect("till-server runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// An import that succeeds, as JSON.
async fn imported(server_dir: &Path, file: &Path) -> Value {
    let (code, stdout, stderr) = import(server_dir, file).await;
    assert_eq!(code, Some(0), "the import succeeds: {stderr}");
    serde_json::from_str(stdout.trim()).expect("import-queue --json prints JSON")
}

/// An import refused with exit 2, whose stderr names `code`.
async fn refused(server_dir: &Path, file: &Path, code: &str) {
    let (exit, _, stderr) = import(server_dir, file).await;
    assert_eq!(exit, Some(2), "a bad bundle is bad input: {stderr}");
    assert!(stderr.contains(code), "the refusal says {code}: {stderr}");
}

async fn export(till: &Path, out: &Path) -> Value {
    let exported = tillctl_ok(
        till,
        &[
            "export-queue",
            "--out",
            out.to_str().expect("a UTF-8 path"),
            "--json",
        ],
    )
    .await;
    serde_json::from_str(exported.trim()).expect("export-queue --json prints JSON")
}

async fn enrol(till: &Path, server: &Server, token: &str) {
    tillctl_ok(
        till,
        &["enrol", "--server", &server.url(), "--token", token],
    )
    .await;
}

/// A back office with one till enrolled, and a USB stick.
struct Enrolled {
    server_dir: tempfile::TempDir,
    till: tempfile::TempDir,
    usb: tempfile::TempDir,
    server: Server,
    terminal: String,
}

impl Enrolled {
    async fn start() -> Enrolled {
        let server_dir = tempfile::tempdir().expect("temp dir");
        let till = tempfile::tempdir().expect("temp dir");
        let server = Server::start(server_dir.path()).await;
        let (terminal, token) = add_terminal(server_dir.path(), "till-1").await;
        enrol(till.path(), &server, &token).await;
        Enrolled {
            server_dir,
            till,
            usb: tempfile::tempdir().expect("temp dir"),
            server,
            terminal,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_tills_sales_reach_the_back_office_exactly_once_by_file() {
    let rig = Enrolled::start().await;
    let key = rig.till.path().join(till_core::terminal_key::KEY_FILE);
    assert!(key.exists(), "enrolment gives the terminal a key pair");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("stat").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the private key is the till user's alone"
        );
    }
    tillctl_ok(rig.till.path(), &["ring-up", "--demo", "3"]).await;
    tillctl_ok(
        rig.till.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;

    // The network dies; the till sells on.
    let addr = rig.server.addr.to_string();
    rig.server.kill().await;
    tillctl_ok(rig.till.path(), &["ring-up", "--demo", "4"]).await;
    assert_eq!(status(rig.till.path()).await["pending"], 4);

    let file = rig.usb.path().join("till-1.json");
    let exported = export(rig.till.path(), &file).await;
    assert_eq!(
        exported["mutations"], 4,
        "every unsent mutation: {exported}"
    );
    assert_eq!(exported["first_seq"], 4, "{exported}");
    assert_eq!(exported["last_seq"], 7, "{exported}");
    assert_eq!(exported["key_registered"], true, "{exported}");
    let again = run_tillctl(
        rig.till.path(),
        &["export-queue", "--out", file.to_str().expect("UTF-8")],
    )
    .await;
    assert!(!again.ok, "an existing file is never replaced silently");
    assert_eq!(
        status(rig.till.path()).await["pending"],
        4,
        "exporting sends nothing and settles nothing"
    );

    let server = Server::start_with(
        &BackOffice::DataDir(rig.server_dir.path().to_path_buf()),
        &["--listen", &addr],
    )
    .await;
    let first = imported(rig.server_dir.path(), &file).await;
    assert_eq!(first["applied"], 4, "{first}");
    assert_eq!(first["duplicates"], 0, "{first}");
    assert_eq!(first["other"], 0, "{first}");
    assert_eq!(first["last_applied_seq"], 7, "{first}");
    let second = imported(rig.server_dir.path(), &file).await;
    assert_eq!(second["applied"], 0, "nothing is applied twice: {second}");
    assert_eq!(second["duplicates"], 4, "{second}");
    let figures = terminal_stats(&stats(rig.server_dir.path()).await, &rig.terminal);
    assert_eq!(figures["tickets"], 7, "every sale arrived once: {figures}");
    // The file went through the push chain's check like a push: the back office's copy holds
    // and ends at the head the file named.
    let chain: Value = serde_json::from_str(
        server_cli(
            rig.server_dir.path(),
            &["verify-journal", "--terminal", &rig.terminal, "--json"],
        )
        .await
        .trim(),
    )
    .expect("JSON");
    assert_eq!(chain["ok"], true, "{chain}");
    assert_eq!(chain["head"]["seq"], 7, "{chain}");

    // The till comes back: its own push of the imported mutations settles as duplicates.
    tillctl_ok(
        rig.till.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;
    assert_delivered_exactly_once(rig.server_dir.path(), rig.till.path(), &rig.terminal).await;
    let report: Value = serde_json::from_str(
        tillctl_ok(rig.till.path(), &["verify-journal", "--json"])
            .await
            .trim(),
    )
    .expect("JSON");
    assert_eq!(
        report["server_head_matches"], true,
        "the head the back office accepted from the file is a link of the till's chain: {report}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_foreign_bundle_is_refused_and_applies_nothing() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till_a = tempfile::tempdir().expect("temp dir");
    let till_b = tempfile::tempdir().expect("temp dir");
    let usb = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path()).await;
    let (terminal_a, token_a) = add_terminal(server_dir.path(), "till-a").await;
    let (terminal_b, token_b) = add_terminal(server_dir.path(), "till-b").await;
    enrol(till_a.path(), &server, &token_a).await;
    enrol(till_b.path(), &server, &token_b).await;
    server.kill().await;
    tillctl_ok(till_a.path(), &["ring-up", "--demo", "2"]).await;
    let good = usb.path().join("a.json");
    export(till_a.path(), &good).await;
    let bytes = std::fs::read(&good).expect("reads");

    // One byte changed inside a sale: a digit of its first amount.
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let at = text.find("\"total\":").expect("a sale has a total") + "\"total\":".len();
    let mut flipped = bytes.clone();
    flipped[at] = if flipped[at] == b'1' { b'2' } else { b'1' };
    let changed = usb.path().join("changed.json");
    std::fs::write(&changed, &flipped).expect("writes");
    refused(server_dir.path(), &changed, "bad_signature").await;

    // The same sales claimed for another terminal.
    let foreign = usb.path().join("foreign.json");
    std::fs::write(&foreign, text.replace(&terminal_a, &terminal_b)).expect("writes");
    refused(server_dir.path(), &foreign, "bad_signature").await;

    // A terminal the back office never enrolled.
    let unknown = usb.path().join("unknown.json");
    let stranger = uuid::Uuid::now_v7().to_string();
    std::fs::write(&unknown, text.replace(&terminal_a, &stranger)).expect("writes");
    refused(server_dir.path(), &unknown, "unknown_terminal").await;

    // Signed with another terminal's key: till A holding till B's key.
    let key = till_core::terminal_key::KEY_FILE;
    std::fs::copy(till_b.path().join(key), till_a.path().join(key)).expect("copies the key");
    let signed_by_b = usb.path().join("signed-by-b.json");
    export(till_a.path(), &signed_by_b).await;
    refused(server_dir.path(), &signed_by_b, "bad_signature").await;

    refused(
        server_dir.path(),
        &usb.path().join("missing.json"),
        "cannot read",
    )
    .await;
    let stats = stats(server_dir.path()).await;
    assert_eq!(
        stats["tickets"], 0,
        "a refused bundle applies nothing: {stats}"
    );
    assert_eq!(stats["mutations"], 0, "{stats}");

    let done = imported(server_dir.path(), &good).await;
    assert_eq!(
        done["applied"], 2,
        "the untouched file still imports: {done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_enrolled_before_it_had_a_key_registers_one_when_it_syncs() {
    let rig = Enrolled::start().await;
    // As a till enrolled before terminals had keys: no key in its data dir.
    std::fs::remove_file(rig.till.path().join(till_core::terminal_key::KEY_FILE)).expect("removes");
    tillctl_ok(rig.till.path(), &["ring-up", "--demo", "1"]).await;
    tillctl_ok(
        rig.till.path(),
        &["sync", "--until-drained", "--timeout", "60"],
    )
    .await;
    rig.server.kill().await;
    tillctl_ok(rig.till.path(), &["ring-up", "--demo", "2"]).await;
    let file = rig.usb.path().join("queue.json");
    let exported = export(rig.till.path(), &file).await;
    assert_eq!(
        exported["key_registered"], true,
        "the sync registered the key on its own: {exported}"
    );
    let done = imported(rig.server_dir.path(), &file).await;
    assert_eq!(done["applied"], 2, "{done}");
    let figures = terminal_stats(&stats(rig.server_dir.path()).await, &rig.terminal);
    assert_eq!(figures["tickets"], 3, "{figures}");
}
