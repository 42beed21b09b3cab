//! A full card number never enters the store: however it is written (double spaces, dots), in a
//! card tender's approval reference or in a customer's details, the till refuses it before
//! anything is committed, naming the field and never repeating the number.

mod common;

use common::{cart_of, footprint, open, products, NOW};
use till_core::sync::customers;
use till_core::{tickets, TenderInput};
use till_protocol::CustomerFields;

const WRITTEN: [&str; 4] = [
    "4111  1111  1111  1111",
    "4111.1111.1111.1111",
    "4111 - 1111 - 1111 - 1111",
    "4111/1111/1111/1111",
];

fn customers_and_queue(conn: &rusqlite::Connection) -> (i64, i64) {
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("counts")
    };
    (count("customers"), count("outbox"))
}

#[test]
fn a_card_number_in_an_approval_reference_is_refused_and_nothing_is_journaled() {
    let (_dir, _store, mut conn) = open();
    let p = products(&conn).remove(0);
    for pan in WRITTEN {
        let before = footprint(&conn);
        let tender = vec![TenderInput::Card {
            amount: p.unit_price,
            approval_ref: format!("ref {pan}"),
            last4: None,
        }];
        let err = tickets::commit(&mut conn, &cart_of(&[(&p, 1)]), &tender, None, None, &NOW)
            .expect_err("a card number is never committed");
        assert_eq!(err.code(), "card_number_forbidden", "{pan}");
        assert_eq!(
            footprint(&conn),
            before,
            "{pan}: no ticket, no journal entry, no queued mutation"
        );
    }
}

#[test]
fn a_card_number_in_any_customer_field_is_refused_and_nothing_is_queued() {
    let (_dir, _store, mut conn) = open();
    let ada = || CustomerFields {
        name: "Ada".into(),
        ..CustomerFields::default()
    };
    let before = customers_and_queue(&conn);
    for pan in WRITTEN {
        for (field, fields) in [
            (
                "name",
                CustomerFields {
                    name: format!("Ada {pan}"),
                    ..ada()
                },
            ),
            (
                "email",
                CustomerFields {
                    email: Some(format!("{pan}@example.com")),
                    ..ada()
                },
            ),
            (
                "phone",
                CustomerFields {
                    phone: Some(pan.into()),
                    ..ada()
                },
            ),
            (
                "note",
                CustomerFields {
                    note: Some(format!("paid with {pan}")),
                    ..ada()
                },
            ),
        ] {
            let err = customers::save(&mut conn, None, fields, &NOW)
                .expect_err("a card number is never saved");
            assert_eq!(err.code(), "card_number_in_text", "{field}: {pan}");
            let message = err.to_string();
            assert!(
                message.contains(field) && !message.contains("1111"),
                "the message names the field, not the number: {message}"
            );
        }
    }
    assert_eq!(
        customers_and_queue(&conn),
        before,
        "nothing saved, nothing queued"
    );
    customers::save(&mut conn, None, ada(), &NOW).expect("a customer without one is saved");
}
