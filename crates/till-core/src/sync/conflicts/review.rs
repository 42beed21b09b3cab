//! Conflicts as the app's review screen (and `tillctl conflicts show`) shows them: a label for
//! each, and both sides field by field with the fields to choose marked.

use rusqlite::Connection;
use serde::Serialize;
use till_protocol::shift::ShiftMismatch;
use till_protocol::{Currency, Hlc, Rule, TicketKind};
use uuid::Uuid;

use crate::money::Money;
use crate::{approvals, catalog, tickets};

use super::super::enrolment;
use super::super::error::SyncError;
use super::sides::{
    ConflictEntity, ConflictReason, CustomerField, CustomerSides, ShiftSides, TicketSides,
    TotalsSides,
};
use super::{get, list, Conflict, Side, Sides};

/// A conflict in the review list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictSummary {
    pub id: String,
    pub entity_kind: ConflictEntity,
    pub entity_id: String,
    /// The customer's name, the ticket's number on this till, or the shift's Z number.
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
    /// The sides differ here.
    pub differs: bool,
    /// The manager chooses this field: the sides differ and this till changed it (or it cannot
    /// be told: no common base, or one side deleted the customer). A field only the back office
    /// changed is not a choice: its change is taken.
    pub choice: bool,
    /// The side the result takes unless the manager picks: the back office for a field this till
    /// did not change, this till for one only it changed, the newer edit for one both changed
    /// when both edits' times are known; `null` when the manager must pick. For a set or a
    /// counter both changed, this till: its change is applied to the back office's value.
    pub default: Option<Side>,
    /// How the field merges: for a set or a counter, picking this till applies its change to the
    /// back office's value rather than replacing it.
    pub rule: Rule,
    /// For a set or a counter both sides changed: the value picking this till gives, both
    /// sides' changes applied.
    pub merged: Option<String>,
}

/// How the manager settles a conflict, so the screen offers exactly those choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// A customer: a side for each field this till changed (`fields`, `keep_mine`, `keep_theirs`).
    Fields,
    /// A reversal the back office refused because another already reversed its sale, or a shift
    /// whose Z report the back office does not agree with: only acknowledged (`keep_theirs`).
    Acknowledge,
    /// A disputed reversal the back office stored and counts: the refund stands
    /// (`refund_stands`), or the cash came back, with why (`cash_came_back`).
    Dispute,
}

impl Settlement {
    pub(super) fn of(c: &Conflict) -> Settlement {
        match c.entity() {
            ConflictEntity::Customer => Settlement::Fields,
            ConflictEntity::Ticket if c.is_disputed_reversal() => Settlement::Dispute,
            ConflictEntity::Ticket | ConflictEntity::Shift => Settlement::Acknowledge,
        }
    }
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
    /// The choices the manager has.
    pub settlement: Settlement,
    /// The back office's version of a customer.
    pub server_version: Option<u64>,
    /// When this till's edit was made (its clock stamp), if known.
    pub mine_at_ms: Option<i64>,
    /// When the back office's version was made, if known.
    pub theirs_at_ms: Option<i64>,
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
    let (mine_at, theirs_at) = stamps(&c.sides);
    let (mine_at_ms, theirs_at_ms) = (mine_at.map(|h| h.wall_ms), theirs_at.map(|h| h.wall_ms));
    Ok(ConflictDetail {
        summary: summary(&c, ticket_number(conn, &c)),
        fields: rows(conn, &c.sides)?,
        settlement: Settlement::of(&c),
        server_version: match &c.sides {
            Sides::Customer(sides) => sides.theirs.as_ref().map(|t| t.version),
            Sides::Ticket(_) | Sides::Shift(_) | Sides::Totals(_) => None,
        },
        mine_at_ms,
        theirs_at_ms,
    })
}

