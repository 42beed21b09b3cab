//! A void or refund belongs to the till that made the sale, unless the store allows cross-till
//! returns; then each returned line is checked against the sale.

#[macro_use]
mod common;

use common::*;
use till_protocol::{
    ConflictCurrent, ConflictReason, DisputeSettled, DisputeSettlement, MutationBody, Outcome,
    TicketKind,
};
use till_server::decide::settings::OfficeSetting;
use till_server::sample;
use uuid::Uuid;

on_both_backends!(a_till_cannot_reverse_another_tills_sale_unless_the_store_allows_it);
async fn a_till_cannot_reverse_another_tills_sale_unless_the_store_allows_it() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let sale = sales(1, 1);
    server.push(&a, &sale).await;
    let original = ticket_of(&sale[0]).clone();
    let refund = |number| sample::reversal(TicketKind::Refund, number, &original);

    let void = sample::reversal(TicketKind::Void, 1, &original);
    let (response, _) = server
        .push(&b, &[sample::mutation(1, MutationBody::TicketVoided(void))])
        .await;
    assert_eq!(code(&response.results[0].outcome), "not_your_sale");
    assert!(
        !serde_json::to_string(&response.results[0].outcome)
            .expect("json")
            .contains(&a.id.to_string()),
        "the refusal does not name the selling till"
    );

    let settings = server
        .storage
        .set_office_setting(OfficeSetting::AllowCrossTillReturns(true))
        .await
        .expect("sets");
    assert!(settings.allow_cross_till_returns);
    let mut stranger = refund(2);
    stranger.lines[0].product_id = Uuid::now_v7();
    // Line 1 of the sale twice, nothing else: within the sale's total, beyond its quantity.
    let first = &original.lines[0];
    let line = sample::SampleLine::new(
        first.product_id,
        first.unit_price,
        first.quantity,
        first.tax_rate_bp,
    );
    let greedy = sample::ticket(
        TicketKind::Refund,
        3,
        Some(original.id),
        &[line, line],
        None,
    )
    .expect("prices");
    let batch = [
        sample::mutation(2, MutationBody::TicketRefunded(stranger)),
        sample::mutation(3, MutationBody::TicketRefunded(greedy)),
    ];
    let (response, _) = server.push(&b, &batch).await;
    assert_eq!(code(&response.results[0].outcome), "not_on_sale");
    assert_eq!(
        code(&response.results[1].outcome),
        "quantity_exceeds_sale",
        "more than was sold is never returned"
    );

    let (response, _) = server
        .push(
            &b,
            &[sample::mutation(4, MutationBody::TicketRefunded(refund(4)))],
        )
        .await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Applied { .. }),
        "a refund of what was sold is taken from another till when the store allows it: {:?}",
        response.results[0].outcome
    );
    let shown = server.storage.office_settings().await.expect("reads");
    assert!(shown.allow_cross_till_returns);
    server.stop().await;
}

on_both_backends!(stats_name_sales_reversals_and_tickets_as_the_till_does);
async fn stats_name_sales_reversals_and_tickets_as_the_till_does() {
    let server = TestServer::start().await;
    let till = server.enrol("till A").await;
    let sold = sales(1, 2);
    server.push(&till, &sold).await;
    let void = sample::reversal(TicketKind::Void, 3, ticket_of(&sold[0]));
    server
        .push(
            &till,
            &[sample::mutation(3, MutationBody::TicketVoided(void))],
        )
        .await;
    let stats = server.storage.stats().await.expect("stats");
    let t = &stats.terminals[0];
    assert_eq!(
        (t.sales, t.reversals, t.tickets),
        (2, 1, 3),
        "a manager comparing with the till's `tickets: 3` sees the same three tickets"
    );
    assert_eq!((stats.sales, stats.reversals, stats.tickets), (2, 1, 3));
    assert_eq!((stats.duplicates, stats.gaps), (0, 0));
    server.stop().await;
}

fn disputed_first(outcome: &Outcome) -> (i64, till_protocol::ReversalInfo) {
    match outcome {
        Outcome::Disputed {
            server_id,
            server_number: Some(_),
            first,
        } => (*server_id, first.clone()),
        other => panic!("expected a disputed reversal, got {other:?}"),
    }
}

