//! What a conflict is about, typed: the entity, why it exists, both sides, and which customer
//! fields differ. The conflict table keeps each side as JSON in the shape written since the table
//! exists (`{fields, hlc}` for this terminal's customer edit, the server's `Customer`, the base
//! fields, `{ticket}` for this terminal's reversal, the server's `ReversalInfo`, the Z report
//! this terminal sent and the back office's `ShiftMismatch`); this module is the one place that
//! maps between those columns and the types.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use till_protocol::shift::{ShiftClosed, ShiftMismatch};
use till_protocol::{Customer, CustomerFields, Hlc, ReversalInfo, Rule, StoredFigures, Ticket};

use crate::error::CoreError;

/// The kind of entity a conflict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ConflictEntityKind"))]
#[serde(rename_all = "snake_case")]
pub enum ConflictEntity {
    Customer,
    Ticket,
    /// A closed shift whose Z report the back office does not agree with.
    Shift,
}

impl ConflictEntity {
    /// The stable name stored in the `entity_kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictEntity::Customer => "customer",
            ConflictEntity::Ticket => "ticket",
            ConflictEntity::Shift => "shift",
        }
    }

    fn parse(name: &str) -> Option<ConflictEntity> {
        match name {
            "customer" => Some(ConflictEntity::Customer),
            "ticket" => Some(ConflictEntity::Ticket),
            "shift" => Some(ConflictEntity::Shift),
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

/// A reason only this terminal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LocalReason {
    /// A pull brought a new server version of a customer whose edit here is not settled yet.
    ConcurrentEdit,
    /// A void or refund made here of a sale already reversed elsewhere: the back office stored
    /// and counts it (the cash left the drawer); a manager settles it, never a policy.
    DisputedReversal,
    /// The back office stored a ticket of this till with other figures (total, tax per rate,
    /// tenders) than it was sent with. The ticket stays synced; a manager acknowledges it, never
    /// a policy.
    TotalsDiffer,
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
            ConflictReason::Server(Server::ShiftMismatch) => "shift_mismatch",
            ConflictReason::Local(LocalReason::ConcurrentEdit) => "concurrent_edit",
            ConflictReason::Local(LocalReason::DisputedReversal) => "disputed_reversal",
            ConflictReason::Local(LocalReason::TotalsDiffer) => "totals_differ",
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

/// One editable field of a customer, with the rule its concurrent changes merge by: the table
/// the back office reads too.
pub use till_protocol::CustomerField;

/// This terminal's side of a customer conflict: the fields it holds, the stamp of its newest
/// edit, and which fields its edits changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalEdit {
    pub fields: CustomerFields,
    /// The HLC stamp of the local edit; absent, last-writer-wins leaves the conflict to a person.
    pub hlc: Option<Hlc>,
    /// The fields this terminal's edits changed, each edit against the fields it was made on (so
    /// a field another edit of the same customer changed is never mistaken for the office's);
    /// absent when an edit does not know its base, then the fields differing from the conflict's
    /// base count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<CustomerField>>,
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

    /// The fields this terminal changed: as its edits recorded them, else those differing from
    /// the base; `None` without a side or a base to tell.
    pub fn changed_here(&self) -> Option<Vec<CustomerField>> {
        let mine = self.mine.as_ref()?;
        match &mine.changed {
            Some(changed) => Some(changed.clone()),
            None => Some(CustomerField::differing(self.base.as_ref()?, &mine.fields)),
        }
    }

    /// The fields the back office changed since the base; `None` without a side or a base.
    pub fn changed_there(&self) -> Option<Vec<CustomerField>> {
        let theirs = self.theirs.as_ref()?;
        Some(CustomerField::differing(
            self.base.as_ref()?,
            &theirs.fields,
        ))
    }

    /// For a field whose rule combines both sides' changes (a set, a counter) and that both
    /// sides changed: the back office's fields with this terminal's change of `f` applied
    /// ([`CustomerField::take_mine`]). `None` for a text field, a field one side left alone, or
    /// without both sides and a base.
    pub fn combined(&self, f: CustomerField) -> Option<CustomerFields> {
        if f.rule() == Rule::Text
            || !self.changed_here()?.contains(&f)
            || !self.changed_there()?.contains(&f)
        {
            return None;
        }
        let (mine, theirs) = (self.mine.as_ref()?, self.theirs.as_ref()?);
        let mut result = theirs.fields.clone();
        f.take_mine(self.base.as_ref(), &mine.fields, &mut result);
        Some(result)
    }

    /// `later` (a later edit of the same customer meeting the back office's copy) taken into
    /// these sides: its fields, stamp and server copy win, the base stays the one the first edit
    /// was made on, and the changed fields add up.
    pub fn merged_with(&self, later: CustomerSides) -> CustomerSides {
        let changed = match (&self.mine, &later.mine) {
            (Some(before), Some(now)) => match (&before.changed, &now.changed) {
                (Some(b), Some(n)) => Some(CustomerField::union(b.iter().chain(n).copied())),
                _ => None,
            },
            (None, Some(now)) => now.changed.clone(),
            (_, None) => None,
        };
        CustomerSides {
            mine: later.mine.map(|m| LocalEdit { changed, ..m }),
            theirs: later.theirs,
            base: self.base.clone().or(later.base),
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

/// Both sides of a shift conflict: the Z report this terminal sent, and what the back office,
/// recomputing the shift from what it holds, found different (the tickets it lacks or holds
/// beyond the report, each figure both sides count differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftSides {
    /// The Z report this terminal closed the shift with.
    pub mine: Option<ShiftClosed>,
    /// What differs, as the back office answered.
    pub theirs: Option<ShiftMismatch>,
}

impl ShiftSides {
    /// What differs, by name: `missing_tickets` and `unexpected_tickets` when the back office
    /// named any, then each differing figure as the protocol names it (`cash_sales`,
    /// `tender:card`, `tax:2000`, …).
    pub fn differing(&self) -> Vec<String> {
        let Some(m) = &self.theirs else {
            return Vec::new();
        };
        let tickets = [
            ("missing_tickets", &m.missing_tickets),
            ("unexpected_tickets", &m.unexpected_tickets),
        ];
        tickets
            .into_iter()
            .filter(|(_, numbers)| !numbers.is_empty())
            .map(|(name, _)| name.to_string())
            .chain(m.differences.iter().map(|d| d.figure.clone()))
            .collect()
    }
}

/// Both sides of a ticket whose figures the back office stored otherwise than this till sent
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsSides {
    /// The figures of the ticket this till sent.
    pub mine: Option<StoredFigures>,
    /// The figures the back office stored, as it echoed them.
    pub theirs: Option<StoredFigures>,
}

impl TotalsSides {
    /// What differs, by name (`total`, `taxes`, `tenders`); every one when a side is missing.
    pub fn differing(&self) -> Vec<String> {
        match (&self.mine, &self.theirs) {
            (Some(mine), Some(theirs)) => figures_differing(mine, theirs),
            _ => FIGURES.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// The figures of a ticket the back office echoes, by name.
const FIGURES: [&str; 3] = ["total", "taxes", "tenders"];

/// The names of the figures that differ between what this till sent and what the back office
/// stored: none when it stored exactly what was sent. Every tax rate and every tender counts,
/// in order: a figure moved between two rates or two tenders is a difference too.
pub fn figures_differing(sent: &StoredFigures, stored: &StoredFigures) -> Vec<String> {
    let differs = [
        sent.total != stored.total,
        sent.taxes != stored.taxes,
        sent.tenders != stored.tenders,
    ];
    FIGURES
        .iter()
        .zip(differs)
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Both sides of a conflict, by entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sides {
    Customer(CustomerSides),
    Ticket(TicketSides),
    Shift(ShiftSides),
    /// A ticket stored with other figures than sent (`totals_differ`).
    Totals(TotalsSides),
}

/// How this terminal's ticket side is stored: `{"ticket": …}`.
#[derive(Serialize, Deserialize)]
struct StoredTicket {
    ticket: Ticket,
}

/// The stored columns of a conflict's sides: `local`, `server`, `base` as JSON, and `fields`,
/// the names of the fields that differ (`["reversal"]` for a ticket, what differs for a shift).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Columns {
    pub local: Option<Value>,
    pub server: Option<Value>,
    pub base: Option<Value>,
    pub fields: Vec<String>,
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
            Sides::Ticket(_) | Sides::Totals(_) => ConflictEntity::Ticket,
            Sides::Shift(_) => ConflictEntity::Shift,
        }
    }

    /// The stamp of the back office's version, when its side carries one.
    pub fn server_stamp(&self) -> Option<Hlc> {
        match self {
            Sides::Customer(c) => c.theirs.as_ref()?.hlc,
            Sides::Ticket(_) | Sides::Shift(_) | Sides::Totals(_) => None,
        }
    }

    /// The names of the fields that differ, as stored and as `tillctl` prints them.
    pub fn field_names(&self) -> Vec<String> {
        match self {
            Sides::Customer(c) => c
                .differing()
                .into_iter()
                .map(|f| f.as_str().to_string())
                .collect(),
            Sides::Ticket(_) => vec!["reversal".to_string()],
            Sides::Shift(s) => s.differing(),
            Sides::Totals(t) => t.differing(),
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
            Sides::Shift(s) => Columns {
                local: s.mine.as_ref().map(serde_json::to_value).transpose()?,
                server: s.theirs.as_ref().map(serde_json::to_value).transpose()?,
                base: None,
                fields: self.field_names(),
            },
            Sides::Totals(t) => Columns {
                local: t.mine.as_ref().map(serde_json::to_value).transpose()?,
                server: t.theirs.as_ref().map(serde_json::to_value).transpose()?,
                base: None,
                fields: self.field_names(),
            },
        })
    }

    pub(crate) fn from_columns(
        entity: ConflictEntity,
        reason: ConflictReason,
        local: Option<&Value>,
        server: Option<&Value>,
        base: Option<&Value>,
    ) -> Sides {
        match entity {
            ConflictEntity::Ticket
                if reason == ConflictReason::Local(LocalReason::TotalsDiffer) =>
            {
                Sides::Totals(TotalsSides {
                    mine: read(local),
                    theirs: read(server),
                })
            }
            ConflictEntity::Customer => Sides::Customer(CustomerSides {
                mine: read(local),
                theirs: read(server),
                base: read(base),
            }),
            ConflictEntity::Ticket => Sides::Ticket(TicketSides {
                mine: read::<StoredTicket>(local).map(|s| s.ticket),
                theirs: read(server),
            }),
            ConflictEntity::Shift => Sides::Shift(ShiftSides {
                mine: read(local),
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
            ..CustomerFields::default()
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
                ConflictReason::Server(Server::ShiftMismatch),
                "shift_mismatch",
            ),
            (
                ConflictReason::Local(LocalReason::ConcurrentEdit),
                "concurrent_edit",
            ),
            (
                ConflictReason::Local(LocalReason::DisputedReversal),
                "disputed_reversal",
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
                changed: None,
            }),
            theirs: None,
            base: None,
        };
        assert_eq!(sides.differing(), CustomerField::ALL);
    }

    #[test]
    fn a_later_edit_joins_the_open_conflict_adding_the_fields_it_changed() {
        let office = Customer {
            id: Uuid::nil(),
            version: 2,
            fields: fields("Ann", Some("ann@office")),
            hlc: None,
            made_by: None,
        };
        let edit = |name: &str, phone: Option<&str>, changed: Vec<CustomerField>| LocalEdit {
            fields: CustomerFields {
                phone: phone.map(Into::into),
                ..fields(name, None)
            },
            hlc: None,
            changed: Some(changed),
        };
        let first = CustomerSides {
            mine: Some(edit("Anne", None, vec![CustomerField::Name])),
            theirs: Some(office.clone()),
            base: Some(fields("Ann", None)),
        };
        let second = CustomerSides {
            mine: Some(edit("Anne", Some("555"), vec![CustomerField::Phone])),
            theirs: Some(office),
            base: Some(fields("Anne", None)),
        };
        let joined = first.merged_with(second);
        assert_eq!(
            joined.changed_here(),
            Some(vec![CustomerField::Name, CustomerField::Phone]),
            "both edits' fields, each once, in display order"
        );
        assert_eq!(
            joined.base,
            Some(fields("Ann", None)),
            "the base the first edit was made on"
        );
        assert_eq!(
            joined.changed_there(),
            Some(vec![CustomerField::Email]),
            "what the office changed since then"
        );
        assert_eq!(
            joined.differing(),
            [
                CustomerField::Name,
                CustomerField::Email,
                CustomerField::Phone
            ],
            "the conflict names every field involved"
        );
        let unknown = CustomerSides {
            mine: Some(LocalEdit {
                changed: None,
                ..edit("Anne", Some("555"), vec![])
            }),
            ..joined.clone()
        };
        assert_eq!(
            joined.merged_with(unknown).changed_here(),
            Some(vec![CustomerField::Name, CustomerField::Phone]),
            "an edit that does not know its base counts what differs from the base"
        );
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
            ConflictReason::Server(till_protocol::ConflictReason::StaleVersion),
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
            ConflictReason::Server(till_protocol::ConflictReason::AlreadyReversed),
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

    fn figures(total: i64) -> StoredFigures {
        StoredFigures {
            total,
            taxes: vec![till_protocol::pricing::TaxFigures {
                rate_bp: 2000,
                base: total * 5 / 6,
                tax: total - total * 5 / 6,
            }],
            tenders: vec![till_protocol::Tender::Cash {
                tendered: total,
                change: 0,
            }],
        }
    }

    #[test]
    fn figures_stored_as_sent_do_not_differ() {
        assert!(figures_differing(&figures(1_200), &figures(1_200)).is_empty());
    }

    #[test]
    fn each_figure_stored_otherwise_is_named() {
        let sent = figures(1_200);
        let mut stored = sent.clone();
        stored.total += 1;
        assert_eq!(figures_differing(&sent, &stored), ["total"]);
        let mut stored = sent.clone();
        stored.taxes[0].rate_bp = 1000;
        assert_eq!(
            figures_differing(&sent, &stored),
            ["taxes"],
            "tax moved to another rate is a difference though its sum is the same"
        );
        let mut stored = sent.clone();
        stored.tenders = vec![till_protocol::Tender::Card {
            amount: 1_200,
            approval_ref: "A1".into(),
            last4: None,
        }];
        assert_eq!(
            figures_differing(&sent, &stored),
            ["tenders"],
            "paid otherwise is a difference though the sum is the same"
        );
        assert_eq!(
            figures_differing(&sent, &figures(900)),
            ["total", "taxes", "tenders"]
        );
    }

    #[test]
    fn totals_sides_round_trip_by_their_reason() {
        let sides = Sides::Totals(TotalsSides {
            mine: Some(figures(1_200)),
            theirs: Some(figures(1_300)),
        });
        let columns = sides.to_columns().expect("writes");
        let read = Sides::from_columns(
            ConflictEntity::Ticket,
            ConflictReason::Local(LocalReason::TotalsDiffer),
            columns.local.as_ref(),
            columns.server.as_ref(),
            None,
        );
        assert_eq!(
            read, sides,
            "a ticket conflict of this reason reads as figures"
        );
        assert_eq!(sides.entity(), ConflictEntity::Ticket);
        assert_eq!(columns.fields, ["total", "taxes", "tenders"]);
        assert_eq!(
            ConflictReason::Local(LocalReason::TotalsDiffer).as_str(),
            "totals_differ"
        );
    }
}
