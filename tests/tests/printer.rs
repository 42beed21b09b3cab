//! Receipts end to end, with the real back office, the real `tillctl` and a fake ESC/POS printer
//! on loopback that decodes what it is sent: a cash sale's receipt line by line (the store's
//! name, address and tax id from the back office, the till, the ticket, its lines, tax per rate,
//! total, tender and change, the QR code of the ticket's id and short journal hash), the cut and
//! the drawer kick; a copy says COPY; a refund's receipt and a Z report; and a printer that is
//! off: the sales go through, their receipts wait and each prints exactly once when it is back.

use std::path::Path;

use serde_json::Value;
use till_e2e::escpos::{lines, Event, FakePrinter};
use till_e2e::*;

const STORE: &str = "Harbour Stores";
const ADDRESS: [&str; 2] = ["3 Quay Street", "Galway"];
const TAX_ID: &str = "IE7654321Z";
const KICK: Event = Event::Kick {
    pin: 0,
    on: 25,
    off: 250,
};

/// A back office whose store settings name [`STORE`], its address and tax id, with a till
/// `front-till` enrolled on it and synced.
async fn office_and_till(server_dir: &Path, till: &Path) -> Server {
    let demo: Value = serde_json::from_str(include_str!("../../catalog/demo.json")).expect("demo");
    let mut catalog = demo;
    catalog["settings"]["store_name"] = STORE.into();
    catalog["settings"]["address"] = ADDRESS.join("\n").into();
    catalog["settings"]["tax_id"] = TAX_ID.into();
    let file = server_dir.join("catalog.json");
    std::fs::write(&file, catalog.to_string()).expect("writes the catalog");
    server_cli(
        server_dir,
        &["catalog", "import", file.to_str().expect("utf-8")],
    )
    .await;
    let server = Server::start(server_dir).await;
    let (_, token) = add_terminal(server_dir, "front-till").await;
    tillctl_ok(
        till,
        &["enrol", "--server", &server.url(), "--token", &token],
    )
    .await;
    tillctl_ok(till, &["sync", "--until-drained", "--timeout", "60"]).await;
    server
}

/// A printer for `till`, printing after each payment, set up by who signs in with `pin` (on a
/// till with employees).
async fn printer_for(till: &Path, pin: &[&str]) -> FakePrinter {
    let printer = FakePrinter::start().await;
    let url = printer.url();
    for args in [["printer", "set", url.as_str()], ["printer", "auto", "on"]] {
        tillctl_ok(till, &[&args[..], pin].concat()).await;
    }
    printer
}

/// `tickets show NUMBER --json`.
async fn ticket(till: &Path, number: &str) -> Value {
    let out = tillctl_ok(till, &["tickets", "show", number, "--json"]).await;
    serde_json::from_str(out.trim()).expect("tickets show --json prints JSON")
}

/// The ticket's id and short journal hash, as its QR code holds them.
fn qr_of(till: &Path, ticket: &Value) -> String {
    let conn = till_core::store::open_connection(&till.join(till_core::store::DB_FILE))
        .expect("the till's store opens");
    let id = ticket["id"].as_str().expect("an id");
    let hash: String = conn
        .query_row(
            "SELECT journal_hash FROM tickets WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the ticket's hash");
    format!("{id} {}", &hash[..12])
}

/// Euros as a receipt prints them: `€13.08`, `-€0.39`.
fn euros(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}€{}.{:02}", abs / 100, abs % 100)
}

/// A tax rate as a receipt prints it: `10%`, `5.5%`.
fn percent(bp: i64) -> String {
    match bp % 100 {
        0 => format!("{}%", bp / 100),
        h if h % 10 == 0 => format!("{}.{}%", bp / 100, h / 10),
        h => format!("{}.{h:02}%", bp / 100),
    }
}

