//! Every string the back office stores: how long it may be and which characters it may hold.
//! A string over its cap (`text_too_long`) or holding a control character (`invalid_text`, by
//! the rule shared with the till, [`till_protocol::text`]) is refused as bad input (a rejection
//! or a 4xx) before anything is written, never left to the database; and no message about it
//! repeats the string. Customer fields follow the rule shared with the till
//! (`CustomerFields::check`), terminal and employee names [`display_name`].

use till_protocol::text::{self as shared, Lines};
use till_protocol::{Approval, Operator, StoreSettings, Tender, Ticket};

use crate::storage::{CatalogImport, StorageError};

/// Skus, barcodes, tax categories and tax rate ids.
pub const MAX_CODE: usize = 64;
/// Product, line, tax rate, store and terminal names.
pub const MAX_NAME: usize = 200;
/// Product categories.
pub const MAX_CATEGORY: usize = 100;
/// A BCP 47 locale.
pub const MAX_LOCALE: usize = 35;
/// The store's postal address, all its lines.
pub const MAX_ADDRESS: usize = 500;
/// A ticket's journal hash (hex SHA-256 is 64).
pub const MAX_HASH: usize = 128;
/// A card tender's approval reference, in bytes (refused as `invalid_card_data` beyond it).
pub const MAX_APPROVAL_REF: usize = 64;
/// The reason of a manager's approval or of a cash movement.
pub const MAX_REASON: usize = 500;

/// A name a person gives something in the back office (a terminal, an employee), `what` in
/// messages: trimmed, 1 to [`MAX_NAME`] long as `length` counts, one line without a control
/// character, and no card number in it. The refusal never repeats the name.
pub fn display_name(
    what: &str,
    name: &str,
    length: fn(&str) -> usize,
) -> Result<String, StorageError> {
    let name = name.trim();
    if name.is_empty() || length(name) > MAX_NAME {
        return Err(StorageError::Invalid(format!(
            "{what} must be 1 to {MAX_NAME} characters"
        )));
    }
    shared::check(what, name, Lines::One).map_err(|e| StorageError::Invalid(e.to_string()))?;
    if till_protocol::card::looks_like_card_number(name) {
        return Err(StorageError::Invalid(format!(
            "{what} must not hold a card number"
        )));
    }
    Ok(name.to_string())
}

/// Why a string is refused, with the stable code of a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `text_too_long` or `invalid_text`.
    pub code: &'static str,
    pub message: String,
}

/// `what`, a field of one line, is at most `max` characters and holds no control character;
/// the refusal names the field and what is wrong, never the value.
pub fn check(what: &str, value: &str, max: usize) -> Result<(), Refusal> {
    check_lines(what, value, max, Lines::One)
}

/// [`check`] for a field of `lines`: a reason or a note may break lines.
pub fn check_lines(what: &str, value: &str, max: usize, lines: Lines) -> Result<(), Refusal> {
    if value.chars().count() > max {
        return Err(Refusal {
            code: "text_too_long",
            message: format!("{what} is longer than {max} characters"),
        });
    }
    shared::check(what, value, lines).map_err(|e| Refusal {
        code: "invalid_text",
        message: e.to_string(),
    })
}

/// An operator (who did something on a till), `what` in messages: its name as a name may be.
pub fn check_operator(what: &str, operator: &Operator) -> Result<(), Refusal> {
    check(what, &operator.name, MAX_NAME)
}

/// A manager's approval: who approved, and why in at most [`MAX_REASON`] characters.
pub fn check_approval(approval: &Approval) -> Result<(), Refusal> {
    check_operator("who approved", &approval.by)?;
    check_lines(
        "the approval's reason",
        &approval.reason,
        MAX_REASON,
        Lines::Many,
    )
}

