//! A manager's settlement of a disputed reversal: a second reversal of a sale is stored and
//! counted as disputed ([`super::tickets::reversal`]); the till that made it later says how it
//! ended, once: the refund stands, or the cash came back and a counter-sale of that till, of
//! exactly the disputed total, counts it in again. Who decided is recorded, and why if given.

use till_protocol::card::looks_like_card_number;
use till_protocol::text::Lines;
use till_protocol::{DisputeSettled, DisputeSettlement, TicketKind};
use uuid::Uuid;

use super::tickets::StoredTicket;
use super::{text, Rejection};

/// A disputed reversal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDispute {
    /// The dispute's row.
    pub server_id: i64,
    /// The till that made the disputed reversal.
    pub terminal_id: Uuid,
    /// The disputed reversal's total.
    pub total: i64,
    /// How it was settled; `None` while open.
    pub settlement: Option<String>,
}

/// A disputed reversal as it is recorded when its reversal is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDispute {
    pub reversal_id: Uuid,
    pub sale_id: Uuid,
    pub first_id: Uuid,
    pub terminal_id: Uuid,
    pub total: i64,
}

/// How a dispute is closed: `settlement` (`refund_stands` or `cash_came_back`), the counter-sale
/// of the cash that came back, who decided and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeClosed {
    pub settlement: &'static str,
    pub counter_sale: Option<Uuid>,
    pub by: String,
    pub why: Option<String>,
}

/// What a terminal's counter-sale is, as a dispute settlement checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSale {
    pub ticket: StoredTicket,
    /// It already counts back the cash of another dispute.
    pub used: bool,
}

/// Longest name of who settled a dispute, or reason given, in characters (as the till checks
/// them).
pub const MAX_ATTRIBUTION: usize = 500;

/// A settlement names who decided (one line) and may say why (lines), each in at most
/// [`MAX_ATTRIBUTION`] characters (`invalid_settlement`) and without a control character
/// (`invalid_text`).
fn check_attribution(settled: &DisputeSettled) -> Result<(), Rejection> {
    if settled.by.trim().is_empty() {
        return Err(Rejection::new(
            "invalid_settlement",
            "a settlement names who decided",
        ));
    }
    let refused = |r: text::Refusal| match r.code {
        "text_too_long" => Rejection::new("invalid_settlement", r.message),
        code => Rejection::new(code, r.message),
    };
    text::check("who decided", &settled.by, MAX_ATTRIBUTION).map_err(refused)?;
    match &settled.why {
        Some(why) => {
            text::check_lines("the reason", why, MAX_ATTRIBUTION, Lines::Many).map_err(refused)
        }
        None => Ok(()),
    }
}

/// Neither who decided nor why holds what looks like a card number (`card_number_in_text`,
/// naming the field, never the value).
fn refuse_card_numbers(settled: &DisputeSettled) -> Result<(), Rejection> {
    let field = if looks_like_card_number(&settled.by) {
        "who decided"
    } else if settled.why.as_deref().is_some_and(looks_like_card_number) {
        "the reason"
    } else {
        return Ok(());
    };
    Err(Rejection::new(
        "card_number_in_text",
        format!("{field} holds what looks like a card number"),
    ))
}

