//! What needs a manager's approval, and whether an operation has what it needs. On a till with
//! employees: a void, a refund, discarding a failed item, a price override and a discount above
//! the till's limit ([`settings::discount_approval_above_pct`]), and setting that limit. On a
//! till without employees
//! nothing does, as before employees. The decisions are pure ([`for_quote`], [`decide`]); the
//! functions around them load the facts. The approval itself is a manager's PIN
//! ([`signin::approve`]), recorded with the reason given here.

use rusqlite::Connection;
use till_protocol::pricing::Discount;
use till_protocol::{Approval, ApprovalAction, Operator};

use crate::cart::{self, Cart, Quote};
use crate::clock::Clock;
use crate::error::{CoreError, Result};
use crate::money::Money;
use crate::{settings, signin};

/// An approval an operation needs: for what, and why in words (the approval records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    pub action: ApprovalAction,
    pub reason: String,
}

impl Needed {
    /// Voiding the sale numbered `number`.
    pub fn void(number: u64) -> Needed {
        Needed {
            action: ApprovalAction::Void,
            reason: format!("void of ticket {number}"),
        }
    }

    /// Refunding part of the sale numbered `number`.
    pub fn refund(number: u64) -> Needed {
        Needed {
            action: ApprovalAction::Refund,
            reason: format!("refund of ticket {number}"),
        }
    }

    /// Setting the till's discount limit to `pct` percent.
    pub fn discount_limit(pct: u8) -> Needed {
        Needed {
            action: ApprovalAction::Discount,
            reason: format!("the discount limit set to {pct} %"),
        }
    }

    /// Writing the unsent queue to a file.
    pub fn export_queue() -> Needed {
        Needed {
            action: ApprovalAction::ExportQueue,
            reason: "exporting the unsent queue to a file".into(),
        }
    }

    /// Giving up on the failed item `seq` for good.
    pub fn discard(seq: u64) -> Needed {
        Needed {
            action: ApprovalAction::DiscardFailed,
            reason: format!("discarding failed item {seq}"),
        }
    }
}

/// What a priced sale needs approved, if anything: a price override (the reason names every
/// overridden line and any discount above the limit too), else a discount of a line or of the
/// ticket above `limit_pct` percent. A percent discount is judged by its percent; a fixed amount
/// as the percent it takes off what it discounts (the line's gross, or the ticket after its line
/// discounts).
pub fn for_quote(quote: &Quote, limit_pct: u8) -> Option<Needed> {
    let mut reasons: Vec<String> = quote
        .overrides
        .iter()
        .filter_map(|o| {
            let line = quote.lines.get(o.line_no.checked_sub(1)?)?;
            Some(format!(
                "line {} ({}) at {} instead of {}",
                o.line_no,
                line.name,
                Money::new(line.unit_price, &quote.currency),
                Money::new(o.catalog_price, &quote.currency)
            ))
        })
        .collect();
    let overridden = !quote.overrides.is_empty();
    for (i, line) in quote.lines.iter().enumerate() {
        if let Some(pct) = line
            .discount
            .and_then(|d| above(d, line.figures.gross, limit_pct))
        {
            reasons.push(format!(
                "a discount of {pct} % on line {} ({}) is above the {limit_pct} % limit",
                i + 1,
                line.name
            ));
        }
    }
    let after_lines: i64 = quote
        .lines
        .iter()
        .map(|l| l.figures.gross - l.figures.line_discount)
        .sum();
    if let Some(pct) = quote
        .ticket_discount
        .and_then(|d| above(d, after_lines, limit_pct))
    {
        reasons.push(format!(
            "a ticket discount of {pct} % is above the {limit_pct} % limit"
        ));
    }
    if reasons.is_empty() && !overridden {
        return None;
    }
    Some(Needed {
        action: if overridden {
            ApprovalAction::PriceOverride
        } else {
            ApprovalAction::Discount
        },
        reason: if overridden {
            format!("price override: {}", reasons.join("; "))
        } else {
            reasons.join("; ")
        },
    })
}

