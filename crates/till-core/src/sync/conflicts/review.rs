//! Conflicts as the app's review screen shows them: a label for each, and both sides field by
//! field with the fields to choose marked.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use crate::tickets;

use super::super::error::SyncError;
use super::sides::{ConflictEntity, ConflictReason, CustomerField, CustomerSides, TicketSides};
use super::{get, list, Conflict, Sides};

/// A conflict in the review list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictSummary {
    pub id: String,
    pub entity_kind: ConflictEntity,
    pub entity_id: String,
    /// The customer's name, or the ticket's number on this till.
    pub entity_label: String,
    pub reason: ConflictReason,
    pub policy: String,
    pub detected_at_ms: i64,
}

/// One row of the comparison: this terminal's value and the server's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ConflictField"))]
pub struct FieldRow {
    pub name: String,
    pub mine: Option<String>,
    pub theirs: Option<String>,
    /// The sides differ here: the manager chooses.
    pub differs: bool,
}

/// A conflict with both sides, as the review screen compares them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictDetail {
    /// What the list shows, in the same object.
    #[serde(flatten)]
    pub summary: ConflictSummary,
    /// Every field of both sides, in display order.
    pub fields: Vec<FieldRow>,
    /// The back office's version of a customer.
    pub server_version: Option<u64>,
}

/// The open conflicts, oldest first.
pub fn summaries(conn: &Connection) -> Result<Vec<ConflictSummary>, SyncError> {
    let mut open = list(conn, false)?;
    open.reverse();
    Ok(open
        .iter()
        .map(|c| summary(c, ticket_number(conn, c)))
        .collect())
}

/// One conflict, compared field by field.
pub fn detail(conn: &Connection, id: i64) -> Result<ConflictDetail, SyncError> {
    let c = get(conn, id)?;
    Ok(ConflictDetail {
        summary: summary(&c, ticket_number(conn, &c)),
        fields: rows(&c.sides),
        server_version: match &c.sides {
            Sides::Customer(sides) => sides.theirs.as_ref().map(|t| t.version),
            Sides::Ticket(_) => None,
        },
    })
}

/// This till's number of the ticket a ticket conflict is about, if it holds the ticket.
fn ticket_number(conn: &Connection, c: &Conflict) -> Option<u64> {
    if c.entity() != ConflictEntity::Ticket {
        return None;
    }
    tickets::load(conn, c.entity_id)
        .ok()
        .flatten()
        .map(|t| t.number)
}

fn summary(c: &Conflict, ticket_number: Option<u64>) -> ConflictSummary {
    ConflictSummary {
        id: c.id.to_string(),
        entity_kind: c.entity(),
        entity_id: c.entity_id.to_string(),
        entity_label: label(c, ticket_number),
        reason: c.reason,
        policy: c.policy.clone(),
        detected_at_ms: c.detected_at_ms,
    }
}

fn label(c: &Conflict, ticket_number: Option<u64>) -> String {
    match (&c.sides, ticket_number) {
        (Sides::Customer(s), _) => s
            .mine
            .as_ref()
            .map(|m| &m.fields)
            .or(s.theirs.as_ref().map(|t| &t.fields))
            .map(|f| f.name.clone())
            .unwrap_or_else(|| format!("Customer {}", c.entity_id)),
        (Sides::Ticket(_), Some(n)) => format!("Ticket #{n}"),
        (Sides::Ticket(_), None) => format!("Ticket {}", c.entity_id),
    }
}

fn rows(sides: &Sides) -> Vec<FieldRow> {
    match sides {
        Sides::Customer(c) => customer_rows(c),
        Sides::Ticket(t) => ticket_rows(t),
    }
}

/// A customer's four fields in their display order.
fn customer_rows(sides: &CustomerSides) -> Vec<FieldRow> {
    let differing = sides.differing();
    let value = |f: CustomerField, fields: Option<&till_protocol::CustomerFields>| {
        fields.and_then(|x| f.value(x)).map(str::to_owned)
    };
    CustomerField::ALL
        .into_iter()
        .map(|f| {
            let mine = value(f, sides.mine.as_ref().map(|m| &m.fields));
            let theirs = value(f, sides.theirs.as_ref().map(|t| &t.fields));
            FieldRow {
                name: f.as_str().to_owned(),
                differs: differing.contains(&f) || mine != theirs,
                mine,
                theirs,
            }
        })
        .collect()
}

