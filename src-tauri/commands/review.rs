//! What sync could not settle, for the manager: conflicts (both sides, the fields that differ,
//! a resolution) and failed items (retry or discard, each recorded with who did it).

use std::collections::BTreeMap;

use serde_json::Value;
use tauri::State;
use till_core::clock::SystemClock;
use till_core::config;
use till_core::sync::conflicts::{self, Side};
use till_core::sync::{failed, Conflict, Resolution};
use till_core::tickets;
use till_protocol::CustomerFields;

use crate::error::{AppError, CmdResult};
use crate::input::Input;
use crate::ipc::{
    ConflictDetail, ConflictEntityKind, ConflictField, ConflictResolution, ConflictSummary,
    FailedItem, FieldPick,
};
use crate::terminal::{AppState, DEFAULT_OPERATOR, OPERATOR};

/// Most failed items one list returns.
const MAX_FAILED: u32 = 1000;

fn kind_of(c: &Conflict) -> ConflictEntityKind {
    if c.entity_kind == "customer" {
        ConflictEntityKind::Customer
    } else {
        ConflictEntityKind::Ticket
    }
}

/// A side's fields: customers keep them under `fields`; other entities are flat objects.
fn side_fields(side: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
    let v = side?;
    v.get("fields").unwrap_or(v).as_object()
}

