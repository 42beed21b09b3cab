use till_protocol::pricing::{LineFigures, TaxFigures, TicketTotals};
use till_protocol::{Hlc, Operator};
use uuid::Uuid;

use super::*;

fn euro() -> Currency {
    Currency {
        code: "EUR".into(),
        exponent: 2,
    }
}

fn head() -> Letterhead {
    Letterhead {
        store: StoreSettings {
            store_name: "Corner Café".into(),
            currency: euro(),
            prices_include_tax: true,
            locale: "en-IE".into(),
            address: Some("1 Main Street\nDublin".into()),
            tax_id: Some("IE1234567X".into()),
        },
        till: "Front".into(),
        zone: jiff::tz::TimeZone::UTC,
    }
}

fn sale() -> Ticket {
    Ticket {
        id: Uuid::nil(),
        number: 7,
        kind: TicketKind::Sale,
        reverses: None,
        created_at_ms: 1_796_025_660_000,
        hlc: Hlc {
            wall_ms: 0,
            counter: 0,
            node: Uuid::nil(),
        },
        currency: euro(),
        prices_include_tax: true,
        customer_id: None,
        lines: vec![till_protocol::TicketLine {
            product_id: Uuid::nil(),
            sku: "S1".into(),
            name: "Scone".into(),
            quantity: 2,
            unit_price: 250,
            tax_category: "reduced".into(),
            tax_rate_bp: 1350,
            discount: None,
            figures: LineFigures {
                gross: 500,
                line_discount: 0,
                ticket_discount: 0,
                amount: 500,
                tax: 59,
                total: 500,
            },
        }],
        ticket_discount: None,
        taxes: vec![TaxFigures {
            rate_bp: 1350,
            base: 441,
            tax: 59,
        }],
        totals: TicketTotals {
            subtotal: 500,
            discount_total: 0,
            tax_total: 59,
            total: 500,
        },
        tenders: vec![Tender::Cash {
            tendered: 1000,
            change: 500,
        }],
        journal_hash: "ab12cd34ef56ab12cd34ef56".into(),
        operator: Some(Operator {
            id: Uuid::nil(),
            name: "Ann".into(),
        }),
        approval: None,
        shift_id: None,
    }
}

#[test]
fn a_sale_reads_from_the_store_to_its_qr_code() {
    let receipt = for_ticket(&head(), &sale(), None, Some(41), false);
    let text = text::render(&receipt, Paper::Mm58);
    let expected = "          Corner Café
         1 Main Street
             Dublin
       Tax ID IE1234567X
Till                       Front
Ticket                        #7
Date        2026-11-30 08:01 UTC
Operator                     Ann
--------------------------------
Scone
  2 x €2.50                €5.00
--------------------------------
Tax 13.5%                  €0.59
TOTAL                      €5.00
Cash                      €10.00
Change                     €5.00
--------------------------------
Back office                  #41
Journal             ab12cd34ef56
[QR] 00000000-0000-0000-0000-000000000000 ab12cd34ef56
";
    assert_eq!(text, expected, "the receipt as the customer reads it");
}

#[test]
fn times_print_in_the_tills_own_time_zone() {
    let mut head = head();
    head.zone = jiff::tz::TimeZone::get("Asia/Tokyo").expect("the system's tzdb");
    let text = text::render(&for_ticket(&head, &sale(), None, None, false), Paper::Mm58);
    assert!(
        text.contains("Date        2026-11-30 17:01 JST\n"),
        "08:01 UTC is 17:01 in Tokyo: {text}"
    );
}

#[test]
fn a_copy_and_a_refund_say_so_under_the_header() {
    let mut refund = sale();
    refund.kind = TicketKind::Refund;
    let receipt = for_ticket(&head(), &refund, Some(3), None, true);
    let banners: Vec<&str> = receipt
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Banner { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(banners, vec!["COPY", "REFUND"]);
    assert!(receipt.blocks.contains(&Block::Field {
        label: "Reverses".into(),
        value: "#3".into()
    }));
    assert!(
        !receipt
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Field { label, .. } if label == "Back office")),
        "no back-office number before the back office gave one"
    );
}

#[test]
fn tax_rates_print_without_needless_decimals() {
    assert_eq!(rate(2000), "20%");
    assert_eq!(rate(1350), "13.5%");
    assert_eq!(rate(1325), "13.25%");
    assert_eq!(rate(5), "0.05%");
}

