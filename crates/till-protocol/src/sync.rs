//! Push, pull, ack, health: the messages of the sync protocol.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::pricing::TaxFigures;
use crate::shift::{CashMoved, ShiftClosed, ShiftMismatch, ShiftOpened};
use crate::{
    Customer, CustomerFields, Employee, Hlc, Operator, StoreSettings, TaxRate, Tender, Ticket,
};

/// The request header in which a terminal names the protocol revision it speaks
/// (`Till-Protocol: 2`). Without it the back office answers as revision 1: a till that predates
/// a revision keeps working, it is only not told what it would not understand.
pub const PROTOCOL_HEADER: &str = "till-protocol";
/// The protocol revision of this crate. Revision 2 adds what made each customer version
/// ([`Customer::made_by`], in pulls and conflicts) and the `disputed` outcome of a reversal of a
/// sale already reversed (revision 1 is told `conflict` `already_reversed` for it). Revision 3
/// adds employees to pulls ([`ChangeKind::EmployeeUpserted`]; an older till is not sent them).
/// Revision 4 adds the figures the back office stored for a ticket to its push result
/// ([`MutationResult::stored`]; an older till, whose types refuse the field, is not sent them).
/// Revision 5 adds the push chain ([`crate::chain`]): the head the back office accepted, in
/// each push answer ([`PushResponse::head`]). Revision 6 adds the store's address and tax id to
/// the settings in pulls ([`StoreSettings::address`], [`StoreSettings::tax_id`]; an older till,
/// whose types refuse the fields, is sent the settings without them). Revision 7 adds to the
/// ack the count of the terminal's mutations the back office holds settled ([`Ack::settled`]),
/// which a till checks at the end of a drain, and a customer's tags and loyalty points
/// ([`CustomerFields::tags`], [`CustomerFields::loyalty_points`]) to customers in pulls and
/// conflicts (an older till is sent neither).
pub const PROTOCOL_REVISION: u32 = 7;

/// The format of the mutations a terminal of this crate queues ([`Mutation::format`]). Format 1
/// (no `format` field) is every mutation queued before formats were numbered; format 2 adds
/// [`Mutation::format`] and [`Mutation::link`]; format 3 adds a customer's tags and loyalty
/// points to its changes (a customer change of an older format leaves them as they are:
/// [`crate::fields::as_sent`]).
pub const PAYLOAD_FORMAT: u32 = 3;
/// The oldest payload format the back office accepts. The policy: the back office accepts the
/// current format and at least the two before it (never below 1), so a till can be upgraded
/// twice with sales still queued and never needs to drain first; a format is dropped only by
/// a release that says so, and never while a fixture of it is in the tests.
pub const OLDEST_PAYLOAD_FORMAT: u32 = 1;

/// Most mutations one push may carry.
pub const MAX_PUSH_BATCH: usize = 1000;
/// Most changes one pull page may carry.
pub const MAX_PULL_LIMIT: u32 = 1000;
/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// `POST /v1/push`: a batch of one terminal's mutations, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Must be the terminal the bearer token belongs to.
    pub terminal_id: Uuid,
    pub mutations: Vec<Mutation>,
    /// Mutations of this batch the terminal gives up on: each settles its sequence as
    /// `rejected` (`withdrawn`) without being applied. A terminal withdraws a mutation the back
    /// office failed on (5xx, or no answer) every time it was sent alone, so that the ones after
    /// it can sync; it stays on the terminal's failed list, where a manager retries or discards
    /// it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdraw: Vec<Uuid>,
    /// The terminal's newest link (its last queued mutation's), which may lie beyond this
    /// batch: the back office keeps it and refuses the push that reaches that sequence with
    /// another link, so queued mutations are anchored before they arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<crate::ChainHead>,
}

