//! A chain of shops: several `till-server` processes (the built binary) on one PostgreSQL
//! database. Exactly-once must hold across them, whatever replica a batch reaches, however
//! often, and when a replica is killed in the middle of one. `till-server stats` is the judge.
//!
//! Needs `TILL_TEST_POSTGRES_URL` (run through `scripts/with-postgres.sh`); skipped otherwise,
//! failing under `CI=true`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use till_protocol::{Mutation, MutationBody, PushRequest, PushResponse, TicketKind};
use till_server::storage::postgres::testing;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_till-server");

fn cli(database: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("TILL_SERVER_DATA_DIR")
        .output()
        .expect("till-server runs")
}

fn ok_json(output: Output, what: &str) -> Value {
    assert!(
        output.status.success(),
        "{what} must succeed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A fresh schema on the test cluster, or `None` when the test is skipped.
async fn database() -> Option<String> {
    let url = testing::database_url()?;
    Some(
        testing::fresh_schema_url(&url)
            .await
            .expect("creates a test schema"),
    )
}

/// A `till-server serve --database …` process.
struct Replica {
    child: Child,
    url: String,
}

impl Replica {
    fn start(database: &str) -> Replica {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("till-server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the ready line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve announces its address, got {line:?}"))
            .to_string();
        Replica { child, url }
    }

    /// SIGKILL: no graceful shutdown, whatever it was doing.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Enrolled {
    id: Uuid,
    token: String,
}

fn enrol(database: &str, name: &str) -> Enrolled {
    let v = ok_json(
        cli(database, &["terminal", "add", name, "--json"]),
        "terminal add",
    );
    Enrolled {
        id: v["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id"),
        token: v["token"].as_str().expect("a token").to_string(),
    }
}

fn stats(database: &str) -> Value {
    ok_json(cli(database, &["stats", "--json"]), "stats")
}

async fn push(
    http: &reqwest::Client,
    url: &str,
    terminal: &Enrolled,
    batch: &[Mutation],
) -> Result<PushResponse, String> {
    let request = PushRequest {
        terminal_id: terminal.id,
        mutations: batch.to_vec(),
        withdraw: Vec::new(),
        head: None,
    };
    let response = http
        .post(format!("{url}/v1/push"))
        .bearer_auth(&terminal.token)
        .json(&request)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                format!("unreachable: {e}")
            } else {
                format!("no answer: {e}")
            }
        })?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(format!("status {status}"));
    }
    response.json().await.map_err(|e| e.to_string())
}

