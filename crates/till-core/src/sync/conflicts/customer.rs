//! Settling a customer conflict: the fields that result from a person's (or a policy's) choice,
//! the local row that follows from it, and the mutation that tells the server, if one is needed.

use rusqlite::Connection;
use till_protocol::{
    CustomerCreated, CustomerDeleted, CustomerFields, CustomerUpdated, Hlc, MutationBody, Operator,
};

use crate::{hlc, outbox};

use super::super::customers;
use super::super::error::SyncError;
use super::sides::{CustomerField, CustomerSides};
use super::{Resolution, Side};

/// The customer's fields after `resolution`; `None` is "deleted".
pub(super) fn merged(
    sides: &CustomerSides,
    resolution: &Resolution,
) -> Result<Option<CustomerFields>, SyncError> {
    let mine = sides.mine.as_ref().map(|m| &m.fields);
    let theirs = sides.theirs.as_ref().map(|t| &t.fields);
    Ok(match resolution {
        Resolution::KeepMine => mine.cloned(),
        Resolution::KeepTheirs => theirs.cloned(),
        // Mine for a set or a counter is this till's change applied to the server's value.
        Resolution::Pick(picks) => {
            let (Some(m), Some(t)) = (mine, theirs) else {
                return Err(SyncError::NotApplicable(
                    "one side deleted the customer: keep mine or keep theirs".into(),
                ));
            };
            let mut result = t.clone();
            for (name, side) in picks {
                let field = CustomerField::parse(name)
                    .ok_or_else(|| SyncError::InvalidInput(format!("no customer field {name}")))?;
                if *side == Side::Mine {
                    field.take_mine(sides.base.as_ref(), m, &mut result);
                }
            }
            Some(result)
        }
        Resolution::RefundStands | Resolution::CashCameBack { .. } => {
            return Err(SyncError::NotApplicable(
                "that settles a disputed reversal, not a customer".into(),
            ))
        }
    })
}

/// The stamp a resolution's mutation carries: the winning edit's, never a fresh one, so that
/// last-writer-wins between several terminals gives the same winner whatever order their edits
/// reach the back office in. Fields picked from both sides carry the later of the two stamps.
/// `None` when the winning side has no stamp (a deletion here, a version older than stamps).
pub(super) fn winning_stamp(sides: &CustomerSides, resolution: &Resolution) -> Option<Hlc> {
    let mine = sides.mine.as_ref().and_then(|m| m.hlc);
    let theirs = sides.theirs.as_ref().and_then(|t| t.hlc);
    match resolution {
        Resolution::KeepMine => mine,
        Resolution::KeepTheirs => theirs,
        Resolution::Pick(_) => mine.max(theirs),
        Resolution::RefundStands | Resolution::CashCameBack { .. } => None,
    }
}

/// Settles a customer conflict locally and queues what the server needs, if anything; returns
/// the queued mutation's sequence number. An edit is made on the server's version, named by what
/// made it.
pub(super) fn settle(
    conn: &Connection,
    id: uuid::Uuid,
    sides: &CustomerSides,
    resolution: &Resolution,
    operator: Option<&Operator>,
    now: i64,
) -> Result<Option<u64>, SyncError> {
    let result = merged(sides, resolution)?;
    let queued = customers::unsettled_for(conn, id)?;
    let (body, edit_base) = match (&result, &sides.theirs) {
        (Some(r), Some(t)) if *r == t.fields => (None, None),
        (None, None) => (None, None),
        (Some(r), Some(t)) => (
            Some(MutationBody::CustomerUpdated(CustomerUpdated {
                id,
                base_version: t.version + queued,
                base: t.made_by,
                fields: r.clone(),
            })),
            Some(&t.fields),
        ),
        // Deleted there, kept here: the server never revives a tombstone, so the kept customer
        // comes back as a new one.
        (Some(r), None) => (
            Some(MutationBody::CustomerCreated(CustomerCreated {
                id: uuid::Uuid::now_v7(),
                fields: r.clone(),
            })),
            None,
        ),
        (None, Some(t)) => (
            Some(MutationBody::CustomerDeleted(CustomerDeleted {
                id,
                base_version: t.version + queued,
                base: t.made_by,
            })),
            None,
        ),
    };
    match (&result, &sides.theirs, &body) {
        (Some(fields), _, Some(MutationBody::CustomerCreated(created))) => {
            customers::remove(conn, id)?;
            customers::set_created(conn, created.id, fields, now)?;
        }
        (Some(fields), Some(theirs), _) => {
            customers::set_local(conn, id, theirs, fields, body.is_some() || queued > 0, now)?
        }
        (_, _, Some(_)) => customers::mark_deleted(conn, id)?,
        (_, _, None) => customers::remove(conn, id)?,
    }
    let Some(body) = body else {
        return Ok(None);
    };
    let stamp = match winning_stamp(sides, resolution) {
        Some(stamp) => stamp,
        None => hlc::tick(conn, now)?,
    };
    let mutation = outbox::enqueue(conn, body, operator.cloned(), stamp, now)?;
    if let Some(base) = edit_base {
        customers::keep_edit_base(conn, mutation.id, id, base)?;
    }
    Ok(Some(mutation.seq))
}

