//! `POST /v1/push`: exactly once, whatever the terminal retries.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_protocol::pricing::Discount;
use till_protocol::{
    ConflictCurrent, ConflictReason, CustomerCreated, CustomerDeleted, CustomerFields,
    CustomerUpdated, MutationBody, Outcome, Tender, TicketKind,
};
use till_server::decide::settings::OfficeSetting;
use till_server::sample::{self, SampleLine};
use till_server::storage::CustomerEdit;
use uuid::Uuid;

on_both_backends!(replayed_batch_returns_the_original_results_byte_for_byte);
async fn replayed_batch_returns_the_original_results_byte_for_byte() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 5);
    let body = push_body(&t, &batch);

    let (status, first) = server.push_raw(&t, &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, replay) = server.push_raw(&t, &body).await;
    assert_eq!(status, StatusCode::OK);

    let first = outcome_bytes(&first);
    let replay = outcome_bytes(&replay);
    assert_eq!(first.len(), 5);
    for (original, again) in first.iter().zip(&replay) {
        assert!(
            original.starts_with("{\"status\":\"applied\""),
            "{original}"
        );
        assert_eq!(
            &original_bytes(again),
            original,
            "a replay must answer the original outcome, byte for byte"
        );
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        stats.tickets, 5,
        "a replayed batch must not store tickets twice"
    );
    assert_eq!(stats.duplicates, 0);
    assert_eq!(stats.gaps, 0);
    server.stop().await;
}

on_both_backends!(replayed_single_item_returns_its_original_result_among_new_ones);
async fn replayed_single_item_returns_its_original_result_among_new_ones() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 3);
    let (status, first) = server.push_raw(&t, &push_body(&t, &batch)).await;
    assert_eq!(status, StatusCode::OK);
    let first = outcome_bytes(&first);

    // The terminal lost the answer for seq 2 only, and has a new sale (seq 4).
    let mut retry = vec![batch[1].clone()];
    retry.extend(sales(4, 1));
    let (status, body) = server.push_raw(&t, &push_body(&t, &retry)).await;
    assert_eq!(status, StatusCode::OK);
    let outcomes = outcome_bytes(&body);
    assert_eq!(
        original_bytes(&outcomes[0]),
        first[1],
        "seq 2's original result, unchanged"
    );
    assert!(
        outcomes[1].starts_with("{\"status\":\"applied\""),
        "seq 4 is new: {}",
        outcomes[1]
    );

    let (ack_status, ack) = server
        .get(&format!("/v1/terminals/{}/ack", t.id), Some(&t.token))
        .await;
    assert_eq!(ack_status, StatusCode::OK);
    assert_eq!(ack["last_applied_seq"], 4);
    server.stop().await;
}

on_both_backends!(the_ack_tells_a_terminal_that_reads_it_how_many_of_its_mutations_are_settled);
async fn the_ack_tells_a_terminal_that_reads_it_how_many_of_its_mutations_are_settled() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let other = server.enrol("till 2").await;
    server.push(&t, &sales(1, 3)).await;
    server.push(&other, &sales(1, 2)).await;
    let path = format!("/v1/terminals/{}/ack", t.id);
    let (status, ack) = server.get_as(&path, Some(&t.token), Some(7)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&ack["last_applied_seq"], &ack["settled"]),
        (&serde_json::json!(3), &serde_json::json!(3)),
        "its own three, not the other terminal's: {ack}"
    );
    let (_, older) = server.get_as(&path, Some(&t.token), Some(6)).await;
    serde_json::from_value::<till_protocol::Ack>(older.clone())
        .expect("a till of revision 6, whose types refuse what they do not know, reads it");
    assert!(
        older.get("settled").is_none(),
        "revision 6 is not told: {older}"
    );
    server.stop().await;
}

on_both_backends!(applied_results_carry_server_id_number_and_version);
async fn applied_results_carry_server_id_number_and_version() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let (response, _) = server.push(&t, &sales(1, 2)).await;
    assert_eq!(response.last_applied_seq, 2);
    let numbers: Vec<Option<u64>> = response
        .results
        .iter()
        .map(|r| match r.outcome {
            Outcome::Applied {
                server_number,
                version,
                ..
            } => {
                assert_eq!(version, 1);
                server_number
            }
            ref other => panic!("expected applied, got {other:?}"),
        })
        .collect();
    assert_eq!(
        numbers,
        vec![Some(1), Some(2)],
        "the back office numbers tickets in order"
    );
    server.stop().await;
}

