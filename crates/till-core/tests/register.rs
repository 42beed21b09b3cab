//! The register's look-ups against the demo catalog: which product an Enter or a scan adds, the
//! product list with its count, and the change due in the store's money.

mod common;

use common::open;
use rusqlite::Connection;
use till_core::register::{self, Lookup, MatchedBy, Resolved};
use till_core::{catalog, ErrorCode};
use uuid::Uuid;

fn lookup(text: &str) -> Lookup {
    Lookup {
        text: text.into(),
        category: None,
        scanned: false,
        highlighted: None,
    }
}

fn resolved(conn: &Connection, l: Lookup) -> Resolved {
    register::resolve(conn, &l).unwrap_or_else(|e| panic!("{:?} finds a product: {e}", l.text))
}

fn refused(conn: &Connection, l: Lookup) -> ErrorCode {
    match register::resolve(conn, &l) {
        Ok(r) => panic!("{:?} must find nothing, found {}", l.text, r.product.name),
        Err(e) => {
            assert!(
                e.to_string().contains(l.text.trim()),
                "the refusal names the text: {e}"
            );
            e.code()
        }
    }
}

fn id_of(conn: &Connection, sku: &str) -> Uuid {
    catalog::by_sku(conn, sku)
        .expect("looks up")
        .expect("the demo catalog has it")
        .id
}

#[test]
fn an_exact_name_wins_over_longer_names_that_contain_it() {
    let (_dir, _store, conn) = open();
    let r = resolved(&conn, lookup("espresso"));
    assert_eq!(
        (r.product.name.as_str(), r.matched),
        ("Espresso", MatchedBy::Name),
        "espresso is the Espresso, not the Double espresso listed first"
    );
    let r = resolved(&conn, lookup("  WHOLE MILK 1L "));
    assert_eq!(
        (r.product.sku.as_str(), r.matched),
        ("DRY-001", MatchedBy::Name)
    );
}

#[test]
fn a_sku_or_barcode_is_found_however_fast_it_was_typed() {
    let (_dir, _store, conn) = open();
    for scanned in [false, true] {
        let r = resolved(
            &conn,
            Lookup {
                scanned,
                ..lookup("PAN-010")
            },
        );
        assert_eq!(
            (r.product.name.as_str(), r.matched),
            ("Baked beans 415g", MatchedBy::Sku)
        );
    }
    assert_eq!(resolved(&conn, lookup("pan-010")).product.sku, "PAN-010");
    let r = resolved(&conn, lookup("5390100000013"));
    assert_eq!(
        (r.product.name.as_str(), r.matched),
        ("Espresso", MatchedBy::Barcode)
    );
}

#[test]
fn otherwise_the_first_result_for_exactly_this_text_or_the_one_highlighted() {
    let (_dir, _store, conn) = open();
    let first = catalog::search(&conn, "milk", None, 1).expect("searches")[0].clone();
    let r = resolved(&conn, lookup("milk"));
    assert_eq!((r.product.id, r.matched), (first.id, MatchedBy::Search));
    assert!(
        r.product.name.to_lowercase().contains("milk"),
        "never a product from another search"
    );

    let whole = id_of(&conn, "DRY-001");
    let r = resolved(
        &conn,
        Lookup {
            highlighted: Some(whole),
            ..lookup("milk")
        },
    );
    assert_eq!((r.product.id, r.matched), (whole, MatchedBy::Highlighted));

    let espresso = id_of(&conn, "HOT-001");
    let r = resolved(
        &conn,
        Lookup {
            highlighted: Some(espresso),
            ..lookup("milk")
        },
    );
    assert_eq!(
        (r.product.id, r.matched),
        (first.id, MatchedBy::Search),
        "a highlight that is not among this text's results is not taken"
    );

    let r = resolved(
        &conn,
        Lookup {
            highlighted: Some(espresso),
            ..lookup("Espresso")
        },
    );
    assert_eq!(r.matched, MatchedBy::Name, "an exact match is taken first");

    let r = resolved(
        &conn,
        Lookup {
            category: Some("Hot drinks".into()),
            ..lookup("milk")
        },
    );
    assert_eq!(
        r.product.category, "Hot drinks",
        "the best hit among the results shown for the category"
    );
}

#[test]
fn nothing_found_says_what_was_looked_for() {
    let (_dir, _store, conn) = open();
    assert_eq!(
        refused(&conn, lookup("4006381333931")),
        ErrorCode::UnknownBarcode
    );
    let scan = Lookup {
        scanned: true,
        ..lookup("PAN-999")
    };
    assert_eq!(refused(&conn, scan), ErrorCode::UnknownCode);
    assert_eq!(refused(&conn, lookup("unicorn")), ErrorCode::NoMatch);
    assert_eq!(
        register::resolve(&conn, &lookup("  "))
            .expect_err("blank")
            .code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn the_product_list_says_how_many_match_beyond_those_shown() {
    let (_dir, _store, conn) = open();
    let active = catalog::active_products(&conn).expect("lists").len() as u64;
    let all = register::products(&conn, "", None, catalog::MAX_SEARCH_RESULTS).expect("lists");
    assert_eq!(all.total, active, "All counts every product on sale");
    assert_eq!(all.products.len() as u64, active, "and shows them all");
    let page = register::products(&conn, "", None, 40).expect("lists");
    assert_eq!((page.products.len(), page.total), (40, active));
    let drinks = register::products(&conn, "", Some("Hot drinks"), 200).expect("lists");
    assert!(drinks.total > 0 && drinks.products.len() as u64 == drinks.total);
    assert!(drinks.products.iter().all(|p| p.category == "Hot drinks"));
}

#[test]
fn a_short_cash_tender_is_refused_in_the_stores_money() {
    let (_dir, _store, conn) = open();
    assert_eq!(
        register::change_due(&conn, 1234, 2000).expect("covers"),
        766
    );
    let e = register::change_due(&conn, 517, 500).expect_err("short");
    assert_eq!(e.code(), ErrorCode::InsufficientTender);
    assert_eq!(e.to_string(), "€5.00 does not cover €5.17");
    assert_eq!(
        register::change_due(&conn, -1, 500)
            .expect_err("negative")
            .code(),
        ErrorCode::InvalidInput
    );
}
