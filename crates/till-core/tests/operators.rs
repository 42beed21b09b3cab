//! Operators and approvals on a till with employees: every ticket names who rang it up, and a
//! void, a refund, a discount above the limit and a price override need a manager's PIN.

mod common;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use common::*;
use rusqlite::Connection;
use till_core::approvals::{self, Needed};
use till_core::outbox::OutboxState;
use till_core::sync::failed;
use till_core::tickets::{self, view, RefundLine};
use till_core::Cart;
use till_core::{employees, journal, outbox, settings, signin, ErrorCode, TenderInput};
use till_protocol::pricing::Discount;
use till_protocol::{ApprovalAction, Mutation, Operator, Role, Ticket};
use uuid::Uuid;

const CASHIER_PIN: &str = "1111";
const MANAGER_PIN: &str = "9999";

fn hashed(pin: &str) -> String {
    // Light parameters: the till reads them from the hash, and tests need not be slow.
    let params = Params::new(1024, 1, 1, None).expect("params");
    let salt = SaltString::encode_b64(Uuid::now_v7().as_bytes()).expect("a salt");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(pin.as_bytes(), &salt)
        .expect("hashes")
        .to_string()
}

fn hire(conn: &Connection, name: &str, role: Role, pin: &str) {
    employees::upsert(
        conn,
        &till_protocol::Employee {
            id: Uuid::now_v7(),
            name: name.into(),
            role,
            pin_hash: hashed(pin),
            disabled: false,
        },
    )
    .expect("hires");
}

/// A till with a cashier (Cara) and a manager (Mona), and a shift Mona opened: its mutation
/// is the first queued, so the first sale's is [`FIRST_SALE_SEQ`].
fn staffed() -> (tempfile::TempDir, till_core::Store, Connection) {
    let (dir, store, mut conn) = open();
    hire(&conn, "Cara", Role::Cashier, CASHIER_PIN);
    hire(&conn, "Mona", Role::Manager, MANAGER_PIN);
    let mona = signed_in(&mut conn, MANAGER_PIN).expect("a manager");
    till_core::shifts::open(&mut conn, &mona, 0, &NOW).expect("opens a shift");
    (dir, store, conn)
}

const FIRST_SALE_SEQ: u64 = 2;

fn cash(tendered: i64) -> Vec<TenderInput> {
    vec![TenderInput::Cash { tendered }]
}

/// Sells `cart` for cash, rung up by `operator`, without an approval.
fn sell(conn: &mut Connection, cart: &Cart, operator: Option<Operator>) -> Ticket {
    tickets::commit(conn, cart, &cash(1_000_000), operator, None, &NOW).expect("sells")
}

fn signed_in(conn: &mut Connection, pin: &str) -> Option<Operator> {
    signin::operator(conn, Some(pin), &NOW).expect("signs in")
}

fn sent(conn: &Connection, seq: u64) -> Mutation {
    let entry = outbox::get(conn, seq).expect("reads").expect("queued");
    serde_json::from_slice(&entry.payload).expect("a mutation")
}

#[test]
fn a_sale_names_who_rang_it_up_here_in_the_journal_and_on_the_wire() {
    let (_dir, _store, mut conn) = staffed();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 2)]);
    let err = tickets::commit(&mut conn, &cart, &cash(1_000_000), None, None, &NOW)
        .expect_err("nobody signed in");
    assert_eq!(err.code(), ErrorCode::PinRequired);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    let sale = sell(&mut conn, &cart, cara.clone());
    assert_eq!(sale.operator, cara);
    assert_eq!(sale.approval, None, "a plain sale needs no approval");
    assert_eq!(
        tickets::load(&conn, sale.id).expect("loads"),
        Some(sale.clone()),
        "rebuilt from its rows with its operator"
    );
    let mutation = sent(&conn, FIRST_SALE_SEQ);
    assert_eq!(mutation.operator, cara, "the mutation is the cashier's");
    assert!(journal::verify(&mut conn).expect("verifies").holds());
    let listed = tickets::list(&conn, 10, None).expect("lists");
    assert_eq!(listed[0].operator, cara);
    let shown = view::recent(&conn, 10, false, &NOW).expect("lists");
    assert_eq!(shown[0].operator, cara, "the app's list names the operator");
}

