//! A till's shifts reach the back office through its outbox and sync engine, and the back office
//! reconciles each closed shift with what it holds: `till-server shifts` shows it matched, or
//! mismatched naming the ticket it never received.

mod back_office;

use std::path::Path;

use back_office::{queue, Shop};
use serde_json::Value;
use till_e2e::*;
use till_protocol::shift::{CashMovementKind, ShiftOpened};
use till_protocol::{MutationBody, Operator, Ticket};
use till_server::sample;

/// Sale `number` of the till, rung up by `by` in `shift`.
fn sale_in(shift: &ShiftOpened, number: u64, by: &Operator) -> Ticket {
    let mut sale = sample::sale(number);
    sale.shift_id = Some(shift.shift_id);
    sale.operator = Some(by.clone());
    sale
}

async fn shifts(server_dir: &Path) -> Vec<Value> {
    let out = server_cli(server_dir, &["shifts", "--json"]).await;
    let listed: Value = serde_json::from_str(&out).expect("shifts --json prints JSON");
    listed.as_array().expect("a list").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_shift_matches_and_one_missing_a_ticket_is_a_mismatch_naming_it() {
    let shop = Shop::open().await;
    let (server_dir, till) = (&shop.server_dir, &shop.till);
    let terminal_id = &shop.terminal_id;
    let ada = sample::operator("Ada");

    // Shift 1: two sales and cash put in; everything reaches the back office.
    let first = sample::shift_opened(1, 10_000, &ada);
    let sales = [sale_in(&first, 1, &ada), sale_in(&first, 2, &ada)];
    let cash_in = sample::cash_moved(first.shift_id, CashMovementKind::CashIn, 2_500, &ada);
    let expected = 10_000 + 2_500 + sales[0].totals.total + sales[1].totals.total;
    let closed = sample::shift_closed(&first, &sales, std::slice::from_ref(&cash_in), expected);
    let shift_one = [
        MutationBody::ShiftOpened(first.clone()),
        MutationBody::TicketCreated(sales[0].clone()),
        MutationBody::CashMoved(cash_in),
        MutationBody::TicketCreated(sales[1].clone()),
        MutationBody::ShiftClosed(closed),
    ];

    // Shift 2: sale 4 is rung up but never reaches the back office.
    let second = sample::shift_opened(2, 10_000, &ada);
    let third = sale_in(&second, 3, &ada);
    let lost = sale_in(&second, 4, &ada);
    let both = [third.clone(), lost];
    let counted = 10_000 + both.iter().map(|t| t.totals.total).sum::<i64>();
    let short = sample::shift_closed(&second, &both, &[], counted);
    let shift_two = [
        MutationBody::ShiftOpened(second.clone()),
        MutationBody::TicketCreated(third),
        MutationBody::ShiftClosed(short),
    ];
    for body in shift_one.into_iter().chain(shift_two) {
        queue(till.path(), body, Some(&ada));
    }

    shop.sync().await;
    assert_eq!(
        status(till.path()).await["pending"],
        0,
        "every shift mutation settled"
    );

    let listed = shifts(server_dir.path()).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (newest, oldest) = (&listed[0], &listed[1]);
    assert_eq!(oldest["shift_id"], first.shift_id.to_string());
    assert_eq!(oldest["terminal_id"], terminal_id.as_str());
    assert_eq!(oldest["state"], "matched", "{oldest}");
    assert_eq!(oldest["opened_by"]["name"], "Ada");
    assert_eq!(oldest["float"], 10_000);
    assert_eq!(oldest["expected_cash"], expected);
    assert_eq!(
        (
            oldest["counted_cash"].as_i64(),
            oldest["difference"].as_i64()
        ),
        (Some(expected), Some(0))
    );

    assert_eq!(
        newest["shift_id"],
        second.shift_id.to_string(),
        "newest first"
    );
    assert_eq!(newest["state"], "mismatch", "{newest}");
    assert_eq!(
        newest["mismatch"]["missing_tickets"],
        serde_json::json!([4]),
        "the ticket the back office never received is named"
    );
    let text = server_cli(server_dir.path(), &["shifts"]).await;
    assert!(
        text.contains("mismatch") && text.contains("missing tickets: [4]"),
        "{text}"
    );
    let only = server_cli(
        server_dir.path(),
        &["shifts", "--json", "--terminal", terminal_id],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&only)
            .expect("JSON")
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    shop.server.kill().await;
}
