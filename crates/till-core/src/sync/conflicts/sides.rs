//! What a conflict is about, typed: the entity, why it exists, both sides, and which customer
//! fields differ. The conflict table keeps each side as JSON in the shape written since the table
//! exists (`{fields, hlc}` for this terminal's customer edit, the server's `Customer`, the base
//! fields, `{ticket}` for this terminal's reversal, the server's `ReversalInfo`); this module is
//! the one place that maps between those columns and the types.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use till_protocol::{Customer, CustomerFields, Hlc, ReversalInfo, Ticket};

use crate::error::CoreError;

/// The kind of entity a conflict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ConflictEntityKind"))]
#[serde(rename_all = "snake_case")]
pub enum ConflictEntity {
    Customer,
    Ticket,
}

impl ConflictEntity {
    /// The stable name stored in the `entity_kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictEntity::Customer => "customer",
            ConflictEntity::Ticket => "ticket",
        }
    }

    fn parse(name: &str) -> Option<ConflictEntity> {
        match name {
            "customer" => Some(ConflictEntity::Customer),
            "ticket" => Some(ConflictEntity::Ticket),
            _ => None,
        }
    }
}

/// Why a conflict exists: a reason the protocol names (the server's answer to a push, or the same
/// fact found by a pull), or one only a pull finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum ConflictReason {
    /// The server refused a pushed change for this reason; a pull that finds a customer deleted
    /// there while it is edited here records `deleted` too.
    Server(till_protocol::ConflictReason),
    /// Found by this terminal, not named by the server.
    Local(LocalReason),
}

/// A reason only this terminal finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LocalReason {
    /// A pull brought a new server version of a customer whose edit here is not settled yet.
    ConcurrentEdit,
}

impl ConflictReason {
    /// The stable snake_case name stored in the `reason` column.
    pub fn as_str(self) -> &'static str {
        use till_protocol::ConflictReason as Server;
        match self {
            ConflictReason::Server(Server::StaleVersion) => "stale_version",
            ConflictReason::Server(Server::Deleted) => "deleted",
            ConflictReason::Server(Server::AlreadyReversed) => "already_reversed",
            ConflictReason::Server(Server::AlreadyExists) => "already_exists",
            ConflictReason::Local(LocalReason::ConcurrentEdit) => "concurrent_edit",
        }
    }

    fn parse(name: &str) -> Option<ConflictReason> {
        serde_json::from_value(Value::String(name.to_owned())).ok()
    }
}

impl std::fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One editable field of a customer, in the order the UI shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerField {
    Name,
    Email,
    Phone,
    Note,
}

impl CustomerField {
    /// Every field, in display order.
    pub const ALL: [CustomerField; 4] = [
        CustomerField::Name,
        CustomerField::Email,
        CustomerField::Phone,
        CustomerField::Note,
    ];

    /// The field's name, as `CustomerFields` serializes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerField::Name => "name",
            CustomerField::Email => "email",
            CustomerField::Phone => "phone",
            CustomerField::Note => "note",
        }
    }

    /// The field with this name, if there is one.
    pub fn parse(name: &str) -> Option<CustomerField> {
        CustomerField::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// This field's value in `fields`.
    pub fn value(self, fields: &CustomerFields) -> Option<&str> {
        match self {
            CustomerField::Name => Some(&fields.name),
            CustomerField::Email => fields.email.as_deref(),
            CustomerField::Phone => fields.phone.as_deref(),
            CustomerField::Note => fields.note.as_deref(),
        }
    }

    /// Copies this field's value from `from` into `into`.
    pub fn copy(self, from: &CustomerFields, into: &mut CustomerFields) {
        match self {
            CustomerField::Name => into.name.clone_from(&from.name),
            CustomerField::Email => into.email.clone_from(&from.email),
            CustomerField::Phone => into.phone.clone_from(&from.phone),
            CustomerField::Note => into.note.clone_from(&from.note),
        }
    }

    /// The fields whose values differ between `a` and `b`, in display order.
    pub fn differing(a: &CustomerFields, b: &CustomerFields) -> Vec<CustomerField> {
        CustomerField::ALL
            .into_iter()
            .filter(|f| f.value(a) != f.value(b))
            .collect()
    }
}

