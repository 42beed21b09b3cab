//! Customers: what a terminal's create, edit or delete does to the server's copy (a stale base
//! version is a conflict, never an overwrite), and what an edit made in the back office itself
//! does.

use till_protocol::{ConflictCurrent, ConflictReason, Customer, CustomerFields, Hlc, Outcome};
use uuid::Uuid;

use super::Rejection;
use crate::storage::{CustomerEdit, StorageError};

/// A customer as stored, tombstones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub server_id: i64,
    pub customer: Customer,
    pub deleted: bool,
}

/// A customer's columns as both backends store them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    pub id: Uuid,
    pub version: i64,
    pub fields: CustomerFields,
    /// The stamp's stored form ([`stamp_text`]); `None` for a customer written before stamps
    /// were kept.
    pub hlc: Option<String>,
}

impl CustomerRow {
    pub fn version(&self) -> u64 {
        self.version.max(0) as u64
    }

    /// The customer the row holds; a damaged stamp is reported, never guessed.
    pub fn into_customer(self) -> Result<Customer, StorageError> {
        let hlc = self
            .hlc
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| {
                StorageError::Corrupt(format!("the stamp of customer {}: {e}", self.id))
            })?;
        Ok(Customer {
            id: self.id,
            version: self.version(),
            fields: self.fields,
            hlc,
        })
    }

    pub fn into_stored(
        self,
        server_id: i64,
        deleted: bool,
    ) -> Result<StoredCustomer, StorageError> {
        Ok(StoredCustomer {
            server_id,
            customer: self.into_customer()?,
            deleted,
        })
    }
}

/// The stored form of a stamp: JSON text, the same in both backends.
pub fn stamp_text(hlc: &Hlc) -> Result<String, StorageError> {
    serde_json::to_string(hlc)
        .map_err(|e| StorageError::Database(format!("cannot store a stamp: {e}")))
}

/// What to do with a customer change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerDecision {
    /// Write these fields at this version (`insert` when the row does not exist yet), stamped
    /// with the change's HLC.
    Write {
        insert: bool,
        version: u64,
        fields: CustomerFields,
        hlc: Hlc,
    },
    /// Mark deleted at this version.
    Delete { version: u64, hlc: Hlc },
    /// Nothing to write; the outcome is already known.
    Settle(Outcome),
}

fn conflict(reason: ConflictReason, current: Option<&StoredCustomer>) -> CustomerDecision {
    CustomerDecision::Settle(Outcome::Conflict {
        reason,
        current: current.map(|c| ConflictCurrent::Customer(c.customer.clone())),
    })
}

/// Checks customer fields by the rules the terminal applies too: their shape, and no card
/// number in any of them (`card_number_in_text`, naming the field, never the value).
fn check_fields(fields: &CustomerFields) -> Result<(), Rejection> {
    fields
        .check()
        .map_err(|message| Rejection::new("invalid_customer", message))?;
    match fields.field_with_card_number() {
        Some(field) => Err(Rejection::new(
            "card_number_in_text",
            format!("the customer's {field} holds what looks like a card number"),
        )),
        None => Ok(()),
    }
}

/// A customer created on a terminal. Creating one that exists with the same content is applied
/// idempotently; with other content it is a conflict.
pub fn created(
    current: Option<&StoredCustomer>,
    fields: &CustomerFields,
    hlc: Hlc,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    Ok(match current {
        None => CustomerDecision::Write {
            insert: true,
            version: 1,
            fields: fields.clone(),
            hlc,
        },
        Some(c) if c.deleted => conflict(ConflictReason::Deleted, Some(c)),
        Some(c) if c.customer.fields == *fields => CustomerDecision::Settle(Outcome::Applied {
            server_id: c.server_id,
            server_number: None,
            version: c.customer.version,
        }),
        Some(c) => conflict(ConflictReason::AlreadyExists, Some(c)),
    })
}

/// What a terminal's edit or delete from `base_version` applies to.
enum Base<'a> {
    /// The customer, live at that version.
    Live(&'a StoredCustomer),
    /// Deleted, or changed since: a conflict with the server's copy, never an overwrite.
    Conflict(CustomerDecision),
}

