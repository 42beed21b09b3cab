//! What a terminal is told, by the protocol revision it names (`Till-Protocol`). The back office
//! decides and records every outcome as the current revision has it; a terminal of an older
//! revision, whose types refuse fields they do not know, is told the same facts in the shape it
//! reads. A replay to it is rendered alike, so it still gets its first answer byte for byte.

use till_protocol::{
    ChangeKind, ConflictCurrent, ConflictReason, Customer, MutationResult, Outcome,
    PROTOCOL_REVISION,
};

/// A protocol revision a terminal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Revision(pub u32);

impl Revision {
    /// What a terminal that names no revision speaks.
    pub const FIRST: Revision = Revision(1);
    /// What this server speaks.
    pub const CURRENT: Revision = Revision(PROTOCOL_REVISION);

    /// The revision a request names in its header value (the first when it names none, or
    /// nothing readable; never beyond this server's own).
    pub fn named(header: Option<&str>) -> Revision {
        header
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(Revision::FIRST, |n| {
                Revision(n.clamp(Revision::FIRST.0, Revision::CURRENT.0))
            })
    }

    /// Whether a terminal of this revision reads what made a customer version.
    fn reads_made_by(self) -> bool {
        self >= Revision(2)
    }

    /// Whether it reads a disputed reversal as such.
    fn reads_disputed(self) -> bool {
        self >= Revision(2)
    }

    /// Whether its pulls may carry employees (revision 3 on).
    pub fn reads_employees(self) -> bool {
        self >= Revision(3)
    }

    /// Whether its push results may carry the figures stored for a ticket (revision 4 on).
    fn reads_stored_figures(self) -> bool {
        self >= Revision(4)
    }

    /// Whether its push answers may carry the head of its push chain accepted (revision 5 on).
    pub fn reads_chain_head(self) -> bool {
        self >= Revision(5)
    }

    /// Whether the store settings in its pulls may carry the address and tax id (revision 6 on).
    fn reads_store_address(self) -> bool {
        self >= Revision(6)
    }

    /// Whether its ack may carry the count of its settled mutations (revision 7 on).
    pub fn reads_ack_counts(self) -> bool {
        self >= Revision(7)
    }

    /// Whether the customers in its pulls and conflicts may carry tags and loyalty points
    /// (revision 7 on).
    fn reads_customer_tags_and_points(self) -> bool {
        self >= Revision(7)
    }
}

/// `c` as a terminal of `revision` reads it: without what made it before revision 2, without
/// tags and points before revision 7.
fn customer(c: &mut Customer, revision: Revision) {
    if !revision.reads_made_by() {
        c.made_by = None;
    }
    if !revision.reads_customer_tags_and_points() {
        c.fields.tags.clear();
        c.fields.loyalty_points = 0;
    }
}

/// A push's results as a terminal of `revision` reads them.
pub fn results(results: Vec<MutationResult>, revision: Revision) -> Vec<MutationResult> {
    results
        .into_iter()
        .map(|r| MutationResult {
            outcome: outcome(r.outcome, revision),
            stored: r.stored.filter(|_| revision.reads_stored_figures()),
            ..r
        })
        .collect()
}

/// One outcome as a terminal of `revision` reads it. A disputed reversal is told to a terminal
/// of revision 1 as the conflict it knows (`already_reversed`, naming the first reversal): it
/// shows it to a manager, and the reversal is stored and counted all the same.
pub fn outcome(outcome: Outcome, revision: Revision) -> Outcome {
    match outcome {
        Outcome::Duplicate { original } => Outcome::Duplicate {
            original: Box::new(self::outcome(*original, revision)),
        },
        Outcome::Disputed { first, .. } if !revision.reads_disputed() => Outcome::Conflict {
            reason: ConflictReason::AlreadyReversed,
            current: Some(ConflictCurrent::Reversal(first)),
        },
        Outcome::Conflict {
            reason,
            current: Some(ConflictCurrent::Customer(mut c)),
        } => {
            customer(&mut c, revision);
            Outcome::Conflict {
                reason,
                current: Some(ConflictCurrent::Customer(c)),
            }
        }
        other => other,
    }
}

