//! Payload formats: a push carries mutations queued by tills of several releases, and the back
//! office applies every format it accepts and refuses the others, one by one.

#[macro_use]
mod common;

use common::*;
use till_protocol::{Mutation, MutationResult, Outcome, OLDEST_PAYLOAD_FORMAT, PAYLOAD_FORMAT};

/// `count` sales from `first`, each queued in `format` (`None`: no `format` field, format 1).
fn sales_in(first: u64, count: u64, format: Option<u32>) -> Vec<Mutation> {
    let mut batch = sales(first, count);
    for mutation in &mut batch {
        mutation.format = format;
    }
    batch
}

fn assert_applied(result: &MutationResult, why: &str) {
    assert!(
        matches!(result.outcome, Outcome::Applied { .. }),
        "seq {} {why}: {:?}",
        result.seq,
        result.outcome
    );
}

on_both_backends!(payloads_of_every_accepted_format_are_applied_in_one_push);
async fn payloads_of_every_accepted_format_are_applied_in_one_push() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut batch = sales_in(1, 1, None);
    batch.extend(sales_in(2, 1, Some(OLDEST_PAYLOAD_FORMAT)));
    batch.extend(sales_in(3, 1, Some(PAYLOAD_FORMAT)));
    let body = push_body(&t, &batch);
    let sent: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert!(
        sent["mutations"][0].get("format").is_none(),
        "a format 1 payload, as tills queued before formats were numbered: {sent}"
    );

    let (response, _) = server.push(&t, &batch).await;
    for result in &response.results {
        assert_applied(
            result,
            "is applied, whichever accepted format it was queued in",
        );
    }
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 3, "every accepted format stores its sale");
    server.stop().await;
}

on_both_backends!(a_format_out_of_range_is_rejected_alone_and_its_retry_is_applied);
async fn a_format_out_of_range_is_rejected_alone_and_its_retry_is_applied() {
    let server = TestServer::start().await;
    let t = server.enrol("till 1").await;
    let mut batch = sales_in(1, 1, Some(99));
    batch.extend(sales_in(2, 1, Some(0)));
    batch.extend(sales_in(3, 1, Some(PAYLOAD_FORMAT)));

    let (response, _) = server.push(&t, &batch).await;
    for (result, format) in response.results.iter().zip([99, 0]) {
        match &result.outcome {
            Outcome::Rejected { code, message } => {
                assert_eq!(code, "unsupported_format");
                assert!(
                    message.contains(&format!("payload format {format} "))
                        && message.contains(&format!(
                            "accepts formats {OLDEST_PAYLOAD_FORMAT} to {PAYLOAD_FORMAT}"
                        )),
                    "the message names the format and what is accepted: {message}"
                );
            }
            other => panic!("format {format} must be refused, got {other:?}"),
        }
    }
    assert_applied(
        &response.results[2],
        "is applied: a refused format blocks nothing after it",
    );
    assert_eq!(response.last_applied_seq, 3, "a refusal settles its seq");

    // The till retries the refused sale from its failed list, queued in today's format.
    let mut retry = sales_in(4, 1, Some(PAYLOAD_FORMAT));
    retry[0].body = batch[0].body.clone();
    let (response, _) = server.push(&t, &retry).await;
    assert_applied(&response.results[0], "(the retry) is applied");
    let stats = server.storage.stats().await.expect("stats");
    assert_eq!(stats.tickets, 2, "sales 1 (retried) and 3 are stored");
    assert_eq!(stats.duplicates, 0, "a refused format stored nothing");
    server.stop().await;
}
