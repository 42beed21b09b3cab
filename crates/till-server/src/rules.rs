//! The push rules every storage backend applies: which outcome a mutation gets. Pure functions
//! over values the backend has read inside its transaction, so SQLite and PostgreSQL answer alike.

use sha2::{Digest, Sha256};
use till_protocol::pricing::price;
use till_protocol::{
    ConflictCurrent, ConflictReason, Customer, CustomerFields, Hlc, Mutation, Outcome, Tender,
    Ticket, TicketKind,
};
use uuid::Uuid;

/// Hex SHA-256 of a mutation's canonical JSON (field order is the struct's, so it is stable).
/// Two sends of the same mutation hash alike; any changed byte of payload, seq or clocks differs.
/// The JSON is hashed as it is written, never held whole.
pub fn payload_hash(mutation: &Mutation) -> Result<String, serde_json::Error> {
    let mut hasher = HashWriter(Sha256::new());
    serde_json::to_writer(&mut hasher, mutation)?;
    Ok(hex::encode(hasher.0.finalize()))
}

/// Feeds whatever is written into a SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a mutation id was settled with before.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub payload_hash: String,
    /// The outcome JSON as first answered.
    pub outcome_json: String,
}

/// The first decision on a mutation, before its body is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Settled before with the same payload: answer the stored outcome.
    Replay(String),
    /// Settled before with another payload: refuse, record nothing.
    Mismatch,
    /// A new id on a sequence number already settled by another mutation.
    SeqReused,
    /// The sequence skips ahead of `last + 1`.
    Gap { expected_seq: u64 },
    /// The next sequence: apply it.
    Apply,
}

/// What the server recorded for a mutation id, and whether this terminal settled it.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub record: &'a Recorded,
    /// An id settled by another terminal is never this terminal's replay.
    pub by_this_terminal: bool,
}

/// Decides the first step for `mutation`, given what its id was settled with and the terminal's
/// last settled sequence.
pub fn classify(known: Option<Known<'_>>, hash: &str, last_seq: u64, seq: u64) -> Step {
    match known {
        Some(k) if k.by_this_terminal && k.record.payload_hash == hash => {
            Step::Replay(k.record.outcome_json.clone())
        }
        Some(_) => Step::Mismatch,
        None if seq <= last_seq => Step::SeqReused,
        None if seq > last_seq + 1 => Step::Gap {
            expected_seq: last_seq + 1,
        },
        None => Step::Apply,
    }
}

/// The outcome of every step but [`Step::Apply`], which needs the backend's own writes
/// (`Ok(None)`). A stored outcome that no longer parses is an error of the database.
pub fn answer(step: &Step, mutation: &Mutation) -> Result<Option<Outcome>, serde_json::Error> {
    Ok(Some(match step {
        Step::Replay(json) => Outcome::Duplicate {
            original: Box::new(serde_json::from_str(json)?),
        },
        Step::Mismatch => Outcome::Mismatch {
            message: format!(
                "mutation {} was settled before with a different payload",
                mutation.id
            ),
        },
        Step::SeqReused => Rejection::new(
            "seq_reused",
            format!(
                "sequence {} is already settled by another mutation",
                mutation.seq
            ),
        )
        .into_outcome(),
        Step::Gap { expected_seq } => Outcome::Gap {
            expected_seq: *expected_seq,
        },
        Step::Apply => return Ok(None),
    }))
}

/// A mutation refused for good, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    pub fn into_outcome(self) -> Outcome {
        Outcome::Rejected {
            code: self.code.to_string(),
            message: self.message,
        }
    }
}

/// Checks a ticket the way the back office must before storing it: the kind matches the
/// mutation, every figure is what the one pricing rule gives, the tenders cover the total
/// exactly, and no card data beyond the last four digits travels.
pub fn check_ticket(expected: TicketKind, ticket: &Ticket) -> Result<(), Rejection> {
    if ticket.kind != expected {
        return Err(Rejection::new(
            "kind_mismatch",
            format!(
                "a {:?} mutation must carry a {:?} ticket, not {:?}",
                expected, expected, ticket.kind
            ),
        ));
    }
    match (expected, ticket.reverses) {
        (TicketKind::Sale, Some(_)) => {
            return Err(Rejection::new(
                "invalid_reverses",
                "a sale cannot reverse another ticket",
            ))
        }
        (TicketKind::Void | TicketKind::Refund, None) => {
            return Err(Rejection::new(
                "invalid_reverses",
                "a void or refund must name the ticket it reverses",
            ))
        }
        _ => {}
    }
    if ticket.number == 0 || ticket.number > i64::MAX as u64 {
        return Err(Rejection::new(
            "invalid_ticket_number",
            format!("ticket number {} is out of range", ticket.number),
        ));
    }
    let currency = &ticket.currency;
    if currency.code.len() != 3
        || !currency.code.bytes().all(|b| b.is_ascii_uppercase())
        || currency.exponent > 4
    {
        return Err(Rejection::new(
            "invalid_currency",
            format!(
                "currency {} with exponent {} is not valid",
                currency.code, currency.exponent
            ),
        ));
    }
    check_figures(ticket)?;
    check_tenders(ticket)
}