fn shown(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn label(c: &Conflict, ticket_number: Option<u64>) -> String {
    if c.entity_kind == "customer" {
        [c.local.as_ref(), c.server.as_ref()]
            .into_iter()
            .find_map(|s| shown(side_fields(s)?.get("name")))
            .unwrap_or_else(|| format!("Customer {}", c.entity_id))
    } else {
        match ticket_number {
            Some(n) => format!("Ticket #{n}"),
            None => format!("Ticket {}", c.entity_id),
        }
    }
}

fn summary(c: &Conflict, ticket_number: Option<u64>) -> ConflictSummary {
    ConflictSummary {
        id: c.id.to_string(),
        entity_kind: kind_of(c),
        entity_id: c.entity_id.to_string(),
        entity_label: label(c, ticket_number),
        reason: c.reason.clone(),
        policy: c.policy.clone(),
        detected_at_ms: c.detected_at_ms,
    }
}

/// Every field of both sides, in display order (a customer's in its own order), with the ones
/// the core found different marked.
fn fields(c: &Conflict) -> Vec<ConflictField> {
    let mine = side_fields(c.local.as_ref());
    let theirs = side_fields(c.server.as_ref());
    let names: Vec<String> = if c.entity_kind == "customer" {
        CustomerFields::NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        let mut names: Vec<String> = mine.into_iter().flat_map(|m| m.keys().cloned()).collect();
        for k in theirs.into_iter().flat_map(|t| t.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    };
    names
        .into_iter()
        .map(|name| {
            let m = shown(mine.and_then(|f| f.get(&name)));
            let t = shown(theirs.and_then(|f| f.get(&name)));
            ConflictField {
                differs: c.fields.contains(&name) || m != t,
                name,
                mine: m,
                theirs: t,
            }
        })
        .collect()
}

fn parse_conflict_id(id: &str) -> CmdResult<i64> {
    id.trim()
        .parse()
        .map_err(|_| AppError::invalid_input(format!("{id:?} is not a conflict id")))
}

fn ticket_number(c: &rusqlite::Connection, conflict: &Conflict) -> Option<u64> {
    if conflict.entity_kind == "customer" {
        return None;
    }
    tickets::load(c, conflict.entity_id)
        .ok()
        .flatten()
        .map(|t| t.number)
}

/// Open conflicts, oldest first.
#[tauri::command]
pub async fn conflicts_list(state: State<'_, AppState>) -> CmdResult<Vec<ConflictSummary>> {
    state
        .terminal()?
        .db(|c| {
            let mut list = conflicts::list(c, false)?;
            list.reverse();
            Ok::<_, AppError>(
                list.iter()
                    .map(|x| summary(x, ticket_number(c, x)))
                    .collect(),
            )
        })
        .await
}

#[tauri::command]
pub async fn conflict_detail(
    state: State<'_, AppState>,
    id: Input<String>,
) -> CmdResult<ConflictDetail> {
    let id = id.into_inner();
    let id = parse_conflict_id(&id)?;
    state
        .terminal()?
        .db(move |c| {
            let conflict = conflicts::get(c, id)?;
            let s = summary(&conflict, ticket_number(c, &conflict));
            Ok::<_, AppError>(ConflictDetail {
                id: s.id,
                entity_kind: s.entity_kind,
                entity_id: s.entity_id,
                entity_label: s.entity_label,
                reason: s.reason,
                policy: s.policy,
                detected_at_ms: s.detected_at_ms,
                fields: fields(&conflict),
                server_version: conflict
                    .server
                    .as_ref()
                    .and_then(|v| v.get("version"))
                    .and_then(Value::as_u64),
            })
        })
        .await
}

/// Settles a conflict as the manager chose; the result is queued for the back office.
#[tauri::command]
pub async fn conflict_resolve(
    state: State<'_, AppState>,
    id: Input<String>,
    resolution: Input<ConflictResolution>,
    resolved_by: Input<String>,
) -> CmdResult<()> {
    let id = id.into_inner();
    let resolution = resolution.into_inner();
    let resolved_by = resolved_by.into_inner();
    let id = parse_conflict_id(&id)?;
    let resolution = match resolution {
        ConflictResolution::KeepMine => Resolution::KeepMine,
        ConflictResolution::KeepTheirs => Resolution::KeepTheirs,
        ConflictResolution::Fields { picks } => Resolution::Pick(
            picks
                .into_iter()
                .map(|(field, pick)| {
                    let side = match pick {
                        FieldPick::Mine => Side::Mine,
                        FieldPick::Theirs => Side::Theirs,
                    };
                    (field, side)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
    };
    let terminal = state.terminal()?;
    terminal
        .db(move |c| conflicts::resolve(c, id, &resolution, &resolved_by, &SystemClock))
        .await?;
    terminal.local_write();
    Ok(())
}

#[tauri::command]
pub async fn failed_list(state: State<'_, AppState>) -> CmdResult<Vec<FailedItem>> {
    state
        .terminal()?
        .db(|c| {
            let items = failed::list(c, MAX_FAILED)?;
            Ok::<_, AppError>(
                items
                    .into_iter()
                    .map(|f| {
                        let ticket = if f.kind.starts_with("ticket") {
                            tickets::load(c, f.entity_id).ok().flatten()
                        } else {
                            None
                        };
                        FailedItem {
                            seq: f.seq,
                            mutation_id: f.mutation_id,
                            kind: f.kind,
                            ticket_id: ticket.as_ref().map(|t| t.id),
                            ticket_number: ticket.as_ref().map(|t| t.number),
                            code: f.code,
                            reason: f.reason,
                            failed_at_ms: f.failed_at_ms,
                            attempts: f.attempts,
                        }
                    })
                    .collect(),
            )
        })
        .await
}

/// The operator named in the settings: who retried or discarded an item.
fn operator(c: &rusqlite::Connection) -> till_core::Result<String> {
    Ok(config::get(c, &OPERATOR)?.unwrap_or_else(|| DEFAULT_OPERATOR.to_owned()))
}

/// Queues a failed item again (as a new mutation); recorded with the operator's name.
#[tauri::command]
pub async fn failed_retry(state: State<'_, AppState>, seq: Input<u64>) -> CmdResult<()> {
    let seq = seq.into_inner();
    let terminal = state.terminal()?;
    terminal
        .db(move |c| {
            let actor = operator(c)?;
            failed::retry(c, seq, &actor, &SystemClock)
        })
        .await?;
    terminal.local_write();
    Ok(())
}

/// Drops a failed item for good; the reason and the operator are recorded.
#[tauri::command]
pub async fn failed_discard(
    state: State<'_, AppState>,
    seq: Input<u64>,
    reason: Input<String>,
) -> CmdResult<()> {
    let seq = seq.into_inner();
    let reason = reason.into_inner();
    let terminal = state.terminal()?;
    terminal
        .db(move |c| {
            let actor = operator(c)?;
            failed::discard(c, seq, &reason, &actor, &SystemClock)
        })
        .await?;
    terminal.local_write();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn customer_conflict() -> Conflict {
        Conflict {
            id: 7,
            entity_kind: "customer".into(),
            entity_id: uuid::Uuid::nil(),
            outbox_seq: Some(3),
            reason: "stale_version".into(),
            local: Some(
                json!({"fields": {"name": "Ada", "email": "ada@till", "phone": null, "note": null}}),
            ),
            server: Some(json!({"id": uuid::Uuid::nil(), "version": 2,
                "fields": {"name": "Ada", "email": "ada@office", "phone": null, "note": null}})),
            base: None,
            fields: vec!["email".into()],
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
        let f = fields(&customer_conflict());
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
}
