//! The push chain: the back office accepts each mutation only as the link that follows the one
//! it accepted before, keeps the head a terminal names until the chain reaches it, answers the
//! head it accepted, and refuses a push that breaks the chain whole (`journal_break`), keeping
//! nothing of it. Terminals that queued mutations before the chain existed still sync.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use till_protocol::chain::GENESIS;
use till_protocol::{ChainHead, Mutation, MutationBody, PushRequest, PROTOCOL_REVISION};
use till_server::decide::chain::verify;

fn head_of(m: &Mutation) -> ChainHead {
    ChainHead {
        seq: m.seq,
        link: m.link.clone().expect("linked"),
    }
}

/// Pushes `mutations` naming `head`, as a till of today's revision: the status and the body.
async fn push_naming(
    server: &TestServer,
    terminal: &Terminal,
    mutations: &[Mutation],
    head: Option<ChainHead>,
) -> (StatusCode, serde_json::Value) {
    push_withdrawing(server, terminal, mutations, Vec::new(), head).await
}

/// [`push_naming`], withdrawing the mutations `withdraw` names.
async fn push_withdrawing(
    server: &TestServer,
    terminal: &Terminal,
    mutations: &[Mutation],
    withdraw: Vec<uuid::Uuid>,
    head: Option<ChainHead>,
) -> (StatusCode, serde_json::Value) {
    let body = serde_json::to_vec(&PushRequest {
        terminal_id: terminal.id,
        mutations: mutations.to_vec(),
        withdraw,
        head,
    })
    .expect("serializes");
    let (status, bytes) = server
        .push_raw_as(terminal, &body, Some(PROTOCOL_REVISION))
        .await;
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

/// The same sale with its total lowered by one minor unit: what a tamper leaves.
fn lowered(m: &Mutation) -> Mutation {
    let mut m = m.clone();
    if let MutationBody::TicketCreated(t) = &mut m.body {
        t.totals.total -= 1;
    }
    m
}

on_both_backends!(a_linked_push_is_answered_with_the_head_accepted);
async fn a_linked_push_is_answered_with_the_head_accepted() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = linked(sales(1, 3), GENESIS);
    let (status, answer) = push_naming(&server, &t, &batch, Some(head_of(&batch[2]))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["head"],
        serde_json::to_value(head_of(&batch[2])).expect("JSON"),
        "the head accepted is answered"
    );
    let (older, _) = server
        .push(
            &t,
            &linked(sales(4, 1), &batch[2].link.clone().expect("linked")),
        )
        .await;
    assert_eq!(
        older.head, None,
        "a till of an older revision is not sent the head"
    );
    let stored = server.storage.push_chain(t.id).await.expect("reads");
    let v = verify(&stored);
    assert!(v.ok, "the stored chain holds: {v:?}");
    assert_eq!(v.checked, 4);
    server.stop().await;
}

on_both_backends!(a_link_that_does_not_follow_refuses_the_whole_push);
async fn a_link_that_does_not_follow_refuses_the_whole_push() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = linked(sales(1, 4), GENESIS);
    push_naming(&server, &t, &batch[..2], None).await;
    // Sale 3 lowered after it was linked, its old link kept.
    let tampered = vec![lowered(&batch[2]), batch[3].clone()];
    let (status, answer) = push_naming(&server, &t, &tampered, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "journal_break");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sequence 3"),
        "the message names the sequence: {answer}"
    );
    let terminal = server
        .storage
        .terminal(t.id)
        .await
        .expect("reads")
        .expect("a terminal");
    assert_eq!(
        terminal.last_seq, 2,
        "nothing of the refused push is recorded"
    );
    assert_eq!(server.storage.stats().await.expect("stats").tickets, 2);
    server.stop().await;
}