/// One change made on a terminal, delivered exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// UUID v7, made by the terminal. The server keeps it forever.
    pub id: Uuid,
    /// The terminal's gapless mutation sequence, from 1.
    pub seq: u64,
    pub hlc: Hlc,
    pub wall_clock_ms: i64,
    pub body: MutationBody,
    /// Set when a terminal whose history diverged from the back office's (a restored or copied
    /// data dir) queues its mutation again under a new terminal identity: where it was first
    /// numbered. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovered>,
    /// Who made the change on the till (the employee signed in); absent on a till without
    /// employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// The payload format it was queued in ([`PAYLOAD_FORMAT`]); absent is format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u32>,
    /// Its link of the terminal's push chain ([`crate::chain`]); absent on a mutation queued
    /// before the chain began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Mutation {
    /// The payload format it was queued in.
    pub fn format(&self) -> u32 {
        self.format.unwrap_or(1)
    }

    /// The identity a customer version this mutation makes is made by (`made_by`), which a later
    /// edit names as its base: its own id, or for a recovered mutation its original's, so an
    /// edit queued after it names it alike whether the first terminal delivered it or not.
    pub fn made_by(&self) -> Uuid {
        self.recovered.as_ref().map_or(self.id, |r| r.mutation_id)
    }
}

/// Where a recovered mutation was first numbered. The back office answers it as settled when
/// that terminal delivered exactly it before (`duplicate` with the original outcome, nothing
/// applied twice), and otherwise applies it, keeping where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Recovered {
    /// The terminal identity it was first numbered under.
    pub terminal_id: Uuid,
    /// Its id there.
    pub mutation_id: Uuid,
    /// Its sequence there.
    pub seq: u64,
    /// Hex SHA-256 of its JSON as first queued there, byte for byte as it was sent.
    pub payload_sha256: String,
}

/// What a mutation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum MutationBody {
    /// A sale was rung up.
    TicketCreated(Ticket),
    /// A sale was voided: the payload is the void ticket, whose `reverses` names the sale.
    TicketVoided(Ticket),
    /// A sale was refunded: the payload is the refund ticket, whose `reverses` names the sale.
    TicketRefunded(Ticket),
    /// A customer was created on the terminal.
    CustomerCreated(CustomerCreated),
    /// A customer was edited on the terminal, starting from the version `base` made.
    CustomerUpdated(CustomerUpdated),
    /// A customer was deleted on the terminal, starting from the version `base` made.
    CustomerDeleted(CustomerDeleted),
    /// A manager settled a disputed reversal this terminal made (see [`Outcome::Disputed`]).
    DisputeSettled(DisputeSettled),
    /// A shift was opened on the terminal.
    ShiftOpened(ShiftOpened),
    /// Cash went into or out of the drawer outside a sale.
    CashMoved(CashMoved),
    /// A shift was closed: its Z report. The back office recomputes the shift from the tickets
    /// and cash movements it holds for it and answers `applied` when they match, or a
    /// `conflict` (`shift_mismatch`) saying what differs.
    ShiftClosed(ShiftClosed),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerCreated {
    pub id: Uuid,
    pub fields: CustomerFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdated {
    pub id: Uuid,
    /// The server version this edit was made on, as the terminal guessed it. The back office
    /// judges by it only when `base` is absent (a terminal that predates `base`).
    pub base_version: u64,
    /// What made the version this edit was made on ([`Customer::made_by`]), or, for an edit
    /// queued after another unsettled edit of the same customer, the id of that earlier
    /// mutation. The edit is applied only while the server's current version was made by it;
    /// otherwise it is a conflict, never an overwrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Uuid>,
    pub fields: CustomerFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerDeleted {
    pub id: Uuid,
    /// As [`CustomerUpdated::base_version`].
    pub base_version: u64,
    /// As [`CustomerUpdated::base`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Uuid>,
}

/// How a manager settled a disputed reversal: the cash was handed out, or it came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DisputeSettled {
    /// The disputed void or refund.
    pub reversal_id: Uuid,
    pub settlement: DisputeSettlement,
    /// Who decided.
    pub by: String,
    /// Why, in their words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// What became of a disputed reversal's cash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DisputeSettlement {
    /// It was handed out: the reversal stands and stays counted; the dispute is closed.
    RefundStands,
    /// It came back: `counter_sale`, a sale of the reversal's lines at its figures rung up on the
    /// same terminal (and pushed before this), counts it back in.
    CashCameBack { counter_sale: Uuid },
}

/// The answer to a push: one result per mutation, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// The last sequence the server has settled for this terminal after this push.
    pub last_applied_seq: u64,
    pub server_time_ms: i64,
    /// The last link of this terminal's push chain the back office accepted, after this push;
    /// absent until a mutation with a link arrived. Only a terminal of protocol revision 5 or
    /// later is sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<crate::ChainHead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MutationResult {
    pub mutation_id: Uuid,
    pub seq: u64,
    pub outcome: Outcome,
    /// For a ticket the back office holds (applied, disputed, or a duplicate of either): the
    /// figures it stored, read back from its storage, never copied from the request. The till
    /// compares them with the ticket it sent; any difference is a conflict for a manager. Only
    /// a terminal of protocol revision 4 or later is sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredFigures>,
}