on_both_backends!(two_terminals_pushing_at_once_both_land_completely);
async fn two_terminals_pushing_at_once_both_land_completely() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let push_all = |t: Terminal| {
        let server = &server;
        async move {
            for chunk in 0..10u64 {
                let (r, _) = server.push(&t, &sales(chunk * 10 + 1, 10)).await;
                assert!(r
                    .results
                    .iter()
                    .all(|r| matches!(r.outcome, Outcome::Applied { .. })));
            }
        }
    };
    tokio::join!(push_all(a.clone()), push_all(b.clone()));
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 200);
    assert_eq!(stats.duplicates, 0);
    assert_eq!(stats.gaps, 0);
    for t in &stats.terminals {
        assert_eq!(t.tickets, 100, "every sale of {} must arrive", t.name);
        assert_eq!(t.last_seq, 100);
    }
    server.stop().await;
}

on_both_backends!(the_same_batch_sent_concurrently_on_two_connections_is_applied_once);
/// The two sends overlap for certain: a transaction held behind the server's back keeps either
/// from committing until both are inside the server (and, on PostgreSQL, both wait for the
/// terminal's row).
async fn the_same_batch_sent_concurrently_on_two_connections_is_applied_once() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    for round in 0..5u64 {
        let body = push_body(&t, &sales(round * 20 + 1, 20));
        let held = server
            .hold(
                "",
                &format!("SELECT 1 FROM terminals WHERE id = '{}' FOR UPDATE", t.id),
            )
            .await;
        // Two clients: two connections.
        let other = Client2 {
            http: reqwest::Client::new(),
        };
        let first = server.push_raw(&t, &body);
        let second = other.push_raw_via(&server, &t, &body);
        let both = async {
            eventually("both sends are inside the server at once", || async {
                server.pushes.now() == 2
            })
            .await;
            if server.backend == Backend::Postgres {
                eventually("both wait for the terminal's row", || async {
                    held.waiting().await == Some(2)
                })
                .await;
            }
            held.release().await;
        };
        let (first, second, ()) = tokio::join!(first, second, both);
        assert_eq!(first.0, StatusCode::OK);
        assert_eq!(second.0, StatusCode::OK);
        let (one, two) = (outcome_bytes(&first.1), outcome_bytes(&second.1));
        for (x, y) in one.iter().zip(&two) {
            let applied = [x, y]
                .iter()
                .filter(|o| o.starts_with("{\"status\":\"applied\""))
                .count();
            assert_eq!(
                applied, 1,
                "exactly one of the two sends applies each mutation: {x} / {y}"
            );
        }
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 100);
    assert_eq!(stats.duplicates, 0, "no ticket may be stored twice");
    server.stop().await;
}

on_both_backends!(a_mutation_id_reused_with_another_payload_is_a_mismatch_and_records_nothing);
async fn a_mutation_id_reused_with_another_payload_is_a_mismatch_and_records_nothing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 1);
    server.push(&t, &batch).await;
    let mut forged = batch[0].clone();
    forged.body = MutationBody::TicketCreated(sample::sale(99));
    let (response, _) = server.push(&t, &[forged]).await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Mismatch { .. }),
        "{:?}",
        response.results[0].outcome
    );
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 1, "a mismatch stores nothing");
    // The original still replays as it was.
    let (response, _) = server.push(&t, &batch).await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Duplicate { .. }
    ));
    server.stop().await;
}