fn base(current: Option<&StoredCustomer>, base_version: u64) -> Result<Base<'_>, Rejection> {
    match current {
        None => Err(Rejection::new(
            "unknown_customer",
            "the customer does not exist on the server",
        )),
        Some(c) if c.deleted => Ok(Base::Conflict(conflict(ConflictReason::Deleted, Some(c)))),
        Some(c) if c.customer.version != base_version => Ok(Base::Conflict(conflict(
            ConflictReason::StaleVersion,
            Some(c),
        ))),
        Some(c) => Ok(Base::Live(c)),
    }
}

/// A customer edited on a terminal from `base_version`.
pub fn updated(
    current: Option<&StoredCustomer>,
    base_version: u64,
    fields: &CustomerFields,
    hlc: Hlc,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    Ok(match base(current, base_version)? {
        Base::Conflict(decision) => decision,
        Base::Live(c) => CustomerDecision::Write {
            insert: false,
            version: c.customer.version + 1,
            fields: fields.clone(),
            hlc,
        },
    })
}

/// A customer deleted on a terminal from `base_version`.
pub fn deleted(
    current: Option<&StoredCustomer>,
    base_version: u64,
    hlc: Hlc,
) -> Result<CustomerDecision, Rejection> {
    Ok(match base(current, base_version)? {
        Base::Conflict(decision) => decision,
        Base::Live(c) => CustomerDecision::Delete {
            version: c.customer.version + 1,
            hlc,
        },
    })
}

/// The stamp of a change made in the back office itself (`till-server customer edit`): its
/// clock, counter 0, and the nil node, so a terminal's stamp of the same millisecond is later.
pub fn back_office_stamp(now_ms: i64) -> Hlc {
    Hlc {
        wall_ms: now_ms,
        counter: 0,
        node: Uuid::nil(),
    }
}

/// `till-server customer add|edit` at `now_ms`: creates the customer (a name is then required)
/// or edits it, bumping its version. A field left `None` keeps its value, `Some("")` clears it;
/// a deleted customer stays deleted.
pub fn back_office_edit(
    id: Uuid,
    current: Option<&StoredCustomer>,
    edit: &CustomerEdit,
    now_ms: i64,
) -> Result<CustomerDecision, StorageError> {
    let blank = |new: &Option<String>, old: Option<String>| match new {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => old,
    };
    let (insert, version, fields) = match current {
        Some(c) if c.deleted => {
            return Err(StorageError::Invalid(format!("customer {id} was deleted")))
        }
        Some(c) => {
            let old = c.customer.fields.clone();
            let fields = CustomerFields {
                name: edit.name.clone().unwrap_or(old.name),
                email: blank(&edit.email, old.email),
                phone: blank(&edit.phone, old.phone),
                note: blank(&edit.note, old.note),
            };
            (false, c.customer.version + 1, fields)
        }
        None => {
            let name = edit.name.clone().ok_or_else(|| {
                StorageError::Invalid(format!(
                    "customer {id} does not exist; a new customer needs a name"
                ))
            })?;
            let fields = CustomerFields {
                name,
                email: blank(&edit.email, None),
                phone: blank(&edit.phone, None),
                note: blank(&edit.note, None),
            };
            (true, 1, fields)
        }
    };
    check_fields(&fields).map_err(|r| StorageError::Invalid(r.message))?;
    Ok(CustomerDecision::Write {
        insert,
        version,
        fields,
        hlc: back_office_stamp(now_ms),
    })
}

