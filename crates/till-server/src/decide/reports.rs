//! The sales report (`till-server report sales`): the tickets of a date range, grouped one way,
//! with the same figures for every group. Each figure, in minor units:
//!
//! - `tickets`: the sales, voids and refunds in the group. A ticket counts once in each group it
//!   touches (a sale of two products counts for both); the total counts each ticket once;
//! - `gross`: the sales' subtotals, unit price × quantity before any discount;
//! - `discounts`: the sales' line and ticket discounts;
//! - `refunds`: the totals of the voids and refunds (disputed ones too: their cash left the
//!   drawer);
//! - `tax`: the sales' tax minus the voids' and refunds' tax;
//! - `net`: the sales' totals minus `refunds`.
//!
//! By day, operator, terminal and shift, a ticket falls whole into one group. By product and by
//! tax rate, each line falls into its product's or rate's group with its own figures (its gross,
//! its line discount and its share of the ticket discount, its tax, its total). By tender, a
//! ticket's figures are shared between its tenders in proportion to what each took or paid back,
//! the last tender taking what rounding leaves, so every column adds up to the same total
//! whichever way the report is grouped.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use till_protocol::{Tender, Ticket, TicketKind};
use uuid::Uuid;

use crate::dates::Day;

/// How the report groups tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Product,
    Tender,
    Tax,
    Operator,
    Terminal,
    Shift,
}

impl GroupBy {
    pub const ALL: [GroupBy; 7] = [
        GroupBy::Day,
        GroupBy::Product,
        GroupBy::Tender,
        GroupBy::Tax,
        GroupBy::Operator,
        GroupBy::Terminal,
        GroupBy::Shift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Product => "product",
            GroupBy::Tender => "tender",
            GroupBy::Tax => "tax",
            GroupBy::Operator => "operator",
            GroupBy::Terminal => "terminal",
            GroupBy::Shift => "shift",
        }
    }

    pub fn parse(name: &str) -> Result<GroupBy, String> {
        GroupBy::ALL
            .into_iter()
            .find(|by| by.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = GroupBy::ALL.iter().map(|by| by.as_str()).collect();
                format!("reports group by {}", names.join(", "))
            })
    }
}

/// One ticket of the range, as a backend loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub ticket: Ticket,
    pub terminal_id: Uuid,
    /// The terminal's name.
    pub terminal: String,
    /// The Z number of the ticket's shift, when the back office holds that shift.
    pub z_number: Option<u64>,
}

/// The figures of one group (or of the total), in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub tickets: u64,
    pub gross: i64,
    pub discounts: i64,
    pub refunds: i64,
    pub tax: i64,
    pub net: i64,
}

/// One row of the report: the group, what a person calls it, and its figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The day (`YYYY-MM-DD`), the product's sku, the tender (`cash`, `card`), the tax rate in
    /// basis points, or the operator's, terminal's or shift's id (`none` for tickets without
    /// an operator or a shift).
    pub group: String,
    /// The product's, operator's or terminal's name, the rate as a percentage, the shift's Z
    /// number; empty by day and tender.
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `till-server report sales`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesReport {
    /// The first and last day of the range (UTC), inclusive.
    pub from: String,
    pub to: String,
    pub by: &'static str,
    pub rows: Vec<Row>,
    pub total: Figures,
}

/// The figures of a report are beyond what minor units in an `i64` can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the report's figures overflow")]
pub struct ReportOverflow;

/// One ticket's (or part of a ticket's) share of the figures: what it adds to a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Share {
    gross: i64,
    discounts: i64,
    refunds: i64,
    tax: i64,
    net: i64,
}

impl Share {
    /// A sale's or a reversal's `gross`, `discounts`, `tax` and `total`.
    fn of(kind: TicketKind, gross: i64, discounts: i64, tax: i64, total: i64) -> Share {
        match kind {
            TicketKind::Sale => Share {
                gross,
                discounts,
                refunds: 0,
                tax,
                net: total,
            },
            TicketKind::Void | TicketKind::Refund => Share {
                gross: 0,
                discounts: 0,
                refunds: total,
                tax: tax.saturating_neg(),
                net: total.saturating_neg(),
            },
        }
    }

    /// `weight / whole` of this share, rounded toward zero.
    fn part(self, weight: i64, whole: i64) -> Share {
        let part = |v: i64| {
            i64::try_from(i128::from(v) * i128::from(weight) / i128::from(whole)).unwrap_or(v)
        };
        Share {
            gross: part(self.gross),
            discounts: part(self.discounts),
            refunds: part(self.refunds),
            tax: part(self.tax),
            net: part(self.net),
        }
    }