/// `value`'s JSON with its top-level keys in reverse order: the same mutation as an older
/// till's structs might have written it.
fn keys_reversed(value: &serde_json::Value) -> String {
    let object = value.as_object().expect("an object");
    let keys: Vec<String> = object
        .iter()
        .rev()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
        .collect();
    format!("{{{}}}", keys.join(","))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

on_both_backends!(a_replay_of_a_mutation_hashed_by_the_rule_before_is_still_a_duplicate);
async fn a_replay_of_a_mutation_hashed_by_the_rule_before_is_still_a_duplicate() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 2);
    let today = serde_json::to_string(&batch[0]).expect("serialises");
    let older = keys_reversed(&serde_json::to_value(&batch[1]).expect("serialises"));
    let body = format!(
        r#"{{"terminal_id":"{}","mutations":[{today},{older}]}}"#,
        t.id
    );
    let (status, first) = server.push_raw(&t, body.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    // The database as a server before hashing bytes received left it: the first mutation's hash
    // over the JSON its own structs wrote, the second's over the bytes of a till whose structs
    // wrote its keys in another order (what that server's structs wrote too).
    server
        .execute_sql(&format!(
            "UPDATE mutations SET payload_hash = '{}' WHERE id = '{}';
             UPDATE mutations SET payload_hash = '{}' WHERE id = '{}';",
            sha256_hex(today.as_bytes()),
            batch[0].id,
            sha256_hex(older.as_bytes()),
            batch[1].id
        ))
        .await;
    let (status, replay) = server.push_raw(&t, body.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let (first, replay) = (outcome_bytes(&first), outcome_bytes(&replay));
    for (original, again) in first.iter().zip(&replay) {
        assert_eq!(
            &original_bytes(again),
            original,
            "a replay of a mutation settled under the rule before answers its original outcome"
        );
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 2, "nothing is stored twice");
    server.stop().await;
}

on_both_backends!(the_payload_hash_is_taken_over_the_bytes_received);
async fn the_payload_hash_is_taken_over_the_bytes_received() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 1);
    let older = keys_reversed(&serde_json::to_value(&batch[0]).expect("serialises"));
    let body = format!(r#"{{"terminal_id":"{}","mutations":[{older}]}}"#, t.id);
    let (status, _) = server.push_raw(&t, body.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, replay) = server.push_raw(&t, body.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        outcome_bytes(&replay)[0].starts_with(r#"{"status":"duplicate""#),
        "the same bytes again are a replay"
    );
    let (response, _) = server.push(&t, &batch).await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Mismatch { .. }),
        "the same mutation in other bytes is not what was received: {:?}",
        response.results[0].outcome
    );
    server.stop().await;
}

on_both_backends!(a_sequence_gap_stops_the_batch_and_names_the_expected_seq);
async fn a_sequence_gap_stops_the_batch_and_names_the_expected_seq() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server.push(&t, &sales(1, 2)).await;
    // seq 3 is missing; 4 and 5 must wait.
    let (response, _) = server.push(&t, &sales(4, 2)).await;
    for r in &response.results {
        assert_eq!(
            r.outcome,
            Outcome::Gap { expected_seq: 3 },
            "nothing after a gap applies"
        );
    }
    assert_eq!(response.last_applied_seq, 2);
    // Resending from 3 fills it.
    let (response, _) = server.push(&t, &sales(3, 3)).await;
    assert!(response
        .results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Applied { .. })));
    assert_eq!(response.last_applied_seq, 5);
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!((stats.tickets, stats.gaps, stats.duplicates), (5, 0, 0));
    server.stop().await;
}

on_both_backends!(a_new_mutation_on_a_settled_seq_is_rejected_as_seq_reused);
async fn a_new_mutation_on_a_settled_seq_is_rejected_as_seq_reused() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server.push(&t, &sales(1, 2)).await;
    let (response, _) = server.push(&t, &sales(2, 1)).await;
    match &response.results[0].outcome {
        Outcome::Rejected { code, .. } => assert_eq!(code, "seq_reused"),
        other => panic!("expected seq_reused, got {other:?}"),
    }
    server.stop().await;
}

on_both_backends!(a_ticket_whose_figures_differ_from_the_pricing_rule_is_rejected);
async fn a_ticket_whose_figures_differ_from_the_pricing_rule_is_rejected() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut ticket = sample::sale(1);
    ticket.totals.tax_total += 1;
    let mut line_off = sample::sale(2);
    line_off.lines[0].figures.total -= 1;
    let mutations = vec![
        sample::mutation(1, MutationBody::TicketCreated(ticket)),
        sample::mutation(2, MutationBody::TicketCreated(line_off)),
    ];
    let (response, _) = server.push(&t, &mutations).await;
    for r in &response.results {
        match &r.outcome {
            Outcome::Rejected { code, .. } => assert_eq!(code, "totals_mismatch"),
            other => panic!("a wrong figure must be rejected, got {other:?}"),
        }
    }
    assert_eq!(response.last_applied_seq, 2, "a rejection settles its seq");
    assert_eq!(server.storage.stats().await.expect("stats").tickets, 0);
    server.stop().await;
}

