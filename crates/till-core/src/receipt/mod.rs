//! Receipts: one model, several renderers. A [`Receipt`] is a list of typed [`Block`]s built
//! from a ticket (a sale, a refund, a void, or a copy of any of them) or from a shift's Z
//! report; [`text`] lays it out as plain lines of a paper width and [`escpos`] as the bytes a
//! thermal printer reads. The app renders the same model as HTML, so the screen and the paper
//! never disagree. Amounts stay integer minor units in the model; renderers format them with
//! [`crate::money::Money`].

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use till_protocol::{Currency, StoreSettings, Tender, Ticket, TicketKind};

use crate::shifts::ShiftView;

pub mod escpos;
pub mod text;

/// How many characters of the printer's standard font fit on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    /// 80 mm paper: 48 columns of font A.
    Mm80,
    /// 58 mm paper: 32 columns of font A.
    Mm58,
}

impl Paper {
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm80 => 48,
            Paper::Mm58 => 32,
        }
    }
}

/// A receipt: what it is printed for, the currency of its amounts and its blocks in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Receipt {
    pub currency: Currency,
    pub blocks: Vec<Block>,
}

/// One piece of a receipt, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "block", rename_all = "snake_case")]
pub enum Block {
    /// The store's name: centred, bold, double size.
    Title { text: String },
    /// A centred line: an address line, the tax id, a closing word.
    Centered { text: String },
    /// A word across the paper in bold double size: `COPY`, `REFUND`, `VOID`, `Z REPORT`.
    Banner { text: String },
    /// A label on the left and its value on the right: the till, the ticket number, the date.
    Field { label: String, value: String },
    /// A sold (or returned) item: its name, then `quantity x unit price` and the amount.
    Item {
        name: String,
        quantity: i64,
        unit_price: i64,
        /// The line's discount (its own and its share of the ticket's), when there is one.
        discount: Option<i64>,
        /// What the line comes to after its discount, in the store's price basis.
        amount: i64,
    },
    /// A label and an amount; `strong` prints it bold (the total).
    Amount {
        label: String,
        minor: i64,
        strong: bool,
    },
    /// A dashed line across the paper.
    Rule,
    /// A QR code an auditor scans: what it holds, and its modules for a screen to draw (a
    /// printer draws its own symbol from `data`).
    Qr {
        data: String,
        #[serde(default)]
        modules: QrModules,
    },
}

/// A QR symbol's modules, row by row from the top: `1` dark, `0` light, without the quiet zone
/// around it. Empty when `data` does not fit a QR code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct QrModules(pub Vec<String>);

impl QrModules {
    /// The symbol holding `data` at error correction level M, as the printed one.
    pub fn encode(data: &str) -> QrModules {
        let Ok(code) = qrcodegen::QrCode::encode_text(data, qrcodegen::QrCodeEcc::Medium) else {
            return QrModules::default();
        };
        let size = code.size();
        QrModules(
            (0..size)
                .map(|y| {
                    (0..size)
                        .map(|x| if code.get_module(x, y) { '1' } else { '0' })
                        .collect()
                })
                .collect(),
        )
    }
}

/// What a receipt says about where it was printed: the store (from the back office's settings)
/// and the till.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    pub store: StoreSettings,
    /// The till's name in the back office, or its device id before enrolment.
    pub till: String,
    /// The till's time zone, in which its receipts print times.
    pub zone: TimeZone,
}

/// How many hex digits of a journal hash a receipt shows.
pub const SHORT_HASH: usize = 12;

/// The first [`SHORT_HASH`] hex digits of `hash`.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..SHORT_HASH).unwrap_or(hash)
}

/// What a ticket's QR code holds: its id and its short journal hash, `ID HASH`, so an auditor
/// finds the ticket and checks it was not rewritten.
pub fn qr_data(ticket: &Ticket) -> String {
    format!("{} {}", ticket.id, short_hash(&ticket.journal_hash))
}

/// A ticket's receipt. `original` is the number of the sale a void or refund reverses,
/// `server_number` the back office's number once it is known, `copy` marks a reprint.
pub fn for_ticket(
    head: &Letterhead,
    ticket: &Ticket,
    original: Option<u64>,
    server_number: Option<u64>,
    copy: bool,
) -> Receipt {
    let mut blocks = header(head);
    if copy {
        blocks.push(Block::Banner {
            text: "COPY".into(),
        });
    }
    match ticket.kind {
        TicketKind::Sale => {}
        TicketKind::Refund => blocks.push(Block::Banner {
            text: "REFUND".into(),
        }),
        TicketKind::Void => blocks.push(Block::Banner {
            text: "VOID".into(),
        }),
    }
    blocks.push(field("Till", &head.till));
    blocks.push(field("Ticket", &format!("#{}", ticket.number)));
    if let Some(n) = original {
        blocks.push(field("Reverses", &format!("#{n}")));
    }
    blocks.push(field("Date", &date_time(ticket.created_at_ms, &head.zone)));
    if let Some(op) = &ticket.operator {
        blocks.push(field("Operator", &op.name));
    }
    blocks.push(Block::Rule);
    for line in &ticket.lines {
        let discount = line.figures.line_discount + line.figures.ticket_discount;
        blocks.push(Block::Item {
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            discount: (discount != 0).then_some(discount),
            amount: line.figures.amount,
        });
    }
    blocks.push(Block::Rule);
    if ticket.totals.discount_total != 0 {
        blocks.push(amount("Discounts", -ticket.totals.discount_total));
    }
    for tax in &ticket.taxes {
        blocks.push(amount(&format!("Tax {}", rate(tax.rate_bp)), tax.tax));
    }
    blocks.push(Block::Amount {
        label: "TOTAL".into(),
        minor: ticket.totals.total,
        strong: true,
    });
    for tender in &ticket.tenders {
        match tender {
            Tender::Cash { tendered, change } => {
                blocks.push(amount("Cash", *tendered));
                if *change != 0 {
                    blocks.push(amount("Change", *change));
                }
            }
            Tender::Card {
                amount: paid,
                last4,
                ..
            } => {
                let label = match last4 {
                    Some(d) => format!("Card ****{d}"),
                    None => "Card".into(),
                };
                blocks.push(amount(&label, *paid));
            }
        }
    }
    blocks.push(Block::Rule);
    if let Some(n) = server_number {
        blocks.push(field("Back office", &format!("#{n}")));
    }
    blocks.push(field("Journal", short_hash(&ticket.journal_hash)));
    let data = qr_data(ticket);
    blocks.push(Block::Qr {
        modules: QrModules::encode(&data),
        data,
    });
    Receipt {
        currency: ticket.currency.clone(),
        blocks,
    }
}

