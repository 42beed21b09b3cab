//! Where a till's token goes: only to the origin it was enrolled with. Against two real servers
//! (the back office, and a recording listener at another address): testing a connection to the
//! other one and saving it in the settings send no `Authorization` at all; a stored address
//! changed behind the enrolment's back is refused before anything is sent; moving takes a new
//! token. And a rotated token is taken without losing the queue.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use till_core::settings::{self, SettingsInput};
use till_core::sync::ServerTrust;
use till_core::Store;
use till_e2e::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listener at another address that answers like a back office (health, and whoami for the
/// terminal it is told) and records the head of every request.
struct Recorder {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    async fn start(terminal_id: &str) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("an address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&heads);
        let whoami = format!(
            r#"{{"terminal_id":"{terminal_id}","name":"till-1","last_applied_seq":0,"server_time_ms":0}}"#
        );
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (recorded, whoami) = (Arc::clone(&recorded), whoami.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if !matches!(stream.read(&mut byte).await, Ok(1)) {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let body = if head.starts_with("GET /v1/whoami") {
                        whoami
                    } else {
                        r#"{"status":"ok","version":"elsewhere","server_time_ms":0}"#.to_string()
                    };
                    recorded.lock().expect("not poisoned").push(head);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Recorder { addr, heads }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("not poisoned").clone()
    }

    /// The `Authorization` values it was sent.
    fn authorizations(&self) -> Vec<String> {
        self.heads()
            .iter()
            .flat_map(|h| h.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .collect()
    }
}

/// The enrolment's own columns, as stored.
fn stored_sync_state(till: &Path) -> (i64, i64, String) {
    let conn = till_core::store::open_connection(&till.join(till_core::store::DB_FILE))
        .expect("the store opens");
    conn.query_row(
        "SELECT cursor, server_acked_seq, token FROM sync_state WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("reads")
}

/// A back office on `office` with a terminal `till-1`, and the till on `till` enrolled as it.
async fn enrolled_till(office: &Path, till: &Path) -> (Server, String) {
    let server = Server::start(office).await;
    let (terminal_id, token) = add_terminal(office, "till-1").await;
    tillctl_ok(
        till,
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    (server, terminal_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_another_address_from_the_settings_or_a_changed_store() {
    let office = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let (_server, terminal_id) = enrolled_till(office.path(), till.path()).await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "1"]).await;
    let elsewhere = Recorder::start(&terminal_id).await;

    // The settings screen's own functions: Test connection and Save with the other address.
    let store = Store::open(till.path()).expect("opens");
    let test = settings::test_connection(&elsewhere.url(), &ServerTrust::default()).await;
    assert!(test.ok, "the other server answers its health: {test:?}");
    let saved = settings::save(
        &store,
        &SettingsInput {
            server_url: Some(elsewhere.url()),
            sync_interval_secs: 30,
            operator: "Sam".into(),
            lock_after_idle_seconds: settings::DEFAULT_LOCK_AFTER_IDLE_SECONDS,
        },
    )
    .await;
    assert_eq!(
        saved.expect_err("a move takes a new token").code(),
        "enrolment_token_needed"
    );
    assert_eq!(
        elsewhere.heads().len(),
        1,
        "only the health check reached it"
    );
    assert!(
        elsewhere.authorizations().is_empty(),
        "no Authorization at all: {:?}",
        elsewhere.heads()
    );

    // The stored address changed behind the enrolment's back: nothing is sent with the token.
    let conn = till_core::store::open_connection(&till.path().join(till_core::store::DB_FILE))
        .expect("opens");
    conn.execute(
        "UPDATE sync_state SET server_url = ?1 WHERE id = 1",
        [elsewhere.url()],
    )
    .expect("changes the address");
    let refused = run_tillctl(till.path(), &["sync", "--until-drained", "--timeout", "20"]).await;
    assert!(!refused.ok, "sync must not run: {}", refused.stdout);
    let after = status(till.path()).await;
    assert_eq!(
        after["last_error"]["code"], "token_origin_mismatch",
        "{after}"
    );
    assert!(
        elsewhere.authorizations().is_empty(),
        "the token stayed home: {:?}",
        elsewhere.heads()
    );

    // Moving for real: a new token, given for the new address, is the only one it sees.
    tillctl_ok(
        till.path(),
        &[
            "enrol",
            "--server",
            &elsewhere.url(),
            "--token",
            "till_new_one",
        ],
    )
    .await;
    assert_eq!(
        elsewhere.authorizations(),
        vec!["authorization: Bearer till_new_one".to_string()],
        "never the old token: {:?}",
        elsewhere.heads()
    );
    assert_eq!(status(till.path()).await["pending"], 1, "the queue is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_is_taken_without_losing_the_queue() {
    let office = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let (server, terminal_id) = enrolled_till(office.path(), till.path()).await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "2"]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "3"]).await;
    let (cursor, acked, _) = stored_sync_state(till.path());

    let rotate = |grace: &'static str| {
        let dir = office.path().to_path_buf();
        let id = terminal_id.clone();
        async move {
            let out = server_cli(
                &dir,
                &["terminal", "rotate-token", &id, "--grace", grace, "--json"],
            )
            .await;
            let v: Value = serde_json::from_str(out.trim()).expect("JSON");
            v["token"].as_str().expect("a token").to_string()
        }
    };
    let rotated = rotate("24h").await;
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &rotated],
    )
    .await;
    let after = status(till.path()).await;
    assert_eq!(after["pending"], 3, "the queue is kept: {after}");
    assert_eq!(after["terminal_id"], terminal_id.as_str());
    let (cursor_after, acked_after, stored) = stored_sync_state(till.path());
    assert_eq!(
        (cursor_after, acked_after),
        (cursor, acked),
        "the cursor and the acknowledged sequence are kept"
    );
    assert_eq!(stored, rotated, "the new token is the one stored");

    // With no grace the old token ends at once; the till holding it takes the newest one.
    let newest = rotate("0").await;
    let stale = run_tillctl(till.path(), &["sync", "--until-drained", "--timeout", "20"]).await;
    assert!(!stale.ok, "the previous token no longer works");
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &newest],
    )
    .await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_delivered_exactly_once(office.path(), till.path(), &terminal_id).await;
}
