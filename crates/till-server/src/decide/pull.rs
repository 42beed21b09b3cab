//! A pull page: the changes of five tables after a cursor, merged into one list, oldest change
//! first, each entity at its latest state or as a tombstone.

use till_protocol::{Change, ChangeKind, Employee, Product, StoreSettings, TaxRate};

use super::customers::CustomerRow;
use crate::storage::{PullPage, StorageError};

/// A row changed after the cursor, with its change number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed<T> {
    pub seq: i64,
    /// A tombstone: terminals delete what they hold.
    pub deleted: bool,
    pub row: T,
}

/// A tax rate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRateRow {
    pub id: String,
    pub name: String,
    pub rate_bp: i64,
}

/// What a backend read for one page, in one snapshot: from each table, the first
/// [`rows_per_table`] rows changed after the cursor, in change order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    /// The settings' stored JSON, with its change number (settings are never deleted).
    pub settings: Vec<(i64, String)>,
    pub tax_rates: Vec<Changed<TaxRateRow>>,
    pub products: Vec<Changed<Product>>,
    pub customers: Vec<Changed<CustomerRow>>,
    /// Employees with their change numbers (employees are disabled, never deleted).
    pub employees: Vec<(i64, Employee)>,
}

/// How many rows to read from each table for a page of `limit`: one more than asked tells
/// whether more wait.
pub fn rows_per_table(limit: u32) -> i64 {
    i64::from(limit) + 1
}