/// The percent `discount` takes off `base`, written for people ("25", "12.5"), when it is above
/// `limit_pct`.
fn above(discount: Discount, base: i64, limit_pct: u8) -> Option<String> {
    let limit = i128::from(limit_pct);
    let (hundredths, is_above) = match discount {
        Discount::Percent { bp } => (i128::from(bp), i128::from(bp) > limit * 100),
        Discount::Amount { minor } if base > 0 => {
            let (minor, base) = (i128::from(minor), i128::from(base));
            (
                (minor * 10_000 + base / 2) / base,
                minor * 100 > limit * base,
            )
        }
        Discount::Amount { .. } => (0, false),
    };
    is_above.then(|| percent(hundredths))
}

/// Hundredths of a percent as people write a percent: `2500` is "25", `1250` is "12.5".
pub(crate) fn percent(hundredths: i128) -> String {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// Whether an operation may be recorded, and the approval to record with it: on a till without
/// employees, always and without one; on a till with employees, only by someone signed in
/// (`pin_required`), and when it needs an approval, only with a manager's approval of that very
/// action (`approval_required`). An approval nothing needed is not recorded.
pub fn decide(
    has_employees: bool,
    operator: Option<&Operator>,
    needed: Option<&Needed>,
    approval: Option<Approval>,
) -> Result<Option<Approval>> {
    if !has_employees {
        return Ok(None);
    }
    if operator.is_none() {
        return Err(CoreError::PinRequired);
    }
    let Some(needed) = needed else {
        return Ok(None);
    };
    match approval {
        Some(a) if a.action == needed.action => Ok(Some(a)),
        _ => Err(CoreError::ApprovalRequired {
            action: needed.action.as_str().to_owned(),
            reason: needed.reason.clone(),
        }),
    }
}

/// [`decide`] for this till.
pub fn check(
    conn: &Connection,
    operator: Option<&Operator>,
    needed: Option<&Needed>,
    approval: Option<Approval>,
) -> Result<Option<Approval>> {
    decide(signin::has_employees(conn)?, operator, needed, approval)
}

/// What ringing up `cart` needs approved on this till, if anything (nothing on a till without
/// employees).
pub fn for_cart(conn: &Connection, cart: &Cart) -> Result<Option<Needed>> {
    if !signin::has_employees(conn)? {
        return Ok(None);
    }
    let quote = cart::quote(conn, cart)?;
    Ok(for_quote(
        &quote,
        settings::discount_approval_above_pct(conn)?,
    ))
}

/// A manager's approval of `needed`, given by the PIN `approve_pin`, when this till has
/// employees and something is needed; `None` otherwise (no PIN is checked then).
pub fn obtain(
    conn: &mut Connection,
    needed: Option<&Needed>,
    approve_pin: Option<&str>,
    clock: &dyn Clock,
) -> Result<Option<Approval>> {
    match needed {
        Some(n) if signin::has_employees(conn)? => Ok(Some(signin::approve(
            conn,
            approve_pin,
            n.action,
            &n.reason,
            clock,
        )?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::pricing::{LineFigures, TicketTotals};
    use till_protocol::{Currency, TicketLine};
    use uuid::Uuid;

    use crate::cart::PriceOverride;

    fn line(name: &str, gross: i64, discount: Option<Discount>, line_discount: i64) -> TicketLine {
        TicketLine {
            product_id: Uuid::nil(),
            sku: name.into(),
            name: name.into(),
            quantity: 1,
            unit_price: gross,
            tax_category: "standard".into(),
            tax_rate_bp: 2000,
            discount,
            figures: LineFigures {
                gross,
                line_discount,
                ticket_discount: 0,
                amount: gross - line_discount,
                tax: 0,
                total: gross - line_discount,
            },
        }
    }

    fn quote(lines: Vec<TicketLine>, ticket_discount: Option<Discount>) -> Quote {
        Quote {
            currency: Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            prices_include_tax: true,
            customer_id: None,
            lines,
            ticket_discount,
            taxes: Vec::new(),
            totals: TicketTotals {
                subtotal: 0,
                discount_total: 0,
                tax_total: 0,
                total: 0,
            },
            overrides: Vec::new(),
        }
    }

    fn manager() -> Operator {
        Operator {
            id: Uuid::nil(),
            name: "Mona".into(),
        }
    }

    fn approval(action: ApprovalAction) -> Approval {
        Approval {
            by: manager(),
            action,
            reason: "asked".into(),
        }
    }

    #[test]
    fn a_discount_up_to_the_limit_needs_no_approval() {
        let q = quote(
            vec![line(
                "Scone",
                1000,
                Some(Discount::Percent { bp: 2000 }),
                200,
            )],
            Some(Discount::Amount { minor: 160 }),
        );
        assert_eq!(
            for_quote(&q, 20),
            None,
            "20 % and 160 of 800 are at the limit"
        );
    }

    #[test]
    fn a_discount_above_the_limit_needs_a_manager_and_says_by_how_much() {
        let q = quote(
            vec![
                line("Scone", 1000, Some(Discount::Percent { bp: 2500 }), 250),
                line("Tea", 400, Some(Discount::Amount { minor: 81 }), 81),
            ],
            None,
        );
        let needed = for_quote(&q, 20).expect("above the limit");
        assert_eq!(needed.action, ApprovalAction::Discount);
        assert_eq!(
            needed.reason,
            "a discount of 25 % on line 1 (Scone) is above the 20 % limit; \
             a discount of 20.25 % on line 2 (Tea) is above the 20 % limit",
            "a fixed amount is judged as the percent it takes off its line"
        );
    }

    #[test]
    fn a_fixed_ticket_discount_is_judged_against_the_ticket_after_its_line_discounts() {
        let q = quote(
            vec![line(
                "Scone",
                1000,
                Some(Discount::Amount { minor: 200 }),
                200,
            )],
            Some(Discount::Amount { minor: 164 }),
        );
        let needed = for_quote(&q, 20).expect("164 of 800 is 20.5 %");
        assert_eq!(
            needed.reason,
            "a ticket discount of 20.5 % is above the 20 % limit"
        );
        assert_eq!(for_quote(&q, 21), None);
        let everything = quote(
            vec![line(
                "Scone",
                1000,
                Some(Discount::Percent { bp: 10_000 }),
                1000,
            )],
            Some(Discount::Amount { minor: 0 }),
        );
        assert_eq!(
            for_quote(&everything, 100),
            None,
            "a limit of 100 % lets any discount through, and nothing left to discount is no discount"
        );
    }

    #[test]
    fn a_price_override_needs_a_manager_whatever_the_discounts() {
        let mut q = quote(
            vec![line("Scone", 150, Some(Discount::Percent { bp: 5000 }), 75)],
            None,
        );
        q.overrides.push(PriceOverride {
            line_no: 1,
            catalog_price: 250,
        });
        let needed = for_quote(&q, 20).expect("an override");
        assert_eq!(needed.action, ApprovalAction::PriceOverride);
        assert_eq!(
            needed.reason,
            "price override: line 1 (Scone) at €1.50 instead of €2.50; \
             a discount of 50 % on line 1 (Scone) is above the 20 % limit"
        );
    }

    #[test]
    fn percents_read_as_people_write_them() {
        assert_eq!(percent(2500), "25");
        assert_eq!(percent(1250), "12.5");
        assert_eq!(percent(2025), "20.25");
        assert_eq!(percent(5), "0.05");
    }

    #[test]
    fn a_till_without_employees_records_no_one_and_needs_nothing() {
        let void = Needed::void(7);
        assert_eq!(decide(false, None, Some(&void), None).ok(), Some(None));
    }

    #[test]
    fn a_till_with_employees_needs_someone_signed_in_and_the_approval_of_that_action() {
        let void = Needed::void(7);
        let code = |r: Result<Option<Approval>>| r.map_err(|e| e.code()).err();
        assert_eq!(
            code(decide(true, None, None, None)),
            Some(crate::ErrorCode::PinRequired)
        );
        assert_eq!(
            decide(
                true,
                Some(&manager()),
                None,
                Some(approval(ApprovalAction::Void))
            )
            .ok(),
            Some(None),
            "an approval nothing needed is not recorded"
        );
        assert_eq!(
            code(decide(true, Some(&manager()), Some(&void), None)),
            Some(crate::ErrorCode::ApprovalRequired)
        );
        assert_eq!(
            code(decide(
                true,
                Some(&manager()),
                Some(&void),
                Some(approval(ApprovalAction::Refund))
            )),
            Some(crate::ErrorCode::ApprovalRequired),
            "an approval of another action does not count"
        );
        let given = approval(ApprovalAction::Void);
        assert_eq!(
            decide(true, Some(&manager()), Some(&void), Some(given.clone())).ok(),
            Some(Some(given))
        );
    }
}
