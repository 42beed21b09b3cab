//! The rules that may settle a fresh conflict without a person: one policy per entity kind,
//! deciding from the conflict's typed sides.

use std::sync::Arc;

use till_protocol::Rule;

use super::customer::merged;
use super::sides::{ConflictReason, Sides};
use super::{only_a_person_settles, Conflict, Resolution, Side};

/// What a policy decides about a fresh conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave it for a person.
    Manual,
    /// Settle it now.
    Resolve(Resolution),
}

/// A rule for one entity kind. Deployments may implement their own and pass it in a
/// [`PolicySet`].
pub trait ConflictPolicy: Send + Sync {
    /// A stable name stored with each conflict.
    fn name(&self) -> &'static str;
    fn decide(&self, conflict: &Conflict) -> Decision;
}

/// Merges field by field when the two sides changed different fields; a field both changed
/// merges by its rule ([`till_protocol::fields`]): a set takes both sides' adds and removes, a
/// counter both sides' changes. Manual when both changed the same text field, when the merge
/// would leave a value out of range (points below 0, too many tags), or when there is no common
/// ancestor. This terminal's changes are the fields its edits changed, each against the fields
/// it was made on, so a field one pending edit changed is never lost to another. The default for
/// customers.
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldMerge;

/// Always leaves the conflict for a person. The default for tickets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Manual;

/// The later change wins, comparing HLC stamps: the local edit's stamp against the stamp the
/// server keeps with its version (the stamp of the terminal change that made it, or the back
/// office's clock for an edit made there). Manual when either side has no stamp.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastWriterWins;

/// The server's version always wins.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerWins;

/// This terminal's version always wins.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalWins;

impl ConflictPolicy for FieldMerge {
    fn name(&self) -> &'static str {
        "field_merge"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        let Sides::Customer(sides) = &c.sides else {
            return Decision::Manual;
        };
        let (Some(changed_here), Some(changed_there)) =
            (sides.changed_here(), sides.changed_there())
        else {
            return Decision::Manual;
        };
        if changed_here
            .iter()
            .any(|f| f.rule() == Rule::Text && changed_there.contains(f))
        {
            return Decision::Manual;
        }
        let picks = changed_here
            .into_iter()
            .map(|f| (f.as_str().to_string(), Side::Mine))
            .collect();
        let resolution = Resolution::Pick(picks);
        match merged(sides, &resolution) {
            Ok(Some(fields)) if fields.check().is_ok() => Decision::Resolve(resolution),
            _ => Decision::Manual,
        }
    }
}

impl ConflictPolicy for Manual {
    fn name(&self) -> &'static str {
        "manual"
    }

    fn decide(&self, _: &Conflict) -> Decision {
        Decision::Manual
    }
}

impl ConflictPolicy for LastWriterWins {
    fn name(&self) -> &'static str {
        "last_writer_wins"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        let Sides::Customer(sides) = &c.sides else {
            return Decision::Manual;
        };
        let mine = sides.mine.as_ref().and_then(|m| m.hlc);
        let theirs = sides.theirs.as_ref().and_then(|t| t.hlc);
        match (mine, theirs) {
            (Some(mine), Some(theirs)) if mine > theirs => Decision::Resolve(Resolution::KeepMine),
            (Some(_), Some(_)) => Decision::Resolve(Resolution::KeepTheirs),
            _ => Decision::Manual,
        }
    }
}

impl ConflictPolicy for ServerWins {
    fn name(&self) -> &'static str {
        "server_wins"
    }

    fn decide(&self, _: &Conflict) -> Decision {
        Decision::Resolve(Resolution::KeepTheirs)
    }
}

impl ConflictPolicy for TerminalWins {
    fn name(&self) -> &'static str {
        "terminal_wins"
    }

    fn decide(&self, c: &Conflict) -> Decision {
        if let Sides::Ticket(_) = c.sides {
            // A reversal cannot be applied twice; a person must look at it.
            return Decision::Manual;
        }
        Decision::Resolve(Resolution::KeepMine)
    }
}

/// The policy of each entity kind.
#[derive(Clone)]
pub struct PolicySet {
    pub customer: Arc<dyn ConflictPolicy>,
    pub ticket: Arc<dyn ConflictPolicy>,
}

