//! Customers: what a terminal's create, edit or delete does to the server's copy (an edit made on
//! another version than the current one is a conflict, never an overwrite), and what an edit made
//! in the back office itself does. Each version records what made it (the terminal mutation, or
//! an id drawn for a back-office edit) and its HLC stamp.

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
    /// What made this version; `None` for a version written before it was kept.
    pub made_by: Option<Uuid>,
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
            made_by: self.made_by,
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

/// The change that makes a customer version: which one (a terminal's mutation id, or an id drawn
/// for a back-office edit) and its HLC stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub by: Uuid,
    pub hlc: Hlc,
}

/// The version a terminal's edit or delete was made on, as the terminal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditBase {
    /// What made that version (the mutation's `base`): the edit applies only while the current
    /// version was made by it.
    MadeBy(Uuid),
    /// Its number (`base_version`), from a terminal that predates `base`.
    Version(u64),
}

impl EditBase {
    /// The base a mutation names: by identity when it carries one, else by number.
    pub fn of(base: Option<Uuid>, base_version: u64) -> EditBase {
        base.map_or(EditBase::Version(base_version), EditBase::MadeBy)
    }

    fn is_current(self, c: &StoredCustomer) -> bool {
        match self {
            EditBase::MadeBy(id) => c.customer.made_by == Some(id),
            EditBase::Version(version) => c.customer.version == version,
        }
    }
}

/// What to do with a customer change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerDecision {
    /// Write these fields at this version (`insert` when the row does not exist yet), made by
    /// the change `made`.
    Write {
        insert: bool,
        version: u64,
        fields: CustomerFields,
        made: Made,
    },
    /// Mark deleted at this version.
    Delete { version: u64, made: Made },
    /// Nothing to write; the outcome is already known.
    Settle(Outcome),
}

fn conflict(reason: ConflictReason, current: Option<&StoredCustomer>) -> CustomerDecision {
    CustomerDecision::Settle(Outcome::Conflict {
        reason,
        current: current.map(|c| ConflictCurrent::Customer(c.customer.clone())),
    })
}

/// Checks customer fields by the rule the terminal applies too.
fn check_fields(fields: &CustomerFields) -> Result<(), Rejection> {
    fields
        .check()
        .map_err(|message| Rejection::new("invalid_customer", message))
}

