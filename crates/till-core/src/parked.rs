//! Sales that are not rung up yet: the one in progress at the register, saved on every change so
//! a crash or a restart of the app brings it back, and sales the cashier parked to serve someone
//! else first, each recalled once. Both keep the cart as the register holds it ([`SaleDraft`]),
//! never figures: a sale brought back is priced again against the catalog as it is then.
//!
//! This module is the only writer of `parked_sales` and `current_sale`.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use till_protocol::pricing::Discount;
use till_protocol::Operator;
use uuid::Uuid;

use crate::cart::Cart;
use crate::catalog;
use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::register::{self, ProductView};

/// Longest label of a parked sale, in characters.
pub const MAX_LABEL_CHARS: usize = 40;

/// A sale as the register holds it: the cart the core prices, and the customer's name the
/// register shows beside it (the cart only names the customer by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SaleDraft {
    pub cart: Cart,
    #[serde(default)]
    pub customer_name: Option<String>,
}

/// One line of a sale brought back, with its product as the catalog holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoredLine {
    pub product: ProductView,
    pub quantity: i64,
    pub discount: Option<Discount>,
    /// The price a manager approved in place of the catalog's, if any (approved again at
    /// payment, as any override).
    pub unit_price: Option<i64>,
}

/// A sale brought back to the register: the sale in progress after a restart, or a recalled
/// parked sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoredSale {
    pub lines: Vec<RestoredLine>,
    pub ticket_discount: Option<Discount>,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    /// Lines left out because their product is no longer in the catalog.
    pub dropped_lines: u32,
}

/// A parked sale as the list of parked sales shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParkedSale {
    pub id: Uuid,
    /// What the cashier called it; may be empty.
    pub label: String,
    pub parked_at_ms: i64,
    /// Who parked it; `None` on a till without employees.
    pub parked_by: Option<Operator>,
    /// How many lines the sale has.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub lines: usize,
    pub customer_name: Option<String>,
}

/// A label as entered: trimmed, one line, at most [`MAX_LABEL_CHARS`], and no card number.
pub fn check_label(label: &str) -> Result<&str> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(CoreError::InvalidValue(format!(
            "a parked sale's label is at most {MAX_LABEL_CHARS} characters"
        )));
    }
    till_protocol::text::check("the label", label, till_protocol::text::Lines::One)
        .map_err(|e| CoreError::InvalidValue(e.to_string()))?;
    if till_protocol::card::looks_like_card_number(label) {
        return Err(CoreError::CardNumberInText {
            field: "the label".into(),
        });
    }
    Ok(label)
}

/// Sets `draft` aside under `label`, by `by`, and empties the register's sale in progress, in one
/// transaction. An empty cart is refused (`empty_cart`): there is nothing to come back to.
pub fn park(
    conn: &mut Connection,
    draft: &SaleDraft,
    label: &str,
    by: Option<Operator>,
    clock: &dyn Clock,
) -> Result<ParkedSale> {
    if draft.cart.lines.is_empty() {
        return Err(till_protocol::pricing::PricingError::EmptyCart.into());
    }
    let label = check_label(label)?.to_owned();
    let parked = ParkedSale {
        id: Uuid::now_v7(),
        label,
        parked_at_ms: clock.now_ms(),
        parked_by: by,
        lines: draft.cart.lines.len(),
        customer_name: draft.customer_name.clone(),
    };
    let by_json = parked.parked_by.as_ref().map(to_json).transpose()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO parked_sales (id, label, draft, parked_at_ms, parked_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        parked.id.to_string(),
        parked.label,
        to_json(draft)?,
        parked.parked_at_ms,
        by_json
    ])?;
    clear_current(&tx)?;
    tx.commit()?;
    Ok(parked)
}