impl Default for PolicySet {
    fn default() -> Self {
        PolicySet {
            customer: Arc::new(FieldMerge),
            ticket: Arc::new(Manual),
        }
    }
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("customer", &self.customer.name())
            .field("ticket", &self.ticket.name())
            .finish()
    }
}

impl PolicySet {
    /// The policy that may settle a conflict with these sides, found for this reason; `None`
    /// when only a person settles it (a disputed reversal, a shift), whatever the set says.
    pub(super) fn for_conflict(
        &self,
        reason: ConflictReason,
        sides: &Sides,
    ) -> Option<&Arc<dyn ConflictPolicy>> {
        if only_a_person_settles(reason, sides) {
            return None;
        }
        match sides {
            Sides::Customer(_) => Some(&self.customer),
            Sides::Ticket(_) => Some(&self.ticket),
            Sides::Shift(_) | Sides::Totals(_) => None,
        }
    }

    /// The stable name of every policy [`PolicySet::named`] knows.
    pub const NAMES: &'static [&'static str] = &[
        "field_merge",
        "manual",
        "last_writer_wins",
        "server_wins",
        "terminal_wins",
    ];

    /// A policy by its stable name (one of [`PolicySet::NAMES`]).
    pub fn named(name: &str) -> Option<Arc<dyn ConflictPolicy>> {
        Some(match name {
            "field_merge" => Arc::new(FieldMerge),
            "manual" => Arc::new(Manual),
            "last_writer_wins" => Arc::new(LastWriterWins),
            "server_wins" => Arc::new(ServerWins),
            "terminal_wins" => Arc::new(TerminalWins),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::sides::{
        ConflictReason, CustomerField, CustomerSides, LocalEdit, TicketSides,
    };
    use super::*;
    use till_protocol::{Customer, CustomerFields, Hlc};
    use uuid::Uuid;

    fn customer_conflict(base: &str, mine: &str, theirs_email: &str) -> Conflict {
        let fields = |name: &str, email: &str| CustomerFields {
            name: name.into(),
            email: Some(email.into()),
            ..CustomerFields::default()
        };
        Conflict {
            id: 1,
            entity_id: Uuid::nil(),
            outbox_seq: None,
            reason: ConflictReason::Server(till_protocol::ConflictReason::StaleVersion),
            sides: Sides::Customer(CustomerSides {
                mine: Some(LocalEdit {
                    fields: fields(mine, "a@x"),
                    hlc: None,
                    changed: None,
                }),
                theirs: Some(Customer {
                    id: Uuid::nil(),
                    version: 2,
                    fields: fields(base, theirs_email),
                    hlc: None,
                    made_by: None,
                }),
                base: Some(fields(base, "a@x")),
            }),
            policy: "field_merge".into(),
            detected_at_ms: 0,
            resolved_at_ms: None,
            resolved_by: None,
            resolution: None,
            resolution_seq: None,
        }
    }

    fn stamp(wall_ms: i64) -> Option<Hlc> {
        Some(Hlc {
            wall_ms,
            counter: 0,
            node: Uuid::nil(),
        })
    }

    #[test]
    fn field_merge_takes_both_sides_when_they_changed_different_fields() {
        let c = customer_conflict("Ann", "Anne", "b@x");
        let decision = FieldMerge.decide(&c);
        let expected = Resolution::Pick([("name".to_string(), Side::Mine)].into());
        assert_eq!(
            decision,
            Decision::Resolve(expected),
            "name here, email there"
        );
    }

    #[test]
    fn field_merge_leaves_the_same_field_changed_on_both_sides_to_a_person() {
        let mut c = customer_conflict("Ann", "Anne", "a@x");
        if let Sides::Customer(sides) = &mut c.sides {
            if let Some(theirs) = &mut sides.theirs {
                theirs.fields.name = "Annie".into();
            }
        }
        assert_eq!(FieldMerge.decide(&c), Decision::Manual);
    }

    #[test]
    fn field_merge_keeps_every_field_each_pending_edit_changed() {
        // Here: one edit changed the name, the next the phone; there: the e-mail.
        let mut c = customer_conflict("Ann", "Anne", "b@x");
        if let Sides::Customer(sides) = &mut c.sides {
            if let Some(mine) = &mut sides.mine {
                mine.fields.phone = Some("555".into());
                mine.changed = Some(vec![CustomerField::Name, CustomerField::Phone]);
            }
        }
        let expected = Resolution::Pick(
            [
                ("name".to_string(), Side::Mine),
                ("phone".to_string(), Side::Mine),
            ]
            .into(),
        );
        assert_eq!(FieldMerge.decide(&c), Decision::Resolve(expected));
        if let Sides::Customer(sides) = &mut c.sides {
            if let Some(mine) = &mut sides.mine {
                mine.changed = Some(vec![CustomerField::Email]);
            }
        }
        assert_eq!(
            FieldMerge.decide(&c),
            Decision::Manual,
            "an edit here of the field the office changed is for a person"
        );
    }

    /// A conflict where both sides changed only tags and points, from a base of `vip` and 100.
    fn tags_and_points_conflict(mine: (&[&str], i64), theirs: (&[&str], i64)) -> Conflict {
        let mut c = customer_conflict("Ann", "Ann", "a@x");
        let set = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect();
        if let Sides::Customer(sides) = &mut c.sides {
            if let Some(base) = &mut sides.base {
                base.tags = set(&["vip"]);
                base.loyalty_points = 100;
            }
            if let Some(m) = &mut sides.mine {
                m.fields.tags = set(mine.0);
                m.fields.loyalty_points = mine.1;
            }
            if let Some(t) = &mut sides.theirs {
                t.fields.tags = set(theirs.0);
                t.fields.loyalty_points = theirs.1;
                t.fields.email = Some("a@x".into());
            }
        }
        c
    }

    #[test]
    fn field_merge_combines_tags_and_points_both_sides_changed() {
        let c = tags_and_points_conflict((&["vip", "a"], 110), (&["vip", "b"], 105));
        let Decision::Resolve(resolution) = FieldMerge.decide(&c) else {
            panic!("a set and a counter changed on both sides merge without a person");
        };
        let Sides::Customer(sides) = &c.sides else {
            unreachable!("a customer conflict")
        };
        let result = merged(sides, &resolution).expect("merges").expect("kept");
        let tags: Vec<&str> = result.tags.iter().map(String::as_str).collect();
        assert_eq!(
            tags,
            ["a", "b", "vip"],
            "the till's tag a and the office's b"
        );
        assert_eq!(result.loyalty_points, 115, "+10 here and +5 there");
    }

    #[test]
    fn field_merge_leaves_points_that_would_go_below_zero_to_a_person() {
        let c = tags_and_points_conflict((&["vip"], 40), (&["vip"], 50));
        assert_eq!(
            FieldMerge.decide(&c),
            Decision::Manual,
            "−60 here and −50 there from 100 would leave −10"
        );
    }

    #[test]
    fn terminal_wins_never_reapplies_a_reversal() {
        let mut c = customer_conflict("Ann", "Anne", "a@x");
        c.sides = Sides::Ticket(TicketSides {
            mine: None,
            theirs: None,
        });
        assert_eq!(TerminalWins.decide(&c), Decision::Manual);
        assert_eq!(
            ServerWins.decide(&c),
            Decision::Resolve(Resolution::KeepTheirs)
        );
    }

    #[test]
    fn last_writer_wins_compares_the_two_stamps_and_needs_both() {
        let mut c = customer_conflict("Ann", "Anne", "b@x");
        let set = |c: &mut Conflict, mine: Option<Hlc>, theirs: Option<Hlc>| {
            if let Sides::Customer(sides) = &mut c.sides {
                if let Some(m) = &mut sides.mine {
                    m.hlc = mine;
                }
                if let Some(t) = &mut sides.theirs {
                    t.hlc = theirs;
                }
            }
        };
        set(&mut c, stamp(2), stamp(1));
        assert_eq!(
            LastWriterWins.decide(&c),
            Decision::Resolve(Resolution::KeepMine)
        );
        set(&mut c, stamp(1), stamp(2));
        assert_eq!(
            LastWriterWins.decide(&c),
            Decision::Resolve(Resolution::KeepTheirs)
        );
        set(&mut c, stamp(1), None);
        assert_eq!(
            LastWriterWins.decide(&c),
            Decision::Manual,
            "a version written before stamps were kept cannot be compared"
        );
    }

    #[test]
    fn every_listed_name_is_a_policy_that_answers_to_it() {
        for name in PolicySet::NAMES {
            let policy = PolicySet::named(name).expect("a listed name is a policy");
            assert_eq!(
                policy.name(),
                *name,
                "the name stored is the name looked up"
            );
        }
        assert!(PolicySet::named("nobody_wins").is_none());
    }
}