fn check_figures(ticket: &Ticket) -> Result<(), Rejection> {
    let input = ticket.price_input();
    let priced = price(&input).map_err(|e| Rejection::new(e.code(), e.to_string()))?;
    for (i, (line, figures)) in ticket.lines.iter().zip(&priced.lines).enumerate() {
        if line.figures != *figures {
            return Err(Rejection::new(
                "totals_mismatch",
                format!(
                    "line {}: the terminal sent {:?}, the pricing rule gives {:?}",
                    i + 1,
                    line.figures,
                    figures
                ),
            ));
        }
    }
    if ticket.taxes != priced.taxes {
        return Err(Rejection::new(
            "totals_mismatch",
            format!(
                "taxes: the terminal sent {:?}, the pricing rule gives {:?}",
                ticket.taxes, priced.taxes
            ),
        ));
    }
    if ticket.totals != priced.totals {
        return Err(Rejection::new(
            "totals_mismatch",
            format!(
                "totals: the terminal sent {:?}, the pricing rule gives {:?}",
                ticket.totals, priced.totals
            ),
        ));
    }
    Ok(())
}

fn check_tenders(ticket: &Ticket) -> Result<(), Rejection> {
    if ticket.tenders.len() > 100 {
        return Err(Rejection::new("invalid_tender", "too many tenders"));
    }
    let mut counted: i128 = 0;
    for (i, tender) in ticket.tenders.iter().enumerate() {
        let n = i + 1;
        match tender {
            Tender::Cash { tendered, change } => {
                if *tendered < 0 || *change < 0 || change > tendered {
                    return Err(Rejection::new(
                        "invalid_tender",
                        format!("tender {n}: cash {tendered} with change {change} is not valid"),
                    ));
                }
            }
            Tender::Card {
                amount,
                approval_ref,
                last4,
            } => {
                if *amount < 0 {
                    return Err(Rejection::new(
                        "invalid_tender",
                        format!("tender {n}: a card amount cannot be negative"),
                    ));
                }
                if let Some(last4) = last4 {
                    if last4.is_empty()
                        || last4.len() > 4
                        || !last4.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(Rejection::new(
                            "invalid_card_data",
                            format!("tender {n}: last4 must be one to four digits"),
                        ));
                    }
                }
                if approval_ref.len() > 64 || looks_like_card_number(approval_ref) {
                    return Err(Rejection::new(
                        "invalid_card_data",
                        format!("tender {n}: the approval reference must not hold a card number"),
                    ));
                }
            }
        }
        counted += i128::from(tender.counted());
    }
    if counted != i128::from(ticket.totals.total) {
        return Err(Rejection::new(
            "tenders_mismatch",
            format!(
                "the tenders count {counted}, the ticket total is {}",
                ticket.totals.total
            ),
        ));
    }
    Ok(())
}

/// Whether `text` holds a run of 13 or more digits (spaces and dashes ignored): a full card
/// number (PAN) that must never reach the back office.
fn looks_like_card_number(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 13 {
                return true;
            }
        } else if c != ' ' && c != '-' {
            run = 0;
        }
    }
    false
}

/// Stock moves of a ticket: a sale takes goods out, a void or refund puts them back.
pub fn stock_deltas(ticket: &Ticket) -> Vec<(Uuid, i64)> {
    let sign = match ticket.kind {
        TicketKind::Sale => -1,
        TicketKind::Void | TicketKind::Refund => 1,
    };
    ticket
        .lines
        .iter()
        .map(|l| (l.product_id, sign * l.quantity))
        .collect()
}

/// A customer as stored, tombstones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub server_id: i64,
    pub customer: Customer,
    pub deleted: bool,
}