/// The parked sales, the longest waiting first.
pub fn parked(conn: &Connection) -> Result<Vec<ParkedSale>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, label, draft, parked_at_ms, parked_by FROM parked_sales
         ORDER BY parked_at_ms, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, label, draft, parked_at_ms, by) = row?;
        let draft: SaleDraft = from_json(&draft)?;
        out.push(ParkedSale {
            id: Uuid::parse_str(&id).map_err(|e| corrupt(&format!("parked sale id: {e}")))?,
            label,
            parked_at_ms,
            parked_by: by.as_deref().map(from_json).transpose()?,
            lines: draft.cart.lines.len(),
            customer_name: draft.customer_name,
        });
    }
    Ok(out)
}

/// Brings the parked sale `id` back to the register: it leaves the parked list and becomes the
/// sale in progress, in one transaction. Refused while the register holds a sale of its own
/// (park or finish that one first), and for a sale already recalled.
pub fn recall(conn: &mut Connection, id: Uuid, clock: &dyn Clock) -> Result<RestoredSale> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if current_draft(&tx)?.is_some_and(|d| !d.cart.lines.is_empty()) {
        return Err(CoreError::InvalidValue(
            "the register holds a sale: park it or finish it before recalling another".into(),
        ));
    }
    let draft: Option<String> = tx
        .prepare_cached("SELECT draft FROM parked_sales WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    let draft = draft
        .ok_or_else(|| CoreError::InvalidValue("that parked sale was already recalled".into()))?;
    let draft: SaleDraft = from_json(&draft)?;
    tx.prepare_cached("DELETE FROM parked_sales WHERE id = ?1")?
        .execute([id.to_string()])?;
    write_current(&tx, &draft, clock)?;
    let restored = restore(&tx, draft)?;
    tx.commit()?;
    Ok(restored)
}

/// Saves the register's sale in progress, replacing the one saved before; an empty cart clears
/// it. Called on every change, so the sale survives a crash or a restart.
pub fn save_current(conn: &Connection, draft: &SaleDraft, clock: &dyn Clock) -> Result<()> {
    if draft.cart.lines.is_empty() {
        return clear_current(conn);
    }
    write_current(conn, draft, clock)
}

/// The sale in progress as last saved, with its products as the catalog holds them now; `None`
/// when the register was empty.
pub fn current(conn: &Connection) -> Result<Option<RestoredSale>> {
    current_draft(conn)?
        .map(|draft| restore(conn, draft))
        .transpose()
}

fn current_draft(conn: &Connection) -> Result<Option<SaleDraft>> {
    let draft: Option<String> = conn
        .prepare_cached("SELECT draft FROM current_sale WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    draft.as_deref().map(from_json).transpose()
}

fn write_current(conn: &Connection, draft: &SaleDraft, clock: &dyn Clock) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO current_sale (id, draft, saved_at_ms) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET draft = excluded.draft, saved_at_ms = excluded.saved_at_ms",
    )?
    .execute(params![to_json(draft)?, clock.now_ms()])?;
    Ok(())
}

/// Empties the register's sale in progress; a sale rung up calls it inside its commit.
pub(crate) fn clear_current(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM current_sale WHERE id = 1")?
        .execute([])?;
    Ok(())
}