on_both_backends!(discounts_are_checked_by_the_same_rule);
async fn discounts_are_checked_by_the_same_rule() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut line = SampleLine::new(Uuid::now_v7(), 1999, 3, 2000);
    line.discount = Some(Discount::Percent { bp: 1500 });
    let lines = [line, SampleLine::new(Uuid::now_v7(), 350, 2, 550)];
    let ticket = sample::ticket(
        TicketKind::Sale,
        1,
        None,
        &lines,
        Some(Discount::Amount { minor: 333 }),
    )
    .expect("prices");
    let (response, _) = server
        .push(
            &t,
            &[sample::mutation(1, MutationBody::TicketCreated(ticket))],
        )
        .await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Applied { .. }),
        "{:?}",
        response.results[0]
    );
    server.stop().await;
}

on_both_backends!(tenders_must_cover_the_total_and_carry_no_card_number);
async fn tenders_must_cover_the_total_and_carry_no_card_number() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut short = sample::sale(1);
    short.tenders = vec![Tender::Cash {
        tendered: short.totals.total - 1,
        change: 0,
    }];
    let mut pan = sample::sale(2);
    pan.tenders = vec![Tender::Card {
        amount: pan.totals.total,
        approval_ref: "4111 1111 1111 1111".into(),
        last4: Some("1111".into()),
    }];
    let mut long_last4 = sample::sale(3);
    long_last4.tenders = vec![Tender::Card {
        amount: long_last4.totals.total,
        approval_ref: "A-1".into(),
        last4: Some("411111".into()),
    }];
    let mut fine = sample::sale(4);
    fine.tenders = vec![Tender::Card {
        amount: fine.totals.total,
        approval_ref: "APPROVED-77".into(),
        last4: Some("4242".into()),
    }];
    let mutations: Vec<_> = [short, pan, long_last4, fine]
        .into_iter()
        .enumerate()
        .map(|(i, t)| sample::mutation(i as u64 + 1, MutationBody::TicketCreated(t)))
        .collect();
    let (response, _) = server.push(&t, &mutations).await;
    let codes: Vec<String> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => code.clone(),
            Outcome::Applied { .. } => "applied".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "tenders_mismatch",
            "invalid_card_data",
            "invalid_card_data",
            "applied"
        ]
    );
    server.stop().await;
}

on_both_backends!(a_card_number_however_written_is_rejected_in_a_tender_or_a_customer);
async fn a_card_number_however_written_is_rejected_in_a_tender_or_a_customer() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let paid_with = |number: u64, approval_ref: &str| {
        let mut sale = sample::sale(number);
        sale.tenders = vec![Tender::Card {
            amount: sale.totals.total,
            approval_ref: approval_ref.into(),
            last4: None,
        }];
        MutationBody::TicketCreated(sale)
    };
    let customer = MutationBody::CustomerCreated(CustomerCreated {
        id: Uuid::now_v7(),
        fields: CustomerFields {
            note: Some("card 4111-1111-1111-1111".into()),
            ..fields("Ada")
        },
    });
    let mutations = [
        paid_with(1, "4111.1111.1111.1111"),
        paid_with(2, "4111  1111  1111  1111"),
        customer,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, body)| sample::mutation(i as u64 + 1, body))
    .collect::<Vec<_>>();
    let (response, _) = server.push(&t, &mutations).await;
    let codes: Vec<&str> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => code.as_str(),
            _ => "not rejected",
        })
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_card_data",
            "invalid_card_data",
            "card_number_in_text"
        ],
        "a card number is never stored, however it is written"
    );
    server.stop().await;
}

