//! The push batch rules of `push.rs`, as specifications: the payload hash under either rule, a
//! replay, a mismatch, a reused or skipped sequence, a recovered or withdrawn mutation, and what a
//! settled batch records and moves.

use sha2::{Digest, Sha256};
use till_protocol::{Mutation, Outcome, Recovered};
use uuid::Uuid;

use super::push::*;
use crate::sample;
use crate::storage::StorageError;

fn applied(server_id: i64) -> Outcome {
    Outcome::Applied {
        server_id,
        server_number: Some(server_id as u64),
        version: 1,
    }
}

/// Runs `batch` through a [`Batch`], applying every mutation the batch lets through with
/// an `applied` outcome numbered in order.
fn settle(
    terminal_id: Uuid,
    last_seq: u64,
    recorded: RecordedBy,
    batch: &[Mutation],
) -> Settlement {
    let batch: Vec<Received> = batch.iter().cloned().map(received).collect();
    settle_received(terminal_id, last_seq, recorded, &batch)
}

fn settle_received(
    terminal_id: Uuid,
    last_seq: u64,
    recorded: RecordedBy,
    batch: &[Received],
) -> Settlement {
    let mut settling = Batch::new(terminal_id, last_seq, recorded);
    for (i, received) in batch.iter().enumerate() {
        if let Next::Apply { hash } = settling.next(received).expect("decides") {
            settling
                .applied(&received.mutation, hash, applied(i as i64 + 1))
                .expect("settles");
        }
    }
    settling.finish()
}

fn received(mutation: Mutation) -> Received {
    Received::from_mutation(mutation).expect("serialises")
}

/// `mutation` as an older terminal might have written it: the same content, its keys in
/// another order than today's structs write them.
fn reordered(mutation: &Mutation) -> Received {
    let value = serde_json::to_value(mutation).expect("serialises");
    let mut keys: Vec<(&String, &serde_json::Value)> =
        value.as_object().expect("an object").iter().collect();
    keys.reverse();
    let body = keys
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::String((*k).clone())))
        .collect::<Vec<_>>()
        .join(",");
    serde_json::from_str(&format!("{{{body}}}")).expect("parses")
}

fn sale(seq: u64) -> Mutation {
    sample::mutation(
        seq,
        till_protocol::MutationBody::TicketCreated(sample::sale(seq)),
    )
}

#[test]
fn the_payload_hash_is_the_sha256_of_the_whole_json_so_stored_hashes_still_match() {
    let mutation = sale(1);
    let whole = serde_json::to_vec(&mutation).expect("serialises");
    assert_eq!(
        reserialised_hash(&mutation).expect("hashes"),
        hex::encode(Sha256::digest(&whole)),
        "the rule before: the whole JSON as the server writes it out"
    );
    assert_eq!(
        payload_hash(&received(mutation)),
        format!("received:{}", hex::encode(Sha256::digest(whole))),
        "the rule now: the bytes received, marked as such"
    );
}

#[test]
fn a_payload_is_hashed_as_received_not_as_todays_structs_write_it() {
    let mutation = sale(1);
    let older = reordered(&mutation);
    assert_eq!(older.mutation, mutation, "the same mutation");
    assert_ne!(
        payload_hash(&older),
        payload_hash(&received(mutation)),
        "other bytes, another hash"
    );
    assert_eq!(
        payload_hash(&older),
        format!(
            "received:{}",
            hex::encode(Sha256::digest(older.json.get().as_bytes()))
        )
    );
}

#[test]
fn a_hash_taken_by_the_rule_before_still_recognises_a_replay() {
    let mutation = sale(1);
    let sent = received(mutation.clone());
    let before = reserialised_hash(&mutation).expect("hashes");
    assert!(
        same_payload(&before, &sent).expect("compares"),
        "a mutation settled before the change replays as a duplicate"
    );
    let older = reordered(&mutation);
    let older_rule = hex::encode(Sha256::digest(older.json.get().as_bytes()));
    assert!(
        same_payload(&older_rule, &older).expect("compares"),
        "a hash an older server took of the bytes its structs wrote matches those bytes"
    );
    assert!(
        !same_payload(&before, &received(sale(2))).expect("compares"),
        "another payload never matches"
    );
    assert!(
        !same_payload(&payload_hash(&sent), &older).expect("compares"),
        "a hash taken as received matches those bytes only"
    );
}

#[test]
fn a_replay_with_the_same_payload_returns_the_stored_outcome() {
    let r = Recorded {
        payload_hash: "h".into(),
        outcome_json: "{}".into(),
    };
    let mine = Known {
        record: &r,
        by_this_terminal: true,
        same_payload: true,
    };
    assert_eq!(classify(Some(mine), 5, 3), Step::Replay("{}".into()));
    let other_payload = Known {
        same_payload: false,
        ..mine
    };
    assert_eq!(classify(Some(other_payload), 5, 3), Step::Mismatch);
    let theirs = Known {
        by_this_terminal: false,
        ..mine
    };
    assert_eq!(
        classify(Some(theirs), 5, 3),
        Step::Mismatch,
        "another terminal's mutation is never this terminal's replay"
    );
}

