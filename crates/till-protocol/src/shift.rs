//! Shifts: one stretch of work at one till, from the float counted into the drawer to the cash
//! counted out of it. What a shift's figures are (what the drawer should hold, the totals per
//! tender, the tax per rate) is decided here, once: the till that closes a shift prints them as
//! its Z report, and the back office computes them again from the tickets and cash movements it
//! holds for that shift and compares ([`reconcile`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::pricing::TaxFigures;
use crate::{Approval, Operator, Tender, Ticket, TicketKind};

/// A shift was opened with `float` in the drawer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ShiftOpened {
    pub shift_id: Uuid,
    /// The number its Z report carries: gapless per till, from 1.
    pub z_number: u64,
    pub opened_by: Operator,
    pub opened_at_ms: i64,
    pub float: i64,
}

/// Why cash went into or out of the drawer outside a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    /// Cash put in (change from the bank).
    CashIn,
    /// Cash taken out (a drop to the safe, a supplier paid).
    CashOut,
    /// The drawer opened without a sale; `amount` is 0.
    NoSale,
}

impl CashMovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CashMovementKind::CashIn => "cash_in",
            CashMovementKind::CashOut => "cash_out",
            CashMovementKind::NoSale => "no_sale",
        }
    }
}

/// Cash moved in or out of the drawer of an open shift, outside a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CashMoved {
    /// UUID v7, made by the till.
    pub id: Uuid,
    pub shift_id: Uuid,
    pub kind: CashMovementKind,
    /// Minor units, never negative; `kind` says which way.
    pub amount: i64,
    pub reason: String,
    pub operator: Operator,
    /// The manager's approval it needed (a drawer opened without a sale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    pub at_ms: i64,
}

/// A shift was closed with `counted_cash` in the drawer: its Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ShiftClosed {
    pub shift_id: Uuid,
    pub z_number: u64,
    pub closed_by: Operator,
    pub closed_at_ms: i64,
    pub counted_cash: i64,
    /// `counted_cash − figures.expected_cash`: negative when the drawer is short.
    pub difference: i64,
    /// The numbers of the tickets rung up in the shift, ascending.
    pub ticket_numbers: Vec<u64>,
    pub figures: ShiftFigures,
}

/// The figures of a shift, from its float, its tickets and its cash movements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ShiftFigures {
    pub float: i64,
    /// How many tickets (sales, voids and refunds).
    pub tickets: u64,
    /// The total of its sales.
    pub sales: i64,
    /// The total of its voids and refunds.
    pub reversals: i64,
    /// Cash taken on sales (tendered − change).
    pub cash_sales: i64,
    /// Cash paid back on voids and refunds.
    pub cash_refunds: i64,
    pub cash_in: i64,
    pub cash_out: i64,
    /// `float + cash_sales − cash_refunds + cash_in − cash_out`: what the drawer should hold.
    pub expected_cash: i64,
    /// Per tender kind (`cash`, `card`), in that order, only those used.
    pub totals_by_tender: Vec<TenderTotal>,
    /// Per tax rate, ascending: sales minus reversals.
    pub tax_by_rate: Vec<TaxFigures>,
}

/// What one kind of tender took and paid back in a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TenderTotal {
    /// `cash` or `card`.
    pub tender: String,
    pub sales: i64,
    pub refunds: i64,
    /// `sales − refunds`.
    pub net: i64,
}

/// What a shift's figures need of one ticket.
#[derive(Debug, Clone, Copy)]
pub struct ShiftTicket<'a> {
    pub number: u64,
    pub kind: TicketKind,
    pub total: i64,
    pub tenders: &'a [Tender],
    pub taxes: &'a [TaxFigures],
}

impl<'a> From<&'a Ticket> for ShiftTicket<'a> {
    fn from(t: &'a Ticket) -> Self {
        ShiftTicket {
            number: t.number,
            kind: t.kind,
            total: t.totals.total,
            tenders: &t.tenders,
            taxes: &t.taxes,
        }
    }
}

/// A shift's figures are beyond what minor units in an `i64` can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shift's figures overflow")]
pub struct FiguresOverflow;