/// This terminal's side of a customer conflict: the fields it holds and the stamp of its edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalEdit {
    pub fields: CustomerFields,
    /// The HLC stamp of the local edit; absent, last-writer-wins leaves the conflict to a person.
    pub hlc: Option<Hlc>,
}

/// Both sides of a customer conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSides {
    /// This terminal's edit; `None` when the customer was deleted here.
    pub mine: Option<LocalEdit>,
    /// The server's version; `None` when the customer was deleted there.
    pub theirs: Option<Customer>,
    /// The fields both sides started from, where known.
    pub base: Option<CustomerFields>,
}

impl CustomerSides {
    /// The fields whose values differ between the two sides: every field when one side deleted
    /// the customer.
    pub fn differing(&self) -> Vec<CustomerField> {
        match (&self.mine, &self.theirs) {
            (Some(m), Some(t)) => CustomerField::differing(&m.fields, &t.fields),
            _ => CustomerField::ALL.to_vec(),
        }
    }
}

/// Both sides of a ticket conflict: a reversal made here of a sale the server already reversed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSides {
    /// The void or refund this terminal made.
    pub mine: Option<Ticket>,
    /// The reversal the back office already holds.
    pub theirs: Option<ReversalInfo>,
}

/// Both sides of a conflict, by entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sides {
    Customer(CustomerSides),
    Ticket(TicketSides),
}

/// How this terminal's ticket side is stored: `{"ticket": …}`.
#[derive(Serialize, Deserialize)]
struct StoredTicket {
    ticket: Ticket,
}

/// The stored columns of a conflict's sides: `local`, `server`, `base` as JSON, and `fields`,
/// the names of the fields that differ (`["reversal"]` for a ticket).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Columns {
    pub local: Option<Value>,
    pub server: Option<Value>,
    pub base: Option<Value>,
    pub fields: Vec<&'static str>,
}

/// A side that does not read as its type is shown and settled as absent, as it always was.
fn read<T: serde::de::DeserializeOwned>(v: Option<&Value>) -> Option<T> {
    serde_json::from_value(v?.clone()).ok()
}

impl Sides {
    /// The entity the sides belong to.
    pub fn entity(&self) -> ConflictEntity {
        match self {
            Sides::Customer(_) => ConflictEntity::Customer,
            Sides::Ticket(_) => ConflictEntity::Ticket,
        }
    }

    /// The names of the fields that differ, as stored and as `tillctl` prints them.
    pub fn field_names(&self) -> Vec<&'static str> {
        match self {
            Sides::Customer(c) => c.differing().into_iter().map(|f| f.as_str()).collect(),
            Sides::Ticket(_) => vec!["reversal"],
        }
    }

    pub(crate) fn to_columns(&self) -> Result<Columns, serde_json::Error> {
        Ok(match self {
            Sides::Customer(c) => Columns {
                local: c.mine.as_ref().map(serde_json::to_value).transpose()?,
                server: c.theirs.as_ref().map(serde_json::to_value).transpose()?,
                base: c.base.as_ref().map(serde_json::to_value).transpose()?,
                fields: self.field_names(),
            },
            Sides::Ticket(t) => Columns {
                local: t
                    .mine
                    .as_ref()
                    .map(|ticket| {
                        serde_json::to_value(StoredTicket {
                            ticket: ticket.clone(),
                        })
                    })
                    .transpose()?,
                server: t.theirs.as_ref().map(serde_json::to_value).transpose()?,
                base: None,
                fields: self.field_names(),
            },
        })
    }

    pub(crate) fn from_columns(
        entity: ConflictEntity,
        local: Option<&Value>,
        server: Option<&Value>,
        base: Option<&Value>,
    ) -> Sides {
        match entity {
            ConflictEntity::Customer => Sides::Customer(CustomerSides {
                mine: read(local),
                theirs: read(server),
                base: read(base),
            }),
            ConflictEntity::Ticket => Sides::Ticket(TicketSides {
                mine: read::<StoredTicket>(local).map(|s| s.ticket),
                theirs: read(server),
            }),
        }
    }
}

/// The entity kind of a stored row; anything else breaks the table's own check.
pub(crate) fn entity_from_column(name: &str) -> Result<ConflictEntity, CoreError> {
    ConflictEntity::parse(name).ok_or_else(|| CoreError::DatabaseCorrupt {
        path: Default::default(),
        detail: format!("conflict entity kind {name:?}"),
    })
}