/// Every string of a ticket a terminal sends: its journal hash, its lines' skus, names and tax
/// categories, its card tenders' approval references, its operator and its approval. (A currency code that is not three
/// letters is `invalid_currency`; an approval reference is capped in bytes with the card data
/// checks, as `invalid_card_data`.)
pub fn check_ticket(ticket: &Ticket) -> Result<(), Refusal> {
    check("the journal hash", &ticket.journal_hash, MAX_HASH)?;
    for (i, line) in ticket.lines.iter().enumerate() {
        let n = i + 1;
        check(&format!("line {n}'s sku"), &line.sku, MAX_CODE)?;
        check(&format!("line {n}'s name"), &line.name, MAX_NAME)?;
        check(
            &format!("line {n}'s tax category"),
            &line.tax_category,
            MAX_CODE,
        )?;
    }
    for (i, tender) in ticket.tenders.iter().enumerate() {
        if let Tender::Card { approval_ref, .. } = tender {
            check(
                &format!("tender {}'s approval reference", i + 1),
                approval_ref,
                usize::MAX,
            )?;
        }
    }
    if let Some(operator) = &ticket.operator {
        check_operator("the ticket's operator", operator)?;
    }
    match &ticket.approval {
        Some(approval) => check_approval(approval),
        None => Ok(()),
    }
}

/// Every string of a catalog import.
pub fn check_catalog(catalog: &CatalogImport) -> Result<(), String> {
    check_catalog_strings(catalog).map_err(|r| r.message)
}

fn check_catalog_strings(catalog: &CatalogImport) -> Result<(), Refusal> {
    if let Some(settings) = &catalog.settings {
        check_settings(settings)?;
    }
    for (i, rate) in catalog.tax_rates.iter().enumerate() {
        let n = i + 1;
        check(&format!("tax rate {n}'s id"), &rate.id, MAX_CODE)?;
        check(&format!("tax rate {n}'s name"), &rate.name, MAX_NAME)?;
    }
    for (i, p) in catalog.products.iter().enumerate() {
        let n = i + 1;
        check(&format!("product {n}'s sku"), &p.sku, MAX_CODE)?;
        check(&format!("product {n}'s name"), &p.name, MAX_NAME)?;
        check(
            &format!("product {n}'s category"),
            &p.category,
            MAX_CATEGORY,
        )?;
        check(
            &format!("product {n}'s tax category"),
            &p.tax_category,
            MAX_CODE,
        )?;
        if let Some(barcode) = &p.barcode {
            check(&format!("product {n}'s barcode"), barcode, MAX_CODE)?;
        }
    }
    Ok(())
}

