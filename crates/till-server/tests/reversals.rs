//! A void or refund belongs to the till that made the sale, unless the store allows cross-till
//! returns; then each returned line is checked against the sale.

#[macro_use]
mod common;

use common::*;
use till_protocol::{MutationBody, Outcome, TicketKind};
use till_server::decide::settings::OfficeSetting;
use till_server::sample;
use uuid::Uuid;

fn code(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Rejected { code, .. } => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

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