fn settle(seq: u64, reversal_id: Uuid, settlement: DisputeSettlement) -> till_protocol::Mutation {
    sample::mutation(
        seq,
        MutationBody::DisputeSettled(DisputeSettled {
            reversal_id,
            settlement,
            by: "manager-1".into(),
            why: Some("counted the drawer".into()),
        }),
    )
}

/// A sale of till A, refunded by till A; the store allows cross-till returns. Returns a refund of
/// the same sale for another till to push.
async fn double_refund(server: &TestServer, a: &Terminal) -> till_protocol::Ticket {
    server
        .storage
        .set_office_setting(OfficeSetting::AllowCrossTillReturns(true))
        .await
        .expect("sets");
    let sale = sales(1, 1);
    let original = ticket_of(&sale[0]).clone();
    let refund_a = sample::reversal(TicketKind::Refund, 2, &original);
    let mut batch = sale;
    batch.push(sample::mutation(2, MutationBody::TicketRefunded(refund_a)));
    server.push_current(a, &batch).await;
    sample::reversal(TicketKind::Refund, 1, &original)
}

fn terminal_total(stats: &till_server::storage::Stats, id: Uuid) -> i64 {
    stats
        .terminals
        .iter()
        .find(|t| t.terminal_id == id)
        .expect("the terminal")
        .total
}

on_both_backends!(a_double_refund_is_stored_disputed_and_counted_until_the_refund_stands);
async fn a_double_refund_is_stored_disputed_and_counted_until_the_refund_stands() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let refund_b = double_refund(&server, &a).await;
    let (response, _) = server
        .push_current(
            &b,
            &[sample::mutation(
                1,
                MutationBody::TicketRefunded(refund_b.clone()),
            )],
        )
        .await;
    let (_, first) = disputed_first(&response.results[0].outcome);
    assert_eq!(
        (first.terminal_id, first.total),
        (None, None),
        "the first refund is named, not another till's details"
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        terminal_total(&stats, b.id),
        -refund_b.totals.total,
        "the cash handed out at till B is counted at the back office"
    );
    assert_eq!((stats.disputed_reversals, stats.open_disputes), (1, 1));

    let stands = settle(2, refund_b.id, DisputeSettlement::RefundStands);
    let (response, _) = server
        .push_current(
            &a,
            &[settle(3, refund_b.id, DisputeSettlement::RefundStands)],
        )
        .await;
    assert_eq!(
        code(&response.results[0].outcome),
        "unknown_dispute",
        "only the till that made it settles it"
    );
    let (response, _) = server.push_current(&b, &[stands]).await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Applied { .. }),
        "{:?}",
        response.results[0].outcome
    );
    let again = settle(3, refund_b.id, DisputeSettlement::RefundStands);
    let (response, _) = server.push_current(&b, &[again]).await;
    assert_eq!(code(&response.results[0].outcome), "dispute_settled");
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        (stats.disputed_reversals, stats.open_disputes),
        (1, 0),
        "settled: still counted, no longer open"
    );
    assert_eq!(terminal_total(&stats, b.id), -refund_b.totals.total);
    server.stop().await;
}

on_both_backends!(cash_that_came_back_is_counted_in_again_by_its_counter_sale);
async fn cash_that_came_back_is_counted_in_again_by_its_counter_sale() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let refund_b = double_refund(&server, &a).await;
    server
        .push_current(
            &b,
            &[sample::mutation(
                1,
                MutationBody::TicketRefunded(refund_b.clone()),
            )],
        )
        .await;
    // The counter-sale: the refund's lines sold again, paid as the refund paid out.
    let mut counter = refund_b.clone();
    counter.id = Uuid::now_v7();
    counter.number = 2;
    counter.kind = TicketKind::Sale;
    counter.reverses = None;
    let short = {
        let line = &refund_b.lines[0];
        sample::ticket(
            TicketKind::Sale,
            3,
            None,
            &[sample::SampleLine::new(
                line.product_id,
                1,
                1,
                line.tax_rate_bp,
            )],
            None,
        )
        .expect("prices")
    };
    let batch = [
        sample::mutation(2, MutationBody::TicketCreated(counter.clone())),
        sample::mutation(3, MutationBody::TicketCreated(short.clone())),
        settle(
            4,
            refund_b.id,
            DisputeSettlement::CashCameBack {
                counter_sale: short.id,
            },
        ),
        settle(
            5,
            refund_b.id,
            DisputeSettlement::CashCameBack {
                counter_sale: counter.id,
            },
        ),
    ];
    let (response, _) = server.push_current(&b, &batch).await;
    assert_eq!(
        code(&response.results[2].outcome),
        "counter_mismatch",
        "the cash comes back as exactly the disputed total"
    );
    assert!(
        matches!(response.results[3].outcome, Outcome::Applied { .. }),
        "{:?}",
        response.results[3].outcome
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        terminal_total(&stats, b.id),
        short.totals.total,
        "the disputed refund and its counter-sale cancel out"
    );
    assert_eq!((stats.disputed_reversals, stats.open_disputes), (1, 0));
    server.stop().await;
}