/// Decides a manager's settlement of a disputed reversal sent by `terminal_id`, given the
/// dispute as stored and, for cash that came back, its counter-sale as stored. Only the till
/// that made the disputed reversal settles it, once; a counter-sale is a sale of that till of
/// exactly the disputed total, counting back one dispute's cash.
pub fn settle_dispute(
    settled: &DisputeSettled,
    terminal_id: Uuid,
    dispute: Option<&StoredDispute>,
    counter: Option<&CounterSale>,
) -> Result<DisputeClosed, Rejection> {
    check_attribution(settled)?;
    refuse_card_numbers(settled)?;
    let reversal = settled.reversal_id;
    let Some(dispute) = dispute.filter(|d| d.terminal_id == terminal_id) else {
        return Err(Rejection::new(
            "unknown_dispute",
            format!("this till made no disputed reversal {reversal}"),
        ));
    };
    if let Some(how) = &dispute.settlement {
        return Err(Rejection::new(
            "dispute_settled",
            format!("the disputed reversal {reversal} was settled before ({how})"),
        ));
    }
    let counter_sale = match settled.settlement {
        DisputeSettlement::RefundStands => None,
        DisputeSettlement::CashCameBack { counter_sale } => {
            let fits = counter.is_some_and(|c| {
                !c.used
                    && c.ticket.kind == TicketKind::Sale
                    && c.ticket.terminal_id == terminal_id
                    && c.ticket.total == dispute.total
            });
            if !fits {
                return Err(Rejection::new(
                    "counter_mismatch",
                    format!(
                        "the cash of {reversal} ({}) comes back as a sale of this till of that \
                         total, counting back no other dispute; {counter_sale} is not one",
                        dispute.total
                    ),
                ));
            }
            Some(counter_sale)
        }
    };
    Ok(DisputeClosed {
        settlement: match settled.settlement {
            DisputeSettlement::RefundStands => "refund_stands",
            DisputeSettlement::CashCameBack { .. } => "cash_came_back",
        },
        counter_sale,
        by: settled.by.clone(),
        why: settled.why.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settlement(settlement: DisputeSettlement) -> DisputeSettled {
        DisputeSettled {
            reversal_id: Uuid::now_v7(),
            settlement,
            by: "manager-1".into(),
            why: Some("the customer brought it back".into()),
        }
    }

    /// An open dispute of `till`'s, of 250.
    fn open_dispute(till: Uuid) -> StoredDispute {
        StoredDispute {
            server_id: 3,
            terminal_id: till,
            total: 250,
            settlement: None,
        }
    }

    #[test]
    fn a_dispute_is_settled_once_by_the_till_that_made_it() {
        let till = Uuid::now_v7();
        let open = open_dispute(till);
        let stands = settlement(DisputeSettlement::RefundStands);
        let closed = settle_dispute(&stands, till, Some(&open), None).expect("settles");
        assert_eq!(
            (closed.settlement, closed.counter_sale, closed.by.as_str()),
            ("refund_stands", None, "manager-1")
        );
        let code = |r: Result<DisputeClosed, Rejection>| r.map_err(|r| r.code).err();
        assert_eq!(
            code(settle_dispute(&stands, Uuid::now_v7(), Some(&open), None)),
            Some("unknown_dispute"),
            "another till's dispute is not this till's to settle"
        );
        assert_eq!(
            code(settle_dispute(&stands, till, None, None)),
            Some("unknown_dispute")
        );
        let settled = StoredDispute {
            settlement: Some("refund_stands".into()),
            ..open.clone()
        };
        assert_eq!(
            code(settle_dispute(&stands, till, Some(&settled), None)),
            Some("dispute_settled")
        );
        let nobody = DisputeSettled {
            by: " ".into(),
            ..stands.clone()
        };
        assert_eq!(
            code(settle_dispute(&nobody, till, Some(&open), None)),
            Some("invalid_settlement"),
            "who decided is recorded"
        );
        let why = |why: &str| DisputeSettled {
            why: Some(why.into()),
            ..stands.clone()
        };
        assert_eq!(
            code(settle_dispute(
                &why("counted\nagain"),
                till,
                Some(&open),
                None
            )),
            None,
            "a reason may break lines"
        );
        assert_eq!(
            code(settle_dispute(&why("a NUL \u{0}"), till, Some(&open), None)),
            Some("invalid_text")
        );
        let carded = DisputeSettled {
            why: Some("paid back to 4111.1111.1111.1111".into()),
            ..settlement(DisputeSettlement::RefundStands)
        };
        let refused = settle_dispute(&carded, till, Some(&open), None).expect_err("a card number");
        assert_eq!(refused.code, "card_number_in_text");
        assert!(!refused.message.contains("4111"), "{}", refused.message);
    }

    #[test]
    fn cash_that_came_back_is_counted_in_by_a_sale_of_the_same_till_and_total() {
        let till = Uuid::now_v7();
        let open = open_dispute(till);
        let counter_id = Uuid::now_v7();
        let back = settlement(DisputeSettlement::CashCameBack {
            counter_sale: counter_id,
        });
        let counter = CounterSale {
            ticket: StoredTicket {
                server_id: 1,
                kind: TicketKind::Sale,
                terminal_id: till,
                total: 250,
                reversed_by: None,
            },
            used: false,
        };
        let closed = settle_dispute(&back, till, Some(&open), Some(&counter)).expect("settles");
        assert_eq!(closed.settlement, "cash_came_back");
        assert_eq!(closed.counter_sale, Some(counter_id));
        assert_eq!(closed.why.as_deref(), Some("the customer brought it back"));
        let wrong = [
            None,
            Some(CounterSale {
                used: true,
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    total: 249,
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    kind: TicketKind::Refund,
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
            Some(CounterSale {
                ticket: StoredTicket {
                    terminal_id: Uuid::now_v7(),
                    ..counter.ticket.clone()
                },
                ..counter.clone()
            }),
        ];
        for c in &wrong {
            assert_eq!(
                settle_dispute(&back, till, Some(&open), c.as_ref()).map_err(|r| r.code),
                Err("counter_mismatch"),
                "{c:?}"
            );
        }
    }
}