/// A printed line with its padding squeezed to single spaces.
fn squeezed(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The jobs that print `Ticket #N` (their receipts and copies).
fn receipts_of(jobs: &[Vec<Event>], number: u64) -> Vec<Vec<Event>> {
    let wanted = format!("Ticket #{number}");
    jobs.iter()
        .filter(|job| lines(job).iter().any(|l| squeezed(l) == wanted))
        .cloned()
        .collect()
}

/// What a sale's or refund's receipt must say, line by line, from the ticket as `tickets show`
/// reads it (the date line is checked apart).
fn expected_lines(ticket: &Value, banner: Option<&str>, reverses: Option<u64>) -> Vec<String> {
    let rule = "-".repeat(48);
    let mut want: Vec<String> = vec![STORE.into()];
    want.extend(ADDRESS.iter().map(|l| l.to_string()));
    want.push(format!("Tax ID {TAX_ID}"));
    want.extend(banner.map(str::to_owned));
    want.push("Till front-till".into());
    want.push(format!("Ticket #{}", ticket["number"]));
    want.extend(reverses.map(|n| format!("Reverses #{n}")));
    want.push("DATE".into());
    if let Some(op) = ticket["operator"]["name"].as_str() {
        want.push(format!("Operator {op}"));
    }
    want.push(rule.clone());
    for line in ticket["lines"].as_array().expect("lines") {
        let figure = |k: &str| line[k].as_i64().expect("a figure");
        want.push(line["name"].as_str().expect("a name").into());
        want.push(format!(
            "{} x {} {}",
            figure("quantity"),
            euros(figure("unit_price")),
            euros(figure("amount"))
        ));
        let discount = figure("line_discount") + figure("ticket_discount");
        if discount != 0 {
            want.push(format!("Discount {}", euros(-discount)));
        }
    }
    want.push(rule.clone());
    let totals = &ticket["totals"];
    let discounts = totals["discount_total"].as_i64().expect("a figure");
    if discounts != 0 {
        want.push(format!("Discounts {}", euros(-discounts)));
    }
    for tax in ticket["taxes"].as_array().expect("taxes") {
        let bp = tax["rate_bp"].as_i64().expect("a rate");
        let amount = tax["tax"].as_i64().expect("a figure");
        want.push(format!("Tax {} {}", percent(bp), euros(amount)));
    }
    want.push(format!(
        "TOTAL {}",
        euros(totals["total"].as_i64().expect("a total"))
    ));
    for tender in ticket["tenders"].as_array().expect("tenders") {
        assert_eq!(tender["kind"], "cash", "these receipts are paid in cash");
        want.push(format!(
            "Cash {}",
            euros(tender["tendered"].as_i64().expect("a figure"))
        ));
        let change = tender["change"].as_i64().expect("a figure");
        if change != 0 {
            want.push(format!("Change {}", euros(change)));
        }
    }
    want.push(rule);
    if let Some(n) = ticket["server_number"].as_u64() {
        want.push(format!("Back office #{n}"));
    }
    want
}

/// Checks a receipt job against the ticket: each line, the QR code and the cut.
fn check_receipt(job: &[Event], want: &[String], qr: &str) {
    assert_eq!(
        &job[..2],
        &[Event::Init, Event::CodePage(19)],
        "a job starts from a reset printer in code page 858"
    );
    let printed: Vec<String> = lines(job)
        .iter()
        .map(|l| squeezed(l))
        .filter(|l| !l.is_empty())
        .collect();
    let (journal, body) = printed.split_last().expect("lines");
    let body: Vec<String> = body
        .iter()
        .map(|l| {
            if l.starts_with("Date ") && l.ends_with(" UTC") {
                "DATE".to_owned()
            } else {
                l.clone()
            }
        })
        .collect();
    assert_eq!(body, want, "the receipt line by line");
    assert_eq!(
        journal,
        &format!("Journal {}", &qr[qr.len() - 12..]),
        "the short journal hash"
    );
    let qrs: Vec<&Event> = job.iter().filter(|e| matches!(e, Event::Qr(_))).collect();
    assert_eq!(
        qrs,
        [&Event::Qr(qr.to_owned())],
        "one QR: ticket id and hash"
    );
    assert_eq!(job.last(), Some(&Event::Cut), "the paper is cut at the end");
    assert!(
        !job.iter().any(|e| matches!(e, Event::Unknown(_))),
        "nothing the printer would not understand: {job:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_prints_its_receipt_line_by_line_and_opens_the_drawer() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let _server = office_and_till(server_dir.path(), till.path()).await;
    let printer = printer_for(till.path(), &[]).await;

    // Seed 2's first two tickets are paid by card, then cash.
    tillctl_ok(till.path(), &["ring-up", "--demo", "2", "--seed", "2"]).await;
    let jobs = printer.wait_for_jobs(3).await;
    assert_eq!(
        jobs.len(),
        3,
        "a receipt, a drawer kick, a receipt: {jobs:?}"
    );
    assert_eq!(
        receipts_of(&jobs[..1], 1).len(),
        1,
        "the card sale's receipt"
    );
    assert!(
        !jobs[0].contains(&KICK),
        "a card payment leaves the drawer shut"
    );
    assert_eq!(
        jobs[1],
        vec![Event::Init, Event::CodePage(19), KICK],
        "the cash sale opens the drawer first"
    );
    let sale = ticket(till.path(), "2").await;
    let qr = qr_of(till.path(), &sale);
    check_receipt(&jobs[2], &expected_lines(&sale, None, None), &qr);

    // Once the back office numbered it, a copy says so, and says COPY.
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    let synced = ticket(till.path(), "2").await;
    assert!(synced["server_number"].is_u64(), "{synced}");
    tillctl_ok(till.path(), &["receipt", "print", "2", "--copy"]).await;
    let jobs = printer.wait_for_jobs(4).await;
    check_receipt(&jobs[3], &expected_lines(&synced, Some("COPY"), None), &qr);
    assert_eq!(
        receipts_of(&jobs, 2).len(),
        2,
        "the receipt and its copy, nothing more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_and_the_z_report_print_with_who_did_them() {
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let server = office_and_till(server_dir.path(), till.path()).await;
    add_employee(server_dir.path(), "Ada", "cashier", "1234").await;
    add_employee(server_dir.path(), "Grace", "manager", "87654321").await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    drop(server);
    let printer = printer_for(till.path(), &["--pin", "1234"]).await;

    tillctl_ok(
        till.path(),
        &["shift", "open", "--float", "10000", "--pin", "1234"],
    )
    .await;
    tillctl_ok(
        till.path(),
        &["ring-up", "--demo", "2", "--seed", "2", "--pin", "1234"],
    )
    .await;
    tillctl_ok(
        till.path(),
        &[
            "refund",
            "2",
            "--line",
            "1:1",
            "--pin",
            "1234",
            "--approve-pin",
            "87654321",
        ],
    )
    .await;
    let jobs = printer.wait_for_jobs(5).await;
    assert_eq!(
        jobs[3],
        vec![Event::Init, Event::CodePage(19), KICK],
        "cash goes back"
    );
    let refund = ticket(till.path(), "3").await;
    assert_eq!(refund["kind"], "refund");
    assert_eq!(refund["operator"]["name"], "Ada");
    check_receipt(
        &jobs[4],
        &expected_lines(&refund, Some("REFUND"), Some(2)),
        &qr_of(till.path(), &refund),
    );

    let shown = tillctl_ok(till.path(), &["shift", "show", "--json"]).await;
    let x: Value = serde_json::from_str(shown.trim()).expect("JSON");
    let expected = x["expected_cash"].as_i64().expect("a figure");
    let counted = expected - 150;
    tillctl_ok(
        till.path(),
        &[
            "shift",
            "close",
            "--counted",
            &counted.to_string(),
            "--pin",
            "1234",
        ],
    )
    .await;
    let jobs = printer.wait_for_jobs(6).await;
    let z: Vec<String> = lines(&jobs[5]).iter().map(|l| squeezed(l)).collect();
    for want in [
        STORE.to_owned(),
        format!("Tax ID {TAX_ID}"),
        "Z REPORT".into(),
        "Till front-till".into(),
        "Z number 1".into(),
        "Opened by Ada".into(),
        "Closed by Ada".into(),
        "Tickets 3".into(),
        format!("Float {}", euros(10000)),
        format!("Expected cash {}", euros(expected)),
        format!("Counted cash {}", euros(counted)),
        format!("Difference {}", euros(-150)),
    ] {
        assert!(z.contains(&want), "the Z report says {want:?}: {z:#?}");
    }
    for tax in x["tax_by_rate"].as_array().expect("taxes") {
        let line = format!(
            "Tax {} {}",
            percent(tax["rate_bp"].as_i64().expect("a rate")),
            euros(tax["tax"].as_i64().expect("a figure"))
        );
        assert!(z.contains(&line), "tax per rate: {line:?} in {z:#?}");
    }
    assert_eq!(jobs[5].last(), Some(&Event::Cut));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_is_off_blocks_no_sale_and_prints_each_receipt_once_when_back() {
    let till = tempfile::tempdir().expect("temp dir");
    let printer = printer_for(till.path(), &[]).await;
    let off = printer.switch_off().await;

    let sold = run_tillctl(till.path(), &["ring-up", "--demo", "2", "--seed", "2"]).await;
    assert!(sold.ok, "the sales go through: {}", sold.stderr);
    assert_eq!(sold.stdout.lines().count(), 2, "{}", sold.stdout);
    assert!(
        sold.stderr.contains("warning: not printed"),
        "the cashier is told: {}",
        sold.stderr
    );
    let st = status(till.path()).await;
    assert_eq!(st["printer"]["state"], "offline", "{st}");
    assert_eq!(st["printer"]["queued"], 2, "both receipts wait: {st}");
    let flushed = run_tillctl(till.path(), &["printer", "flush"]).await;
    assert!(!flushed.ok, "flush says the printer is still off");

    let printer = off.start_again().await;
    tillctl_ok(till.path(), &["printer", "flush"]).await;
    let jobs = printer.wait_for_jobs(3).await;
    assert_eq!(receipts_of(&jobs, 1).len(), 1, "ticket 1's receipt, once");
    assert_eq!(receipts_of(&jobs, 2).len(), 1, "ticket 2's receipt, once");
    assert_eq!(
        jobs.iter().filter(|j| j.contains(&KICK)).count(),
        1,
        "the cash sale's drawer kick, still fresh"
    );
    let again = tillctl_ok(till.path(), &["printer", "flush", "--json"]).await;
    let again: Value = serde_json::from_str(again.trim()).expect("JSON");
    assert_eq!(again["printed"], 0, "nothing prints twice");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(printer.jobs().len(), 3, "no job came in late");
    let st = status(till.path()).await;
    assert_eq!(
        (
            st["printer"]["state"].as_str(),
            st["printer"]["queued"].as_u64()
        ),
        (Some("ok"), Some(0))
    );
}
