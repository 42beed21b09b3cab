//! Customers: what a terminal's create, edit or delete does to the server's copy (an edit made on
//! another version than the current one is a conflict, never an overwrite), and what an edit made
//! in the back office itself does. Each version records what made it (the terminal mutation, or
//! an id drawn for a back-office edit) and its HLC stamp.

use std::collections::BTreeSet;

use till_protocol::{
    fields, ConflictCurrent, ConflictReason, Customer, CustomerFields, Hlc, Outcome,
};
use uuid::Uuid;

use super::Rejection;
use crate::storage::{CustomerEdit, PointsChange, StorageError};

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
    /// Its fields, tags aside: those are read from `tags` by [`Self::into_customer`].
    pub fields: CustomerFields,
    /// The tags' stored form ([`tags_text`]).
    pub tags: String,
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

    /// The customer the row holds; a damaged stamp or tag list is reported, never guessed.
    pub fn into_customer(self) -> Result<Customer, StorageError> {
        let tags = serde_json::from_str(&self.tags)
            .map_err(|e| StorageError::Corrupt(format!("the tags of customer {}: {e}", self.id)))?;
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
            fields: CustomerFields {
                tags,
                ..self.fields
            },
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

/// The stored form of a customer's tags: a JSON array, the same in both backends.
pub fn tags_text(tags: &BTreeSet<String>) -> Result<String, StorageError> {
    serde_json::to_string(tags)
        .map_err(|e| StorageError::Database(format!("cannot store tags: {e}")))
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

/// What a change queued in payload `format` sets the customer's fields to: the fields it carries,
/// and those it does not (an older till's) as they are now ([`fields::as_sent`]).
fn as_sent(
    fields: &CustomerFields,
    format: u32,
    current: Option<&StoredCustomer>,
) -> CustomerFields {
    match current {
        Some(c) => fields::as_sent(fields, format, &c.customer.fields),
        None => fields.clone(),
    }
}

/// A customer created on a terminal, in payload `format`. Creating one that exists with the same
/// content is applied idempotently; with other content it is a conflict.
pub fn created(
    current: Option<&StoredCustomer>,
    fields: &CustomerFields,
    format: u32,
    made: Made,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    let fields = &as_sent(fields, format, current);
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
    Conflict(Box<CustomerDecision>),
}

fn base(current: Option<&StoredCustomer>, base: EditBase) -> Result<Base<'_>, Rejection> {
    match current {
        None => Err(Rejection::new(
            "unknown_customer",
            "the customer does not exist on the server",
        )),
        Some(c) if c.deleted => Ok(Base::Conflict(Box::new(conflict(
            ConflictReason::Deleted,
            Some(c),
        )))),
        Some(c) if !base.is_current(c) => Ok(Base::Conflict(Box::new(conflict(
            ConflictReason::StaleVersion,
            Some(c),
        )))),
        Some(c) => Ok(Base::Live(c)),
    }
}

/// A customer edited on a terminal, in payload `format`, made on the version `edit_base` names.
/// An edit of a format that does not carry a field leaves that field as it is.
pub fn updated(
    current: Option<&StoredCustomer>,
    edit_base: EditBase,
    fields: &CustomerFields,
    format: u32,
    made: Made,
) -> Result<CustomerDecision, Rejection> {
    check_fields(fields)?;
    Ok(match base(current, edit_base)? {
        Base::Conflict(decision) => *decision,
        Base::Live(c) => CustomerDecision::Write {
            insert: false,
            version: c.customer.version + 1,
            fields: as_sent(fields, format, Some(c)),
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
        Base::Conflict(decision) => *decision,
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
/// clears it; tags are added and removed, points moved or set; a deleted customer stays deleted.
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
                tags: edited_tags(&old.tags, edit)?,
                loyalty_points: edited_points(old.loyalty_points, edit.points),
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
                tags: edited_tags(&BTreeSet::new(), edit)?,
                loyalty_points: edited_points(0, edit.points),
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

/// `tags` with the edit's tags added and removed ([`fields::edit_tags`]).
fn edited_tags(
    tags: &BTreeSet<String>,
    edit: &CustomerEdit,
) -> Result<BTreeSet<String>, StorageError> {
    fields::edit_tags(tags, &edit.add_tags, &edit.remove_tags).map_err(StorageError::Invalid)
}

/// `points` as the edit's change leaves them; [`CustomerFields::check`] refuses a result out of
/// range.
fn edited_points(points: i64, change: Option<PointsChange>) -> i64 {
    match change {
        None => points,
        Some(PointsChange::Add(n)) => points.saturating_add(n),
        Some(PointsChange::Set(n)) => n,
    }
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

    /// The payload format of a till of today.
    const NOW: u32 = till_protocol::PAYLOAD_FORMAT;

    fn fields(name: &str) -> CustomerFields {
        CustomerFields {
            name: name.into(),
            email: Some("ada@example.com".into()),
            ..CustomerFields::default()
        }
    }

    fn tags(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|t| t.to_string()).collect()
    }

    fn tagged(version: u64, items: &[&str], points: i64) -> StoredCustomer {
        let mut c = stored(version, false);
        c.customer.fields.tags = tags(items);
        c.customer.fields.loyalty_points = points;
        c
    }

    fn written_fields(decision: Result<CustomerDecision, Rejection>) -> CustomerFields {
        match decision {
            Ok(CustomerDecision::Write { fields, .. }) => fields,
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn an_edit_from_an_older_till_leaves_tags_and_points_as_they_are() {
        let current = tagged(3, &["vip"], 40);
        let older = written_fields(updated(
            Some(&current),
            EditBase::MadeBy(MADE_BY),
            &fields("Ada L."),
            2,
            made(),
        ));
        assert_eq!(older.name, "Ada L.", "what it carries is applied");
        assert_eq!(
            (older.tags, older.loyalty_points),
            (tags(&["vip"]), 40),
            "an edit of format 2 carries no tags or points, so it never clears them"
        );
        let today = written_fields(updated(
            Some(&current),
            EditBase::MadeBy(MADE_BY),
            &fields("Ada L."),
            NOW,
            made(),
        ));
        assert_eq!(
            (today.tags, today.loyalty_points),
            (tags(&[]), 0),
            "an edit of today's format that cleared them clears them"
        );
        let replayed_create = created(Some(&current), &fields("Ada"), 2, made());
        assert!(
            matches!(
                replayed_create,
                Ok(CustomerDecision::Settle(Outcome::Applied { .. }))
            ),
            "an older till's create meets the customer it made: {replayed_create:?}"
        );
    }

    #[test]
    fn a_back_office_edit_adds_and_removes_tags_and_moves_or_sets_points() {
        let current = tagged(2, &["vip", "wholesale"], 100);
        let edit = CustomerEdit {
            add_tags: vec!["  Newsletter ".into()],
            remove_tags: vec!["WHOLESALE".into()],
            points: Some(PointsChange::Add(5)),
            ..CustomerEdit::default()
        };
        let change = back_office_change(Uuid::now_v7(), 1_000);
        let office = written_fields(
            back_office_edit(current.customer.id, Some(&current), &edit, change)
                .map_err(|e| Rejection::new("storage", e.to_string())),
        );
        assert_eq!(office.tags, tags(&["newsletter", "vip"]));
        assert_eq!(office.loyalty_points, 105);
        let set = CustomerEdit {
            points: Some(PointsChange::Set(7)),
            ..CustomerEdit::default()
        };
        let office = written_fields(
            back_office_edit(current.customer.id, Some(&current), &set, change)
                .map_err(|e| Rejection::new("storage", e.to_string())),
        );
        assert_eq!(
            (office.tags, office.loyalty_points),
            (current.customer.fields.tags.clone(), 7)
        );
        let below = CustomerEdit {
            points: Some(PointsChange::Add(-101)),
            ..CustomerEdit::default()
        };
        assert!(
            matches!(
                back_office_edit(current.customer.id, Some(&current), &below, change),
                Err(StorageError::Invalid(_))
            ),
            "points never go below 0"
        );
        let blank = CustomerEdit {
            add_tags: vec!["  ".into()],
            ..CustomerEdit::default()
        };
        assert!(matches!(
            back_office_edit(current.customer.id, Some(&current), &blank, change),
            Err(StorageError::Invalid(_))
        ));
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
    fn a_card_number_in_any_customer_field_is_rejected_wherever_the_change_comes_from() {
        let mut with_card = fields("Ada");
        with_card.note = Some("card 4111.1111.1111.1111".into());
        let refused =
            created(None, &with_card, NOW, made()).expect_err("a card number is never stored");
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
        let office = back_office_edit(Uuid::now_v7(), Some(&stored(1, false)), &edit, made());
        assert!(
            matches!(office, Err(StorageError::Invalid(ref m)) if m.contains("phone")),
            "the back office's own edits follow the same rule: {office:?}"
        );
    }

    #[test]
    fn a_new_customer_is_inserted_at_version_1_with_the_change_stamp() {
        let change = made();
        assert_eq!(
            created(None, &fields("Ada"), NOW, change),
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
            created(Some(&current), &fields("Ada"), NOW, made()),
            Ok(CustomerDecision::Settle(Outcome::Applied {
                server_id: 9,
                server_number: None,
                version: 4,
            }))
        );
        let other = created(Some(&current), &fields("Grace"), NOW, made()).expect("decides");
        assert_eq!(conflict_reason(other), ConflictReason::AlreadyExists);
        let gone = created(Some(&stored(4, true)), &fields("Ada"), NOW, made()).expect("decides");
        assert_eq!(conflict_reason(gone), ConflictReason::Deleted);
    }

    #[test]
    fn an_edit_on_a_stale_version_is_a_conflict_not_an_overwrite() {
        let current = stored(3, false);
        let by_number = |v| EditBase::Version(v);
        let stale =
            updated(Some(&current), by_number(2), &fields("Grace"), NOW, made()).expect("decides");
        assert_eq!(conflict_reason(stale), ConflictReason::StaleVersion);
        assert!(matches!(
            updated(Some(&current), by_number(3), &fields("Grace"), NOW, made()),
            Ok(CustomerDecision::Write {
                insert: false,
                version: 4,
                ..
            })
        ));
        assert_eq!(
            updated(None, by_number(1), &fields("Grace"), NOW, made()).map_err(|r| r.code),
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
                NOW,
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
            NOW,
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
            NOW,
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
            created(None, &empty, NOW, made()).map_err(|r| r.code),
            Err("invalid_customer")
        );
        assert_eq!(
            updated(None, EditBase::Version(1), &empty, NOW, made()).map_err(|r| r.code),
            Err("invalid_customer"),
            "the fields are checked before the customer is looked up"
        );
    }

    #[test]
    fn a_back_office_edit_keeps_unnamed_fields_clears_empty_ones_and_bumps_the_version() {
        let current = stored(2, false);
        let edit = CustomerEdit {
            email: Some(String::new()),
            phone: Some("+44 20 7946 0000".into()),
            ..CustomerEdit::default()
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
                    phone: Some("+44 20 7946 0000".into()),
                    ..CustomerFields::default()
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
            tags: r#"["vip"]"#.into(),
            hlc: Some(stamp_text(&stamp).expect("serialises")),
            made_by: Some(MADE_BY),
        };
        let stored = row.clone().into_stored(9, false).expect("reads");
        assert_eq!(stored.customer.hlc, Some(stamp));
        assert_eq!(stored.customer.version, 3);
        assert_eq!(stored.customer.fields.tags, tags(&["vip"]));
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
        let damaged_tags = CustomerRow {
            tags: "vip".into(),
            ..row.clone()
        };
        assert!(matches!(
            damaged_tags.into_customer(),
            Err(StorageError::Corrupt(_))
        ));
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