/// The reason of a stored row; every reason ever written is one of [`ConflictReason`].
pub(crate) fn reason_from_column(name: &str) -> Result<ConflictReason, CoreError> {
    ConflictReason::parse(name).ok_or_else(|| CoreError::DatabaseCorrupt {
        path: Default::default(),
        detail: format!("conflict reason {name:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn fields(name: &str, email: Option<&str>) -> CustomerFields {
        CustomerFields {
            name: name.into(),
            email: email.map(Into::into),
            phone: None,
            note: None,
        }
    }

    #[test]
    fn every_reason_has_the_name_stored_since_conflicts_were_kept() {
        use till_protocol::ConflictReason as Server;
        let named = [
            (
                ConflictReason::Server(Server::StaleVersion),
                "stale_version",
            ),
            (ConflictReason::Server(Server::Deleted), "deleted"),
            (
                ConflictReason::Server(Server::AlreadyReversed),
                "already_reversed",
            ),
            (
                ConflictReason::Server(Server::AlreadyExists),
                "already_exists",
            ),
            (
                ConflictReason::Local(LocalReason::ConcurrentEdit),
                "concurrent_edit",
            ),
        ];
        for (reason, name) in named {
            assert_eq!(reason.as_str(), name);
            assert_eq!(
                serde_json::to_value(reason).expect("json"),
                name,
                "serde agrees"
            );
            assert_eq!(ConflictReason::parse(name), Some(reason), "reads back");
        }
        assert!(
            reason_from_column("conflict").is_err(),
            "an unknown reason is damage"
        );
    }

    #[test]
    fn differing_customer_fields_come_in_display_order() {
        let a = fields("Ann", Some("a@x"));
        let mut b = fields("Anne", None);
        b.note = Some("vip".into());
        assert_eq!(
            CustomerField::differing(&a, &b),
            [
                CustomerField::Name,
                CustomerField::Email,
                CustomerField::Note
            ]
        );
        let names: Vec<&str> = CustomerField::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            names,
            CustomerFields::NAMES,
            "the protocol's order and names"
        );
    }

    #[test]
    fn a_customer_deleted_on_one_side_differs_in_every_field() {
        let sides = CustomerSides {
            mine: Some(LocalEdit {
                fields: fields("Ann", None),
                hlc: None,
            }),
            theirs: None,
            base: None,
        };
        assert_eq!(sides.differing(), CustomerField::ALL);
    }

    #[test]
    fn customer_sides_keep_their_stored_json_shapes() {
        let stamp = Hlc {
            wall_ms: 5,
            counter: 1,
            node: Uuid::nil(),
        };
        let local = json!({"fields": fields("Ann", Some("a@till")), "hlc": stamp});
        let server =
            json!({"id": Uuid::nil(), "version": 3, "fields": fields("Ann", Some("a@office"))});
        let base = serde_json::to_value(fields("Ann", None)).expect("json");
        let sides = Sides::from_columns(
            ConflictEntity::Customer,
            Some(&local),
            Some(&server),
            Some(&base),
        );
        let Sides::Customer(c) = &sides else {
            panic!("a customer conflict has customer sides")
        };
        assert_eq!(c.mine.as_ref().and_then(|m| m.hlc), Some(stamp));
        assert_eq!(c.theirs.as_ref().map(|t| t.version), Some(3));
        let columns = sides.to_columns().expect("writes");
        assert_eq!(
            columns.local,
            Some(local),
            "this terminal's side round-trips"
        );
        assert_eq!(
            columns.server,
            Some(server),
            "the server's side round-trips"
        );
        assert_eq!(columns.base, Some(base));
        assert_eq!(columns.fields, ["email"]);
    }

    #[test]
    fn a_side_that_does_not_read_is_absent_as_before() {
        let sides = Sides::from_columns(
            ConflictEntity::Ticket,
            Some(&json!({"not": "a ticket"})),
            None,
            None,
        );
        assert_eq!(
            sides,
            Sides::Ticket(TicketSides {
                mine: None,
                theirs: None
            })
        );
        assert_eq!(sides.field_names(), ["reversal"]);
    }
}
