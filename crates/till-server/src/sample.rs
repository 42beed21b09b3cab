//! Valid sample tickets and mutations, priced by the one pricing rule, for the server's tests and
//! `till-bench push`. Not used by the server itself.

use till_protocol::pricing::{price, Discount, PriceInput, PriceLine};
use till_protocol::shift::{
    CashMoved, CashMovementKind, ShiftClosed, ShiftFigures, ShiftOpened, ShiftTicket,
};
use till_protocol::{
    Currency, Hlc, Mutation, MutationBody, Operator, Tender, Ticket, TicketKind, TicketLine,
};
use uuid::Uuid;

/// One line to put on a sample ticket.
#[derive(Debug, Clone, Copy)]
pub struct SampleLine {
    pub product_id: Uuid,
    pub unit_price: i64,
    pub quantity: i64,
    pub tax_rate_bp: u32,
    pub discount: Option<Discount>,
}

impl SampleLine {
    pub fn new(product_id: Uuid, unit_price: i64, quantity: i64, tax_rate_bp: u32) -> Self {
        SampleLine {
            product_id,
            unit_price,
            quantity,
            tax_rate_bp,
            discount: None,
        }
    }
}

/// A ticket of `kind` with correct figures and one cash tender covering the total exactly.
/// Returns `None` when the lines cannot be priced.
pub fn ticket(
    kind: TicketKind,
    number: u64,
    reverses: Option<Uuid>,
    lines: &[SampleLine],
    ticket_discount: Option<Discount>,
) -> Option<Ticket> {
    let input = PriceInput {
        prices_include_tax: true,
        lines: lines
            .iter()
            .map(|l| PriceLine {
                unit_price: l.unit_price,
                quantity: l.quantity,
                tax_rate_bp: l.tax_rate_bp,
                discount: l.discount,
            })
            .collect(),
        ticket_discount,
    };
    let priced = price(&input).ok()?;
    let node = Uuid::nil();
    Some(Ticket {
        id: Uuid::now_v7(),
        number,
        kind,
        reverses,
        created_at_ms: 1_700_000_000_000 + number as i64,
        hlc: Hlc {
            wall_ms: 1_700_000_000_000 + number as i64,
            counter: 0,
            node,
        },
        currency: Currency {
            code: "EUR".into(),
            exponent: 2,
        },
        prices_include_tax: true,
        customer_id: None,
        lines: lines
            .iter()
            .zip(&priced.lines)
            .enumerate()
            .map(|(i, (l, figures))| TicketLine {
                product_id: l.product_id,
                sku: format!("SKU-{i}"),
                name: format!("Item {i}"),
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_category: "standard".into(),
                tax_rate_bp: l.tax_rate_bp,
                discount: l.discount,
                figures: *figures,
            })
            .collect(),
        ticket_discount,
        taxes: priced.taxes,
        totals: priced.totals,
        tenders: vec![Tender::Cash {
            tendered: priced.totals.total,
            change: 0,
        }],
        journal_hash: "0".repeat(64),
        operator: None,
        approval: None,
        shift_id: None,
    })
}

/// A five-line sale numbered `number`, on a fixed set of products.
pub fn sale(number: u64) -> Ticket {
    let lines: Vec<SampleLine> = (0..5u128)
        .map(|i| {
            SampleLine::new(
                Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + i),
                199 + 100 * i as i64,
                1 + (number as i64 + i as i64) % 3,
                if i % 2 == 0 { 2000 } else { 550 },
            )
        })
        .collect();
    ticket(TicketKind::Sale, number, None, &lines, None)
        .expect("five lines of fixed, valid prices and quantities always price")
}

/// A mutation with a fresh UUID v7 id.
pub fn mutation(seq: u64, body: MutationBody) -> Mutation {
    Mutation {
        id: Uuid::now_v7(),
        seq,
        hlc: Hlc {
            wall_ms: 1_700_000_000_000 + seq as i64,
            counter: 0,
            node: Uuid::nil(),
        },
        wall_clock_ms: 1_700_000_000_000 + seq as i64,
        body,
        recovered: None,
        operator: None,
        format: None,
        link: None,
    }
}

/// A reversal (void or refund) of `original` with the same lines and figures.
pub fn reversal(kind: TicketKind, number: u64, original: &Ticket) -> Ticket {
    let mut t = original.clone();
    t.id = Uuid::now_v7();
    t.number = number;
    t.kind = kind;
    t.reverses = Some(original.id);
    t
}

/// A refund of `quantities[i]` units of line `i` of `sale` (a line at 0 left out), at the sale's
/// unit prices, numbered `number`.
pub fn part_refund(sale: &Ticket, number: u64, quantities: &[i64]) -> Ticket {
    let lines: Vec<SampleLine> = sale
        .lines
        .iter()
        .zip(quantities)
        .filter(|(_, q)| **q > 0)
        .map(|(l, q)| SampleLine::new(l.product_id, l.unit_price, *q, l.tax_rate_bp))
        .collect();
    ticket(TicketKind::Refund, number, Some(sale.id), &lines, None)
        .expect("lines of a priced sale always price")
}

/// An employee named `name` as tickets and shifts name who did something.
pub fn operator(name: &str) -> Operator {
    Operator {
        id: Uuid::now_v7(),
        name: name.into(),
    }
}

/// Shift `z_number` opened by `by` with `float` in the drawer.
pub fn shift_opened(z_number: u64, float: i64, by: &Operator) -> ShiftOpened {
    ShiftOpened {
        shift_id: Uuid::now_v7(),
        z_number,
        opened_by: by.clone(),
        opened_at_ms: 1_700_000_000_000 + z_number as i64,
        float,
    }
}

/// `amount` of `kind` moved by `by` in the drawer of shift `shift_id`.
pub fn cash_moved(shift_id: Uuid, kind: CashMovementKind, amount: i64, by: &Operator) -> CashMoved {
    CashMoved {
        id: Uuid::now_v7(),
        shift_id,
        kind,
        amount,
        reason: "change from the bank".into(),
        operator: by.clone(),
        approval: None,
        at_ms: 1_700_000_000_000,
    }
}

/// The close of `opened` with `counted` in the drawer, its Z report computed as the till does
/// from `tickets` and `movements`.
pub fn shift_closed(
    opened: &ShiftOpened,
    tickets: &[Ticket],
    movements: &[CashMoved],
    counted: i64,
) -> ShiftClosed {
    let rung: Vec<ShiftTicket<'_>> = tickets.iter().map(ShiftTicket::from).collect();
    let figures = ShiftFigures::compute(opened.float, &rung, movements)
        .expect("sample figures stay far below i64");
    let mut ticket_numbers: Vec<u64> = tickets.iter().map(|t| t.number).collect();
    ticket_numbers.sort_unstable();
    ShiftClosed {
        shift_id: opened.shift_id,
        z_number: opened.z_number,
        closed_by: opened.opened_by.clone(),
        closed_at_ms: opened.opened_at_ms + 3_600_000,
        counted_cash: counted,
        difference: counted - figures.expected_cash,
        ticket_numbers,
        figures,
    }
}