/// The figures of a ticket as the back office stored them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StoredFigures {
    /// What the customer paid (or was paid back), in minor units.
    pub total: i64,
    /// The tax of each rate, ordered by rate.
    pub taxes: Vec<TaxFigures>,
    pub tenders: Vec<Tender>,
}

impl StoredFigures {
    /// The figures of `ticket` as sent: what the back office's must equal.
    pub fn of(ticket: &Ticket) -> StoredFigures {
        StoredFigures {
            total: ticket.totals.total,
            taxes: ticket.taxes.clone(),
            tenders: ticket.tenders.clone(),
        }
    }
}

/// What became of one mutation. Every outcome but `gap` and `mismatch` settles the sequence
/// number: the server records it and answers a replay with the same outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// Applied now.
    Applied {
        /// The server's row id for the entity.
        server_id: i64,
        /// The back office's own ticket number, for tickets.
        server_number: Option<u64>,
        /// The entity's version after this change.
        version: u64,
    },
    /// Already settled earlier: `original` is the outcome first recorded, unchanged.
    Duplicate {
        // The schema of a recursive type must stop somewhere; `original` is never a duplicate.
        #[cfg_attr(feature = "openapi", schema(no_recursion))]
        original: Box<Outcome>,
    },
    /// A void or refund of a sale already reversed by `first`: stored and counted all the same
    /// (the cash left the drawer), and flagged for a manager, who settles it with
    /// [`MutationBody::DisputeSettled`]. A terminal of protocol revision 1 is told a `conflict`
    /// (`already_reversed`, naming `first`) for it instead; the reversal is stored either way.
    Disputed {
        server_id: i64,
        server_number: Option<u64>,
        first: ReversalInfo,
    },
    /// Not applied because the server's copy moved on; the terminal must resolve it.
    Conflict {
        reason: ConflictReason,
        /// The server's current copy, where there is one.
        current: Option<ConflictCurrent>,
    },
    /// Not applied and never will be as sent.
    Rejected { code: String, message: String },
    /// The mutation id was settled before with a different payload: refused, nothing recorded.
    Mismatch { message: String },
    /// The sequence skips ahead: nothing from here on was applied; resend from `expected_seq`.
    Gap { expected_seq: u64 },
}