/// The draft's lines with their products as the catalog holds them now. A product no longer in
/// the catalog drops its line (counted); an inactive one stays, and its quote says why it cannot
/// be sold.
fn restore(conn: &Connection, draft: SaleDraft) -> Result<RestoredSale> {
    let mut lines = Vec::with_capacity(draft.cart.lines.len());
    let mut dropped_lines = 0;
    for line in draft.cart.lines {
        match catalog::product(conn, line.product_id)? {
            Some(product) => lines.push(RestoredLine {
                product: register::view(conn, product)?,
                quantity: line.quantity,
                discount: line.discount,
                unit_price: line.unit_price,
            }),
            None => dropped_lines += 1,
        }
    }
    Ok(RestoredSale {
        lines,
        ticket_discount: draft.cart.ticket_discount,
        customer_id: draft.cart.customer_id,
        customer_name: draft.customer_name,
        dropped_lines,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| CoreError::Database(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(&format!("saved sale: {e}")))
}

fn corrupt(detail: &str) -> CoreError {
    CoreError::DatabaseCorrupt {
        path: Default::default(),
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartLine;
    use crate::clock::FixedClock;
    use crate::store::Store;

    fn open() -> (tempfile::TempDir, Store, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let conn = store.connect().expect("connects");
        (dir, store, conn)
    }

    fn draft(conn: &Connection, quantities: &[i64]) -> SaleDraft {
        let products = crate::catalog::active_products(conn).expect("the demo catalog");
        SaleDraft {
            cart: Cart {
                lines: quantities
                    .iter()
                    .zip(&products)
                    .map(|(&quantity, p)| CartLine {
                        product_id: p.id,
                        quantity,
                        discount: None,
                        unit_price: None,
                    })
                    .collect(),
                ticket_discount: Some(Discount::Percent { bp: 500 }),
                customer_id: None,
            },
            customer_name: Some("Ada".into()),
        }
    }

    fn sam() -> Operator {
        Operator {
            id: Uuid::now_v7(),
            name: "Sam".into(),
        }
    }

    fn cart_of(sale: &RestoredSale) -> Cart {
        Cart {
            lines: sale
                .lines
                .iter()
                .map(|l| CartLine {
                    product_id: l.product.id,
                    quantity: l.quantity,
                    discount: l.discount,
                    unit_price: l.unit_price,
                })
                .collect(),
            ticket_discount: sale.ticket_discount,
            customer_id: sale.customer_id,
        }
    }

    #[test]
    fn the_sale_in_progress_survives_a_new_connection() {
        let (_dir, store, conn) = open();
        assert_eq!(current(&conn).expect("reads"), None, "a new till has none");
        let sale = draft(&conn, &[2, 1]);
        save_current(&conn, &sale, &FixedClock(5)).expect("saves");
        drop(conn);
        let reopened = store.connect().expect("connects again");
        let back = current(&reopened)
            .expect("reads")
            .expect("the sale came back");
        assert_eq!(
            cart_of(&back),
            sale.cart,
            "lines, discounts and customer as saved"
        );
        assert_eq!(back.customer_name.as_deref(), Some("Ada"));
        assert_eq!(back.dropped_lines, 0);
    }

    #[test]
    fn saving_an_empty_cart_clears_the_sale_in_progress() {
        let (_dir, _store, conn) = open();
        save_current(&conn, &draft(&conn, &[1]), &FixedClock(5)).expect("saves");
        save_current(&conn, &draft(&conn, &[]), &FixedClock(6)).expect("saves");
        assert_eq!(current(&conn).expect("reads"), None);
    }

    #[test]
    fn a_sale_rung_up_clears_the_sale_in_progress_in_its_own_commit() {
        let (_dir, _store, mut conn) = open();
        let sale = draft(&conn, &[2, 1]);
        save_current(&conn, &sale, &FixedClock(5)).expect("saves");
        let total = crate::cart::quote(&conn, &sale.cart)
            .expect("quotes")
            .totals
            .total;
        let cash = [crate::tender::TenderInput::Cash { tendered: total }];
        crate::tickets::commit(&mut conn, &sale.cart, &cash, None, None, &FixedClock(6))
            .expect("rings up");
        assert_eq!(
            current(&conn).expect("reads"),
            None,
            "a paid sale never comes back as the sale in progress, even if the register never cleared it"
        );
    }

    #[test]
    fn parking_sets_the_sale_aside_and_empties_the_register() {
        let (_dir, _store, mut conn) = open();
        let sale = draft(&conn, &[1, 3]);
        save_current(&conn, &sale, &FixedClock(5)).expect("saves");
        let parked_sale = park(
            &mut conn,
            &sale,
            "  Blue coat ",
            Some(sam()),
            &FixedClock(9),
        )
        .expect("parks");
        assert_eq!(parked_sale.label, "Blue coat", "trimmed");
        assert_eq!(parked_sale.lines, 2);
        assert_eq!(current(&conn).expect("reads"), None, "the register is free");
        let listed = parked(&conn).expect("lists");
        assert_eq!(
            listed,
            vec![parked_sale],
            "listed as parked, with who and when"
        );
    }

    #[test]
    fn a_recalled_sale_becomes_the_sale_in_progress_and_leaves_the_list() {
        let (_dir, _store, mut conn) = open();
        let sale = draft(&conn, &[4]);
        let p = park(&mut conn, &sale, "", None, &FixedClock(9)).expect("parks");
        let back = recall(&mut conn, p.id, &FixedClock(10)).expect("recalls");
        assert_eq!(cart_of(&back), sale.cart);
        assert!(parked(&conn).expect("lists").is_empty(), "recalled once");
        assert_eq!(
            current(&conn).expect("reads").map(|s| cart_of(&s)),
            Some(sale.cart),
            "a crash right after a recall still finds the sale"
        );
        let again = recall(&mut conn, p.id, &FixedClock(11)).expect_err("recalled once only");
        assert_eq!(again.code(), "invalid_input");
    }

    #[test]
    fn a_recall_never_overwrites_a_sale_in_progress() {
        let (_dir, _store, mut conn) = open();
        let one = draft(&conn, &[1]);
        let p = park(&mut conn, &one, "", None, &FixedClock(9)).expect("parks");
        let busy = draft(&conn, &[2, 2]);
        save_current(&conn, &busy, &FixedClock(10)).expect("saves");
        let refused = recall(&mut conn, p.id, &FixedClock(11)).expect_err("refused");
        assert_eq!(refused.code(), "invalid_input");
        assert_eq!(parked(&conn).expect("lists").len(), 1, "still parked");
        assert_eq!(
            current(&conn).expect("reads").map(|s| cart_of(&s)),
            Some(busy.cart),
            "the register's own sale is untouched"
        );
    }

    #[test]
    fn an_empty_sale_or_a_bad_label_is_not_parked() {
        let (_dir, _store, mut conn) = open();
        let nothing = draft(&conn, &[]);
        let empty = park(&mut conn, &nothing, "x", None, &FixedClock(1)).expect_err("empty");
        assert_eq!(empty.code(), "empty_cart");
        let sale = draft(&conn, &[1]);
        for (label, code) in [
            ("x".repeat(MAX_LABEL_CHARS + 1), "invalid_input"),
            ("two\nlines".into(), "invalid_input"),
            ("4111 1111 1111 1111".into(), "card_number_in_text"),
        ] {
            let e = park(&mut conn, &sale, &label, None, &FixedClock(1)).expect_err(&label);
            assert_eq!(e.code(), code, "{label:?}");
        }
        assert!(parked(&conn).expect("lists").is_empty());
    }

    #[test]
    fn a_line_whose_product_left_the_catalog_is_dropped_and_counted() {
        let (_dir, _store, conn) = open();
        let mut sale = draft(&conn, &[1, 1]);
        sale.cart.lines[1].product_id = Uuid::now_v7();
        save_current(&conn, &sale, &FixedClock(5)).expect("saves");
        let back = current(&conn).expect("reads").expect("a sale");
        assert_eq!(back.lines.len(), 1);
        assert_eq!(
            back.dropped_lines, 1,
            "the register says a line was left out"
        );
    }

    #[test]
    fn parked_sales_are_listed_longest_waiting_first() {
        let (_dir, _store, mut conn) = open();
        let sale = draft(&conn, &[1]);
        park(&mut conn, &sale, "later", None, &FixedClock(20)).expect("parks");
        park(&mut conn, &sale, "earlier", None, &FixedClock(10)).expect("parks");
        let labels: Vec<String> = parked(&conn)
            .expect("lists")
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(labels, ["earlier", "later"]);
    }
}