on_both_backends!(a_second_refund_of_one_sale_is_a_conflict_naming_the_first_to_an_older_till);
async fn a_second_refund_of_one_sale_is_a_conflict_naming_the_first_to_an_older_till() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    server
        .storage
        .set_office_setting(OfficeSetting::AllowCrossTillReturns(true))
        .await
        .expect("allows till B to refund till A's sale");
    let sale = sales(1, 1);
    let original = ticket_of(&sale[0]).clone();
    // The sale and its refund in one batch: the refund may name a sale earlier in the batch.
    let refund_a = sample::reversal(TicketKind::Refund, 2, &original);
    let mut batch = sale.clone();
    batch.push(sample::mutation(
        2,
        MutationBody::TicketRefunded(refund_a.clone()),
    ));
    let (response, _) = server.push(&a, &batch).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Applied { .. })),
        "{response:?}"
    );

    // Another till refunds the same sale.
    let refund_b = sample::reversal(TicketKind::Refund, 1, &original);
    let (response, _) = server
        .push(
            &b,
            &[sample::mutation(1, MutationBody::TicketRefunded(refund_b))],
        )
        .await;
    match &response.results[0].outcome {
        Outcome::Conflict { reason, current } => {
            assert_eq!(*reason, ConflictReason::AlreadyReversed);
            match current {
                Some(ConflictCurrent::Reversal(info)) => {
                    assert_eq!(
                        info.ticket_id, refund_a.id,
                        "the conflict names the first refund"
                    );
                    assert_eq!(
                        (info.terminal_id, info.total),
                        (None, None),
                        "till B is not told till A's id or its refund's total"
                    );
                }
                other => panic!("expected the first refund, got {other:?}"),
            }
        }
        other => panic!("a double refund must be a conflict, got {other:?}"),
    }
    // A void after the refund is a conflict as well.
    let void = sample::reversal(TicketKind::Void, 3, &original);
    let void_total = void.totals.total;
    let (response, _) = server
        .push(&a, &[sample::mutation(3, MutationBody::TicketVoided(void))])
        .await;
    match &response.results[0].outcome {
        Outcome::Conflict {
            reason: ConflictReason::AlreadyReversed,
            current: Some(ConflictCurrent::Reversal(info)),
        } => assert_eq!(
            (info.terminal_id, info.total),
            (Some(a.id), Some(refund_a.totals.total)),
            "till A is told its own refund in full"
        ),
        other => panic!("a void after the refund is a conflict, got {other:?}"),
    }
    let stats = server.storage.stats().await.expect("stats");
    let till_a = stats
        .terminals
        .iter()
        .find(|t| t.terminal_id == a.id)
        .expect("till A");
    assert_eq!(
        till_a.total, -void_total,
        "a refunded sale nets to zero; the void after it is stored all the same, its cash out"
    );
    assert_eq!(
        (stats.disputed_reversals, stats.open_disputes),
        (2, 2),
        "till B's refund and till A's void are stored as disputed, for a manager"
    );
    server.stop().await;
}

on_both_backends!(reversing_an_unknown_ticket_is_rejected);
async fn reversing_an_unknown_ticket_is_rejected() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let ghost = sample::sale(1);
    let void = sample::reversal(TicketKind::Void, 1, &ghost);
    let (response, _) = server
        .push(&t, &[sample::mutation(1, MutationBody::TicketVoided(void))])
        .await;
    match &response.results[0].outcome {
        Outcome::Rejected { code, .. } => assert_eq!(code, "unknown_ticket"),
        other => panic!("expected unknown_ticket, got {other:?}"),
    }
    server.stop().await;
}

on_both_backends!(the_same_sale_under_a_new_mutation_id_is_refused_and_counted_as_a_duplicate);
async fn the_same_sale_under_a_new_mutation_id_is_refused_and_counted_as_a_duplicate() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let first = sales(1, 1);
    server.push(&t, &first).await;
    let again = sample::mutation(2, first[0].body.clone());
    let (response, _) = server.push(&t, &[again]).await;
    match &response.results[0].outcome {
        Outcome::Rejected { code, .. } => assert_eq!(code, "duplicate_ticket"),
        other => panic!("expected duplicate_ticket, got {other:?}"),
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 1, "the sale is stored once");
    assert!(
        stats.duplicates >= 1,
        "stats must show that the terminal sent a sale twice"
    );
    server.stop().await;
}

fn fields(name: &str) -> CustomerFields {
    CustomerFields {
        name: name.into(),
        ..CustomerFields::default()
    }
}