#[cfg(test)]
mod tests {
    use super::super::sides::LocalEdit;
    use super::*;
    use till_protocol::Customer;

    fn fields(name: &str, email: &str, note: Option<&str>) -> CustomerFields {
        CustomerFields {
            name: name.into(),
            email: Some(email.into()),
            note: note.map(Into::into),
            ..CustomerFields::default()
        }
    }

    fn sides(mine: Option<CustomerFields>, theirs: Option<CustomerFields>) -> CustomerSides {
        CustomerSides {
            mine: mine.map(|fields| LocalEdit {
                fields,
                hlc: None,
                changed: None,
            }),
            theirs: theirs.map(|fields| Customer {
                id: uuid::Uuid::nil(),
                version: 4,
                fields,
                hlc: None,
                made_by: None,
            }),
            base: None,
        }
    }

    #[test]
    fn picked_fields_come_from_their_side_and_the_rest_from_the_server() {
        let s = sides(
            Some(fields("Ann (till)", "till@x", Some("till note"))),
            Some(fields("Ann (office)", "office@x", None)),
        );
        let picks = [
            ("name".to_string(), Side::Mine),
            ("email".to_string(), Side::Theirs),
        ]
        .into();
        assert_eq!(
            merged(&s, &Resolution::Pick(picks)).expect("merges"),
            Some(fields("Ann (till)", "office@x", None)),
            "a field not named keeps the back office's value"
        );
    }

    #[test]
    fn picking_this_tills_tags_applies_its_change_to_the_servers_tags() {
        let tagged = |tags: &[&str]| CustomerFields {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..fields("Ann", "a@x", None)
        };
        let mut s = sides(Some(tagged(&["b"])), Some(tagged(&["a", "b", "c"])));
        s.base = Some(tagged(&["a"]));
        let pick = Resolution::Pick([("tags".to_string(), Side::Mine)].into());
        assert_eq!(
            merged(&s, &pick).expect("merges"),
            Some(tagged(&["b", "c"])),
            "this till removed a and added b while the office added b and c"
        );
        assert_eq!(
            merged(&s, &Resolution::KeepMine).expect("keeps"),
            Some(tagged(&["b"])),
            "keep mine is this till's whole version, as before"
        );
    }

    #[test]
    fn picking_fields_needs_both_sides_and_real_field_names() {
        let deleted_there = sides(Some(fields("Ann", "a@x", None)), None);
        let pick = Resolution::Pick([("name".to_string(), Side::Mine)].into());
        assert_eq!(
            merged(&deleted_there, &pick)
                .expect_err("one side is gone")
                .code(),
            "not_applicable"
        );
        assert_eq!(
            merged(&deleted_there, &Resolution::KeepTheirs).expect("keeps the deletion"),
            None
        );
        let both = sides(
            Some(fields("A", "a@x", None)),
            Some(fields("B", "b@x", None)),
        );
        let bad = Resolution::Pick([("colour".to_string(), Side::Mine)].into());
        let e = merged(&both, &bad).expect_err("no such field");
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(e.to_string(), "invalid input: no customer field colour");
    }
}