fn add(a: i64, b: i64) -> Result<i64, FiguresOverflow> {
    a.checked_add(b).ok_or(FiguresOverflow)
}

fn sub(a: i64, b: i64) -> Result<i64, FiguresOverflow> {
    a.checked_sub(b).ok_or(FiguresOverflow)
}

impl ShiftFigures {
    /// The figures of a shift opened with `float`, from its tickets and cash movements.
    pub fn compute(
        float: i64,
        tickets: &[ShiftTicket<'_>],
        movements: &[CashMoved],
    ) -> Result<ShiftFigures, FiguresOverflow> {
        let mut f = ShiftFigures {
            float,
            tickets: tickets.len() as u64,
            sales: 0,
            reversals: 0,
            cash_sales: 0,
            cash_refunds: 0,
            cash_in: 0,
            cash_out: 0,
            expected_cash: 0,
            totals_by_tender: Vec::new(),
            tax_by_rate: Vec::new(),
        };
        let mut cash = TenderTotal::named("cash");
        let mut card = TenderTotal::named("card");
        for t in tickets {
            let sale = t.kind == TicketKind::Sale;
            if sale {
                f.sales = add(f.sales, t.total)?;
            } else {
                f.reversals = add(f.reversals, t.total)?;
            }
            for tender in t.tenders {
                let (total, amount) = match tender {
                    Tender::Cash { .. } => (&mut cash, tender.counted()),
                    Tender::Card { amount, .. } => (&mut card, *amount),
                };
                if sale {
                    total.sales = add(total.sales, amount)?;
                } else {
                    total.refunds = add(total.refunds, amount)?;
                }
            }
            for tax in t.taxes {
                let at = match f.tax_by_rate.iter().position(|r| r.rate_bp == tax.rate_bp) {
                    Some(at) => at,
                    None => {
                        f.tax_by_rate.push(TaxFigures {
                            rate_bp: tax.rate_bp,
                            base: 0,
                            tax: 0,
                        });
                        f.tax_by_rate.len() - 1
                    }
                };
                let rate = &mut f.tax_by_rate[at];
                let (base, amount) = if sale {
                    (tax.base, tax.tax)
                } else {
                    (-tax.base, -tax.tax)
                };
                rate.base = add(rate.base, base)?;
                rate.tax = add(rate.tax, amount)?;
            }
        }
        f.tax_by_rate.sort_by_key(|r| r.rate_bp);
        for m in movements {
            match m.kind {
                CashMovementKind::CashIn => f.cash_in = add(f.cash_in, m.amount)?,
                CashMovementKind::CashOut => f.cash_out = add(f.cash_out, m.amount)?,
                CashMovementKind::NoSale => {}
            }
        }
        f.cash_sales = cash.sales;
        f.cash_refunds = cash.refunds;
        let taken = sub(add(float, f.cash_sales)?, f.cash_refunds)?;
        f.expected_cash = sub(add(taken, f.cash_in)?, f.cash_out)?;
        for mut total in [cash, card] {
            if total.sales != 0 || total.refunds != 0 {
                total.net = sub(total.sales, total.refunds)?;
                f.totals_by_tender.push(total);
            }
        }
        Ok(f)
    }
}

impl TenderTotal {
    fn named(tender: &str) -> TenderTotal {
        TenderTotal {
            tender: tender.into(),
            sales: 0,
            refunds: 0,
            net: 0,
        }
    }
}

/// Where a closed shift stands with the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reconciliation {
    /// Not yet checked by the back office (the shift is open, or its close is not pushed yet).
    Pending,
    /// The back office holds exactly what the Z report says.
    Matched,
    /// The back office holds something else: what differs.
    Mismatch(ShiftMismatch),
}

/// What differs between a till's Z report and what the back office holds for that shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ShiftMismatch {
    /// Tickets the Z report counts that the back office does not hold, by number.
    pub missing_tickets: Vec<u64>,
    /// Tickets the back office holds for the shift that the Z report does not count.
    pub unexpected_tickets: Vec<u64>,
    /// Each figure that differs.
    pub differences: Vec<FigureDifference>,
}