fn check_settings(settings: &StoreSettings) -> Result<(), Refusal> {
    check("the store name", &settings.store_name, MAX_NAME)?;
    check("the currency code", &settings.currency.code, 3)?;
    check("the locale", &settings.locale, MAX_LOCALE)?;
    if let Some(address) = &settings.address {
        check_lines("the store address", address, MAX_ADDRESS, Lines::Many)?;
    }
    if let Some(tax_id) = &settings.tax_id {
        check("the store tax id", tax_id, MAX_CODE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn a_string_at_its_cap_passes_and_one_over_is_refused_without_being_repeated() {
        assert_eq!(check("the sku", &"é".repeat(MAX_CODE), MAX_CODE), Ok(()));
        let long = "x".repeat(MAX_CODE + 1);
        let refused = check("the sku", &long, MAX_CODE).expect_err("too long");
        assert_eq!(refused.code, "text_too_long");
        assert!(
            refused.message.contains("the sku") && refused.message.contains("64"),
            "{refused:?}"
        );
        assert!(
            !refused.message.contains(&long),
            "the message never repeats the value"
        );
    }

    #[test]
    fn a_control_character_is_invalid_text_by_the_rule_the_till_applies() {
        let refused = check("the sku", "SKU\u{0}1", MAX_CODE).expect_err("a NUL");
        assert_eq!(refused.code, "invalid_text");
        assert!(
            refused.message.contains("the sku") && refused.message.contains("U+0000"),
            "{refused:?}"
        );
        assert!(
            check("the name", "two\nlines", MAX_NAME).is_err(),
            "a name is one line"
        );
    }

    fn operator(name: String) -> Operator {
        Operator {
            id: uuid::Uuid::nil(),
            name,
        }
    }

    #[test]
    fn every_stored_string_of_a_ticket_is_capped() {
        let sale = sample::sale(1);
        assert_eq!(check_ticket(&sale), Ok(()));
        let over = |f: &dyn Fn(&mut Ticket)| {
            let mut t = sale.clone();
            f(&mut t);
            check_ticket(&t).is_err()
        };
        assert!(over(&|t| t.lines[2].sku = "s".repeat(MAX_CODE + 1)));
        assert!(over(&|t| t.lines[0].name = "n".repeat(MAX_NAME + 1)));
        assert!(over(&|t| t.lines[0].tax_category = "c".repeat(MAX_CODE + 1)));
        assert!(over(&|t| t.journal_hash = "0".repeat(MAX_HASH + 1)));
        assert!(over(&|t| t.lines[1].name = "Bread\u{1b}[2J".into()));
        assert!(over(&|t| t.lines[0].sku = "A\tB".into()));
        assert!(over(
            &|t| t.operator = Some(operator("n".repeat(MAX_NAME + 1)))
        ));
        assert!(over(&|t| t.approval = Some(Approval {
            by: operator("Grace".into()),
            action: till_protocol::ApprovalAction::Refund,
            reason: "r".repeat(MAX_REASON + 1),
        })));
        assert!(over(&|t| t.tenders = vec![Tender::Card {
            amount: t.totals.total,
            approval_ref: "OK\u{7}".into(),
            last4: None,
        }]));
    }

    #[test]
    fn every_stored_string_of_a_catalog_is_capped() {
        let catalog: till_protocol::CatalogSnapshot =
            serde_json::from_str(include_str!("../../../../catalog/demo.json"))
                .expect("the demo catalog");
        let import = CatalogImport::from(catalog);
        assert_eq!(check_catalog(&import), Ok(()), "the demo catalog fits");
        let over = |f: &dyn Fn(&mut CatalogImport)| {
            let mut c = import.clone();
            f(&mut c);
            check_catalog(&c).is_err()
        };
        assert!(over(&|c| c.products[0].sku = "s".repeat(MAX_CODE + 1)));
        assert!(over(&|c| c.products[0].name = "n".repeat(MAX_NAME + 1)));
        assert!(over(
            &|c| c.products[0].category = "c".repeat(MAX_CATEGORY + 1)
        ));
        assert!(over(
            &|c| c.products[0].barcode = Some("b".repeat(MAX_CODE + 1))
        ));
        assert!(over(&|c| c.products[0].name = "Milk\u{0}".into()));
        assert!(over(&|c| c.tax_rates[0].name = "n".repeat(MAX_NAME + 1)));
        assert!(over(&|c| c.tax_rates[0].id = "i".repeat(MAX_CODE + 1)));
        assert!(over(&|c| {
            if let Some(s) = c.settings.as_mut() {
                s.locale = "l".repeat(MAX_LOCALE + 1);
            }
        }));
        assert!(over(&|c| {
            if let Some(s) = c.settings.as_mut() {
                s.address = Some("a".repeat(MAX_ADDRESS + 1));
            }
        }));
        assert!(over(&|c| {
            if let Some(s) = c.settings.as_mut() {
                s.tax_id = Some("IE\n1".into());
            }
        }));
        let mut two_lines = import.clone();
        if let Some(s) = two_lines.settings.as_mut() {
            s.address = Some("1 Main Street\nDublin".into());
            s.tax_id = Some("IE1234567X".into());
        }
        assert_eq!(
            check_catalog(&two_lines),
            Ok(()),
            "an address spans lines, a tax id is one"
        );
    }
}