on_both_backends!(
    an_older_till_is_told_a_conflict_for_a_disputed_refund_that_is_stored_all_the_same
);
async fn an_older_till_is_told_a_conflict_for_a_disputed_refund_that_is_stored_all_the_same() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let refund_b = double_refund(&server, &a).await;
    let mutation = sample::mutation(1, MutationBody::TicketRefunded(refund_b.clone()));
    let (response, _) = server.push(&b, std::slice::from_ref(&mutation)).await;
    assert!(
        matches!(
            response.results[0].outcome,
            Outcome::Conflict {
                reason: ConflictReason::AlreadyReversed,
                current: Some(ConflictCurrent::Reversal(_))
            }
        ),
        "an older till reads what it knows: {:?}",
        response.results[0].outcome
    );
    let (replay, _) = server.push(&b, std::slice::from_ref(&mutation)).await;
    assert_eq!(
        replay.results[0].outcome,
        Outcome::Duplicate {
            original: Box::new(response.results[0].outcome.clone())
        },
        "its replay is told the same"
    );
    let (upgraded, _) = server.push_current(&b, &[mutation]).await;
    match &upgraded.results[0].outcome {
        Outcome::Duplicate { original } => {
            disputed_first(original);
        }
        other => panic!("a replay after an upgrade is a duplicate: {other:?}"),
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        terminal_total(&stats, b.id),
        -refund_b.totals.total,
        "the cash it handed out is counted"
    );
    assert_eq!(stats.open_disputes, 1);
    server.stop().await;
}

on_both_backends!(a_sale_is_refunded_in_parts_until_nothing_of_a_line_is_left);
async fn a_sale_is_refunded_in_parts_until_nothing_of_a_line_is_left() {
    let server = TestServer::start().await;
    let till = server.enrol("till A").await;
    let sale = sample::sale(2);
    let q: Vec<i64> = sale.lines.iter().map(|l| l.quantity).collect();
    let first = sample::part_refund(&sale, 3, &[1, 0, 0, 0, 0]);
    let second = sample::part_refund(&sale, 4, &[q[0] - 1, q[1], 0, 0, 0]);
    let third = sample::part_refund(&sale, 5, &[1, 0, 0, 0, 0]);
    let batch = [
        sample::mutation(1, MutationBody::TicketCreated(sale.clone())),
        sample::mutation(2, MutationBody::TicketRefunded(first.clone())),
        sample::mutation(3, MutationBody::TicketRefunded(second.clone())),
        sample::mutation(4, MutationBody::TicketRefunded(third.clone())),
    ];
    let (response, _) = server.push_current(&till, &batch).await;
    for (i, what) in [(1, "the first part refund"), (2, "the second part refund")] {
        assert!(
            matches!(response.results[i].outcome, Outcome::Applied { .. }),
            "{what} is within what is left: {:?}",
            response.results[i].outcome
        );
    }
    let (_, named) = disputed_first(&response.results[3].outcome);
    assert_eq!(
        named.ticket_id, first.id,
        "a refund of a line already returned whole is disputed, naming the sale's first refund"
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!((stats.disputed_reversals, stats.open_disputes), (1, 1));
    assert_eq!(
        terminal_total(&stats, till.id),
        sale.totals.total - first.totals.total - second.totals.total - third.totals.total,
        "every refund's cash is counted, the disputed one too"
    );
    let tickets = server.storage.tickets().await.expect("tickets");
    let stored_sale = tickets.iter().find(|t| t.id == sale.id).expect("the sale");
    assert_eq!(
        stored_sale.reversed_by,
        Some(first.id),
        "the sale names its first reversal"
    );
    server.stop().await;
}
