use std::io::Read;
use std::net::TcpListener;

use super::*;
use crate::clock::FixedClock;

#[test]
fn a_drawer_kick_is_sent_within_a_minute_and_dropped_after_everything_else_never() {
    let cases = [
        (JobKind::DrawerKick, 0, KICK_EXPIRES_AFTER_MS, Step::Send),
        (
            JobKind::DrawerKick,
            0,
            KICK_EXPIRES_AFTER_MS + 1,
            Step::Drop,
        ),
        (JobKind::Receipt, 0, 86_400_000, Step::Send),
        (JobKind::Copy, 0, 86_400_000, Step::Send),
        (JobKind::ZReport, 0, 86_400_000, Step::Send),
        (JobKind::Test, 0, 86_400_000, Step::Send),
    ];
    for (kind, created, now, expected) in cases {
        assert_eq!(
            step(kind, created, now),
            expected,
            "{kind:?} queued at {created}, flushed at {now}"
        );
    }
}

#[test]
fn the_status_bar_says_what_waits_and_why() {
    let status = |state, queued| PrinterStatus {
        target: "tcp://p:9100".into(),
        state,
        queued,
    };
    assert_eq!(
        status("offline", 2).summary().as_deref(),
        Some("Printer offline — 2 receipts waiting")
    );
    assert_eq!(
        status("ok", 1).summary().as_deref(),
        Some("1 receipt waiting")
    );
    assert_eq!(status("offline", 0).summary(), None, "nothing to say");
}

/// A printer on loopback that takes `connections` jobs and returns what each sent.
fn printer(connections: usize) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("tcp://{}", listener.local_addr().expect("an address"));
    let taken = std::thread::spawn(move || {
        (0..connections)
            .map(|_| {
                let (mut stream, _) = listener.accept().expect("accepts");
                let mut bytes = Vec::new();
                stream.read_to_end(&mut bytes).expect("reads");
                bytes
            })
            .collect()
    });
    (url, taken)
}

#[test]
fn flush_sends_waiting_jobs_in_order_once_and_keeps_them_while_the_printer_is_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("opens");
    let conn = store.connect().expect("connects");
    let clock = FixedClock(1_000);
    let (url, taken) = printer(2);
    set_target(&conn, &url).expect("a printer");
    assert_eq!(status(&conn).expect("status").state, "ok");
    for bytes in [b"one".as_slice(), b"two"] {
        jobs::enqueue(&conn, JobKind::Test, JobOf::default(), bytes, 1_000).expect("queued");
    }
    let flushed = flush(&store, &clock).expect("flushes");
    assert_eq!((flushed.printed, flushed.queued), (2, 0));
    assert_eq!(
        taken.join().expect("the printer"),
        vec![b"one".to_vec(), b"two".to_vec()],
        "in the order queued"
    );
    assert_eq!(
        flush(&store, &clock).expect("flushes").printed,
        0,
        "a printed job never prints again"
    );

    jobs::enqueue(&conn, JobKind::Test, JobOf::default(), b"three", 1_000).expect("queued");
    let flushed = flush(&store, &clock).expect("an offline printer is no error");
    assert_eq!((flushed.printed, flushed.queued), (0, 1), "it waits");
    assert!(flushed.error.is_some(), "and says why");
    let status = status(&conn).expect("status");
    assert_eq!((status.state, status.queued), ("offline", 1));
}

#[test]
fn without_a_printer_nothing_is_sent_and_reprints_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("opens");
    let conn = store.connect().expect("connects");
    assert_eq!(status(&conn).expect("status").state, "none");
    let refused = queue_test(&conn, 0).expect_err("no printer");
    assert_eq!(refused.code(), crate::ErrorCode::InvalidInput);
    assert!(matches!(
        set_target(&conn, "lp0").map_err(|e| e.code()),
        Err(crate::ErrorCode::InvalidInput)
    ));
}

#[test]
fn the_background_task_tries_again_soon_only_while_jobs_wait() {
    let flushed = |queued, error: Option<&str>| Flushed {
        printed: 0,
        queued,
        error: error.map(str::to_owned),
    };
    assert_eq!(
        background::next_try(&flushed(0, None)),
        None,
        "idle until told"
    );
    assert_eq!(
        background::next_try(&flushed(2, Some("refused"))),
        Some(background::RETRY_EVERY)
    );
    assert_eq!(
        background::next_try(&flushed(0, Some("refused"))),
        Some(background::RETRY_EVERY),
        "a drawer kick waits too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_task_prints_what_is_queued_when_told_and_publishes_the_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("opens");
    let conn = store.connect().expect("connects");
    let (url, taken) = printer(1);
    set_target(&conn, &url).expect("a printer");
    let handle = background::PrinterHandle::spawn(store, std::sync::Arc::new(FixedClock(1_000)))
        .expect("starts");
    let mut statuses = handle.subscribe();
    jobs::enqueue(&conn, JobKind::Test, JobOf::default(), b"page", 1_000).expect("queued");
    handle.print_waiting();
    let printed = tokio::task::spawn_blocking(move || taken.join().expect("the printer"))
        .await
        .expect("joins");
    assert_eq!(printed, vec![b"page".to_vec()]);
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        statuses.wait_for(|s| s.queued == 0 && s.state == "ok"),
    )
    .await
    .expect("in time")
    .expect("published")
    .clone();
    assert_eq!(status.target, url);
    handle.shutdown().await;
}