/// Whether a conflict about this entity waits for a manager.
pub fn is_open(conn: &Connection, entity: ConflictEntity, id: Uuid) -> Result<bool, SyncError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM conflicts
             WHERE entity_kind = ?1 AND entity_id = ?2 AND resolved_at_ms IS NULL",
        )?
        .exists(rusqlite::params![entity.as_str(), id.to_string()])?)
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
        (Sides::Ticket(_) | Sides::Totals(_), Some(n)) => format!("Ticket #{n}"),
        (Sides::Ticket(_) | Sides::Totals(_), None) => format!("Ticket {}", c.entity_id),
        (Sides::Shift(s), _) => match &s.mine {
            Some(z) => format!("Z report #{}", z.z_number),
            None => format!("Shift {}", c.entity_id),
        },
    }
}

fn rows(conn: &Connection, sides: &Sides) -> Result<Vec<FieldRow>, SyncError> {
    // Only for figures of no ticket this till holds: they are then shown bare.
    let currency = || catalog::settings(conn).ok().map(|s| s.currency);
    Ok(match sides {
        Sides::Customer(c) => customer_rows(c),
        Sides::Ticket(t) => {
            let this_till = enrolment::get(conn)?.map(|e| e.terminal_id);
            ticket_rows(t, this_till, currency().as_ref())
        }
        Sides::Shift(s) => shift_rows(s, currency().as_ref()),
        Sides::Totals(t) => totals_rows(t, currency().as_ref()),
    })
}

/// The clock stamps of this till's edit and of the back office's version, where known.
fn stamps(sides: &Sides) -> (Option<Hlc>, Option<Hlc>) {
    match sides {
        Sides::Customer(c) => customer_stamps(c),
        Sides::Ticket(_) | Sides::Shift(_) | Sides::Totals(_) => (None, None),
    }
}

fn customer_stamps(c: &CustomerSides) -> (Option<Hlc>, Option<Hlc>) {
    (
        c.mine.as_ref().and_then(|m| m.hlc),
        c.theirs.as_ref().and_then(|t| t.hlc),
    )
}

/// The side whose edit is newer, when both edits' stamps are known.
fn newer(sides: &CustomerSides) -> Option<Side> {
    match customer_stamps(sides) {
        (Some(mine), Some(theirs)) if mine > theirs => Some(Side::Mine),
        (Some(_), Some(_)) => Some(Side::Theirs),
        _ => None,
    }
}

/// Whether the manager chooses field `f`, and the side it takes unless they do (see
/// [`FieldRow`]).
fn choice(f: CustomerField, sides: &CustomerSides) -> (bool, Option<Side>) {
    let (Some(_), Some(here)) = (&sides.theirs, sides.changed_here()) else {
        return (true, newer(sides));
    };
    if !here.contains(&f) {
        return (false, Some(Side::Theirs));
    }
    match sides.changed_there() {
        Some(there) if !there.contains(&f) => (true, Some(Side::Mine)),
        _ => match sides.combined(f) {
            Some(both) if both.check().is_ok() => (true, Some(Side::Mine)),
            Some(_) => (true, None),
            None => (true, newer(sides)),
        },
    }
}

/// A customer's fields in their display order.
fn customer_rows(sides: &CustomerSides) -> Vec<FieldRow> {
    let differing = sides.differing();
    let value = |f: CustomerField, fields: Option<&till_protocol::CustomerFields>| {
        fields.and_then(|x| f.value(x).shown())
    };
    CustomerField::ALL
        .into_iter()
        .map(|f| {
            let mine = value(f, sides.mine.as_ref().map(|m| &m.fields));
            let theirs = value(f, sides.theirs.as_ref().map(|t| &t.fields));
            let differs = differing.contains(&f) || mine != theirs;
            let (choice, default) = if differs {
                choice(f, sides)
            } else {
                (false, None)
            };
            FieldRow {
                name: f.as_str().to_owned(),
                differs,
                choice,
                default,
                rule: f.rule(),
                merged: sides.combined(f).and_then(|r| f.value(&r).shown()),
                mine,
                theirs,
            }
        })
        .collect()
}