/// What to do with a customer mutation.
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

/// A customer created on a terminal. Creating one that exists with the same content is applied
/// idempotently; with other content it is a conflict.
pub fn customer_created(
    current: Option<&StoredCustomer>,
    fields: &CustomerFields,
    hlc: Hlc,
) -> CustomerDecision {
    match current {
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
    }
}

/// A customer edited on a terminal from `base_version`: a stale base is a conflict, never an
/// overwrite.
pub fn customer_updated(
    current: Option<&StoredCustomer>,
    base_version: u64,
    fields: &CustomerFields,
    hlc: Hlc,
) -> Result<CustomerDecision, Rejection> {
    match current {
        None => Err(Rejection::new(
            "unknown_customer",
            "the customer does not exist on the server",
        )),
        Some(c) if c.deleted => Ok(conflict(ConflictReason::Deleted, Some(c))),
        Some(c) if c.customer.version != base_version => {
            Ok(conflict(ConflictReason::StaleVersion, Some(c)))
        }
        Some(c) => Ok(CustomerDecision::Write {
            insert: false,
            version: c.customer.version + 1,
            fields: fields.clone(),
            hlc,
        }),
    }
}

/// A customer deleted on a terminal from `base_version`.
pub fn customer_deleted(
    current: Option<&StoredCustomer>,
    base_version: u64,
    hlc: Hlc,
) -> Result<CustomerDecision, Rejection> {
    match current {
        None => Err(Rejection::new(
            "unknown_customer",
            "the customer does not exist on the server",
        )),
        Some(c) if c.deleted => Ok(conflict(ConflictReason::Deleted, Some(c))),
        Some(c) if c.customer.version != base_version => {
            Ok(conflict(ConflictReason::StaleVersion, Some(c)))
        }
        Some(c) => Ok(CustomerDecision::Delete {
            version: c.customer.version + 1,
            hlc,
        }),
    }
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

/// The stored form of a stamp: JSON text, the same in both backends.
pub fn stamp_text(hlc: &Hlc) -> Result<String, serde_json::Error> {
    serde_json::to_string(hlc)
}

/// A stored stamp read back; `None` for a customer written before stamps were kept.
pub fn parse_stamp(text: Option<&str>) -> Result<Option<Hlc>, serde_json::Error> {
    text.map(serde_json::from_str).transpose()
}

/// Checks customer fields by the rule the terminal applies too.
pub fn check_customer_fields(fields: &CustomerFields) -> Result<(), Rejection> {
    fields
        .check()
        .map_err(|message| Rejection::new("invalid_customer", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_hash_is_the_sha256_of_the_whole_json_so_stored_hashes_still_match() {
        let mutation = crate::sample::mutation(
            1,
            till_protocol::MutationBody::TicketCreated(crate::sample::sale(1)),
        );
        let whole = serde_json::to_vec(&mutation).expect("serialises");
        assert_eq!(
            payload_hash(&mutation).expect("hashes"),
            hex::encode(Sha256::digest(whole))
        );
    }

    #[test]
    fn a_replay_with_the_same_payload_returns_the_stored_outcome() {
        let r = Recorded {
            payload_hash: "h".into(),
            outcome_json: "{}".into(),
        };
        let mine = Known {
            record: &r,
            by_this_terminal: true,
        };
        assert_eq!(classify(Some(mine), "h", 5, 3), Step::Replay("{}".into()));
        assert_eq!(classify(Some(mine), "x", 5, 3), Step::Mismatch);
        let theirs = Known {
            by_this_terminal: false,
            ..mine
        };
        assert_eq!(
            classify(Some(theirs), "h", 5, 3),
            Step::Mismatch,
            "another terminal's mutation is never this terminal's replay"
        );
    }

    #[test]
    fn sequence_steps_follow_the_last_settled_seq() {
        assert_eq!(classify(None, "h", 5, 5), Step::SeqReused);
        assert_eq!(classify(None, "h", 5, 6), Step::Apply);
        assert_eq!(classify(None, "h", 5, 8), Step::Gap { expected_seq: 6 });
    }

    #[test]
    fn card_numbers_are_spotted_in_free_text() {
        assert!(looks_like_card_number("4111 1111 1111 1111"));
        assert!(looks_like_card_number("ref-4111111111111111"));
        assert!(!looks_like_card_number("APPROVED-123456"));
    }
}
