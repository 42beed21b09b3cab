//! A till whose history is not the back office's (a restored or copied data dir): its
//! mutations on settled sequences change nothing, and once re-enrolled as a new terminal its
//! recovered mutations settle exactly once. And a mutation a till withdraws settles its
//! sequence without being applied.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_protocol::{
    CustomerCreated, CustomerFields, CustomerUpdated, Mutation, MutationBody, Outcome, PushRequest,
    PushResponse, Recovered,
};
use till_server::decide::push::{payload_hash, Received, RECEIVED_PREFIX};
use uuid::Uuid;

/// The outcome's status, or a rejection's code.
fn verdicts(response: &PushResponse) -> Vec<String> {
    response
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Rejected { code, .. } => code.clone(),
            other => serde_json::to_value(other).expect("serialises")["status"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

on_both_backends!(a_copied_tills_mutations_on_settled_sequences_change_nothing);
async fn a_copied_tills_mutations_on_settled_sequences_change_nothing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    server.push(&t, &sales(1, 5)).await;
    // A copy of the till's data dir made after sequence 3 rings up its own 4, 5 and 6.
    let (response, _) = server.push(&t, &sales(4, 3)).await;
    assert_eq!(
        verdicts(&response),
        ["seq_reused", "seq_reused", "history_diverged"],
        "the copy's 6 would be next, but it is another history's"
    );
    assert_eq!(response.last_applied_seq, 5);
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        (stats.tickets, stats.duplicates, stats.gaps),
        (5, 0, 0),
        "{stats:?}"
    );
    server.stop().await;
}

/// `original`, first sent by `first` at its own sequence, queued again at `seq` under a new
/// terminal.
fn recovered(original: &Mutation, first: Uuid, seq: u64) -> Mutation {
    let mut m = till_server::sample::mutation(seq, original.body.clone());
    m.recovered = Some(Recovered {
        terminal_id: first,
        mutation_id: original.id,
        seq: original.seq,
        payload_sha256: payload_hash(
            &Received::from_mutation(original.clone()).expect("serialises"),
        )
        .trim_start_matches(RECEIVED_PREFIX)
        .to_string(),
    });
    m
}

on_both_backends!(a_recovered_history_settles_once_under_its_new_identity);
async fn a_recovered_history_settles_once_under_its_new_identity() {
    let server = TestServer::start().await;
    let old = server.enrol("till 1").await;
    let delivered = sales(1, 3);
    server.push(&old, &delivered).await;
    // The diverged till, re-enrolled: its sale 3 reached the back office before, its sale 4
    // never did.
    let new = server.enrol("till 1, recovered").await;
    let never_sent = &sales(4, 1)[0];
    let batch = [
        recovered(&delivered[2], old.id, 1),
        recovered(never_sent, old.id, 2),
    ];
    let (first, _) = server.push(&new, &batch).await;
    assert_eq!(verdicts(&first), ["duplicate", "applied"]);
    assert!(
        matches!(&first.results[0].outcome, Outcome::Duplicate { original }
            if matches!(**original, Outcome::Applied { server_number: Some(3), .. })),
        "answered with the original outcome: {:?}",
        first.results[0].outcome
    );
    let (replay, _) = server.push(&new, &batch).await;
    assert_eq!(verdicts(&replay), ["duplicate", "duplicate"]);

    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        (stats.tickets, stats.duplicates, stats.gaps),
        (4, 0, 0),
        "each sale once: {stats:?}"
    );
    let of = |id: Uuid| {
        stats
            .terminals
            .iter()
            .find(|t| t.terminal_id == id)
            .map(|t| (t.tickets, t.last_seq))
    };
    assert_eq!(of(old.id), Some((3, 3)));
    assert_eq!(of(new.id), Some((1, 2)), "both recovered sequences settled");
    let tickets = server.storage.tickets().await.expect("tickets");
    let recovered_from: Vec<_> = tickets
        .iter()
        .map(|t| (t.number, t.recovered_from))
        .collect();
    assert_eq!(
        recovered_from,
        [(1, None), (2, None), (3, None), (4, Some(old.id))],
        "the back office shows which ticket came from a recovered history"
    );
    server.stop().await;
}

/// A customer created at `seq` and an edit of it queued after it (naming the create as its
/// base), as a till numbers them.
fn created_then_edited(seq: u64) -> [Mutation; 2] {
    let id = Uuid::now_v7();
    let fields = |name: &str| CustomerFields {
        name: name.into(),
        ..CustomerFields::default()
    };
    let created = till_server::sample::mutation(
        seq,
        MutationBody::CustomerCreated(CustomerCreated {
            id,
            fields: fields("Ada"),
        }),
    );
    let edited = till_server::sample::mutation(
        seq + 1,
        MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: 1,
            base: Some(created.id),
            fields: fields("Ada L."),
        }),
    );
    [created, edited]
}

on_both_backends!(a_recovered_edit_applies_on_the_recovered_change_it_was_queued_after);
async fn a_recovered_edit_applies_on_the_recovered_change_it_was_queued_after() {
    let server = TestServer::start().await;
    let old = server.enrol("till 1").await;
    // The old identity delivered one customer's creation, never the other's.
    let [delivered, delivered_edit] = created_then_edited(1);
    let [never_sent, never_sent_edit] = created_then_edited(2);
    server.push(&old, std::slice::from_ref(&delivered)).await;
    let new = server.enrol("till 1, recovered").await;
    let batch = [
        recovered(&delivered, old.id, 1),
        recovered(&delivered_edit, old.id, 2),
        recovered(&never_sent, old.id, 3),
        recovered(&never_sent_edit, old.id, 4),
    ];
    let (response, _) = server.push(&new, &batch).await;
    assert_eq!(
        verdicts(&response),
        ["duplicate", "applied", "applied", "applied"],
        "each edit names its create by the id it was first queued with, and applies whether \
         that create reached the back office before or only now"
    );
    server.stop().await;
}

on_both_backends!(a_withdrawn_mutation_settles_its_sequence_and_stores_nothing);
async fn a_withdrawn_mutation_settles_its_sequence_and_stores_nothing() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = sales(1, 3);
    let body = serde_json::to_vec(&PushRequest {
        terminal_id: t.id,
        mutations: batch.clone(),
        withdraw: vec![batch[1].id],
        head: None,
    })
    .expect("serialises");
    for round in ["first", "replay"] {
        let (status, bytes) = server.push_raw(&t, &body).await;
        assert_eq!(status, StatusCode::OK, "{round}");
        let response: PushResponse = serde_json::from_slice(&bytes).expect("an answer");
        let expected = match round {
            "first" => ["applied", "withdrawn", "applied"],
            _ => ["duplicate", "duplicate", "duplicate"],
        };
        assert_eq!(verdicts(&response), expected, "{round}");
        assert_eq!(response.last_applied_seq, 3, "{round}");
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(
        stats.tickets, 2,
        "nothing of a withdrawn mutation is stored"
    );
    assert!(
        !matches!(&batch[1].body, MutationBody::TicketCreated(t)
            if server.storage.tickets().await.expect("tickets").iter().any(|s| s.id == t.id)),
        "the withdrawn sale is not among the tickets"
    );
    server.stop().await;
}