/// A ticket conflict shows its two sides' stored objects key by key: this till's reversal
/// (`ticket`, the whole ticket) and what the back office holds (the reversing ticket's id, kind,
/// terminal and total), so nothing either side knows is hidden from the manager. Nothing is a
/// choice: the back office's reversal stands, and resolving acknowledges it.
/// A ticket conflict in a manager's words, row by row: which reversal each side holds, at which
/// till, and for how much (in `currency`, the ticket's own when this till holds it).
fn ticket_rows(
    sides: &TicketSides,
    this_till: Option<Uuid>,
    currency: Option<&Currency>,
) -> Vec<FieldRow> {
    let (mine, theirs) = (sides.mine.as_ref(), sides.theirs.as_ref());
    let currency = mine.map(|t| &t.currency).or(currency);
    let money = |minor: i64| match currency {
        Some(c) => Money::new(minor, c).to_string(),
        None => minor.to_string(),
    };
    let till = |id: Uuid| {
        if Some(id) == this_till {
            "this till".to_string()
        } else {
            "another till".to_string()
        }
    };
    [
        (
            "reversal",
            mine.map(|t| format!("{} #{}", kind_word(t.kind), t.number)),
            theirs.map(|r| kind_word(r.kind).to_string()),
        ),
        (
            "till",
            mine.map(|_| "this till".to_string()),
            theirs.and_then(|r| r.terminal_id).map(till),
        ),
        (
            "total",
            mine.map(|t| money(t.totals.total)),
            theirs.and_then(|r| r.total).map(money),
        ),
    ]
    .into_iter()
    .map(|(name, mine, theirs)| {
        let differs = mine != theirs;
        FieldRow {
            name: name.to_string(),
            differs,
            choice: false,
            default: differs.then_some(Side::Theirs),
            rule: Rule::Text,
            merged: None,
            mine,
            theirs,
        }
    })
    .collect()
}

/// A shift conflict in a manager's words, one row per difference: each ticket the Z report counts
/// that the back office never received, each it holds that the report does not count, then each
/// figure as the till counted it and as the back office does (money in `currency`). Nothing is a
/// choice: resolving acknowledges the difference.
fn shift_rows(sides: &ShiftSides, currency: Option<&Currency>) -> Vec<FieldRow> {
    let Some(m) = &sides.theirs else {
        return Vec::new();
    };
    shift_differences(m, currency)
        .into_iter()
        .map(|(name, mine, theirs)| FieldRow {
            name,
            differs: true,
            choice: false,
            default: Some(Side::Theirs),
            rule: Rule::Text,
            merged: None,
            mine: Some(mine),
            theirs: Some(theirs),
        })
        .collect()
}