/// A customer created on a terminal. Creating one that exists with the same content is applied
/// idempotently; with other content it is a conflict.
pub fn created(
    current: Option<&StoredCustomer>,
    fields: &CustomerFields,
    made: Made,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    Ok(match current {
        None => CustomerDecision::Write {
            insert: true,
            version: 1,
            fields: fields.clone(),
            made,
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

/// What a terminal's edit or delete from `base` applies to.
enum Base<'a> {
    /// The customer, live at that version.
    Live(&'a StoredCustomer),
    /// Deleted, or changed since: a conflict with the server's copy, never an overwrite.
    Conflict(CustomerDecision),
}

fn base(current: Option<&StoredCustomer>, base: EditBase) -> Result<Base<'_>, Rejection> {
    match current {
        None => Err(Rejection::new(
            "unknown_customer",
            "the customer does not exist on the server",
        )),
        Some(c) if c.deleted => Ok(Base::Conflict(conflict(ConflictReason::Deleted, Some(c)))),
        Some(c) if !base.is_current(c) => Ok(Base::Conflict(conflict(
            ConflictReason::StaleVersion,
            Some(c),
        ))),
        Some(c) => Ok(Base::Live(c)),
    }
}

/// A customer edited on a terminal, made on the version `edit_base` names.
pub fn updated(
    current: Option<&StoredCustomer>,
    edit_base: EditBase,
    fields: &CustomerFields,
    made: Made,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    Ok(match base(current, edit_base)? {
        Base::Conflict(decision) => decision,
        Base::Live(c) => CustomerDecision::Write {
            insert: false,
            version: c.customer.version + 1,
            fields: fields.clone(),
            made,
        },
    })
}

/// A customer deleted on a terminal, made on the version `edit_base` names.
pub fn deleted(
    current: Option<&StoredCustomer>,
    edit_base: EditBase,
    made: Made,
) -> Result<CustomerDecision, Rejection> {
    Ok(match base(current, edit_base)? {
        Base::Conflict(decision) => decision,
        Base::Live(c) => CustomerDecision::Delete {
            version: c.customer.version + 1,
            made,
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

/// A change made in the back office itself at `now_ms`, `by` an id drawn for it.
pub fn back_office_change(by: Uuid, now_ms: i64) -> Made {
    Made {
        by,
        hlc: back_office_stamp(now_ms),
    }
}

/// `till-server customer add|edit`, the change `made`: creates the customer (a name is then
/// required) or edits it, bumping its version. A field left `None` keeps its value, `Some("")`
/// clears it; a deleted customer stays deleted.
pub fn back_office_edit(
    id: Uuid,
    current: Option<&StoredCustomer>,
    edit: &CustomerEdit,
    made: Made,
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
        made,
    })
}

/// `till-server customer delete`, the change `made`: terminals then receive a tombstone.
pub fn back_office_delete(
    id: Uuid,
    current: Option<&StoredCustomer>,
    made: Made,
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
            made,
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

    /// The change that made each stored version in these tests.
    const MADE_BY: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00aa);

    fn stored(version: u64, deleted: bool) -> StoredCustomer {
        StoredCustomer {
            server_id: 9,
            customer: Customer {
                id: Uuid::now_v7(),
                version,
                fields: fields("Ada"),
                hlc: None,
                made_by: Some(MADE_BY),
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

    fn made() -> Made {
        Made {
            by: Uuid::now_v7(),
            hlc: hlc(),
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
    fn a_new_customer_is_inserted_at_version_1_with_the_change_stamp() {
        let change = made();
        assert_eq!(
            created(None, &fields("Ada"), change),
            Ok(CustomerDecision::Write {
                insert: true,
                version: 1,
                fields: fields("Ada"),
                made: change,
            })
        );
    }

    #[test]
    fn creating_an_existing_customer_is_idempotent_only_with_the_same_content() {
        let current = stored(4, false);
        assert_eq!(
            created(Some(&current), &fields("Ada"), made()),
            Ok(CustomerDecision::Settle(Outcome::Applied {
                server_id: 9,
                server_number: None,
                version: 4,
            }))
        );
        let other = created(Some(&current), &fields("Grace"), made()).expect("decides");
        assert_eq!(conflict_reason(other), ConflictReason::AlreadyExists);
        let gone = created(Some(&stored(4, true)), &fields("Ada"), made()).expect("decides");
        assert_eq!(conflict_reason(gone), ConflictReason::Deleted);
    }

    #[test]
    fn an_edit_on_a_stale_version_is_a_conflict_not_an_overwrite() {
        let current = stored(3, false);
        let by_number = |v| EditBase::Version(v);
        let stale =
            updated(Some(&current), by_number(2), &fields("Grace"), made()).expect("decides");
        assert_eq!(conflict_reason(stale), ConflictReason::StaleVersion);
        assert!(matches!(
            updated(Some(&current), by_number(3), &fields("Grace"), made()),
            Ok(CustomerDecision::Write {
                insert: false,
                version: 4,
                ..
            })
        ));
        assert_eq!(
            updated(None, by_number(1), &fields("Grace"), made()).map_err(|r| r.code),
            Err("unknown_customer")
        );
    }

    #[test]
    fn an_edit_names_its_base_by_what_made_it_and_applies_only_on_that_version() {
        let current = stored(3, false);
        let change = made();
        assert_eq!(
            updated(
                Some(&current),
                EditBase::MadeBy(MADE_BY),
                &fields("Grace"),
                change
            ),
            Ok(CustomerDecision::Write {
                insert: false,
                version: 4,
                fields: fields("Grace"),
                made: change,
            }),
            "made on the current version: applied, and this change made the next"
        );
        let queued_after_another = EditBase::MadeBy(Uuid::now_v7());
        let other = updated(
            Some(&current),
            queued_after_another,
            &fields("Grace"),
            made(),
        )
        .expect("decides");
        assert_eq!(
            conflict_reason(other),
            ConflictReason::StaleVersion,
            "made on a version another change replaced: a conflict, whatever the numbers say"
        );
        let legacy = StoredCustomer {
            customer: Customer {
                made_by: None,
                ..current.customer.clone()
            },
            ..current.clone()
        };
        let unknown = updated(
            Some(&legacy),
            EditBase::MadeBy(MADE_BY),
            &fields("Grace"),
            made(),
        )
        .expect("decides");
        assert_eq!(
            conflict_reason(unknown),
            ConflictReason::StaleVersion,
            "a version of unknown origin is never taken for the base named"
        );
        assert_eq!(
            EditBase::of(None, 3),
            EditBase::Version(3),
            "a terminal that predates base is judged by number"
        );
        assert_eq!(EditBase::of(Some(MADE_BY), 3), EditBase::MadeBy(MADE_BY));
    }

    #[test]
    fn a_delete_bumps_the_version_unless_stale_or_gone() {
        let current = stored(3, false);
        let change = made();
        assert_eq!(
            deleted(Some(&current), EditBase::Version(3), change),
            Ok(CustomerDecision::Delete {
                version: 4,
                made: change
            })
        );
        let stale = deleted(Some(&current), EditBase::Version(1), change).expect("decides");
        assert_eq!(conflict_reason(stale), ConflictReason::StaleVersion);
        let other =
            deleted(Some(&current), EditBase::MadeBy(Uuid::now_v7()), change).expect("decides");
        assert_eq!(conflict_reason(other), ConflictReason::StaleVersion);
        let twice = deleted(Some(&stored(4, true)), EditBase::Version(4), change).expect("decides");
        assert_eq!(conflict_reason(twice), ConflictReason::Deleted);
        assert_eq!(
            deleted(None, EditBase::Version(1), change).map_err(|r| r.code),
            Err("unknown_customer")
        );
    }

    #[test]
    fn fields_breaking_the_shared_rule_are_rejected_before_anything_else() {
        let empty = fields("");
        assert_eq!(
            created(None, &empty, made()).map_err(|r| r.code),
            Err("invalid_customer")
        );
        assert_eq!(
            updated(None, EditBase::Version(1), &empty, made()).map_err(|r| r.code),
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
        let change = back_office_change(Uuid::now_v7(), 1_000);
        let decision = back_office_edit(current.customer.id, Some(&current), &edit, change)
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
                made: change,
            }
        );
        assert_eq!(change.hlc, back_office_stamp(1_000));
    }

    #[test]
    fn a_back_office_edit_creates_a_customer_only_with_a_name_and_never_revives_one() {
        let id = Uuid::now_v7();
        let change = back_office_change(Uuid::now_v7(), 1_000);
        let nameless = back_office_edit(id, None, &CustomerEdit::default(), change);
        assert!(matches!(nameless, Err(StorageError::Invalid(_))));
        let named = CustomerEdit {
            name: Some("Ada".into()),
            ..CustomerEdit::default()
        };
        assert!(matches!(
            back_office_edit(id, None, &named, change),
            Ok(CustomerDecision::Write {
                insert: true,
                version: 1,
                ..
            })
        ));
        let gone = stored(5, true);
        assert!(matches!(
            back_office_edit(id, Some(&gone), &named, change),
            Err(StorageError::Invalid(_))
        ));
    }

    #[test]
    fn a_back_office_delete_needs_a_live_customer() {
        let id = Uuid::now_v7();
        let change = back_office_change(Uuid::now_v7(), 1_000);
        assert!(matches!(
            back_office_delete(id, None, change),
            Err(StorageError::NotFound { .. })
        ));
        assert!(matches!(
            back_office_delete(id, Some(&stored(2, true)), change),
            Err(StorageError::Invalid(_))
        ));
        assert_eq!(
            back_office_delete(id, Some(&stored(2, false)), change).expect("deletes"),
            CustomerDecision::Delete {
                version: 3,
                made: change
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
            made_by: Some(MADE_BY),
        };
        let stored = row.clone().into_stored(9, false).expect("reads");
        assert_eq!(stored.customer.hlc, Some(stamp));
        assert_eq!(stored.customer.version, 3);
        assert_eq!(
            stored.customer.made_by,
            Some(MADE_BY),
            "what made it travels with it"
        );
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