/// One figure, as the till counted it and as the back office does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct FigureDifference {
    /// `tickets`, `sales`, `cash_in`, … as in [`ShiftFigures`]; `tender:card` for a tender's
    /// net, `tax:2000` for a rate's tax (in basis points).
    pub figure: String,
    pub till: i64,
    pub back_office: i64,
}

/// Compares a till's Z report with the figures the back office computed from what it holds for
/// that shift (`held`, the tickets numbered `held_numbers`). `None` when they match.
pub fn reconcile(
    closed: &ShiftClosed,
    held_numbers: &[u64],
    held: &ShiftFigures,
) -> Option<ShiftMismatch> {
    let missing_tickets: Vec<u64> = closed
        .ticket_numbers
        .iter()
        .filter(|n| !held_numbers.contains(n))
        .copied()
        .collect();
    let mut unexpected_tickets: Vec<u64> = held_numbers
        .iter()
        .filter(|n| !closed.ticket_numbers.contains(n))
        .copied()
        .collect();
    unexpected_tickets.sort_unstable();
    let till = &closed.figures;
    let mut differences = Vec::new();
    let mut compare = |figure: String, till: i64, back_office: i64| {
        if till != back_office {
            differences.push(FigureDifference {
                figure,
                till,
                back_office,
            });
        }
    };
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    compare("float".into(), till.float, held.float);
    compare("tickets".into(), count(till.tickets), count(held.tickets));
    compare("sales".into(), till.sales, held.sales);
    compare("reversals".into(), till.reversals, held.reversals);
    compare("cash_sales".into(), till.cash_sales, held.cash_sales);
    compare("cash_refunds".into(), till.cash_refunds, held.cash_refunds);
    compare("cash_in".into(), till.cash_in, held.cash_in);
    compare("cash_out".into(), till.cash_out, held.cash_out);
    compare(
        "expected_cash".into(),
        till.expected_cash,
        held.expected_cash,
    );
    let net = |totals: &[TenderTotal], tender: &str| {
        totals
            .iter()
            .find(|t| t.tender == tender)
            .map_or(0, |t| t.net)
    };
    for tender in ["cash", "card"] {
        compare(
            format!("tender:{tender}"),
            net(&till.totals_by_tender, tender),
            net(&held.totals_by_tender, tender),
        );
    }
    let mut rates: Vec<u32> = till
        .tax_by_rate
        .iter()
        .chain(&held.tax_by_rate)
        .map(|r| r.rate_bp)
        .collect();
    rates.sort_unstable();
    rates.dedup();
    let tax = |taxes: &[TaxFigures], rate: u32| {
        taxes
            .iter()
            .find(|t| t.rate_bp == rate)
            .map_or(0, |t| t.tax)
    };
    for rate in rates {
        compare(
            format!("tax:{rate}"),
            tax(&till.tax_by_rate, rate),
            tax(&held.tax_by_rate, rate),
        );
    }
    if missing_tickets.is_empty() && unexpected_tickets.is_empty() && differences.is_empty() {
        None
    } else {
        Some(ShiftMismatch {
            missing_tickets,
            unexpected_tickets,
            differences,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator() -> Operator {
        Operator {
            id: Uuid::nil(),
            name: "Ana".into(),
        }
    }

    fn moved(kind: CashMovementKind, amount: i64) -> CashMoved {
        CashMoved {
            id: Uuid::nil(),
            shift_id: Uuid::nil(),
            kind,
            amount,
            reason: "drop".into(),
            operator: operator(),
            approval: None,
            at_ms: 0,
        }
    }

    fn cash(tendered: i64, change: i64) -> Tender {
        Tender::Cash { tendered, change }
    }

    fn card(amount: i64) -> Tender {
        Tender::Card {
            amount,
            approval_ref: "A1".into(),
            last4: None,
        }
    }

    fn tax(rate_bp: u32, base: i64, tax: i64) -> TaxFigures {
        TaxFigures { rate_bp, base, tax }
    }

    #[test]
    fn the_drawer_expects_float_plus_cash_taken_less_cash_paid_back_and_moved() {
        let sale_tenders = [cash(2000, 300), card(500)];
        let sale_taxes = [tax(2000, 1834, 366)];
        let refund_tenders = [cash(400, 0)];
        let refund_taxes = [tax(2000, 333, 67)];
        let tickets = [
            ShiftTicket {
                number: 1,
                kind: TicketKind::Sale,
                total: 2200,
                tenders: &sale_tenders,
                taxes: &sale_taxes,
            },
            ShiftTicket {
                number: 2,
                kind: TicketKind::Refund,
                total: 400,
                tenders: &refund_tenders,
                taxes: &refund_taxes,
            },
        ];
        let movements = [
            moved(CashMovementKind::CashIn, 1000),
            moved(CashMovementKind::CashOut, 250),
            moved(CashMovementKind::NoSale, 0),
        ];
        let f = ShiftFigures::compute(10_000, &tickets, &movements).expect("computes");
        assert_eq!((f.tickets, f.sales, f.reversals), (2, 2200, 400));
        assert_eq!((f.cash_sales, f.cash_refunds), (1700, 400));
        assert_eq!((f.cash_in, f.cash_out), (1000, 250));
        assert_eq!(f.expected_cash, 10_000 + 1700 - 400 + 1000 - 250);
        assert_eq!(
            f.totals_by_tender,
            vec![
                TenderTotal {
                    tender: "cash".into(),
                    sales: 1700,
                    refunds: 400,
                    net: 1300
                },
                TenderTotal {
                    tender: "card".into(),
                    sales: 500,
                    refunds: 0,
                    net: 500
                },
            ]
        );
        assert_eq!(f.tax_by_rate, vec![tax(2000, 1501, 299)]);
    }

    #[test]
    fn an_empty_shift_expects_its_float() {
        let f = ShiftFigures::compute(5000, &[], &[]).expect("computes");
        assert_eq!(f.expected_cash, 5000);
        assert!(f.totals_by_tender.is_empty() && f.tax_by_rate.is_empty());
    }

    #[test]
    fn figures_beyond_i64_are_an_error_not_a_wrap() {
        let movements = [moved(CashMovementKind::CashIn, i64::MAX)];
        assert_eq!(
            ShiftFigures::compute(1, &[], &movements),
            Err(FiguresOverflow)
        );
    }

    fn closed(numbers: Vec<u64>, figures: ShiftFigures) -> ShiftClosed {
        ShiftClosed {
            shift_id: Uuid::nil(),
            z_number: 1,
            closed_by: operator(),
            closed_at_ms: 0,
            counted_cash: figures.expected_cash,
            difference: 0,
            ticket_numbers: numbers,
            figures,
        }
    }

    #[test]
    fn the_same_tickets_and_movements_match() {
        let tenders = [cash(1000, 0)];
        let taxes = [tax(1000, 909, 91)];
        let t = ShiftTicket {
            number: 3,
            kind: TicketKind::Sale,
            total: 1000,
            tenders: &tenders,
            taxes: &taxes,
        };
        let f = ShiftFigures::compute(100, &[t], &[]).expect("computes");
        assert_eq!(reconcile(&closed(vec![3], f.clone()), &[3], &f), None);
    }

    #[test]
    fn a_missing_ticket_is_named_with_each_figure_it_changes() {
        let tenders = [card(1000)];
        let taxes = [tax(1000, 909, 91)];
        let t = |number| ShiftTicket {
            number,
            kind: TicketKind::Sale,
            total: 1000,
            tenders: &tenders,
            taxes: &taxes,
        };
        let till = ShiftFigures::compute(0, &[t(1), t(2)], &[]).expect("computes");
        let held = ShiftFigures::compute(0, &[t(1)], &[]).expect("computes");
        let m = reconcile(&closed(vec![1, 2], till), &[1], &held).expect("a mismatch");
        assert_eq!(m.missing_tickets, vec![2]);
        assert!(m.unexpected_tickets.is_empty());
        let named: Vec<&str> = m.differences.iter().map(|d| d.figure.as_str()).collect();
        assert_eq!(named, vec!["tickets", "sales", "tender:card", "tax:1000"]);
        assert_eq!(
            m.differences[1],
            FigureDifference {
                figure: "sales".into(),
                till: 2000,
                back_office: 1000
            }
        );
    }
}
