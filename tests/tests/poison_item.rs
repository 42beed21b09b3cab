//! One item the back office cannot store never blocks a till's queue: the batch it is in fails
//! (a 500) time and again, so the engine halves it until the item fails alone, withdraws it to
//! the failed list with the back office's code and message, and every later sale syncs. An
//! old till's customer holding a NUL (which PostgreSQL cannot store) is refused as bad input
//! now, never a 500.
//!
//! Runs against the embedded SQLite back office, and against PostgreSQL when
//! `TILL_TEST_POSTGRES_URL` is set (`scripts/with-postgres.sh`).

use serde_json::Value;
use till_core::store::Store;
use till_core::sync::customers;
use till_core::{hlc, outbox, SystemClock};
use till_e2e::*;
use till_protocol::{CustomerCreated, CustomerFields, MutationBody};
use till_server::storage::postgres::testing;

/// The back office then fails (a 500, `database_error`) on storing a customer named Poison.
enum Poisoned {
    Sqlite,
    Postgres,
}

async fn make_poisonous(office: &BackOffice, how: Poisoned) {
    match (office, how) {
        (BackOffice::DataDir(dir), Poisoned::Sqlite) => {
            let conn = till_core::store::open_connection(&dir.join("till-server.sqlite3"))
                .expect("the back office's database opens");
            conn.execute_batch(
                "CREATE TRIGGER poison BEFORE INSERT ON customers WHEN NEW.name = 'Poison'
                 BEGIN SELECT RAISE(ABORT, 'this back office cannot store it'); END;",
            )
            .expect("poisoned");
        }
        (BackOffice::Database(url), Poisoned::Postgres) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connects");
            let task = tokio::spawn(connection);
            client
                .batch_execute(
                    "ALTER TABLE customers ADD CONSTRAINT poison CHECK (name <> 'Poison')",
                )
                .await
                .expect("poisoned");
            drop(client);
            let _ = task.await;
        }
        _ => unreachable!("each back office is poisoned its own way"),
    }
}

fn fields(name: &str) -> CustomerFields {
    CustomerFields {
        name: name.into(),
        ..CustomerFields::default()
    }
}

async fn one_bad_item_fails_alone_and_every_later_sale_syncs(office: BackOffice, how: Poisoned) {
    let server = Server::start_on(&office).await;
    make_poisonous(&office, how).await;
    let (_, token) = add_terminal_to(&office, "till-p").await;
    let till = tempfile::tempdir().expect("temp dir");
    tillctl_ok(
        till.path(),
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till.path(), &["ring-up", "--demo", "2"]).await;
    let store = Store::open(till.path()).expect("opens");
    let mut conn = store.connect().expect("connects");
    let poison = customers::save(&mut conn, None, fields("Poison"), &SystemClock)
        .expect("the till takes it: the back office's trouble is its own");
    tillctl_ok(till.path(), &["ring-up", "--demo", "2"]).await;
    {
        // An old till queued a customer with a NUL before the rule; written as it did.
        let tx = conn.transaction().expect("a transaction");
        let body = MutationBody::CustomerCreated(CustomerCreated {
            id: uuid::Uuid::now_v7(),
            fields: fields("Ada\u{0}Lovelace"),
        });
        let stamp = hlc::tick(&tx, 1).expect("a stamp");
        outbox::enqueue(&tx, body, None, stamp, 1).expect("queued");
        tx.commit().expect("commits");
    }
    let mut edited = fields("Poison");
    edited.phone = Some("555 0100".into());
    customers::save(&mut conn, Some(poison.id), edited, &SystemClock).expect("edited");
    tillctl_ok(till.path(), &["ring-up", "--demo", "1"]).await;
    drop(conn);

    let sync = run_tillctl(
        till.path(),
        &[
            "sync",
            "--until-drained",
            "--timeout",
            "120",
            "--max-backoff-ms",
            "50",
        ],
    )
    .await;
    assert!(sync.ok, "the queue drains past the bad item: {sync:?}");

    let stats = stats_of(&office).await;
    assert_eq!(stats["tickets"], 5, "every sale synced: {stats}");
    assert_eq!(
        (stats["duplicates"].as_u64(), stats["gaps"].as_u64()),
        (Some(0), Some(0))
    );
    let out = tillctl_ok(till.path(), &["failed", "list", "--json"]).await;
    let failed: Vec<Value> = serde_json::from_str::<Value>(out.trim())
        .expect("JSON")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let codes: Vec<(&str, &str)> = failed
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default(),
                f["code"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("customer_created", "database_error"),
            ("customer_created", "invalid_customer"),
            ("customer_updated", "depends_on_failed"),
        ],
        "the bad item alone, with the back office's code; the NUL refused as bad input; the \
         edit of the bad customer waits for it: {failed:?}"
    );
    assert!(
        failed[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("request id")),
        "the back office's own message: {failed:?}"
    );
    let st = status(till.path()).await;
    assert_eq!(st["pending"], 0, "{st}");
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_one_bad_item_fails_alone_and_every_later_sale_syncs() {
    let dir = tempfile::tempdir().expect("temp dir");
    one_bad_item_fails_alone_and_every_later_sale_syncs(
        BackOffice::DataDir(dir.path().to_path_buf()),
        Poisoned::Sqlite,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_one_bad_item_fails_alone_and_every_later_sale_syncs() {
    let Some(url) = testing::database_url() else {
        return;
    };
    let database = testing::fresh_schema_url(&url)
        .await
        .expect("a schema of its own");
    one_bad_item_fails_alone_and_every_later_sale_syncs(
        BackOffice::Database(database),
        Poisoned::Postgres,
    )
    .await;
}