/// `till-server customer delete` at `now_ms`: terminals then receive a tombstone.
pub fn back_office_delete(
    id: Uuid,
    current: Option<&StoredCustomer>,
    now_ms: i64,
) -> Result<CustomerDecision, StorageError> {
    match current {
        None => Err(StorageError::NotFound {
            what: format!("customer {id}"),
        }),
        Some(c) if c.deleted => Err(StorageError::Invalid(format!(
            "customer {id} is already deleted"
        ))),
        Some(c) => Ok(CustomerDecision::Delete {
            version: c.customer.version + 1,
            hlc: back_office_stamp(now_ms),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(name: &str) -> CustomerFields {
        CustomerFields {
            name: name.into(),
            email: Some("ada@example.com".into()),
            phone: None,
            note: None,
        }
    }

    fn stored(version: u64, deleted: bool) -> StoredCustomer {
        StoredCustomer {
            server_id: 9,
            customer: Customer {
                id: Uuid::now_v7(),
                version,
                fields: fields("Ada"),
                hlc: None,
            },
            deleted,
        }
    }

    fn hlc() -> Hlc {
        Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 3,
            node: Uuid::now_v7(),
        }
    }

    fn conflict_reason(decision: CustomerDecision) -> ConflictReason {
        match decision {
            CustomerDecision::Settle(Outcome::Conflict { reason, current }) => {
                assert!(current.is_some(), "a conflict carries the server's copy");
                reason
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn a_card_number_in_any_customer_field_is_rejected_wherever_the_change_comes_from() {
        let mut with_card = fields("Ada");
        with_card.note = Some("card 4111.1111.1111.1111".into());
        let refused = created(None, &with_card, hlc()).expect_err("a card number is never stored");
        assert_eq!(refused.code, "card_number_in_text");
        assert!(
            refused.message.contains("note") && !refused.message.contains("4111"),
            "{}",
            refused.message
        );
        let edit = CustomerEdit {
            phone: Some("4111  1111  1111  1111".into()),
            ..CustomerEdit::default()
        };
        let office = back_office_edit(Uuid::now_v7(), Some(&stored(1, false)), &edit, 1_000);
        assert!(
            matches!(office, Err(StorageError::Invalid(ref m)) if m.contains("phone")),
            "the back office's own edits follow the same rule: {office:?}"
        );
    }

    #[test]
    fn a_new_customer_is_inserted_at_version_1_with_the_change_stamp() {
        let stamp = hlc();
        assert_eq!(
            created(None, &fields("Ada"), stamp),
            Ok(CustomerDecision::Write {
                insert: true,
                version: 1,
                fields: fields("Ada"),
                hlc: stamp,
            })
        );
    }

    #[test]
    fn creating_an_existing_customer_is_idempotent_only_with_the_same_content() {
        let current = stored(4, false);
        assert_eq!(
            created(Some(&current), &fields("Ada"), hlc()),
            Ok(CustomerDecision::Settle(Outcome::Applied {
                server_id: 9,
                server_number: None,
                version: 4,
            }))
        );
        let other = created(Some(&current), &fields("Grace"), hlc()).expect("decides");
        assert_eq!(conflict_reason(other), ConflictReason::AlreadyExists);
        let gone = created(Some(&stored(4, true)), &fields("Ada"), hlc()).expect("decides");
        assert_eq!(conflict_reason(gone), ConflictReason::Deleted);
    }

    #[test]
    fn an_edit_on_a_stale_version_is_a_conflict_not_an_overwrite() {
        let current = stored(3, false);
        let stale = updated(Some(&current), 2, &fields("Grace"), hlc()).expect("decides");
        assert_eq!(conflict_reason(stale), ConflictReason::StaleVersion);
        assert!(matches!(
            updated(Some(&current), 3, &fields("Grace"), hlc()),
            Ok(CustomerDecision::Write {
                insert: false,
                version: 4,
                ..
            })
        ));
        assert_eq!(
            updated(None, 1, &fields("Grace"), hlc()).map_err(|r| r.code),
            Err("unknown_customer")
        );
    }

    #[test]
    fn a_delete_bumps_the_version_unless_stale_or_gone() {
        let current = stored(3, false);
        let stamp = hlc();
        assert_eq!(
            deleted(Some(&current), 3, stamp),
            Ok(CustomerDecision::Delete {
                version: 4,
                hlc: stamp
            })
        );
        let stale = deleted(Some(&current), 1, stamp).expect("decides");
        assert_eq!(conflict_reason(stale), ConflictReason::StaleVersion);
        let twice = deleted(Some(&stored(4, true)), 4, stamp).expect("decides");
        assert_eq!(conflict_reason(twice), ConflictReason::Deleted);
        assert_eq!(
            deleted(None, 1, stamp).map_err(|r| r.code),
            Err("unknown_customer")
        );
    }

    #[test]
    fn fields_breaking_the_shared_rule_are_rejected_before_anything_else() {
        let empty = fields("");
        assert_eq!(
            created(None, &empty, hlc()).map_err(|r| r.code),
            Err("invalid_customer")
        );
        assert_eq!(
            updated(None, 1, &empty, hlc()).map_err(|r| r.code),
            Err("invalid_customer"),
            "the fields are checked before the customer is looked up"
        );
    }

    #[test]
    fn a_back_office_edit_keeps_unnamed_fields_clears_empty_ones_and_bumps_the_version() {
        let current = stored(2, false);
        let edit = CustomerEdit {
            name: None,
            email: Some(String::new()),
            phone: Some("+44 20 7946 0000".into()),
            note: None,
        };
        let decision = back_office_edit(current.customer.id, Some(&current), &edit, 1_000)
            .expect("an edit of a live customer");
        assert_eq!(
            decision,
            CustomerDecision::Write {
                insert: false,
                version: 3,
                fields: CustomerFields {
                    name: "Ada".into(),
                    email: None,
                    phone: Some("+44 20 7946 0000".into()),
                    note: None,
                },
                hlc: back_office_stamp(1_000),
            }
        );
    }

    #[test]
    fn a_back_office_edit_creates_a_customer_only_with_a_name_and_never_revives_one() {
        let id = Uuid::now_v7();
        let nameless = back_office_edit(id, None, &CustomerEdit::default(), 1_000);
        assert!(matches!(nameless, Err(StorageError::Invalid(_))));
        let named = CustomerEdit {
            name: Some("Ada".into()),
            ..CustomerEdit::default()
        };
        assert!(matches!(
            back_office_edit(id, None, &named, 1_000),
            Ok(CustomerDecision::Write {
                insert: true,
                version: 1,
                ..
            })
        ));
        let gone = stored(5, true);
        assert!(matches!(
            back_office_edit(id, Some(&gone), &named, 1_000),
            Err(StorageError::Invalid(_))
        ));
    }

    #[test]
    fn a_back_office_delete_needs_a_live_customer() {
        let id = Uuid::now_v7();
        assert!(matches!(
            back_office_delete(id, None, 1_000),
            Err(StorageError::NotFound { .. })
        ));
        assert!(matches!(
            back_office_delete(id, Some(&stored(2, true)), 1_000),
            Err(StorageError::Invalid(_))
        ));
        assert_eq!(
            back_office_delete(id, Some(&stored(2, false)), 1_000).expect("deletes"),
            CustomerDecision::Delete {
                version: 3,
                hlc: back_office_stamp(1_000)
            }
        );
    }

    #[test]
    fn a_stored_row_reads_back_with_its_stamp_and_a_damaged_stamp_is_reported() {
        let stamp = hlc();
        let row = CustomerRow {
            id: Uuid::now_v7(),
            version: 3,
            fields: fields("Ada"),
            hlc: Some(stamp_text(&stamp).expect("serialises")),
        };
        let stored = row.clone().into_stored(9, false).expect("reads");
        assert_eq!(stored.customer.hlc, Some(stamp));
        assert_eq!(stored.customer.version, 3);
        let before_stamps = CustomerRow {
            hlc: None,
            ..row.clone()
        };
        assert_eq!(before_stamps.into_customer().expect("reads").hlc, None);
        let damaged = CustomerRow {
            hlc: Some("not a stamp".into()),
            ..row
        };
        assert!(matches!(
            damaged.into_customer(),
            Err(StorageError::Corrupt(_))
        ));
    }

    #[test]
    fn a_back_office_stamp_is_earlier_than_a_terminal_stamp_of_the_same_millisecond() {
        let office = back_office_stamp(1_000);
        let terminal = Hlc {
            wall_ms: 1_000,
            counter: 0,
            node: Uuid::now_v7(),
        };
        assert!(office < terminal, "the nil node sorts first");
    }
}