on_both_backends!(a_customer_edit_on_a_stale_version_is_a_conflict_not_an_overwrite);
async fn a_customer_edit_on_a_stale_version_is_a_conflict_not_an_overwrite() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let id = Uuid::now_v7();
    let created = sample::mutation(
        1,
        MutationBody::CustomerCreated(CustomerCreated {
            id,
            fields: fields("Ada"),
        }),
    );
    let (response, _) = server.push(&t, &[created]).await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Applied { version: 1, .. }
    ));

    // The back office edits the customer: version 2.
    let edited = server
        .storage
        .save_customer(
            id,
            CustomerEdit {
                email: Some("ada@example.org".into()),
                ..Default::default()
            },
        )
        .await
        .expect("edits");
    assert_eq!(edited.version, 2);
    let office = edited.hlc.expect("a back-office edit is stamped");
    assert_eq!(
        office.node,
        Uuid::nil(),
        "stamped by the back office, not by a terminal"
    );

    // The terminal edits from version 1.
    let stale = sample::mutation(
        2,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 1,
            base: None,
            fields: fields("Ada L."),
        }),
    );
    let (response, _) = server.push(&t, &[stale]).await;
    match &response.results[0].outcome {
        Outcome::Conflict {
            reason,
            current: Some(ConflictCurrent::Customer(c)),
        } => {
            assert_eq!(*reason, ConflictReason::StaleVersion);
            assert_eq!(c.version, 2);
            assert_eq!(c.fields.email.as_deref(), Some("ada@example.org"));
            assert_eq!(
                c.fields.name, "Ada",
                "the server's copy was not overwritten"
            );
            assert_eq!(
                c.hlc,
                Some(office),
                "the conflict carries the stamp of the change the terminal missed"
            );
        }
        other => panic!("expected a stale_version conflict, got {other:?}"),
    }

    // Based on version 2, it applies as version 3.
    let fresh = sample::mutation(
        3,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 2,
            base: None,
            fields: fields("Ada L."),
        }),
    );
    let stamp = fresh.hlc;
    let (response, _) = server.push(&t, &[fresh]).await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Applied { version: 3, .. }
    ));
    let page = server.storage.pull(0, 100, true).await.expect("pulls");
    let pulled = page.changes.iter().find_map(|c| match &c.change {
        till_protocol::ChangeKind::CustomerUpserted(c) if c.id == id => Some(c),
        _ => None,
    });
    assert_eq!(
        pulled.and_then(|c| c.hlc),
        Some(stamp),
        "a pull carries the stamp of the terminal's change"
    );

    // Deleted in the back office: a later edit conflicts as deleted.
    server.storage.delete_customer(id).await.expect("deletes");
    let late = sample::mutation(
        4,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 3,
            base: None,
            fields: fields("Ada"),
        }),
    );
    let (response, _) = server.push(&t, &[late]).await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Conflict {
            reason: ConflictReason::Deleted,
            ..
        }
    ));
    server.stop().await;
}

