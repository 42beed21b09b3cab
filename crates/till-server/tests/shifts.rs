//! Shifts as tills push them: opened, cash moved, closed with the Z report, which the back office
//! reconciles with the tickets and cash movements it holds for the shift. Who rang up a ticket
//! and who approved it are kept with it.

#[macro_use]
mod common;

use common::*;
use till_protocol::shift::CashMovementKind;
use till_protocol::{
    Approval, ApprovalAction, ConflictCurrent, ConflictReason, Mutation, MutationBody, Operator,
    Outcome, Ticket, TicketKind,
};
use till_server::sample;
use uuid::Uuid;

/// A sale numbered `number`, rung up by `by` in shift `shift_id`.
fn sale_in(shift_id: Uuid, number: u64, by: &Operator) -> Ticket {
    let mut sale = sample::sale(number);
    sale.shift_id = Some(shift_id);
    sale.operator = Some(by.clone());
    sale
}

/// `bodies` as mutations numbered from `first`, each made by `by`.
fn mutations(first: u64, by: &Operator, bodies: Vec<MutationBody>) -> Vec<Mutation> {
    bodies
        .into_iter()
        .zip(first..)
        .map(|(body, seq)| {
            let mut m = sample::mutation(seq, body);
            m.operator = Some(by.clone());
            m
        })
        .collect()
}

on_both_backends!(a_shift_whose_tickets_and_cash_the_back_office_holds_matches);
async fn a_shift_whose_tickets_and_cash_the_back_office_holds_matches() {
    let server = TestServer::start().await;
    let till = server.enrol("till A").await;
    let ada = sample::operator("Ada");
    let grace = sample::operator("Grace");
    let opened = sample::shift_opened(1, 10_000, &ada);
    let sales = [
        sale_in(opened.shift_id, 1, &ada),
        sale_in(opened.shift_id, 2, &ada),
    ];
    let mut refund = sample::reversal(TicketKind::Refund, 3, &sales[0]);
    refund.approval = Some(Approval {
        by: grace.clone(),
        action: ApprovalAction::Refund,
        reason: "damaged".into(),
    });
    let cash_in = sample::cash_moved(opened.shift_id, CashMovementKind::CashIn, 2_000, &ada);
    let rung = [sales[0].clone(), sales[1].clone(), refund.clone()];
    let counted =
        10_000 + 2_000 + sales[0].totals.total + sales[1].totals.total - refund.totals.total - 50;
    let closed = sample::shift_closed(&opened, &rung, std::slice::from_ref(&cash_in), counted);
    assert_eq!(closed.difference, -50, "the drawer is 50 short");
    let batch = mutations(
        1,
        &ada,
        vec![
            MutationBody::ShiftOpened(opened.clone()),
            MutationBody::TicketCreated(sales[0].clone()),
            MutationBody::CashMoved(cash_in),
            MutationBody::TicketCreated(sales[1].clone()),
            MutationBody::TicketRefunded(refund.clone()),
            MutationBody::ShiftClosed(closed.clone()),
        ],
    );
    let (response, raw) = server.push_current(&till, &batch).await;
    for (i, result) in response.results.iter().enumerate() {
        assert!(
            matches!(result.outcome, Outcome::Applied { .. }),
            "mutation {} applies: {:?}",
            i + 1,
            result.outcome
        );
    }
    let (replayed, raw_again) = server.push_current(&till, &batch[5..]).await;
    assert!(matches!(
        replayed.results[0].outcome,
        Outcome::Duplicate { .. }
    ));
    assert_eq!(
        original_bytes(&raw_outcomes(&raw_again)[0]),
        raw_outcomes(&raw)[5],
        "a replayed close answers its first outcome"
    );

    let shifts = server.storage.shifts(None).await.expect("shifts");
    assert_eq!(shifts.len(), 1);
    let shift = &shifts[0];
    assert_eq!(shift.state, "matched");
    assert_eq!((shift.terminal_id, shift.z_number), (till.id, 1));
    assert_eq!(shift.opened_by, ada);
    assert_eq!(shift.closed_by.as_ref(), Some(&ada));
    assert_eq!(shift.float, 10_000);
    assert_eq!(shift.expected_cash, Some(closed.figures.expected_cash));
    assert_eq!(
        (shift.counted_cash, shift.difference),
        (Some(counted), Some(-50))
    );
    assert_eq!(shift.mismatch, None);

    let tickets = server.storage.tickets().await.expect("tickets");
    let stored_refund = tickets.iter().find(|t| t.id == refund.id).expect("refund");
    assert_eq!(
        stored_refund.operator.as_ref(),
        Some(&ada),
        "who rang it up"
    );
    assert_eq!(
        stored_refund.approval.as_ref().map(|a| &a.by),
        Some(&grace),
        "who approved it"
    );
    assert_eq!(stored_refund.shift_id, Some(opened.shift_id));
    server.stop().await;
}