#[test]
fn sequence_steps_follow_the_last_settled_seq() {
    assert_eq!(classify(None, 5, 5), Step::SeqReused);
    assert_eq!(classify(None, 5, 6), Step::Apply);
    assert_eq!(classify(None, 5, 8), Step::Gap { expected_seq: 6 });
}

#[test]
fn a_batch_applies_in_order_and_records_each_settled_mutation() {
    let terminal = Uuid::now_v7();
    let batch = [sale(1), sale(2)];
    let done = settle(terminal, 0, RecordedBy::new(), &batch);
    assert_eq!(done.outcome.last_applied_seq, 2);
    assert_eq!(done.outcome.results.len(), 2);
    assert_eq!(done.settled.len(), 2, "both mutations are recorded");
    let first = &done.settled[0];
    assert_eq!(first.kind, "ticket_created");
    assert_eq!(first.ticket_number, Some(1));
    assert_eq!(
        first.outcome_json,
        serde_json::to_string(&applied(1)).expect("serialises"),
        "the record keeps the outcome exactly as answered"
    );
}

#[test]
fn after_a_gap_the_rest_of_the_batch_is_a_gap_and_nothing_after_it_applies() {
    let terminal = Uuid::now_v7();
    let batch = [sale(1), sale(3), sale(2)];
    let done = settle(terminal, 0, RecordedBy::new(), &batch);
    let outcomes: Vec<&Outcome> = done.outcome.results.iter().map(|r| &r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            &applied(1),
            &Outcome::Gap { expected_seq: 2 },
            &Outcome::Gap { expected_seq: 2 },
        ],
        "seq 2 after the gap must wait for the terminal to resend in order"
    );
    assert_eq!(done.outcome.last_applied_seq, 1);
    assert_eq!(done.settled.len(), 1, "gaps record nothing");
}

#[test]
fn an_id_sent_twice_in_one_batch_is_a_replay_the_second_time() {
    let terminal = Uuid::now_v7();
    let m = sale(1);
    let done = settle(terminal, 0, RecordedBy::new(), &[m.clone(), m]);
    assert_eq!(
        done.outcome.results[1].outcome,
        Outcome::Duplicate {
            original: Box::new(applied(1))
        }
    );
    assert_eq!(done.settled.len(), 1, "a replay records nothing new");
}

#[test]
fn an_id_recorded_before_replays_or_mismatches_and_settles_nothing() {
    let terminal = Uuid::now_v7();
    let m = sale(1);
    let record = Recorded {
        payload_hash: payload_hash(&received(m.clone())),
        outcome_json: serde_json::to_string(&applied(7)).expect("serialises"),
    };
    let mine = RecordedBy::from([(m.id, (terminal, record.clone()))]);
    let done = settle(terminal, 1, mine, std::slice::from_ref(&m));
    assert_eq!(
        done.outcome.results[0].outcome,
        Outcome::Duplicate {
            original: Box::new(applied(7))
        }
    );
    assert!(done.settled.is_empty());

    let theirs = RecordedBy::from([(m.id, (Uuid::now_v7(), record))]);
    let done = settle(terminal, 0, theirs, &[m]);
    assert!(
        matches!(done.outcome.results[0].outcome, Outcome::Mismatch { .. }),
        "another terminal's id is never applied again"
    );
    assert_eq!(done.outcome.last_applied_seq, 0);
}

/// A rejection's code, else the outcome's kind.
fn statuses(done: &Settlement) -> Vec<&str> {
    fn verdict(o: &Outcome) -> &str {
        match o {
            Outcome::Rejected { code, .. } => code,
            Outcome::Applied { .. } => "applied",
            Outcome::Disputed { .. } => "disputed",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Gap { .. } => "gap",
            Outcome::Conflict { .. } | Outcome::Mismatch { .. } => "refused",
        }
    }
    done.outcome
        .results
        .iter()
        .map(|r| verdict(&r.outcome))
        .collect()
}

#[test]
fn after_a_reused_sequence_nothing_more_of_the_batch_applies() {
    let terminal = Uuid::now_v7();
    let ours = sale(3);
    let recorded = RecordedBy::from([(
        ours.id,
        (
            terminal,
            Recorded {
                payload_hash: payload_hash(&received(ours.clone())),
                outcome_json: serde_json::to_string(&applied(3)).expect("serialises"),
            },
        ),
    )]);
    // The terminal settled up to 5; a copy of its data dir sends its own 4 and 6.
    let done = settle(terminal, 5, recorded, &[sale(4), ours, sale(6), sale(7)]);
    assert_eq!(
        statuses(&done),
        ["seq_reused", "duplicate", "history_diverged", "gap"],
        "a replay is still answered; the next sequence after the reused one is held, and \
         nothing after that settled"
    );
    assert!(
        done.settled.is_empty(),
        "nothing of another history is stored"
    );
    assert_eq!(done.outcome.last_applied_seq, 5);
}

