//! What a till sells and refunds reaches the back office's sales report: a sale refunded in two
//! parts (both accepted, a third beyond what is left disputed), and `till-server report sales`
//! by every grouping, in JSON and CSV, adding up to the same total.

mod back_office;

use std::path::Path;

use back_office::{queue, Shop};
use serde_json::Value;
use till_core::store::Store;
use till_core::{tickets, SystemClock};
use till_e2e::*;
use till_protocol::{MutationBody, Ticket};
use till_server::dates::Day;
use till_server::sample;

const GROUPINGS: [&str; 7] = [
    "day", "product", "tender", "tax", "operator", "terminal", "shift",
];

/// Queues a refund of `quantities` of the lines of the till's sale `number`, numbered
/// `refund_number`, in the till's outbox as the till's own refund does.
fn queue_part_refund(till: &Path, number: u64, refund_number: u64, quantities: &[i64]) -> Ticket {
    let store = Store::open(till).expect("the till's store opens");
    let conn = store.connect().expect("connects");
    let sale = tickets::load_by_number(&conn, number)
        .expect("reads")
        .expect("the sale");
    let mut refund = sample::part_refund(&sale, refund_number, quantities);
    refund.created_at_ms = till_core::Clock::now_ms(&SystemClock);
    queue(till, MutationBody::TicketRefunded(refund.clone()), None);
    refund
}

/// `till-server report sales` of the days `from` to `to` by `by`, in `format` (`--json`,
/// `--csv`; `None`: the table).
async fn report(server_dir: &Path, from: &str, to: &str, by: &str, format: Option<&str>) -> String {
    let mut args = vec!["report", "sales", "--from", from, "--to", to, "--by", by];
    args.extend(format);
    server_cli(server_dir, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_refunds_are_accepted_and_the_sales_report_adds_up_in_every_grouping() {
    let shop = Shop::open().await;
    let (server_dir, till) = (&shop.server_dir, &shop.till);
    let terminal_id = &shop.terminal_id;
    tillctl_ok(till.path(), &["ring-up", "--demo", "3"]).await;
    shop.sync().await;

    let store = Store::open(till.path()).expect("opens");
    let sale = tickets::load_by_number(&store.connect().expect("connects"), 1)
        .expect("reads")
        .expect("sale 1");
    let whole: Vec<i64> = sale.lines.iter().map(|l| l.quantity).collect();
    let mut first_part = vec![0; whole.len()];
    first_part[0] = whole[0];
    let mut rest = whole.clone();
    rest[0] = 0;
    assert!(rest.iter().any(|q| *q > 0), "sale 1 has more than one line");
    let first = queue_part_refund(till.path(), 1, 4, &first_part);
    let second = queue_part_refund(till.path(), 1, 5, &rest);
    shop.sync().await;
    let figures = terminal_stats(&stats(server_dir.path()).await, terminal_id);
    assert_eq!(figures["reversals"], 2, "{figures}");
    assert_eq!(
        figures["disputed_reversals"], 0,
        "two part refunds within the sale are accepted: {figures}"
    );
    let third = queue_part_refund(till.path(), 1, 6, &first_part);
    shop.sync().await;
    let figures = terminal_stats(&stats(server_dir.path()).await, terminal_id);
    assert_eq!(
        figures["disputed_reversals"], 1,
        "a third refund of a line already returned whole is disputed: {figures}"
    );

    let now = till_core::Clock::now_ms(&SystemClock);
    let from = Day::of_ms(now - 86_400_000).to_string();
    let to = Day::of_ms(now + 86_400_000).to_string();
    let refunds = first.totals.total + second.totals.total + third.totals.total;
    let mut totals = Vec::new();
    for by in GROUPINGS {
        let json: Value =
            serde_json::from_str(&report(server_dir.path(), &from, &to, by, Some("--json")).await)
                .expect("report --json prints JSON");
        assert_eq!(json["by"], by);
        assert_eq!(
            json["total"]["tickets"], 6,
            "three sales, three refunds: {json}"
        );
        assert_eq!(json["total"]["refunds"], refunds, "by {by}");
        totals.push(json["total"].clone());
        let rows = json["rows"].as_array().expect("rows");
        assert!(!rows.is_empty(), "by {by}");

        let csv = report(server_dir.path(), &from, &to, by, Some("--csv")).await;
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("group,name,tickets,gross,discounts,refunds,tax,net"),
            "by {by}"
        );
        let csv_rows: Vec<&str> = lines.collect();
        assert_eq!(csv_rows.len(), rows.len(), "one CSV line per group by {by}");
        let net: i64 = csv_rows
            .iter()
            .map(|l| {
                l.rsplit(',')
                    .next()
                    .and_then(|n| n.parse::<i64>().ok())
                    .expect("a net")
            })
            .sum();
        assert_eq!(
            Some(net),
            json["total"]["net"].as_i64(),
            "the CSV adds up by {by}"
        );
    }
    assert!(
        totals.windows(2).all(|w| w[0] == w[1]),
        "every grouping adds up to the same total: {totals:?}"
    );
    let table = report(server_dir.path(), &from, &to, "terminal", None).await;
    assert!(
        table.lines().last().is_some_and(|l| l.starts_with("total")) && table.contains("till-1"),
        "{table}"
    );
    shop.server.kill().await;
}