#[test]
fn a_small_receipt_encodes_to_these_exact_bytes() {
    let receipt = Receipt {
        currency: euro(),
        blocks: vec![
            Block::Title { text: "Té".into() },
            Block::Amount {
                label: "TOTAL".into(),
                minor: 5,
                strong: true,
            },
            Block::Qr {
                data: "Q".into(),
                modules: QrModules::default(),
            },
        ],
    };
    let mut expected = vec![0x1b, b'@', 0x1b, b't', 19];
    expected.extend_from_slice(&[0x1b, b'a', 1, 0x1b, b'E', 1, 0x1d, b'!', 0x11]);
    expected.extend_from_slice(&[b'T', 0x82, b'\n']);
    expected.extend_from_slice(&[0x1b, b'a', 0, 0x1d, b'!', 0]);
    expected.extend_from_slice(b"TOTAL");
    expected.extend_from_slice(&[b' '; 22]);
    expected.extend_from_slice(&[0xd5]);
    expected.extend_from_slice(b"0.05\n");
    expected.extend_from_slice(&[0x1b, b'a', 1, 0x1b, b'E', 0]);
    expected.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, b'1', b'A', b'2', 0]);
    expected.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, b'1', b'C', 6]);
    expected.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, b'1', b'E', b'1']);
    expected.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, b'1', b'P', b'0', b'Q']);
    expected.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, b'1', b'Q', b'0', b'\n']);
    expected.extend_from_slice(&[0x1d, b'V', 66, 3]);
    assert_eq!(escpos::render(&receipt, Paper::Mm58), expected);
}

#[test]
fn a_z_report_prints_the_shifts_figures_and_the_drawers_count() {
    let ada = Operator {
        id: Uuid::nil(),
        name: "Ada".into(),
    };
    let shift = ShiftView {
        shift_id: Uuid::nil(),
        z_number: 4,
        state: "closed".into(),
        opened_by: ada.clone(),
        opened_at: "2026-11-30T08:00:00.000Z".into(),
        currency: euro(),
        float: 10_000,
        cash_sales: 1_500,
        cash_refunds: 200,
        cash_in: 0,
        cash_out: 0,
        expected_cash: 11_300,
        tickets: 3,
        sales: 2_500,
        reversals: 200,
        totals_by_tender: Vec::new(),
        tax_by_rate: vec![TaxFigures {
            rate_bp: 2000,
            base: 1_917,
            tax: 383,
        }],
        reconciliation: crate::shifts::ReconciliationState::Pending,
        mismatch: None,
        closed_by: Some(ada),
        closed_at: Some("2026-11-30T17:00:00.000Z".into()),
        counted_cash: Some(11_250),
        difference: Some(-50),
    };
    let text = text::render(&for_shift(&head(), &shift), Paper::Mm58);
    for line in [
        "            Z REPORT",
        "Z number                       4",
        "Closed      2026-11-30 17:00 UTC",
        "Closed by                    Ada",
        "Refunds and voids         -€2.00",
        "Tax 20%                    €3.83",
        "Expected cash            €113.00",
        "Counted cash             €112.50",
        "Difference                -€0.50",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
}

#[test]
fn the_qr_code_is_drawn_for_a_screen_as_a_square_of_modules() {
    let receipt = for_ticket(&head(), &sale(), None, None, false);
    let Some(Block::Qr { data, modules }) = receipt.blocks.last() else {
        panic!(
            "a receipt ends with its QR code: {:?}",
            receipt.blocks.last()
        );
    };
    assert_eq!(data, "00000000-0000-0000-0000-000000000000 ab12cd34ef56");
    let rows = &modules.0;
    // 49 bytes at error correction M need version 4: 33 modules a side.
    assert_eq!(rows.len(), 33);
    assert!(rows
        .iter()
        .all(|r| r.len() == 33 && r.chars().all(|c| c == '0' || c == '1')));
    // The finder patterns in three corners: a dark 7-module ring around a light one.
    for (x, y) in [(0, 0), (26, 0), (0, 26)] {
        assert_eq!(&rows[y][x..x + 7], "1111111", "finder at ({x}, {y})");
        assert_eq!(&rows[y + 1][x..x + 7], "1000001", "finder at ({x}, {y})");
        assert_eq!(&rows[y + 3][x..x + 7], "1011101", "finder at ({x}, {y})");
    }
}

#[test]
fn data_too_long_for_a_qr_code_draws_nothing() {
    assert_eq!(QrModules::encode(&"x".repeat(5000)), QrModules::default());
}