/// A shift's Z report (or, for an open shift, its X report) as a receipt.
pub fn for_shift(head: &Letterhead, shift: &ShiftView) -> Receipt {
    let closed = shift.closed_at.is_some();
    let mut blocks = header(head);
    blocks.push(Block::Banner {
        text: if closed { "Z REPORT" } else { "X REPORT" }.into(),
    });
    blocks.push(field("Till", &head.till));
    blocks.push(field("Z number", &shift.z_number.to_string()));
    blocks.push(field("Opened", &display_time(&shift.opened_at, &head.zone)));
    blocks.push(field("Opened by", &shift.opened_by.name));
    if let (Some(at), Some(by)) = (&shift.closed_at, &shift.closed_by) {
        blocks.push(field("Closed", &display_time(at, &head.zone)));
        blocks.push(field("Closed by", &by.name));
    }
    blocks.push(field("Tickets", &shift.tickets.to_string()));
    blocks.push(Block::Rule);
    blocks.push(amount("Sales", shift.sales));
    blocks.push(amount("Refunds and voids", -shift.reversals));
    for t in &shift.totals_by_tender {
        blocks.push(amount(&format!("Net {}", t.tender), t.net));
    }
    for tax in &shift.tax_by_rate {
        blocks.push(amount(&format!("Tax {}", rate(tax.rate_bp)), tax.tax));
    }
    blocks.push(Block::Rule);
    blocks.push(amount("Float", shift.float));
    blocks.push(amount("Cash sales", shift.cash_sales));
    blocks.push(amount("Cash refunds", -shift.cash_refunds));
    blocks.push(amount("Cash in", shift.cash_in));
    blocks.push(amount("Cash out", -shift.cash_out));
    blocks.push(Block::Amount {
        label: "Expected cash".into(),
        minor: shift.expected_cash,
        strong: true,
    });
    if let (Some(counted), Some(difference)) = (shift.counted_cash, shift.difference) {
        blocks.push(amount("Counted cash", counted));
        blocks.push(Block::Amount {
            label: "Difference".into(),
            minor: difference,
            strong: true,
        });
    }
    Receipt {
        currency: shift.currency.clone(),
        blocks,
    }
}

/// A page that shows the printer works: the store's header and the paper's width.
pub fn test_page(head: &Letterhead, paper: Paper, at_ms: i64) -> Receipt {
    let mut blocks = header(head);
    blocks.push(Block::Banner {
        text: "TEST".into(),
    });
    blocks.push(field("Till", &head.till));
    blocks.push(field("Date", &date_time(at_ms, &head.zone)));
    blocks.push(field("Columns", &paper.columns().to_string()));
    blocks.push(Block::Rule);
    Receipt {
        currency: head.store.currency.clone(),
        blocks,
    }
}

/// The store's name, its address line by line and its tax id.
fn header(head: &Letterhead) -> Vec<Block> {
    let store = &head.store;
    let mut blocks = vec![Block::Title {
        text: store.store_name.clone(),
    }];
    if let Some(address) = &store.address {
        blocks.extend(
            address
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Block::Centered { text: l.into() }),
        );
    }
    if let Some(tax_id) = &store.tax_id {
        blocks.push(Block::Centered {
            text: format!("Tax ID {tax_id}"),
        });
    }
    blocks
}

fn field(label: &str, value: &str) -> Block {
    Block::Field {
        label: label.into(),
        value: value.into(),
    }
}

fn amount(label: &str, minor: i64) -> Block {
    Block::Amount {
        label: label.into(),
        minor,
        strong: false,
    }
}

/// A tax rate in basis points as a percentage with no needless decimals: `20%`, `13.5%`.
fn rate(bp: u32) -> String {
    let (whole, hundredths) = (bp / 100, bp % 100);
    match hundredths {
        0 => format!("{whole}%"),
        h if h % 10 == 0 => format!("{whole}.{}%", h / 10),
        h => format!("{whole}.{h:02}%"),
    }
}

/// `ms` (Unix milliseconds) as the date and time a receipt prints, in the till's time zone with
/// its abbreviation: `2026-11-30 08:31 CET`.
fn date_time(ms: i64, zone: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(at) => local(at, zone),
        Err(_) => ms.to_string(),
    }
}

/// An RFC 3339 time (`2026-11-30T07:31:05.123Z`) as a receipt prints it ([`date_time`]).
fn display_time(rfc3339: &str, zone: &TimeZone) -> String {
    match rfc3339.parse::<Timestamp>() {
        Ok(at) => local(at, zone),
        Err(_) => rfc3339.to_owned(),
    }
}

fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests;