/// A mutation of `terminal` recovered under another identity, at `seq` there.
fn recovered(original: &Mutation, first_terminal: Uuid, seq: u64) -> Mutation {
    let mut m = sample::mutation(seq, original.body.clone());
    m.recovered = Some(Recovered {
        terminal_id: first_terminal,
        mutation_id: original.id,
        seq: original.seq,
        payload_sha256: sha256_hex(&serde_json::to_vec(original).expect("serialises")),
    });
    m
}

#[test]
fn a_recovered_mutation_its_first_terminal_delivered_settles_with_the_original_outcome() {
    let (old, new) = (Uuid::now_v7(), Uuid::now_v7());
    let delivered = sale(10);
    let record = Recorded {
        payload_hash: payload_hash(&received(delivered.clone())),
        outcome_json: serde_json::to_string(&applied(42)).expect("serialises"),
    };
    let recorded = RecordedBy::from([(delivered.id, (old, record.clone()))]);
    let never_sent = sale(11);
    let batch = [
        recovered(&delivered, old, 1),
        recovered(&never_sent, old, 2),
    ];
    let done = settle(new, 0, recorded.clone(), &batch);
    assert_eq!(
        done.outcome.results[0].outcome,
        Outcome::Duplicate {
            original: Box::new(applied(42))
        },
        "delivered before: answered as settled, never applied again"
    );
    assert!(matches!(
        done.outcome.results[1].outcome,
        Outcome::Applied { .. }
    ));
    assert_eq!(
        done.outcome.last_applied_seq, 2,
        "both settle the new sequence"
    );
    let first = &done.settled[0];
    assert_eq!(
        first.outcome_json, record.outcome_json,
        "a replay answers alike"
    );
    assert_eq!(
        (first.ticket_id, first.ticket_number),
        (None, None),
        "it delivered no ticket: stats count none twice"
    );
    assert_eq!(
        done.settled[1].recovered.as_ref().map(|r| r.terminal_id),
        Some(old),
        "where a recovered mutation came from is kept"
    );

    let mut other_payload = recovered(&delivered, old, 1);
    if let Some(r) = other_payload.recovered.as_mut() {
        r.payload_sha256 = "0".repeat(64);
    }
    let mut other_terminal = recovered(&delivered, old, 1);
    if let Some(r) = other_terminal.recovered.as_mut() {
        r.terminal_id = Uuid::now_v7();
    }
    for m in [other_payload, other_terminal] {
        let done = settle(new, 0, recorded.clone(), std::slice::from_ref(&m));
        assert!(
            matches!(done.outcome.results[0].outcome, Outcome::Applied { .. }),
            "not exactly what was delivered: judged as a mutation of its own"
        );
    }
}

#[test]
fn a_recovered_mutations_hash_names_its_bytes_under_either_rule() {
    let raw = sha256_hex(b"{}");
    assert!(hashes_bytes(&format!("{RECEIVED_PREFIX}{raw}"), &raw));
    assert!(hashes_bytes(&raw, &raw), "a hash kept by the rule before");
    assert!(!hashes_bytes(
        &format!("{RECEIVED_PREFIX}{raw}"),
        &sha256_hex(b"[]")
    ));
}

#[test]
fn a_withdrawn_mutation_is_rejected_as_withdrawn() {
    assert!(matches!(
        withdrawn(),
        Outcome::Rejected { ref code, .. } if code == "withdrawn"
    ));
}

#[test]
fn the_same_bytes_sent_again_are_a_replay_whatever_order_their_keys_are_in() {
    let terminal = Uuid::now_v7();
    let older = reordered(&sale(1));
    let done = settle_received(terminal, 0, RecordedBy::new(), std::slice::from_ref(&older));
    let recorded = RecordedBy::from([(
        older.mutation.id,
        (
            terminal,
            Recorded {
                payload_hash: done.settled[0].payload_hash.clone(),
                outcome_json: done.settled[0].outcome_json.clone(),
            },
        ),
    )]);
    let again = settle_received(terminal, 1, recorded, &[older]);
    assert_eq!(
        again.outcome.results[0].outcome,
        Outcome::Duplicate {
            original: Box::new(applied(1))
        }
    );
}

#[test]
fn a_damaged_stored_outcome_is_an_error_of_the_database() {
    let terminal = Uuid::now_v7();
    let m = sale(1);
    let m = received(m);
    let record = Recorded {
        payload_hash: payload_hash(&m),
        outcome_json: "not json".into(),
    };
    let mut batch = Batch::new(
        terminal,
        1,
        RecordedBy::from([(m.mutation.id, (terminal, record))]),
    );
    assert!(matches!(batch.next(&m), Err(StorageError::Corrupt(_))));
}

#[test]
fn stock_moves_are_summed_per_product_over_the_batch() {
    let mut batch = Batch::new(Uuid::now_v7(), 0, RecordedBy::new());
    let sale = sample::sale(1);
    let refund = sample::reversal(till_protocol::TicketKind::Refund, 2, &sale);
    batch.move_stock(&sale);
    batch.move_stock(&sale);
    batch.move_stock(&refund);
    let stock = batch.finish().stock;
    for line in &sale.lines {
        assert_eq!(
            stock[&line.product_id], -line.quantity,
            "two sales less one refund take one sale's goods out"
        );
    }
}