impl Outcome {
    /// Whether the mutation is settled on the server (applied, duplicate, disputed, conflict or
    /// rejected).
    pub fn settles(&self) -> bool {
        !matches!(self, Outcome::Gap { .. } | Outcome::Mismatch { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ServerConflictReason"))]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// The edit was based on an older version than the server's.
    StaleVersion,
    /// The entity was deleted on the server.
    Deleted,
    /// The ticket was already voided or refunded.
    AlreadyReversed,
    /// The entity already exists with other content.
    AlreadyExists,
    /// A closed shift's Z report differs from what the back office holds for that shift.
    ShiftMismatch,
}

/// The server's side of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ConflictCurrent {
    Customer(Customer),
    /// The ticket that already reversed the original.
    Reversal(ReversalInfo),
    /// What differs between a Z report and the back office's figures for that shift.
    Shift(ShiftMismatch),
}

/// The reversal that came first. Its till and total are told only to that till: another till
/// learns which ticket reversed the sale and how, nothing more of another till's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReversalInfo {
    pub ticket_id: Uuid,
    pub kind: crate::TicketKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// `GET /v1/pull?cursor=…&limit=…`: changes after `cursor`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// A cursor the server issued before; 0 (or absent) for everything.
    pub cursor: Option<u64>,
    /// Page size, 1 to [`MAX_PULL_LIMIT`]; the server's default when absent.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// Pass this back as `cursor` for the next page.
    pub cursor: u64,
    /// More changes wait after this page.
    pub has_more: bool,
    pub server_time_ms: i64,
}

/// One change in the back office, at server sequence `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub seq: u64,
    pub change: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ChangeKind {
    Settings(StoreSettings),
    TaxRateUpserted(TaxRate),
    /// Tombstone.
    TaxRateDeleted {
        id: String,
    },
    ProductUpserted(crate::Product),
    /// Tombstone.
    ProductDeleted {
        id: Uuid,
    },
    CustomerUpserted(Customer),
    /// Tombstone; `version` is the customer's version at deletion.
    CustomerDeleted {
        id: Uuid,
        version: u64,
    },
    /// An employee at its latest state, a disabled one too (employees are never deleted). Only
    /// a terminal of protocol revision 3 or later is sent it.
    EmployeeUpserted(Employee),
}

/// `GET /v1/terminals/{id}/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub terminal_id: Uuid,
    /// Every mutation up to and including this sequence is settled on the server.
    pub last_applied_seq: u64,
    /// How many of this terminal's mutations the back office holds a settled result for (one
    /// per sequence, whatever the outcome: applied, a conflict, rejected, withdrawn), so
    /// `last_applied_seq` once every sequence is settled. Sent to a terminal of protocol
    /// revision 7 or later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<u64>,
}

/// `GET /v1/health`. Needs no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub server_time_ms: i64,
}

/// `GET /v1/whoami`: which terminal a token belongs to; used when enrolling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WhoAmI {
    pub terminal_id: Uuid,
    pub name: String,
    pub last_applied_seq: u64,
    pub server_time_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovered_mutation_makes_its_version_by_its_original_id() {
        let mut mutation = Mutation {
            id: Uuid::now_v7(),
            seq: 1,
            hlc: Hlc {
                wall_ms: 1,
                counter: 0,
                node: Uuid::nil(),
            },
            wall_clock_ms: 1,
            body: MutationBody::CustomerDeleted(CustomerDeleted {
                id: Uuid::now_v7(),
                base_version: 1,
                base: None,
            }),
            recovered: None,
            operator: None,
            format: None,
            link: None,
        };
        assert_eq!(mutation.made_by(), mutation.id);
        let original = Uuid::now_v7();
        mutation.recovered = Some(Recovered {
            terminal_id: Uuid::now_v7(),
            mutation_id: original,
            seq: 7,
            payload_sha256: String::new(),
        });
        assert_eq!(mutation.made_by(), original);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<Ack>(
            r#"{"terminal_id":"0190a0a0-0000-7000-8000-000000000000","last_applied_seq":1,"x":1}"#,
        )
        .expect_err("a stray field means two versions disagree");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn outcomes_are_tagged_by_status() {
        let json = serde_json::to_string(&Outcome::Gap { expected_seq: 4 }).expect("serializes");
        assert_eq!(json, r#"{"status":"gap","expected_seq":4}"#);
    }
}