on_both_backends!(an_edit_queued_after_another_never_overwrites_an_office_edit_it_never_saw);
async fn an_edit_queued_after_another_never_overwrites_an_office_edit_it_never_saw() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let id = Uuid::now_v7();
    let v1 = server
        .storage
        .save_customer(
            id,
            CustomerEdit {
                name: Some("Ada".into()),
                email: Some("ada@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("creates");
    let office_made_v1 = v1
        .made_by
        .expect("a back-office version records what made it");
    let (_, page) = server.get("/v1/pull", Some(&t.token)).await;
    assert!(
        page["changes"][0]["change"]["data"]["made_by"].is_null(),
        "a terminal that does not name protocol revision 2 is not told what made a version"
    );
    // Offline, the till edits the name (M1, on v1), then the phone (M2, queued after M1; its
    // guessed number is 2). Meanwhile the office edits the e-mail: v2.
    let m1 = sample::mutation(
        1,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 1,
            base: Some(office_made_v1),
            fields: CustomerFields {
                name: "Ada L.".into(),
                ..v1.fields.clone()
            },
        }),
    );
    let m2 = sample::mutation(
        2,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 2,
            base: Some(m1.id),
            fields: CustomerFields {
                name: "Ada L.".into(),
                phone: Some("555".into()),
                ..v1.fields.clone()
            },
        }),
    );
    let v2 = server
        .storage
        .save_customer(
            id,
            CustomerEdit {
                email: Some("ada@office.example".into()),
                ..Default::default()
            },
        )
        .await
        .expect("edits");
    assert_ne!(
        v2.made_by, v1.made_by,
        "each office edit is a change of its own"
    );
    let (response, _) = server.push_current(&t, &[m1.clone(), m2]).await;
    for (i, r) in response.results.iter().enumerate() {
        match &r.outcome {
            Outcome::Conflict {
                reason: ConflictReason::StaleVersion,
                current: Some(ConflictCurrent::Customer(c)),
            } => assert_eq!(
                c.made_by, v2.made_by,
                "the conflict names what made the server's version"
            ),
            other => panic!("edit {} must be a conflict, got {other:?}", i + 1),
        }
    }
    let page = server.storage.pull(0, 100, true).await.expect("pulls");
    let kept = page.changes.iter().find_map(|c| match &c.change {
        till_protocol::ChangeKind::CustomerUpserted(c) if c.id == id => Some(c),
        _ => None,
    });
    assert_eq!(
        kept.map(|c| c.fields.email.as_deref()),
        Some(Some("ada@office.example")),
        "the office's e-mail was not overwritten by an edit that never saw it"
    );

    // The resolution, made on v2 by name, applies; the change that made it is the mutation.
    let resolution = sample::mutation(
        3,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 2,
            base: v2.made_by,
            fields: CustomerFields {
                name: "Ada L.".into(),
                email: Some("ada@office.example".into()),
                phone: Some("555".into()),
                ..CustomerFields::default()
            },
        }),
    );
    let (response, _) = server
        .push_current(&t, std::slice::from_ref(&resolution))
        .await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Applied { version: 3, .. }
    ));
    let page = server.storage.pull(0, 100, true).await.expect("pulls");
    let v3 = page.changes.iter().find_map(|c| match &c.change {
        till_protocol::ChangeKind::CustomerUpserted(c) if c.id == id => Some(c),
        _ => None,
    });
    assert_eq!(v3.and_then(|c| c.made_by), Some(resolution.id));
    server.stop().await;
}

on_both_backends!(creating_a_customer_twice_is_idempotent_and_other_content_conflicts);
async fn creating_a_customer_twice_is_idempotent_and_other_content_conflicts() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let id = Uuid::now_v7();
    let create = |seq, name: &str| {
        sample::mutation(
            seq,
            MutationBody::CustomerCreated(CustomerCreated {
                id,
                fields: fields(name),
            }),
        )
    };
    server.push(&a, &[create(1, "Grace")]).await;
    let (same, _) = server.push(&b, &[create(1, "Grace")]).await;
    assert!(
        matches!(same.results[0].outcome, Outcome::Applied { version: 1, .. }),
        "same content applies idempotently"
    );
    let (other, _) = server.push(&b, &[create(2, "Grace H.")]).await;
    assert!(matches!(
        other.results[0].outcome,
        Outcome::Conflict {
            reason: ConflictReason::AlreadyExists,
            ..
        }
    ));

    let stale_delete = sample::mutation(
        3,
        MutationBody::CustomerDeleted(CustomerDeleted {
            id,
            base_version: 7,
            base: None,
        }),
    );
    let delete = sample::mutation(
        4,
        MutationBody::CustomerDeleted(CustomerDeleted {
            id,
            base_version: 1,
            base: None,
        }),
    );
    let (response, _) = server.push(&b, &[stale_delete, delete]).await;
    assert!(matches!(
        response.results[0].outcome,
        Outcome::Conflict {
            reason: ConflictReason::StaleVersion,
            ..
        }
    ));
    assert!(matches!(
        response.results[1].outcome,
        Outcome::Applied { version: 2, .. }
    ));
    server.stop().await;
}

/// A second HTTP client, so a request travels on its own connection.
struct Client2 {
    http: reqwest::Client,
}

impl Client2 {
    async fn push_raw_via(
        &self,
        server: &TestServer,
        t: &Terminal,
        body: &[u8],
    ) -> (StatusCode, Vec<u8>) {
        let response = self
            .http
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&t.token)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }
}