/// A ticket stored with other figures, one row per figure that differs (money in `currency`):
/// this till's as sent, the back office's as stored. Nothing is a choice: resolving
/// acknowledges the difference.
fn totals_rows(sides: &TotalsSides, currency: Option<&Currency>) -> Vec<FieldRow> {
    let money = |minor: i64| match currency {
        Some(c) => Money::new(minor, c).to_string(),
        None => minor.to_string(),
    };
    let shown = |figures: &Option<till_protocol::StoredFigures>, name: &str| {
        let f = figures.as_ref()?;
        Some(match name {
            "total" => money(f.total),
            "taxes" => f
                .taxes
                .iter()
                .map(|t| {
                    let (rate, _) = figure_words(&format!("tax:{}", t.rate_bp));
                    format!("{rate}: {}", money(t.tax))
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => f
                .tenders
                .iter()
                .map(|t| match t {
                    till_protocol::Tender::Cash { .. } => format!("cash {}", money(t.counted())),
                    till_protocol::Tender::Card { .. } => format!("card {}", money(t.counted())),
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
    };
    sides
        .differing()
        .into_iter()
        .map(|name| FieldRow {
            mine: shown(&sides.mine, &name),
            theirs: shown(&sides.theirs, &name),
            name,
            differs: true,
            choice: false,
            default: Some(Side::Theirs),
            rule: Rule::Text,
            merged: None,
        })
        .collect()
}

/// `(what, this till, back office)` for each difference of `m`.
fn shift_differences(
    m: &ShiftMismatch,
    currency: Option<&Currency>,
) -> Vec<(String, String, String)> {
    let money = |minor: i64| match currency {
        Some(c) => Money::new(minor, c).to_string(),
        None => minor.to_string(),
    };
    let missing = m.missing_tickets.iter().map(|n| {
        let (till, office) = ("counted", "never received");
        (format!("ticket #{n}"), till.to_string(), office.to_string())
    });
    let unexpected = m.unexpected_tickets.iter().map(|n| {
        let (till, office) = ("not counted", "held");
        (format!("ticket #{n}"), till.to_string(), office.to_string())
    });
    let figures = m.differences.iter().map(|d| {
        let (name, count) = figure_words(&d.figure);
        let show = |v: i64| if count { v.to_string() } else { money(v) };
        (name, show(d.till), show(d.back_office))
    });
    missing.chain(unexpected).chain(figures).collect()
}

/// A figure's name in words, and whether it counts (tickets) rather than sums money.
fn figure_words(figure: &str) -> (String, bool) {
    if let Some(tender) = figure.strip_prefix("tender:") {
        return (format!("{tender} (net)"), false);
    }
    if let Some(rate) = figure.strip_prefix("tax:") {
        let words = match rate.parse::<i128>() {
            Ok(bp) => format!("tax at {} %", approvals::percent(bp)),
            Err(_) => format!("tax at {rate}"),
        };
        return (words, false);
    }
    (figure.replace('_', " "), figure == "tickets")
}

fn kind_word(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Sale => "Sale",
        TicketKind::Void => "Void",
        TicketKind::Refund => "Refund",
    }
}

#[cfg(test)]
mod tests {
    use super::super::sides::LocalEdit;
    use super::*;
    use till_protocol::{Customer, CustomerFields, ReversalInfo, TicketKind};

    fn fields(email: &str) -> CustomerFields {
        CustomerFields {
            name: "Ada".into(),
            email: Some(email.into()),
            ..CustomerFields::default()
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
        let Sides::Customer(sides) = customer_conflict().sides else {
            unreachable!("a customer conflict")
        };
        let f = customer_rows(&sides);
        let names: Vec<&str> = f.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            ["name", "email", "phone", "note", "tags", "loyalty_points"],
            "the customer's display order"
        );
        let email = &f[1];
        assert!(email.differs, "the e-mail is what the manager must choose");
        assert_eq!(email.mine.as_deref(), Some("ada@till"));
        assert_eq!(email.theirs.as_deref(), Some("ada@office"));
        assert!(!f[0].differs, "the same name on both sides needs no choice");
    }

    #[test]
    fn points_both_sides_changed_show_what_merging_them_gives() {
        let Sides::Customer(mut sides) = customer_conflict().sides else {
            unreachable!("a customer conflict")
        };
        sides.base = sides.mine.as_ref().map(|m| m.fields.clone());
        if let (Some(base), Some(mine), Some(theirs)) =
            (&mut sides.base, &mut sides.mine, &mut sides.theirs)
        {
            base.loyalty_points = 100;
            mine.fields.loyalty_points = 110;
            theirs.fields.loyalty_points = 105;
            mine.changed = Some(vec![CustomerField::LoyaltyPoints]);
        }
        let rows = customer_rows(&sides);
        let points = row(&rows, "loyalty_points");
        assert_eq!(points.rule, Rule::Counter);
        assert_eq!(
            (points.mine.as_deref(), points.theirs.as_deref()),
            (Some("110"), Some("105"))
        );
        assert_eq!(
            points.merged.as_deref(),
            Some("115"),
            "picking this till adds its +10 to the office's 105"
        );
        assert_eq!(points.default, Some(Side::Mine), "both changes, by default");
        if let Some(mine) = &mut sides.mine {
            mine.fields.loyalty_points = 0;
        }
        let rows = customer_rows(&sides);
        let below = row(&rows, "loyalty_points");
        assert_eq!(below.merged.as_deref(), Some("5"));
        if let Some(theirs) = &mut sides.theirs {
            theirs.fields.loyalty_points = 50;
        }
        let rows = customer_rows(&sides);
        assert_eq!(
            row(&rows, "loyalty_points").default,
            None,
            "−100 here and −50 there would go below 0: the manager picks"
        );
    }

    fn stamp(wall_ms: i64) -> Option<Hlc> {
        Some(Hlc {
            wall_ms,
            counter: 0,
            node: Uuid::nil(),
        })
    }

    /// Both sides edited from a base where Ada had `ada@base` and no phone: this till changed the
    /// e-mail and the note, the back office the e-mail and the phone.
    fn edited_on_both_sides(mine_at: Option<Hlc>, theirs_at: Option<Hlc>) -> CustomerSides {
        let base = fields("ada@base");
        let mut mine = fields("ada@till");
        mine.note = Some("pays by card".into());
        let mut theirs = fields("ada@office");
        theirs.phone = Some("+44 1".into());
        CustomerSides {
            mine: Some(LocalEdit {
                fields: mine,
                hlc: mine_at,
                changed: None,
            }),
            theirs: Some(Customer {
                id: Uuid::nil(),
                version: 4,
                fields: theirs,
                hlc: theirs_at,
                made_by: None,
            }),
            base: Some(base),
        }
    }

    fn row<'a>(rows: &'a [FieldRow], name: &str) -> &'a FieldRow {
        rows.iter()
            .find(|r| r.name == name)
            .expect("the row is there")
    }

    #[test]
    fn a_field_this_till_did_not_change_is_not_offered_and_takes_the_office_change() {
        let rows = customer_rows(&edited_on_both_sides(None, None));
        let phone = row(&rows, "phone");
        assert!(phone.differs, "the office added a phone");
        assert!(
            !phone.choice,
            "this till never touched the phone: nothing to choose"
        );
        assert_eq!(phone.default, Some(Side::Theirs));
        let name = row(&rows, "name");
        assert_eq!(
            (name.differs, name.choice, name.default),
            (false, false, None)
        );
    }

    #[test]
    fn a_field_only_this_till_changed_keeps_the_tills_edit_by_default() {
        let rows = customer_rows(&edited_on_both_sides(None, None));
        let note = row(&rows, "note");
        assert!(note.choice, "this till changed the note");
        assert_eq!(
            note.default,
            Some(Side::Mine),
            "the till's edit is the only edit of the note, never silently dropped"
        );
    }

    #[test]
    fn a_field_both_changed_defaults_to_the_newer_edit_or_waits_for_a_pick() {
        let rows = customer_rows(&edited_on_both_sides(None, None));
        let email = row(&rows, "email");
        assert!(email.choice);
        assert_eq!(email.default, None, "no times known: the manager must pick");
        let rows = customer_rows(&edited_on_both_sides(stamp(20), stamp(10)));
        assert_eq!(
            row(&rows, "email").default,
            Some(Side::Mine),
            "this till's edit is newer"
        );
        let rows = customer_rows(&edited_on_both_sides(stamp(10), stamp(20)));
        assert_eq!(
            row(&rows, "email").default,
            Some(Side::Theirs),
            "the office's edit is newer"
        );
    }

    #[test]
    fn the_fields_this_tills_edits_recorded_are_the_choices_even_without_a_base() {
        let mut sides = edited_on_both_sides(None, None);
        sides.base = None;
        if let Some(mine) = sides.mine.as_mut() {
            mine.changed = Some(vec![CustomerField::Email]);
        }
        let rows = customer_rows(&sides);
        let email = row(&rows, "email");
        assert!(
            email.choice && email.default.is_none(),
            "edited on both sides"
        );
        for name in ["phone", "note"] {
            let r = row(&rows, name);
            assert_eq!(
                (r.choice, r.default),
                (false, Some(Side::Theirs)),
                "{name}: no edit of this till changed it"
            );
        }
    }

    #[test]
    fn without_a_common_base_every_differing_field_is_a_choice() {
        let mut sides = edited_on_both_sides(None, None);
        sides.base = None;
        let rows = customer_rows(&sides);
        for name in ["email", "phone", "note"] {
            let r = row(&rows, name);
            assert!(
                r.choice && r.default.is_none(),
                "{name}: who changed it is unknown"
            );
        }
    }

    #[test]
    fn a_customer_in_an_open_conflict_is_listed_as_in_conflict_not_pending() {
        use crate::item_state::ItemSyncState;
        use crate::sync::customers;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path()).expect("opens");
        let mut conn = store.connect().expect("connects");
        let clock = crate::clock::FixedClock(1_000);
        let ada = customers::save(&mut conn, None, fields("ada@till"), &clock).expect("saves");
        let state = |conn: &Connection| {
            customers::search_views(conn, "Ada", 10).expect("lists")[0].sync_state
        };
        assert_eq!(state(&conn), ItemSyncState::Pending);
        conn.execute(
            "INSERT INTO conflicts (entity_kind, entity_id, reason, policy, detected_at_ms)
             VALUES ('customer', ?1, 'concurrent_edit', 'manual', 1)",
            [ada.id.to_string()],
        )
        .expect("a conflict about Ada");
        assert!(is_open(&conn, ConflictEntity::Customer, ada.id).expect("reads"));
        assert_eq!(
            state(&conn),
            ItemSyncState::Conflict,
            "her unconfirmed edit is in conflict, not merely waiting"
        );
        conn.execute("UPDATE conflicts SET resolved_at_ms = 2", [])
            .expect("resolves");
        assert_eq!(
            state(&conn),
            ItemSyncState::Pending,
            "resolved: back to waiting to send"
        );
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
        let sides = TicketSides {
            mine: None,
            theirs: Some(reversal),
        };
        c.sides = Sides::Ticket(sides.clone());
        assert_eq!(label(&c, Some(12)), "Ticket #12");
        assert_eq!(label(&c, None), format!("Ticket {}", Uuid::nil()));
        let euro = Currency {
            code: "EUR".into(),
            exponent: 2,
        };
        let f = ticket_rows(&sides, None, Some(&euro));
        let total = row(&f, "total");
        assert_eq!(
            total.theirs.as_deref(),
            Some("€2.50"),
            "money, not minor units"
        );
        assert_eq!(total.mine, None);
        assert!(total.differs);
        assert!(
            !total.choice && total.default == Some(Side::Theirs),
            "the office's reversal stands: nothing to choose"
        );
        let facts: Vec<_> = f
            .iter()
            .map(|r| (r.name.as_str(), r.theirs.as_deref()))
            .collect();
        assert_eq!(
            facts,
            [
                ("reversal", Some("Refund")),
                ("till", Some("another till")),
                ("total", Some("€2.50"))
            ],
            "the office's facts in words, nothing from this side"
        );
        assert!(f.iter().all(|r| r.mine.is_none()));
        let f = ticket_rows(&sides, Some(Uuid::nil()), Some(&euro));
        assert_eq!(
            row(&f, "till").theirs.as_deref(),
            Some("this till"),
            "the office's reversal was this till's own"
        );
    }

    /// Rows of a conflict that is only acknowledged, as `(name, mine, theirs)`: each differs,
    /// none is a choice.
    fn acknowledged_rows(rows: Vec<FieldRow>) -> Vec<(String, Option<String>, Option<String>)> {
        rows.into_iter()
            .map(|r| {
                assert!(r.differs && !r.choice, "nothing to pick: {r:?}");
                (r.name, r.mine, r.theirs)
            })
            .collect()
    }

    /// A row of [`acknowledged_rows`].
    fn differing(name: &str, mine: &str, theirs: &str) -> (String, Option<String>, Option<String>) {
        (
            name.to_string(),
            Some(mine.to_string()),
            Some(theirs.to_string()),
        )
    }

    #[test]
    fn a_shift_conflict_shows_each_difference_in_words_and_money() {
        use till_protocol::shift::FigureDifference;
        let figure = |figure: &str, till: i64, back_office: i64| FigureDifference {
            figure: figure.into(),
            till,
            back_office,
        };
        let sides = ShiftSides {
            mine: None,
            theirs: Some(ShiftMismatch {
                missing_tickets: vec![4],
                unexpected_tickets: vec![9],
                differences: vec![
                    figure("tickets", 2, 1),
                    figure("cash_sales", 1_250, 0),
                    figure("tender:card", 300, 0),
                    figure("tax:2000", 208, 0),
                    figure("tax:550", 5, 0),
                ],
            }),
        };
        let euro = Currency {
            code: "EUR".into(),
            exponent: 2,
        };
        assert_eq!(
            acknowledged_rows(shift_rows(&sides, Some(&euro))),
            [
                differing("ticket #4", "counted", "never received"),
                differing("ticket #9", "not counted", "held"),
                differing("tickets", "2", "1"),
                differing("cash sales", "€12.50", "€0.00"),
                differing("card (net)", "€3.00", "€0.00"),
                differing("tax at 20 %", "€2.08", "€0.00"),
                differing("tax at 5.5 %", "€0.05", "€0.00"),
            ]
        );
    }

    #[test]
    fn the_settlement_offered_follows_the_conflict() {
        let mut c = customer_conflict();
        assert_eq!(
            Settlement::of(&c),
            Settlement::Fields,
            "a customer: field by field"
        );
        c.sides = Sides::Ticket(TicketSides {
            mine: None,
            theirs: None,
        });
        c.reason = ConflictReason::Server(till_protocol::ConflictReason::AlreadyReversed);
        assert_eq!(
            Settlement::of(&c),
            Settlement::Acknowledge,
            "a reversal the office refused is only acknowledged"
        );
        c.reason = ConflictReason::Local(super::super::sides::LocalReason::DisputedReversal);
        assert_eq!(
            Settlement::of(&c),
            Settlement::Dispute,
            "a disputed reversal: the refund stands, or the cash came back"
        );
        c.sides = Sides::Shift(ShiftSides {
            mine: None,
            theirs: None,
        });
        c.reason = ConflictReason::Server(till_protocol::ConflictReason::ShiftMismatch);
        assert_eq!(
            Settlement::of(&c),
            Settlement::Acknowledge,
            "a shift whose Z report differs is acknowledged"
        );
    }

    #[test]
    fn a_ticket_stored_with_other_figures_shows_each_differing_figure_in_money() {
        let figures = |total: i64, tender: till_protocol::Tender| till_protocol::StoredFigures {
            total,
            taxes: vec![till_protocol::pricing::TaxFigures {
                rate_bp: 2000,
                base: 1_000,
                tax: 200,
            }],
            tenders: vec![tender],
        };
        let cash = till_protocol::Tender::Cash {
            tendered: 1_500,
            change: 300,
        };
        let card = till_protocol::Tender::Card {
            amount: 1_200,
            approval_ref: "A1".into(),
            last4: None,
        };
        let sides = TotalsSides {
            mine: Some(figures(1_200, cash)),
            theirs: Some(figures(1_201, card)),
        };
        let euro = Currency {
            code: "EUR".into(),
            exponent: 2,
        };
        assert_eq!(
            acknowledged_rows(totals_rows(&sides, Some(&euro))),
            [
                differing("total", "€12.00", "€12.01"),
                differing("tenders", "cash €12.00", "card €12.00"),
            ],
            "the taxes agree, so they are no row"
        );
    }
}