on_both_backends!(a_tamper_with_every_link_recomputed_misses_the_head_named_before);
async fn a_tamper_with_every_link_recomputed_misses_the_head_named_before() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let honest = linked(sales(1, 5), GENESIS);
    // The first push delivers 1 and 2 and names the till's newest link, 5.
    let (status, _) = push_naming(&server, &t, &honest[..2], Some(head_of(&honest[4]))).await;
    assert_eq!(status, StatusCode::OK);
    // Sale 3 is lowered and every link from it recomputed: each link follows the one before.
    let mut rest = vec![lowered(&honest[2])];
    rest.extend_from_slice(&honest[3..]);
    let rest = linked(rest, &honest[1].link.clone().expect("linked"));
    let renamed = Some(head_of(&rest[2]));
    let (status, answer) = push_naming(&server, &t, &rest, renamed.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "journal_break");
    assert_eq!(
        server.storage.stats().await.expect("stats").tickets,
        2,
        "none of it is stored"
    );
    // Pushing only the lowered sale goes through link by link, but naming the new head at 5
    // contradicts the head named there before.
    let (status, answer) = push_naming(&server, &t, &rest[..1], renamed).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(server.storage.stats().await.expect("stats").tickets, 2);
    let v = verify(&server.storage.push_chain(t.id).await.expect("reads"));
    assert!(v.ok, "the back office's copy holds: {v:?}");
    server.stop().await;
}

on_both_backends!(a_till_whose_queue_predates_the_chain_still_syncs);
async fn a_till_whose_queue_predates_the_chain_still_syncs() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    // Queued before the upgrade: no links.
    let (older, _) = server.push_current(&t, &sales(1, 2)).await;
    assert_eq!(older.head, None, "no chain yet");
    // Queued after it: the chain begins at 3, from GENESIS on the till.
    let batch = linked(sales(3, 2), GENESIS);
    let (status, answer) = push_naming(&server, &t, &batch, Some(head_of(&batch[1]))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["last_applied_seq"], 4);
    // Once begun, a mutation without a link breaks it.
    let (status, answer) = push_naming(&server, &t, &sales(5, 1), None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("journal_break"))
    );
    assert!(verify(&server.storage.push_chain(t.id).await.expect("reads")).ok);
    server.stop().await;
}

on_both_backends!(replays_never_move_the_head_and_withdrawn_mutations_chain_like_the_rest);
async fn replays_never_move_the_head_and_withdrawn_mutations_chain_like_the_rest() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let batch = linked(sales(1, 3), GENESIS);
    let first = push_naming(&server, &t, &batch[..2], Some(head_of(&batch[2]))).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    let replay = push_naming(&server, &t, &batch[..2], Some(head_of(&batch[2]))).await;
    assert_eq!(replay.0, StatusCode::OK, "{}", replay.1);
    assert_eq!(
        replay.1["head"], first.1["head"],
        "a replay answers the same head"
    );
    assert_eq!(first.1["head"]["seq"], 2);
    // The last one is withdrawn: its sequence settles, and its link with it.
    let (status, answer) = push_withdrawing(
        &server,
        &t,
        &batch[2..],
        vec![batch[2].id],
        Some(head_of(&batch[2])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["results"][0]["outcome"]["code"], "withdrawn",
        "{answer}"
    );
    assert_eq!(
        answer["head"],
        serde_json::to_value(head_of(&batch[2])).expect("JSON")
    );
    let v = verify(&server.storage.push_chain(t.id).await.expect("reads"));
    assert_eq!((v.ok, v.checked), (true, 3), "{v:?}");
    server.stop().await;
}

on_both_backends!(a_terminal_reanchored_by_hand_anchors_its_next_push_afresh);
async fn a_terminal_reanchored_by_hand_anchors_its_next_push_afresh() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let first = linked(sales(1, 2), GENESIS);
    push_naming(&server, &t, &first, None).await;
    // A till whose chain began again (a store rebuilt without its links): refused...
    let again = linked(sales(3, 2), GENESIS);
    let (status, answer) = push_naming(&server, &t, &again, Some(head_of(&again[1]))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "journal_break");
    // ...until a person reanchors it: its next push is taken as the chain's new anchor.
    let record = server
        .storage
        .reanchor_terminal(t.id)
        .await
        .expect("reanchors");
    assert_eq!(
        record.last_seq, 2,
        "what the back office holds is unchanged"
    );
    let (status, answer) = push_naming(&server, &t, &again, Some(head_of(&again[1]))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["head"],
        serde_json::to_value(head_of(&again[1])).expect("JSON")
    );
    assert_eq!(server.storage.stats().await.expect("stats").tickets, 4);
    let unknown = server.storage.reanchor_terminal(uuid::Uuid::now_v7()).await;
    assert!(unknown.is_err(), "an unknown terminal is named as such");
    server.stop().await;
}