    fn minus(self, o: Share) -> Share {
        Share {
            gross: self.gross.saturating_sub(o.gross),
            discounts: self.discounts.saturating_sub(o.discounts),
            refunds: self.refunds.saturating_sub(o.refunds),
            tax: self.tax.saturating_sub(o.tax),
            net: self.net.saturating_sub(o.net),
        }
    }
}

impl Figures {
    fn add(&mut self, s: Share) -> Result<(), ReportOverflow> {
        let sum = |a: i64, b: i64| a.checked_add(b).ok_or(ReportOverflow);
        self.gross = sum(self.gross, s.gross)?;
        self.discounts = sum(self.discounts, s.discounts)?;
        self.refunds = sum(self.refunds, s.refunds)?;
        self.tax = sum(self.tax, s.tax)?;
        self.net = sum(self.net, s.net)?;
        Ok(())
    }
}

/// A group as it sorts: by `order` (a day, a zero-padded rate, a name), then by `group`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    order: String,
    group: String,
    name: String,
}

impl Key {
    fn named(group: String, name: String) -> Key {
        Key {
            order: name.clone(),
            group,
            name,
        }
    }
}

/// Groups `facts`, the tickets of the days `from` to `to`, `by` one way.
pub fn sales(
    from: Day,
    to: Day,
    by: GroupBy,
    facts: &[TicketFacts],
) -> Result<SalesReport, ReportOverflow> {
    let mut groups: BTreeMap<Key, (Figures, BTreeSet<Uuid>)> = BTreeMap::new();
    let mut total = Figures::default();
    for fact in facts {
        let t = &fact.ticket;
        for (key, share) in shares(by, fact) {
            let (figures, tickets) = groups.entry(key).or_default();
            figures.add(share)?;
            tickets.insert(t.id);
            total.add(share)?;
        }
    }
    total.tickets = facts.len() as u64;
    let rows = groups
        .into_iter()
        .map(|(key, (mut figures, tickets))| {
            figures.tickets = tickets.len() as u64;
            Row {
                group: key.group,
                name: key.name,
                figures,
            }
        })
        .collect();
    Ok(SalesReport {
        from: from.to_string(),
        to: to.to_string(),
        by: by.as_str(),
        rows,
        total,
    })
}

/// What one ticket adds to which group.
fn shares(by: GroupBy, fact: &TicketFacts) -> Vec<(Key, Share)> {
    let t = &fact.ticket;
    let whole = Share::of(
        t.kind,
        t.totals.subtotal,
        t.totals.discount_total,
        t.totals.tax_total,
        t.totals.total,
    );
    let lines = |key: &dyn Fn(&till_protocol::TicketLine) -> Key| -> Vec<(Key, Share)> {
        t.lines
            .iter()
            .map(|l| {
                let f = &l.figures;
                let discounts = f.line_discount.saturating_add(f.ticket_discount);
                let share = Share::of(t.kind, f.gross, discounts, f.tax, f.total);
                (key(l), share)
            })
            .collect()
    };
    match by {
        GroupBy::Day => {
            let day = Day::of_ms(t.created_at_ms).to_string();
            vec![(
                Key {
                    order: day.clone(),
                    group: day,
                    name: String::new(),
                },
                whole,
            )]
        }
        GroupBy::Operator => {
            let key = match &t.operator {
                Some(o) => Key::named(o.id.to_string(), o.name.clone()),
                None => none(),
            };
            vec![(key, whole)]
        }
        GroupBy::Terminal => vec![(
            Key::named(fact.terminal_id.to_string(), fact.terminal.clone()),
            whole,
        )],
        GroupBy::Shift => {
            let key = match t.shift_id {
                Some(id) => {
                    let z = fact.z_number.map(|z| format!("Z{z}")).unwrap_or_default();
                    Key::named(id.to_string(), z)
                }
                None => none(),
            };
            vec![(key, whole)]
        }
        GroupBy::Product => lines(&|l| Key {
            order: l.sku.clone(),
            group: l.sku.clone(),
            name: l.name.clone(),
        }),
        GroupBy::Tax => lines(&|l| Key {
            order: format!("{:010}", l.tax_rate_bp),
            group: l.tax_rate_bp.to_string(),
            name: format!("{}.{:02}%", l.tax_rate_bp / 100, l.tax_rate_bp % 100),
        }),
        GroupBy::Tender => by_tender(&t.tenders, whole),
    }
}

/// The group of tickets without an operator or a shift; it sorts last.
fn none() -> Key {
    Key {
        order: "\u{10FFFF}".into(),
        group: "none".into(),
        name: String::new(),
    }
}