/// A ticket conflict shows its two sides' stored objects key by key: this till's reversal
/// (`ticket`, the whole ticket) and what the back office holds (the reversing ticket's id, kind,
/// terminal and total), so nothing either side knows is hidden from the manager.
fn ticket_rows(sides: &TicketSides) -> Vec<FieldRow> {
    let columns = Sides::Ticket(sides.clone()).to_columns().ok();
    let object = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
    let mine = object(columns.as_ref().and_then(|c| c.local.as_ref()));
    let theirs = object(columns.as_ref().and_then(|c| c.server.as_ref()));
    let mut names: Vec<&String> = mine.keys().collect();
    for name in theirs.keys() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let (m, t) = (shown(mine.get(name)), shown(theirs.get(name)));
            FieldRow {
                name: name.clone(),
                differs: m != t,
                mine: m,
                theirs: t,
            }
        })
        .collect()
}

fn shown(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sides::LocalEdit;
    use super::*;
    use till_protocol::{Customer, CustomerFields, ReversalInfo, TicketKind};
    use uuid::Uuid;

    fn fields(email: &str) -> CustomerFields {
        CustomerFields {
            name: "Ada".into(),
            email: Some(email.into()),
            phone: None,
            note: None,
        }
    }

    fn customer_conflict() -> Conflict {
        Conflict {
            id: 7,
            entity_id: Uuid::nil(),
            outbox_seq: Some(3),
            reason: ConflictReason::Server(till_protocol::ConflictReason::StaleVersion),
            sides: Sides::Customer(CustomerSides {
                mine: Some(LocalEdit {
                    fields: fields("ada@till"),
                    hlc: None,
                    changed: None,
                }),
                theirs: Some(Customer {
                    id: Uuid::nil(),
                    version: 2,
                    fields: fields("ada@office"),
                    hlc: None,
                    made_by: None,
                }),
                base: None,
            }),
            policy: "field_merge".into(),
            detected_at_ms: 1,
            resolved_at_ms: None,
            resolved_by: None,
            resolution: None,
            resolution_seq: None,
        }
    }

    #[test]
    fn a_customer_conflict_shows_every_field_in_order_with_the_differing_one_marked() {
        let f = rows(&customer_conflict().sides);
        let names: Vec<&str> = f.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            ["name", "email", "phone", "note"],
            "the customer's display order"
        );
        let email = &f[1];
        assert!(email.differs, "the e-mail is what the manager must choose");
        assert_eq!(email.mine.as_deref(), Some("ada@till"));
        assert_eq!(email.theirs.as_deref(), Some("ada@office"));
        assert!(!f[0].differs, "the same name on both sides needs no choice");
    }

    #[test]
    fn a_customer_conflict_is_labelled_by_name() {
        assert_eq!(label(&customer_conflict(), None), "Ada");
    }

    #[test]
    fn a_ticket_conflict_is_labelled_by_this_tills_number_and_shows_what_the_office_holds() {
        let mut c = customer_conflict();
        let reversal = ReversalInfo {
            ticket_id: Uuid::nil(),
            kind: TicketKind::Refund,
            terminal_id: Some(Uuid::nil()),
            total: Some(250),
        };
        c.sides = Sides::Ticket(TicketSides {
            mine: None,
            theirs: Some(reversal),
        });
        assert_eq!(label(&c, Some(12)), "Ticket #12");
        assert_eq!(label(&c, None), format!("Ticket {}", Uuid::nil()));
        let f = rows(&c.sides);
        let total = f.iter().find(|r| r.name == "total").expect("a total row");
        assert_eq!(total.theirs.as_deref(), Some("250"));
        assert_eq!(total.mine, None);
        assert!(total.differs);
        assert_eq!(
            f.len(),
            4,
            "the office's four facts, nothing from this side"
        );
    }
}