/// A pull page's changes as a terminal of `revision` reads them. A terminal that does not read
/// employees is not sent them; the page's cursor still passes them.
pub fn changes(
    changes: Vec<till_protocol::Change>,
    revision: Revision,
) -> Vec<till_protocol::Change> {
    changes
        .into_iter()
        .filter(|change| {
            revision.reads_employees() || !matches!(change.change, ChangeKind::EmployeeUpserted(_))
        })
        .map(|mut change| {
            match &mut change.change {
                ChangeKind::CustomerUpserted(c) => customer(c, revision),
                ChangeKind::Settings(s) if !revision.reads_store_address() => {
                    s.address = None;
                    s.tax_id = None;
                }
                _ => {}
            }
            change
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::{Change, CustomerFields, ReversalInfo, TicketKind};
    use uuid::Uuid;

    fn customer() -> Customer {
        Customer {
            id: Uuid::now_v7(),
            version: 2,
            fields: CustomerFields {
                name: "Ada".into(),
                ..CustomerFields::default()
            },
            hlc: None,
            made_by: Some(Uuid::now_v7()),
        }
    }

    #[test]
    fn a_first_revision_terminal_is_told_a_disputed_reversal_as_the_conflict_it_knows() {
        let first = ReversalInfo {
            ticket_id: Uuid::now_v7(),
            kind: TicketKind::Refund,
            terminal_id: None,
            total: None,
        };
        let disputed = Outcome::Disputed {
            server_id: 4,
            server_number: Some(9),
            first: first.clone(),
        };
        let as_before = Outcome::Conflict {
            reason: ConflictReason::AlreadyReversed,
            current: Some(ConflictCurrent::Reversal(first)),
        };
        assert_eq!(outcome(disputed.clone(), Revision::FIRST), as_before);
        let replay = Outcome::Duplicate {
            original: Box::new(disputed.clone()),
        };
        assert_eq!(
            outcome(replay, Revision::FIRST),
            Outcome::Duplicate {
                original: Box::new(as_before)
            },
            "a replay is told the same"
        );
        assert_eq!(outcome(disputed.clone(), Revision(2)), disputed);
    }

    #[test]
    fn a_revision_is_read_from_the_header_within_what_this_server_speaks() {
        assert_eq!(Revision::named(None), Revision::FIRST);
        assert_eq!(Revision::named(Some("garbage")), Revision::FIRST);
        assert_eq!(Revision::named(Some(" 2 ")), Revision(2));
        assert_eq!(Revision::named(Some("0")), Revision::FIRST);
        assert_eq!(Revision::named(Some("99")), Revision::CURRENT);
    }

    #[test]
    fn a_first_revision_terminal_is_never_told_what_made_a_version() {
        let conflict = Outcome::Conflict {
            reason: ConflictReason::StaleVersion,
            current: Some(ConflictCurrent::Customer(customer())),
        };
        let replay = Outcome::Duplicate {
            original: Box::new(conflict.clone()),
        };
        for told in [
            outcome(conflict.clone(), Revision::FIRST),
            match outcome(replay.clone(), Revision::FIRST) {
                Outcome::Duplicate { original } => *original,
                other => panic!("a replay stays a replay: {other:?}"),
            },
        ] {
            match told {
                Outcome::Conflict {
                    current: Some(ConflictCurrent::Customer(c)),
                    ..
                } => assert_eq!(c.made_by, None),
                other => panic!("still the conflict: {other:?}"),
            }
        }
        assert_eq!(
            outcome(replay.clone(), Revision::CURRENT),
            replay,
            "the current revision is told everything"
        );
        let page = vec![Change {
            seq: 1,
            change: ChangeKind::CustomerUpserted(customer()),
        }];
        match &changes(page.clone(), Revision::FIRST)[0].change {
            ChangeKind::CustomerUpserted(c) => assert_eq!(c.made_by, None),
            other => panic!("still the customer: {other:?}"),
        }
        assert_eq!(changes(page.clone(), Revision(2)), page);
    }

    #[test]
    fn only_a_terminal_of_revision_7_is_sent_tags_and_points() {
        let mut tagged = customer();
        tagged.fields.tags = ["vip".to_string()].into();
        tagged.fields.loyalty_points = 120;
        let mut without = tagged.clone();
        without.fields.tags.clear();
        without.fields.loyalty_points = 0;
        let page = |c: &Customer| {
            vec![Change {
                seq: 1,
                change: ChangeKind::CustomerUpserted(c.clone()),
            }]
        };
        assert_eq!(
            changes(page(&tagged), Revision(6)),
            page(&without),
            "a till of revision 6 refuses fields it does not know"
        );
        assert_eq!(changes(page(&tagged), Revision(7)), page(&tagged));
        let conflict = |c: &Customer| Outcome::Conflict {
            reason: ConflictReason::StaleVersion,
            current: Some(ConflictCurrent::Customer(c.clone())),
        };
        let replay = Outcome::Duplicate {
            original: Box::new(conflict(&tagged)),
        };
        assert_eq!(
            outcome(replay, Revision(6)),
            Outcome::Duplicate {
                original: Box::new(conflict(&without))
            },
            "a conflict, replayed or not, is told without them"
        );
        assert_eq!(outcome(conflict(&tagged), Revision(7)), conflict(&tagged));
        let json = serde_json::to_value(&without).expect("serializes");
        assert!(
            json["fields"].get("tags").is_none() && json["fields"].get("loyalty_points").is_none(),
            "absent from what an older till reads: {json}"
        );
    }

    #[test]
    fn only_a_terminal_that_reads_the_store_address_is_sent_it() {
        let settings = |address: Option<&str>, tax_id: Option<&str>| Change {
            seq: 1,
            change: ChangeKind::Settings(till_protocol::StoreSettings {
                store_name: "Corner shop".into(),
                currency: till_protocol::Currency {
                    code: "EUR".into(),
                    exponent: 2,
                },
                prices_include_tax: true,
                locale: "en-IE".into(),
                address: address.map(str::to_owned),
                tax_id: tax_id.map(str::to_owned),
            }),
        };
        let full = settings(Some("1 Main Street"), Some("IE1234567X"));
        assert_eq!(
            changes(vec![full.clone()], Revision(5)),
            vec![settings(None, None)],
            "a till of revision 5 refuses fields it does not know"
        );
        assert_eq!(changes(vec![full.clone()], Revision(6)), vec![full]);
    }

    #[test]
    fn only_a_terminal_that_reads_employees_is_sent_them() {
        let employee = Change {
            seq: 2,
            change: ChangeKind::EmployeeUpserted(till_protocol::Employee {
                id: Uuid::now_v7(),
                name: "Ada".into(),
                role: till_protocol::Role::Cashier,
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                disabled: false,
            }),
        };
        let rate = Change {
            seq: 3,
            change: ChangeKind::TaxRateDeleted { id: "old".into() },
        };
        let page = vec![employee, rate.clone()];
        for older in [Revision::FIRST, Revision(2)] {
            assert_eq!(changes(page.clone(), older), vec![rate.clone()]);
        }
        assert_eq!(changes(page.clone(), Revision(3)), page);
    }

    #[test]
    fn only_a_terminal_that_reads_stored_figures_is_sent_them() {
        let result = MutationResult {
            mutation_id: Uuid::now_v7(),
            seq: 1,
            outcome: Outcome::Gap { expected_seq: 1 },
            stored: Some(till_protocol::StoredFigures {
                total: 100,
                taxes: Vec::new(),
                tenders: Vec::new(),
            }),
        };
        for older in [Revision::FIRST, Revision(2), Revision(3)] {
            assert_eq!(results(vec![result.clone()], older)[0].stored, None);
        }
        assert_eq!(results(vec![result.clone()], Revision(4)), vec![result]);
    }
}