/// The page of at most `limit` changes after `cursor`, employees among them only when
/// `employees` (a terminal of an older revision is not sent them). Its cursor is the last
/// change it passed (or `cursor` when none), never a clock, so the next page starts right
/// after it: employee changes a terminal is not sent are passed without counting toward
/// `limit`, so such a page still fills with the other changes after them.
///
/// Each table's rows come up to [`rows_per_table`]: a table that filled it may hold more
/// after its last row read, so the page goes no further than the first such last row, where
/// every table's changes are known.
pub fn page(
    rows: Rows,
    cursor: u64,
    limit: u32,
    employees: bool,
) -> Result<PullPage, StorageError> {
    let full = usize::try_from(rows_per_table(limit)).unwrap_or(usize::MAX);
    let last_read = |seqs: &mut dyn Iterator<Item = i64>, count: usize| {
        if count >= full {
            seqs.last()
        } else {
            None
        }
    };
    let horizon = [
        last_read(&mut rows.settings.iter().map(|r| r.0), rows.settings.len()),
        last_read(
            &mut rows.tax_rates.iter().map(|r| r.seq),
            rows.tax_rates.len(),
        ),
        last_read(
            &mut rows.products.iter().map(|r| r.seq),
            rows.products.len(),
        ),
        last_read(
            &mut rows.customers.iter().map(|r| r.seq),
            rows.customers.len(),
        ),
        last_read(
            &mut rows.employees.iter().map(|r| r.0),
            rows.employees.len(),
        ),
    ]
    .into_iter()
    .flatten()
    .min()
    .map(|seq| seq.max(0) as u64);
    let seq = |seq: i64| seq.max(0) as u64;
    let mut changes = Vec::new();
    for (change_seq, body) in rows.settings {
        let settings: StoreSettings = serde_json::from_str(&body)
            .map_err(|e| StorageError::Corrupt(format!("settings: {e}")))?;
        changes.push(Change {
            seq: seq(change_seq),
            change: ChangeKind::Settings(settings),
        });
    }
    for r in rows.tax_rates {
        let change = if r.deleted {
            ChangeKind::TaxRateDeleted { id: r.row.id }
        } else {
            let rate_bp = r.row.rate_bp;
            ChangeKind::TaxRateUpserted(TaxRate {
                id: r.row.id,
                name: r.row.name,
                rate_bp: u32::try_from(rate_bp)
                    .map_err(|_| StorageError::Corrupt(format!("tax rate {rate_bp}")))?,
            })
        };
        changes.push(Change {
            seq: seq(r.seq),
            change,
        });
    }
    for r in rows.products {
        let change = if r.deleted {
            ChangeKind::ProductDeleted { id: r.row.id }
        } else {
            ChangeKind::ProductUpserted(r.row)
        };
        changes.push(Change {
            seq: seq(r.seq),
            change,
        });
    }
    for r in rows.customers {
        let change = if r.deleted {
            ChangeKind::CustomerDeleted {
                id: r.row.id,
                version: r.row.version(),
            }
        } else {
            ChangeKind::CustomerUpserted(r.row.into_customer()?)
        };
        changes.push(Change {
            seq: seq(r.seq),
            change,
        });
    }
    for (change_seq, employee) in rows.employees {
        changes.push(Change {
            seq: seq(change_seq),
            change: ChangeKind::EmployeeUpserted(employee),
        });
    }
    changes.sort_by_key(|c| c.seq);
    let read = changes.len();
    let mut sent = Vec::new();
    let mut passed = cursor;
    let mut walked = 0;
    for change in changes {
        if sent.len() == limit as usize || horizon.is_some_and(|h| change.seq > h) {
            break;
        }
        walked += 1;
        passed = change.seq;
        if employees || !matches!(change.change, ChangeKind::EmployeeUpserted(_)) {
            sent.push(change);
        }
    }
    Ok(PullPage {
        has_more: walked < read || horizon.is_some(),
        changes: sent,
        cursor: passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::{CustomerFields, Hlc};
    use uuid::Uuid;

    fn product(seq: i64, deleted: bool) -> Changed<Product> {
        Changed {
            seq,
            deleted,
            row: Product {
                id: Uuid::now_v7(),
                sku: format!("SKU-{seq}"),
                barcode: None,
                name: format!("Product {seq}"),
                category: "misc".into(),
                unit_price: 100,
                tax_category: "standard".into(),
                active: true,
            },
        }
    }

    fn rate(seq: i64, deleted: bool) -> Changed<TaxRateRow> {
        Changed {
            seq,
            deleted,
            row: TaxRateRow {
                id: format!("rate-{seq}"),
                name: "Standard".into(),
                rate_bp: 2000,
            },
        }
    }

    fn customer(seq: i64, deleted: bool, hlc: Option<String>) -> Changed<CustomerRow> {
        Changed {
            seq,
            deleted,
            row: CustomerRow {
                id: Uuid::now_v7(),
                version: 2,
                fields: CustomerFields {
                    name: "Ada".into(),
                    ..CustomerFields::default()
                },
                tags: "[]".into(),
                hlc,
                made_by: None,
            },
        }
    }

    fn employee(disabled: bool) -> Employee {
        Employee {
            id: Uuid::now_v7(),
            name: "Grace".into(),
            role: till_protocol::Role::Manager,
            pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            disabled,
        }
    }

    fn seqs(page: &PullPage) -> Vec<u64> {
        page.changes.iter().map(|c| c.seq).collect()
    }

    #[test]
    fn changes_of_every_table_merge_oldest_first_with_tombstones() {
        let settings = serde_json::json!({
            "store_name": "Corner shop",
            "currency": {"code": "EUR", "exponent": 2},
            "prices_include_tax": true,
            "locale": "en-GB"
        });
        let rows = Rows {
            settings: vec![(4, settings.to_string())],
            tax_rates: vec![rate(1, false)],
            products: vec![product(2, false), product(5, true)],
            customers: vec![customer(3, false, None), customer(6, true, None)],
            employees: vec![(7, employee(true))],
        };
        let page = page(rows, 0, 10, true).expect("a page");
        assert_eq!(seqs(&page), vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(!page.has_more);
        assert_eq!(page.cursor, 7, "the cursor is the last change returned");
        assert!(matches!(
            &page.changes[6].change,
            ChangeKind::EmployeeUpserted(e) if e.disabled
        ));
        assert!(matches!(
            page.changes[4].change,
            ChangeKind::ProductDeleted { .. }
        ));
        assert!(matches!(
            page.changes[5].change,
            ChangeKind::CustomerDeleted { version: 2, .. }
        ));
    }

    #[test]
    fn a_full_page_says_more_wait_and_ends_at_its_last_change() {
        let rows = Rows {
            products: vec![product(1, false), product(3, false), product(5, false)],
            tax_rates: vec![rate(2, false), rate(4, false), rate(6, false)],
            employees: vec![(7, employee(false))],
            ..Rows::default()
        };
        let page = page(rows, 0, 3, true).expect("a page");
        assert_eq!(seqs(&page), vec![1, 2, 3]);
        assert!(page.has_more, "more changes wait after seq 3");
        assert_eq!(page.cursor, 3);
    }

    #[test]
    fn employee_changes_a_terminal_is_not_sent_are_passed_and_the_page_fills_after_them() {
        let rows = || Rows {
            employees: vec![(1, employee(false)), (2, employee(false))],
            products: vec![product(3, false), product(4, false)],
            ..Rows::default()
        };
        let older = page(rows(), 0, 2, false).expect("a page");
        assert_eq!(seqs(&older), vec![3, 4], "two changes it reads, not none");
        assert_eq!((older.cursor, older.has_more), (4, false));
        let current = page(rows(), 0, 2, true).expect("a page");
        assert_eq!(seqs(&current), vec![1, 2]);
        assert_eq!((current.cursor, current.has_more), (2, true));
    }

    #[test]
    fn a_page_goes_no_further_than_a_full_table_was_read() {
        let rows = Rows {
            employees: vec![
                (1, employee(false)),
                (2, employee(false)),
                (3, employee(true)),
            ],
            products: vec![product(9, false)],
            ..Rows::default()
        };
        let older = page(rows, 0, 2, false).expect("a page");
        assert!(older.changes.is_empty());
        assert_eq!(
            (older.cursor, older.has_more),
            (3, true),
            "more employees may follow the three read, before the product: read on after them"
        );
    }

    #[test]
    fn an_empty_page_keeps_the_cursor() {
        let page = page(Rows::default(), 42, 10, true).expect("a page");
        assert!(page.changes.is_empty());
        assert!(!page.has_more);
        assert_eq!(
            page.cursor, 42,
            "a cursor beyond the head stays where it is"
        );
        assert_eq!(rows_per_table(10), 11);
    }

    #[test]
    fn a_customer_carries_its_stamp_and_damaged_rows_are_reported() {
        let stamp = Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 1,
            node: Uuid::nil(),
        };
        let text = serde_json::to_string(&stamp).expect("serialises");
        let rows = Rows {
            customers: vec![customer(1, false, Some(text))],
            ..Rows::default()
        };
        match &page(rows, 0, 10, true).expect("a page").changes[0].change {
            ChangeKind::CustomerUpserted(c) => assert_eq!(c.hlc, Some(stamp)),
            other => panic!("expected a customer, got {other:?}"),
        }
        let damaged = Rows {
            customers: vec![customer(1, false, Some("{".into()))],
            ..Rows::default()
        };
        assert!(matches!(
            page(damaged, 0, 10, true),
            Err(StorageError::Corrupt(_))
        ));
        let bad_rate = Rows {
            tax_rates: vec![Changed {
                row: TaxRateRow {
                    rate_bp: -1,
                    ..rate(1, false).row
                },
                ..rate(1, false)
            }],
            ..Rows::default()
        };
        assert!(matches!(
            page(bad_rate, 0, 10, true),
            Err(StorageError::Corrupt(_))
        ));
    }
}
