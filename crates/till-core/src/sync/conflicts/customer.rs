//! Settling a customer conflict: the fields that result from a person's (or a policy's) choice,
//! the local row that follows from it, and the mutation that tells the server, if one is needed.

use rusqlite::Connection;
use till_protocol::{
    CustomerCreated, CustomerDeleted, CustomerFields, CustomerUpdated, MutationBody,
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
                    field.copy(m, &mut result);
                }
            }
            Some(result)
        }
    })
}

/// Settles a customer conflict locally and queues what the server needs, if anything; returns
/// the queued mutation's sequence number.
pub(super) fn settle(
    conn: &Connection,
    id: uuid::Uuid,
    sides: &CustomerSides,
    resolution: &Resolution,
    now: i64,
) -> Result<Option<u64>, SyncError> {
    let result = merged(sides, resolution)?;
    let theirs = sides.theirs.as_ref();
    let server_version = theirs.map_or(0, |t| t.version);
    let server_fields = theirs.map(|t| t.fields.clone());
    let queued = customers::unsettled_for(conn, id)?;
    let body = match (&result, &server_fields) {
        (Some(r), Some(s)) if r == s => None,
        (None, None) => None,
        (Some(r), Some(_)) => Some(MutationBody::CustomerUpdated(CustomerUpdated {
            id,
            base_version: server_version + queued,
            fields: r.clone(),
        })),
        // Deleted there, kept here: the server never revives a tombstone, so the kept customer
        // comes back as a new one.
        (Some(r), None) => Some(MutationBody::CustomerCreated(CustomerCreated {
            id: uuid::Uuid::now_v7(),
            fields: r.clone(),
        })),
        (None, Some(_)) => Some(MutationBody::CustomerDeleted(CustomerDeleted {
            id,
            base_version: server_version + queued,
        })),
    };
    if let (Some(fields), Some(MutationBody::CustomerCreated(created))) = (&result, &body) {
        customers::remove(conn, id)?;
        customers::set_local(conn, created.id, 0, fields, None, true, now)?;
    }
    match (&result, &body) {
        (Some(_), Some(MutationBody::CustomerCreated(_))) => {}
        (Some(fields), _) => customers::set_local(
            conn,
            id,
            server_version,
            fields,
            server_fields.as_ref(),
            body.is_some() || queued > 0,
            now,
        )?,
        (None, Some(_)) => customers::mark_deleted(conn, id)?,
        (None, None) => customers::remove(conn, id)?,
    }
    let Some(body) = body else {
        return Ok(None);
    };
    let stamp = hlc::tick(conn, now)?;
    let mutation = outbox::enqueue(conn, body, stamp, now)?;
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
            phone: None,
            note: note.map(Into::into),
        }
    }

    fn sides(mine: Option<CustomerFields>, theirs: Option<CustomerFields>) -> CustomerSides {
        CustomerSides {
            mine: mine.map(|fields| LocalEdit { fields, hlc: None }),
            theirs: theirs.map(|fields| Customer {
                id: uuid::Uuid::nil(),
                version: 4,
                fields,
                hlc: None,
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