async fn ack(http: &reqwest::Client, url: &str, terminal: &Enrolled) -> Result<u64, String> {
    let response = http
        .get(format!("{url}/v1/terminals/{}/ack", terminal.id))
        .bearer_auth(&terminal.token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let ack: till_protocol::Ack = response.json().await.map_err(|e| e.to_string())?;
    Ok(ack.last_applied_seq)
}

fn assert_exactly_once(stats: &Value, tickets: u64, why: &str) {
    assert_eq!(stats["duplicates"], 0, "{why}: no ticket twice: {stats}");
    assert_eq!(stats["gaps"], 0, "{why}: no ticket lost: {stats}");
    assert_eq!(stats["tickets"], tickets, "{why}: every ticket: {stats}");
}

/// Holds `terminal`'s row behind the replicas' backs: a push of it waits until released.
async fn hold_terminal(db: &str, terminal: &Enrolled) -> common::Held {
    let sql = format!(
        "SELECT 1 FROM terminals WHERE id = '{}' FOR UPDATE",
        terminal.id
    );
    common::hold_on_postgres(db, &sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_sent_to_two_replicas_at_once_is_applied_once() {
    let Some(db) = database().await else {
        return;
    };
    let a = Replica::start(&db);
    let b = Replica::start(&db);
    let terminal = enrol(&db, "till 1");
    let http = reqwest::Client::new();
    for round in 0..5u64 {
        let batch = common::sales(round * 40 + 1, 40);
        // Both replicas are made to overlap: neither can settle the batch until both wait
        // for the terminal's row, held here.
        let held = hold_terminal(&db, &terminal).await;
        let both = async {
            common::eventually("both replicas wait for the terminal's row", || async {
                held.waiting().await == Some(2)
            })
            .await;
            held.release().await;
        };
        let (ra, rb, ()) = tokio::join!(
            push(&http, &a.url, &terminal, &batch),
            push(&http, &b.url, &terminal, &batch),
            both
        );
        let (ra, rb) = (
            ra.expect("replica a answers"),
            rb.expect("replica b answers"),
        );
        let statuses = |r: &PushResponse| {
            r.results
                .iter()
                .map(|x| serde_json::to_value(&x.outcome).expect("serializes")["status"].clone())
                .collect::<Vec<_>>()
        };
        let (sa, sb) = (statuses(&ra), statuses(&rb));
        let applied = |s: &[Value]| s.iter().all(|x| x == "applied");
        let duplicate = |s: &[Value]| s.iter().all(|x| x == "duplicate");
        assert!(
            (applied(&sa) && duplicate(&sb)) || (duplicate(&sa) && applied(&sb)),
            "one replica applies the whole batch, the other answers duplicate: {sa:?} / {sb:?}"
        );
        assert_eq!(ra.last_applied_seq, (round + 1) * 40);
        assert_eq!(rb.last_applied_seq, (round + 1) * 40);
    }
    assert_exactly_once(&stats(&db), 200, "one batch on two replicas at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_many_terminals_spread_over_replicas_land_exactly_once() {
    let Some(db) = database().await else {
        return;
    };
    let replicas = [Replica::start(&db), Replica::start(&db)];
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for t in 0..4usize {
        let terminal = enrol(&db, &format!("till {t}"));
        let urls = urls.clone();
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            for batch in 0..10u64 {
                let mutations = common::sales(batch * 10 + 1, 10);
                // Each batch to the next replica, and every third one to both.
                let url = &urls[(t + batch as usize) % urls.len()];
                push(&http, url, &terminal, &mutations)
                    .await
                    .expect("push answers");
                if batch % 3 == 0 {
                    let other = &urls[(t + batch as usize + 1) % urls.len()];
                    push(&http, other, &terminal, &mutations)
                        .await
                        .expect("replay answers");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("terminal finishes");
    }
    let stats = stats(&db);
    assert_exactly_once(&stats, 400, "batches spread over replicas");
    for t in stats["terminals"].as_array().expect("terminals") {
        assert_eq!(t["last_seq"], 100, "every terminal settled all: {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_mid_batch_lose_and_double_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let Some(db) = database().await else {
        return;
    };
    let replicas: Arc<Vec<Mutex<Replica>>> = Arc::new(vec![
        Mutex::new(Replica::start(&db)),
        Mutex::new(Replica::start(&db)),
    ]);
    let urls: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(
        replicas
            .iter()
            .map(|r| r.lock().expect("lock").url.clone())
            .collect(),
    ));
    let url_of = |urls: &Mutex<Vec<String>>, i: usize| {
        let urls = urls.lock().expect("lock");
        urls[i % urls.len()].clone()
    };
    // Kills and restarts replica `i` with SIGKILL; its new address takes the old one's place.
    let restart = |i: usize| {
        let (replicas, urls, db) = (replicas.clone(), urls.clone(), db.clone());
        async move {
            let url = tokio::task::spawn_blocking(move || {
                let mut replica = replicas[i].lock().expect("lock");
                replica.kill();
                *replica = Replica::start(&db);
                replica.url.clone()
            })
            .await
            .expect("restarts");
            urls.lock().expect("lock")[i] = url;
        }
    };
    const TERMINALS: usize = 3;
    const BATCHES: u64 = 8;
    const BATCH: u64 = 50;
    let http = reqwest::Client::new();
    let terminals: Vec<Enrolled> = (0..TERMINALS)
        .map(|t| enrol(&db, &format!("till {t}")))
        .collect();
    // The first kill lands mid-request for certain: terminal 0's first push (to replica 1)
    // waits for the terminal's row, held here, when replica 1 is killed.
    let held = hold_terminal(&db, &terminals[0]).await;
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let asked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (t, terminal) in terminals.into_iter().enumerate() {
        let (urls, http) = (urls.clone(), http.clone());
        let (done, failures, asked) = (done.clone(), failures.clone(), asked.clone());
        tasks.push(tokio::spawn(async move {
            let mut attempt = t;
            for batch in 0..BATCHES {
                let mutations = common::sales(batch * BATCH + 1, BATCH);
                let last = (batch + 1) * BATCH;
                loop {
                    attempt += 1;
                    let url = url_of(&urls, attempt);
                    match push(&http, &url, &terminal, &mutations).await {
                        Ok(r) if r.last_applied_seq >= last => break,
                        Ok(r) => panic!("a push settles the whole batch: {r:?}"),
                        Err(e) => {
                            // Did it arrive? Ask any replica; resend if not.
                            if e.starts_with("no answer") {
                                failures.fetch_add(1, SeqCst);
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            let url = url_of(&urls, attempt + 1);
                            if let Ok(settled) = ack(&http, &url, &terminal).await {
                                asked.fetch_add(1, SeqCst);
                                if settled >= last {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            done.fetch_add(1, SeqCst);
        }));
    }
    common::eventually("terminal 0's first push waits for its row", || async {
        held.waiting().await == Some(1)
    })
    .await;
    restart(1).await;
    held.release().await;
    // Then kill one replica or the other, eleven more times while the terminals push, at
    // varying moments; then let them finish.
    const KILLS: usize = 12;
    let mut kills = 1usize;
    while kills < KILLS && done.load(SeqCst) < TERMINALS {
        tokio::time::sleep(Duration::from_millis(40 + (kills as u64 * 37) % 90)).await;
        restart(kills % replicas.len()).await;
        kills += 1;
    }
    for task in tasks {
        task.await.expect("terminal finishes");
    }
    eprintln!(
        "{kills} kills, {} pushes cut short mid-request, {} acks answered",
        failures.load(SeqCst),
        asked.load(SeqCst)
    );
    assert!(
        failures.load(SeqCst) >= 1 && asked.load(SeqCst) >= 1,
        "a push cut short by a killed replica was followed by asking another replica what it \
         settled, and it answered"
    );
    let stats = stats(&db);
    assert_exactly_once(
        &stats,
        TERMINALS as u64 * BATCHES * BATCH,
        "replicas killed mid-batch",
    );
    for t in stats["terminals"].as_array().expect("terminals") {
        assert_eq!(t["last_seq"], BATCHES * BATCH, "every batch settled: {t}");
        assert_eq!(t["missing_ticket_numbers"], serde_json::json!([]), "{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tills_refunding_one_sale_on_two_replicas_at_once_refund_it_once() {
    let Some(db) = database().await else {
        return;
    };
    let (a, b) = (Replica::start(&db), Replica::start(&db));
    let (t1, t2) = (enrol(&db, "till 1"), enrol(&db, "till 2"));
    let allowed = cli(
        &db,
        &["settings", "set", "allow-cross-till-returns", "true"],
    );
    assert!(allowed.status.success(), "till 2 may refund till 1's sales");
    let http = reqwest::Client::new();
    for round in 0..10u64 {
        // Till 1 sells; then both tills refund that sale at the same moment, on two replicas.
        let sale = common::sales(2 * round + 1, 1);
        push(&http, &a.url, &t1, &sale)
            .await
            .expect("the sale lands");
        let original = common::ticket_of(&sale[0]);
        let refund = |number, seq| {
            till_server::sample::mutation(
                seq,
                MutationBody::TicketRefunded(till_server::sample::reversal(
                    TicketKind::Refund,
                    number,
                    original,
                )),
            )
        };
        let r1 = [refund(2 * round + 2, 2 * round + 2)];
        let r2 = [refund(round + 1, round + 1)];
        let (o1, o2) = tokio::join!(push(&http, &a.url, &t1, &r1), push(&http, &b.url, &t2, &r2));
        let status = |r: Result<PushResponse, String>| {
            serde_json::to_value(&r.expect("push answers").results[0].outcome).expect("serializes")
                ["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let mut statuses = [status(o1), status(o2)];
        statuses.sort();
        assert_eq!(
            statuses,
            ["applied".to_string(), "conflict".to_string()],
            "one refund applies, the other is disputed (told as a conflict naming it to a till \
             that names no protocol revision)"
        );
    }
    let stats = stats(&db);
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(stats["sales"], 10, "ten sales: {stats}");
    let reversed: i64 = stats["terminals"]
        .as_array()
        .expect("terminals")
        .iter()
        .map(|t| t["reversals_total"].as_i64().unwrap_or_default())
        .sum();
    let sold: i64 = stats["terminals"]
        .as_array()
        .expect("terminals")
        .iter()
        .map(|t| t["sales_total"].as_i64().unwrap_or_default())
        .sum();
    assert_eq!(
        stats["disputed_reversals"], 10,
        "each sale refunded once, the other refund stored as disputed: {stats}"
    );
    assert_eq!(
        reversed,
        2 * sold,
        "both refunds' cash left a drawer, so both are counted: {stats}"
    );
}

#[test]
fn every_command_works_on_postgres_and_a_bad_url_is_a_usage_error() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(database()) else {
        return;
    };
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog/demo.json");
    if std::path::Path::new(catalog).exists() {
        let out = cli(&db, &["catalog", "import", catalog]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let id = Uuid::now_v7().to_string();
    let out = cli(&db, &["customer", "add", &id, "--name", "Ada"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = enrol(&db, "till 1");
    let listed = ok_json(cli(&db, &["terminal", "list", "--json"]), "terminal list");
    assert_eq!(listed[0]["id"], t.id.to_string(), "the terminal is listed");
    let out = cli(&db, &["terminal", "revoke", &t.id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tickets = ok_json(cli(&db, &["tickets", "--json"]), "tickets");
    assert_eq!(tickets, serde_json::json!([]));

    let out = cli("mysql://nope", &["stats"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a non-PostgreSQL URL is a usage error"
    );
    let out = cli("postgres://till@127.0.0.1:1/none", &["stats"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "an unreachable database is a clear error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