/// `whole` shared between `tenders` in proportion to what each counted (the last takes what
/// rounding leaves; a ticket of no money falls to its first tender).
fn by_tender(tenders: &[Tender], whole: Share) -> Vec<(Key, Share)> {
    let name = |t: &Tender| match t {
        Tender::Cash { .. } => "cash",
        Tender::Card { .. } => "card",
    };
    let key = |t: &Tender| Key {
        order: name(t).into(),
        group: name(t).into(),
        name: String::new(),
    };
    let counted = tenders
        .iter()
        .map(Tender::counted)
        .fold(0i64, i64::saturating_add);
    let Some((last, first)) = tenders.split_last() else {
        return Vec::new();
    };
    if counted == 0 {
        return vec![(key(&tenders[0]), whole)];
    }
    let mut left = whole;
    let mut out = Vec::new();
    for t in first {
        let part = whole.part(t.counted(), counted);
        left = left.minus(part);
        out.push((key(t), part));
    }
    out.push((key(last), left));
    out
}

impl SalesReport {
    /// The report as CSV: a header, then one line per group (no total line: a spreadsheet adds
    /// the columns up).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(COLUMNS)?;
        for row in &self.rows {
            out.write_record(cells(&row.group, &row.name, &row.figures))?;
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The report as a table aligned in columns, with a total row.
    pub fn to_table(&self) -> String {
        let mut lines: Vec<[String; 8]> = vec![COLUMNS.map(String::from)];
        lines.extend(
            self.rows
                .iter()
                .map(|r| cells(&r.group, &r.name, &r.figures)),
        );
        lines.push(cells("total", "", &self.total));
        let mut widths = [0; 8];
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut text = format!(
            "sales from {} to {} (UTC) by {}, amounts in minor units\n",
            self.from, self.to, self.by
        );
        for line in &lines {
            let mut cells = Vec::new();
            for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
                cells.push(if i < 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                });
            }
            text.push_str(cells.join("  ").trim_end());
            text.push('\n');
        }
        text
    }
}

const COLUMNS: [&str; 8] = [
    "group",
    "name",
    "tickets",
    "gross",
    "discounts",
    "refunds",
    "tax",
    "net",
];