on_both_backends!(a_shift_missing_a_ticket_the_back_office_refused_is_a_mismatch_naming_it);
async fn a_shift_missing_a_ticket_the_back_office_refused_is_a_mismatch_naming_it() {
    let server = TestServer::start().await;
    let till = server.enrol("till A").await;
    let ada = sample::operator("Ada");
    let opened = sample::shift_opened(4, 5_000, &ada);
    let good = sale_in(opened.shift_id, 1, &ada);
    let mut refused = sale_in(opened.shift_id, 2, &ada);
    let closed = sample::shift_closed(
        &opened,
        &[good.clone(), refused.clone()],
        &[],
        5_000 + good.totals.total + refused.totals.total,
    );
    refused.totals.total += 1;
    let batch = mutations(
        1,
        &ada,
        vec![
            MutationBody::ShiftOpened(opened.clone()),
            MutationBody::TicketCreated(good),
            MutationBody::TicketCreated(refused.clone()),
            MutationBody::ShiftClosed(closed),
        ],
    );
    let (response, _) = server.push_current(&till, &batch).await;
    assert_eq!(code(&response.results[2].outcome), "totals_mismatch");
    let mismatch = match &response.results[3].outcome {
        Outcome::Conflict {
            reason: ConflictReason::ShiftMismatch,
            current: Some(ConflictCurrent::Shift(mismatch)),
        } => mismatch.clone(),
        other => panic!("a close missing a ticket is a shift mismatch, got {other:?}"),
    };
    assert_eq!(
        mismatch.missing_tickets,
        vec![2],
        "the refused ticket is named"
    );
    let sales = mismatch
        .differences
        .iter()
        .find(|d| d.figure == "sales")
        .expect("the sales differ");
    assert_eq!(sales.till - sales.back_office, refused.totals.total - 1);

    let shifts = server.storage.shifts(Some(till.id)).await.expect("shifts");
    assert_eq!(
        shifts[0].state, "mismatch",
        "the close is kept, as a mismatch"
    );
    assert_eq!(shifts[0].mismatch.as_ref(), Some(&mismatch));
    assert!(
        server
            .storage
            .shifts(Some(Uuid::now_v7()))
            .await
            .expect("shifts")
            .is_empty(),
        "another terminal has no shifts"
    );
    server.stop().await;
}

on_both_backends!(shift_mutations_name_a_known_open_shift_of_their_own_till);
async fn shift_mutations_name_a_known_open_shift_of_their_own_till() {
    let server = TestServer::start().await;
    let a = server.enrol("till A").await;
    let b = server.enrol("till B").await;
    let ada = sample::operator("Ada");
    let opened = sample::shift_opened(1, 0, &ada);
    let unknown = sample::shift_opened(2, 0, &ada);
    let move_cash = |shift_id, kind, amount| {
        MutationBody::CashMoved(sample::cash_moved(shift_id, kind, amount, &ada))
    };
    let batch = mutations(
        1,
        &ada,
        vec![
            MutationBody::ShiftOpened(opened.clone()),
            MutationBody::ShiftOpened(opened.clone()),
            move_cash(opened.shift_id, CashMovementKind::CashOut, -1),
            move_cash(opened.shift_id, CashMovementKind::NoSale, 5),
            MutationBody::ShiftClosed(sample::shift_closed(&unknown, &[], &[], 0)),
            MutationBody::ShiftClosed(sample::shift_closed(&opened, &[], &[], 0)),
            move_cash(opened.shift_id, CashMovementKind::CashIn, 100),
        ],
    );
    let (response, _) = server.push_current(&a, &batch).await;
    let codes: Vec<&str> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Applied { .. } => "applied",
            other => code(other),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "applied",
            "shift_exists",
            "invalid_amount",
            "invalid_amount",
            "unknown_shift",
            "applied",
            "shift_closed"
        ]
    );
    let (response, _) = server
        .push_current(
            &b,
            &mutations(
                1,
                &ada,
                vec![move_cash(opened.shift_id, CashMovementKind::CashIn, 1)],
            ),
        )
        .await;
    assert_eq!(code(&response.results[0].outcome), "not_your_shift");
    server.stop().await;
}