on_both_backends!(concurrent_sales_of_one_product_move_stock_by_deltas);
async fn concurrent_sales_of_one_product_move_stock_by_deltas() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let product = Uuid::now_v7();
    let sale = |n: u64| {
        let lines = [SampleLine::new(product, 250, 2, 2000)];
        let t = sample::ticket(TicketKind::Sale, n, None, &lines, None).expect("prices");
        sample::mutation(n, MutationBody::TicketCreated(t))
    };
    let batch: Vec<_> = (1..=20).map(sale).collect();
    let (ra, rb) = tokio::join!(server.push(&a, &batch[..]), async {
        let fresh: Vec<_> = (1..=20).map(sale).collect();
        server.push(&b, &fresh).await
    });
    for r in ra.0.results.iter().chain(&rb.0.results) {
        assert!(
            matches!(r.outcome, Outcome::Applied { .. }),
            "sales never conflict on stock: {r:?}"
        );
    }
    assert_eq!(server.storage.stock(product).await.expect("stock"), -80);

    // A void puts the goods back.
    let original = ticket_of(&batch[0]).clone();
    let void = sample::reversal(TicketKind::Void, 21, &original);
    server
        .push(
            &a,
            &[sample::mutation(21, MutationBody::TicketVoided(void))],
        )
        .await;
    assert_eq!(server.storage.stock(product).await.expect("stock"), -78);
    server.stop().await;
}

on_both_backends!(
    a_customer_change_stamped_far_ahead_of_the_server_is_refused_and_the_sale_still_lands
);
async fn a_customer_change_stamped_far_ahead_of_the_server_is_refused_and_the_sale_still_lands() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let now = till_server::clock::now_ms();
    let a_year = 365 * 24 * 3_600_000;
    let id = Uuid::now_v7();
    let create = |seq| {
        sample::mutation(
            seq,
            MutationBody::CustomerCreated(CustomerCreated {
                id,
                fields: CustomerFields {
                    name: "Ada".into(),
                    ..CustomerFields::default()
                },
            }),
        )
    };
    let mut ahead = create(1);
    ahead.hlc.wall_ms = now + a_year + 60 * 60_000;
    let mut sale = sales(2, 1).remove(0);
    sale.hlc.wall_ms = now + a_year;
    let (response, _) = server.push(&t, &[ahead, sale]).await;
    match &response.results[0].outcome {
        Outcome::Rejected { code, message } => {
            assert_eq!(code, "clock_ahead");
            assert!(
                message.contains("365d") && message.contains("5m allowed"),
                "the refusal names how far ahead the till is and the skew allowed: {message}"
            );
        }
        other => panic!("a customer change a year ahead is refused, got {other:?}"),
    }
    assert!(
        matches!(response.results[1].outcome, Outcome::Applied { .. }),
        "a sale is never refused for a clock: {:?}",
        response.results[1].outcome
    );
    let (_, page) = server.get("/v1/pull", Some(&t.token)).await;
    assert!(
        page["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["change"]["data"]["id"] != id.to_string()),
        "nothing of the refused change is kept: {page}"
    );
    let mut within = create(3);
    within.hlc.wall_ms = now + 60_000;
    let (response, _) = server.push(&t, &[within]).await;
    assert!(
        matches!(response.results[0].outcome, Outcome::Applied { .. }),
        "a clock a minute ahead is within the skew: {:?}",
        response.results[0].outcome
    );
    server.stop().await;
}

on_both_backends!(a_ticket_result_echoes_the_figures_read_back_from_storage);
async fn a_ticket_result_echoes_the_figures_read_back_from_storage() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 1);
    let sent = till_protocol::StoredFigures::of(ticket_of(&batch[0]));
    let (first, _) = server.push_current(&t, &batch).await;
    assert_eq!(
        first.results[0].stored.as_ref(),
        Some(&sent),
        "an applied sale is answered with what was stored, which is what was sent"
    );
    let (older, raw) = server.push(&t, &batch).await;
    assert_eq!(older.results[0].stored, None);
    assert!(
        raw["results"][0].get("stored").is_none(),
        "a till of an older revision, which refuses unknown fields, is not sent them"
    );
    server
        .execute_sql(&format!(
            "UPDATE tickets SET total = total + 1 WHERE id = '{}'",
            ticket_of(&batch[0]).id
        ))
        .await;
    let (replay, _) = server.push_current(&t, &batch).await;
    assert!(matches!(
        replay.results[0].outcome,
        Outcome::Duplicate { .. }
    ));
    assert_eq!(
        replay.results[0].stored.as_ref().map(|s| s.total),
        Some(sent.total + 1),
        "a replay echoes the row as stored now, not the request"
    );
    server.stop().await;
}