#[test]
fn a_till_without_employees_records_no_one_as_before() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let cart = cart_of(&[(&ps[0], 1)]);
    let sale = sell(&mut conn, &cart, None);
    let json = serde_json::to_value(&sale).expect("serializes");
    assert!(
        json.get("operator").is_none() && json.get("approval").is_none(),
        "absent, so the ticket hashes exactly as before employees"
    );
    let void = tickets::void(&mut conn, sale.id, None, None, &NOW).expect("no approval needed");
    assert_eq!(void.approval, None);
}

#[test]
fn a_void_needs_a_managers_approval_even_when_a_manager_rings_it_up() {
    let (_dir, _store, mut conn) = staffed();
    let ps = products(&conn);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    let sale = sell(&mut conn, &cart_of(&[(&ps[0], 1)]), cara.clone());
    let mona = signed_in(&mut conn, MANAGER_PIN);
    let err = tickets::void(&mut conn, sale.id, mona.clone(), None, &NOW)
        .expect_err("the manager's sign-in is no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    assert_eq!(
        err.to_string(),
        format!(
            "void needs a manager's approval: void of ticket {}",
            sale.number
        )
    );
    let needed = Needed::void(sale.number);
    let err = approvals::obtain(&mut conn, Some(&needed), Some(CASHIER_PIN), &NOW)
        .expect_err("a cashier cannot approve");
    assert_eq!(err.code(), ErrorCode::NotAManager);
    let approval = approvals::obtain(&mut conn, Some(&needed), Some(MANAGER_PIN), &NOW)
        .expect("the manager approves");
    let void =
        tickets::void(&mut conn, sale.id, cara.clone(), approval.clone(), &NOW).expect("voids");
    assert_eq!(void.operator, cara);
    let recorded = void.approval.clone().expect("recorded");
    assert_eq!(
        (recorded.by.name.as_str(), recorded.action),
        ("Mona", ApprovalAction::Void)
    );
    assert_eq!(tickets::load(&conn, void.id).expect("loads"), Some(void));
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn refunds_need_approval_and_the_detail_shows_what_is_left() {
    let (_dir, _store, mut conn) = staffed();
    let ps = products(&conn);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    let sale = sell(
        &mut conn,
        &cart_of(&[(&ps[0], 3), (&ps[1], 1)]),
        cara.clone(),
    );
    let one = [RefundLine {
        line_no: 1,
        quantity: 1,
    }];
    let err = tickets::refund(&mut conn, sale.id, &one, cara.clone(), None, &NOW)
        .expect_err("no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    let approve = |conn: &mut Connection| {
        approvals::obtain(
            conn,
            Some(&Needed::refund(sale.number)),
            Some(MANAGER_PIN),
            &NOW,
        )
        .expect("approves")
    };
    let approval = approve(&mut conn);
    let first = tickets::refund(&mut conn, sale.id, &one, cara.clone(), approval, &NOW)
        .expect("refunds one");
    assert_eq!(
        first.approval.map(|a| a.action),
        Some(ApprovalAction::Refund)
    );
    let approval = approve(&mut conn);
    let err = tickets::void(&mut conn, sale.id, cara.clone(), approval, &NOW)
        .expect_err("part of it came back already");
    assert_eq!(err.code(), ErrorCode::AlreadyReversed);
    let detail = view::detail_by_code(&conn, &sale.number.to_string()).expect("finds it");
    let left: Vec<(i64, i64)> = detail
        .lines
        .iter()
        .map(|l| (l.refunded_quantity, l.left_to_refund))
        .collect();
    assert_eq!(left, vec![(1, 2), (0, 1)]);
    assert_eq!(detail.reversals, vec![first.id]);
    assert_eq!(detail.operator, cara);
}

#[test]
fn a_discount_above_the_limit_or_a_price_override_needs_a_manager() {
    let (_dir, _store, mut conn) = staffed();
    let ps = products(&conn);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    let mut cart = cart_of(&[(&ps[0], 1)]);
    cart.lines[0].discount = Some(Discount::Percent { bp: 2000 });
    assert_eq!(approvals::for_cart(&conn, &cart).expect("judges"), None);
    sell(&mut conn, &cart, cara.clone());

    cart.lines[0].discount = Some(Discount::Percent { bp: 2500 });
    let needed = approvals::for_cart(&conn, &cart)
        .expect("judges")
        .expect("25 % is above it");
    assert_eq!(needed.action, ApprovalAction::Discount);
    let err = tickets::commit(&mut conn, &cart, &cash(1_000_000), cara.clone(), None, &NOW)
        .expect_err("no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    let approval =
        approvals::obtain(&mut conn, Some(&needed), Some(MANAGER_PIN), &NOW).expect("approves");
    let sale = tickets::commit(
        &mut conn,
        &cart,
        &cash(1_000_000),
        cara.clone(),
        approval,
        &NOW,
    )
    .expect("sells with the approval");
    assert_eq!(
        sale.approval.map(|a| (a.action, a.reason)),
        Some((ApprovalAction::Discount, needed.reason))
    );
    let err = settings::set_discount_approval_above_pct(&conn, 30, cara.as_ref(), None)
        .expect_err("a cashier cannot raise the limit alone");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    let raise = Needed::discount_limit(30);
    let approval =
        approvals::obtain(&mut conn, Some(&raise), Some(MANAGER_PIN), &NOW).expect("approves");
    settings::set_discount_approval_above_pct(&conn, 30, cara.as_ref(), approval)
        .expect("raises the limit");
    assert_eq!(approvals::for_cart(&conn, &cart).expect("judges"), None);

    let mut cart = cart_of(&[(&ps[0], 2)]);
    cart.lines[0].unit_price = Some(ps[0].unit_price / 2);
    let needed = approvals::for_cart(&conn, &cart)
        .expect("judges")
        .expect("an override");
    assert_eq!(needed.action, ApprovalAction::PriceOverride);
    let err = tickets::commit(&mut conn, &cart, &cash(1_000_000), cara.clone(), None, &NOW)
        .expect_err("no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    let approval =
        approvals::obtain(&mut conn, Some(&needed), Some(MANAGER_PIN), &NOW).expect("approves");
    let sale = tickets::commit(&mut conn, &cart, &cash(1_000_000), cara, approval, &NOW)
        .expect("sells at the new price");
    assert_eq!(
        sale.lines[0].unit_price,
        ps[0].unit_price / 2,
        "the line records the price charged"
    );
    assert!(journal::verify(&mut conn).expect("verifies").holds());
}

#[test]
fn a_sale_is_found_by_its_number_its_id_or_its_receipt_barcode() {
    let (_dir, _store, mut conn) = open();
    let ps = products(&conn);
    let sale = sell(&mut conn, &cart_of(&[(&ps[0], 1)]), None);
    for code in [
        sale.number.to_string(),
        format!("#{}", sale.number),
        sale.id.to_string(),
        tickets::receipt_code(&sale),
        format!(" {} ", sale.id.simple()),
    ] {
        assert_eq!(
            tickets::lookup(&conn, &code).expect("finds").id,
            sale.id,
            "{code}"
        );
    }
    for missing in ["999", "not a ticket", &Uuid::now_v7().to_string()] {
        assert_eq!(
            tickets::lookup(&conn, missing).expect_err(missing).code(),
            ErrorCode::TicketNotFound
        );
    }
}

#[test]
fn a_failed_item_is_retried_as_the_operators_and_discarded_only_with_a_managers_approval() {
    let (_dir, _store, mut conn) = staffed();
    let ps = products(&conn);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    sell(&mut conn, &cart_of(&[(&ps[0], 1)]), cara.clone());
    sell(&mut conn, &cart_of(&[(&ps[1], 1)]), cara.clone());
    for seq in [FIRST_SALE_SEQ, FIRST_SALE_SEQ + 1] {
        outbox::set_state(
            &conn,
            seq,
            OutboxState::Failed,
            None,
            Some("totals_mismatch: off by 1"),
            1,
        )
        .expect("fails");
    }
    let err = failed::retry(&mut conn, FIRST_SALE_SEQ, "tillctl", None, &NOW)
        .expect_err("nobody signed in");
    assert_eq!(err.code(), ErrorCode::PinRequired);
    let mona = signed_in(&mut conn, MANAGER_PIN);
    let new_seq =
        failed::retry(&mut conn, FIRST_SALE_SEQ, "tillctl", mona.as_ref(), &NOW).expect("retries");
    assert_eq!(
        sent(&conn, new_seq).operator,
        mona,
        "queued again as the manager's"
    );

    let err = failed::discard(
        &mut conn,
        FIRST_SALE_SEQ + 1,
        "typo",
        "tillctl",
        cara.as_ref(),
        None,
        &NOW,
    )
    .expect_err("no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    let approval = approvals::obtain(
        &mut conn,
        Some(&Needed::discard(FIRST_SALE_SEQ + 1)),
        Some(MANAGER_PIN),
        &NOW,
    )
    .expect("approves");
    failed::discard(
        &mut conn,
        FIRST_SALE_SEQ + 1,
        "typo",
        "tillctl",
        cara.as_ref(),
        approval,
        &NOW,
    )
    .expect("discards");
    let (actor, approved): (String, String) = conn
        .query_row(
            "SELECT actor, approval FROM outbox_actions WHERE seq = ?1",
            [FIRST_SALE_SEQ + 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("recorded");
    let approved: till_protocol::Approval = serde_json::from_str(&approved).expect("an approval");
    assert_eq!(actor, "Cara", "the operator's name, not --by");
    assert_eq!(
        (approved.by.name.as_str(), approved.action),
        ("Mona", ApprovalAction::DiscardFailed)
    );
}

#[test]
fn exporting_the_queue_takes_a_managers_approval_and_is_an_event_of_the_journal() {
    use till_core::queue_export::{self, ExportBy};
    use till_protocol::bundle::{Bundle, BundleContent};

    let (dir, store, mut conn) = staffed();
    let terminal = Uuid::now_v7();
    conn.execute(
        "UPDATE sync_state SET server_url = 'http://127.0.0.1:1', token = 'till_t',
         terminal_id = ?1 WHERE id = 1",
        [terminal.to_string()],
    )
    .expect("enrols");
    let ps = products(&conn);
    let cara = signed_in(&mut conn, CASHIER_PIN);
    sell(&mut conn, &cart_of(&[(&ps[0], 1)]), cara.clone());
    let out = dir.path().join("queue.json");
    let by = |approval| ExportBy {
        actor: "tillctl",
        operator: cara.as_ref(),
        approval,
    };

    let err = queue_export::export(&mut conn, store.data_dir(), &out, false, by(None), &NOW)
        .expect_err("no approval");
    assert_eq!(err.code(), ErrorCode::ApprovalRequired);
    assert!(!out.exists(), "nothing is written without the approval");
    let approval = approvals::obtain(
        &mut conn,
        Some(&Needed::export_queue()),
        Some(MANAGER_PIN),
        &NOW,
    )
    .expect("approves");
    let exported =
        queue_export::export(&mut conn, store.data_dir(), &out, false, by(approval), &NOW)
            .expect("exports");
    assert_eq!(
        (exported.mutations, exported.first_seq, exported.last_seq),
        (2, 1, FIRST_SALE_SEQ),
        "the shift and the sale, in order"
    );
    assert!(
        !exported.key_registered,
        "never acknowledged by a back office"
    );
    assert_eq!(
        outbox::counts(&conn).expect("counts").pending,
        2,
        "the mutations stay queued"
    );

    let file: Bundle =
        serde_json::from_slice(&std::fs::read(&out).expect("reads")).expect("a bundle");
    let content: BundleContent<Mutation> =
        serde_json::from_str(file.signed.get()).expect("its content");
    assert_eq!(content.terminal_id, terminal);
    assert_eq!(
        content.mutations[1],
        sent(&conn, FIRST_SALE_SEQ),
        "exactly as queued"
    );
    let key = till_core::terminal_key::load(store.data_dir())
        .expect("reads")
        .expect("made by the export");
    let public = hex::decode(key.public_hex()).expect("hex");
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
        .verify(
            file.signed.get().as_bytes(),
            &hex::decode(&file.signature).expect("hex"),
        )
        .expect("signed by the terminal's key");

    let events: Vec<String> = conn
        .prepare("SELECT event FROM journal WHERE event IS NOT NULL ORDER BY position")
        .expect("prepares")
        .query_map([], |r| r.get(0))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("reads");
    let Some(journal::Event::QueueExported(recorded)) = events
        .last()
        .map(|e| serde_json::from_str(e).expect("an event"))
    else {
        panic!("the export is the journal's last event: {events:?}");
    };
    assert_eq!((recorded.mutations, recorded.actor.as_str()), (2, "Cara"));
    assert_eq!(
        recorded.approval.map(|a| (a.by.name, a.action)),
        Some(("Mona".to_string(), ApprovalAction::ExportQueue))
    );
    assert!(journal::verify(&mut conn).expect("verifies").holds());

    let again = queue_export::export(&mut conn, store.data_dir(), &out, false, by(None), &NOW);
    assert!(again.is_err(), "an existing file is not replaced silently");
}