fn cells(group: &str, name: &str, f: &Figures) -> [String; 8] {
    [
        group.to_string(),
        name.to_string(),
        f.tickets.to_string(),
        f.gross.to_string(),
        f.discounts.to_string(),
        f.refunds.to_string(),
        f.tax.to_string(),
        f.net.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use till_protocol::pricing::Discount;

    fn fact(ticket: Ticket, terminal: &str) -> TicketFacts {
        TicketFacts {
            ticket,
            terminal_id: Uuid::from_u128(terminal.len() as u128),
            terminal: terminal.into(),
            z_number: Some(1),
        }
    }

    fn day(text: &str) -> Day {
        Day::parse(text).expect("a date")
    }

    /// A sale with a ticket discount, paid part cash part card; its part refund; another sale.
    fn facts() -> Vec<TicketFacts> {
        let product = |i: u128| Uuid::from_u128(100 + i);
        let lines = [
            sample::SampleLine::new(product(1), 1_000, 2, 2000),
            sample::SampleLine::new(product(2), 350, 1, 550),
        ];
        let discount = Some(Discount::Percent { bp: 1000 });
        let mut sale = sample::ticket(TicketKind::Sale, 1, None, &lines, discount).expect("prices");
        sale.operator = Some(sample::operator("Ada"));
        sale.shift_id = Some(Uuid::from_u128(9));
        let total = sale.totals.total;
        sale.tenders = vec![
            Tender::Cash {
                tendered: 1_000,
                change: 0,
            },
            Tender::Card {
                amount: total - 1_000,
                approval_ref: "A1".into(),
                last4: None,
            },
        ];
        let refund = sample::part_refund(&sale, 2, &[1, 0]);
        let mut next_day = sample::sale(3);
        next_day.created_at_ms += 86_400_000;
        vec![
            fact(sale, "till A"),
            fact(refund, "till A"),
            fact(next_day, "till Bee"),
        ]
    }

    #[test]
    fn every_grouping_adds_up_to_the_same_total() {
        let facts = facts();
        let sale = &facts[0].ticket;
        let refund = &facts[1].ticket;
        let next = &facts[2].ticket;
        let expected = Figures {
            tickets: 3,
            gross: sale.totals.subtotal + next.totals.subtotal,
            discounts: sale.totals.discount_total + next.totals.discount_total,
            refunds: refund.totals.total,
            tax: sale.totals.tax_total + next.totals.tax_total - refund.totals.tax_total,
            net: sale.totals.total + next.totals.total - refund.totals.total,
        };
        assert!(expected.discounts > 0, "the sample has a discount");
        for by in GroupBy::ALL {
            let report = sales(day("2023-11-14"), day("2023-11-15"), by, &facts).expect("adds up");
            assert_eq!(report.total, expected, "by {}", by.as_str());
            let mut summed = Figures::default();
            for row in &report.rows {
                summed
                    .add(Share {
                        gross: row.figures.gross,
                        discounts: row.figures.discounts,
                        refunds: row.figures.refunds,
                        tax: row.figures.tax,
                        net: row.figures.net,
                    })
                    .expect("adds");
            }
            summed.tickets = expected.tickets;
            assert_eq!(
                summed,
                expected,
                "the rows by {} add up to the total",
                by.as_str()
            );
        }
    }

    #[test]
    fn groups_are_named_counted_and_ordered_by_what_they_are() {
        let facts = facts();
        let report = |by| sales(day("2023-11-14"), day("2023-11-15"), by, &facts).expect("adds up");
        let groups = |by| -> Vec<(String, String, u64)> {
            report(by)
                .rows
                .into_iter()
                .map(|r| (r.group, r.name, r.figures.tickets))
                .collect()
        };
        assert_eq!(
            groups(GroupBy::Day),
            [
                ("2023-11-14".into(), String::new(), 2),
                ("2023-11-15".into(), String::new(), 1)
            ]
        );
        assert_eq!(
            groups(GroupBy::Tender),
            [
                ("card".into(), String::new(), 1),
                ("cash".into(), String::new(), 3)
            ]
        );
        let tax = groups(GroupBy::Tax);
        assert_eq!(
            tax[0],
            ("550".into(), "5.50%".into(), 2),
            "the refund returned none"
        );
        assert_eq!(tax[1], ("2000".into(), "20.00%".into(), 3));
        let operators = groups(GroupBy::Operator);
        assert_eq!(
            operators.last().map(|o| o.0.as_str()),
            Some("none"),
            "no operator last"
        );
        assert_eq!(operators[0].1, "Ada");
        let terminals = groups(GroupBy::Terminal);
        assert_eq!((terminals[0].1.as_str(), terminals[0].2), ("till A", 2));
        let shifts = groups(GroupBy::Shift);
        assert_eq!(shifts[0].1, "Z1");
        let products = report(GroupBy::Product);
        let first = &products.rows[0];
        assert_eq!((first.group.as_str(), first.figures.tickets), ("SKU-0", 3));
        assert!(first.figures.refunds > 0, "the refund returned product 1");
    }

    #[test]
    fn a_ticket_shares_its_figures_between_its_tenders_by_what_each_took() {
        let sale = &facts()[0].ticket;
        let shares = by_tender(
            &sale.tenders,
            Share::of(TicketKind::Sale, 0, 0, 0, sale.totals.total),
        );
        assert_eq!(shares[0].1.net, 1_000, "cash took 1000");
        assert_eq!(shares[1].1.net, sale.totals.total - 1_000);
        let nothing = by_tender(
            &[Tender::Cash {
                tendered: 0,
                change: 0,
            }],
            Share::default(),
        );
        assert_eq!(
            nothing.len(),
            1,
            "a ticket of no money still falls to its tender"
        );
    }

    #[test]
    fn the_table_is_aligned_with_a_total_and_the_csv_has_a_header() {
        let facts = facts();
        let report = sales(
            day("2023-11-14"),
            day("2023-11-15"),
            GroupBy::Terminal,
            &facts,
        )
        .expect("adds up");
        let table = report.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].contains("2023-11-14") && lines[0].contains("UTC"),
            "{table}"
        );
        assert!(lines[1].starts_with("group"), "{table}");
        assert!(
            lines.last().expect("a total").starts_with("total"),
            "{table}"
        );
        let ends: Vec<usize> = lines[1..].iter().map(|l| l.len()).collect();
        assert!(
            ends.windows(2).all(|w| w[0] == w[1]),
            "net right-aligned: {table}"
        );
        let csv = report.to_csv().expect("writes");
        let mut csv_lines = csv.lines();
        assert_eq!(
            csv_lines.next(),
            Some("group,name,tickets,gross,discounts,refunds,tax,net")
        );
        assert_eq!(csv_lines.count(), report.rows.len(), "no total line");
    }

    #[test]
    fn only_the_names_of_the_groupings_are_groupings() {
        for by in GroupBy::ALL {
            assert_eq!(GroupBy::parse(by.as_str()), Ok(by));
        }
        let refused = GroupBy::parse("week").expect_err("not a grouping");
        assert!(refused.contains("day, product"), "{refused}");
    }
}
