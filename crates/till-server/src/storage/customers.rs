//! Customer changes, written once over [`Tx`]: a terminal's mutation (from a push) and an edit
//! made in the back office itself (`till-server customer …`).

use till_protocol::{Customer, Outcome};
use uuid::Uuid;

use super::columns::to_i64;
use super::tx::{CustomerVersion, Lock, Tx};
use super::{CustomerEdit, StorageError};
use crate::clock::now_ms;
use crate::decide::customers::{self, stamp_text, CustomerDecision, Made, StoredCustomer};
use crate::decide::Rejection;

/// Applies a terminal's customer mutation: `decide` chooses by the customer as stored, held so
/// that a change of the same customer elsewhere waits and then decides on this one's result.
pub(super) async fn apply<T: Tx>(
    tx: &mut T,
    id: Uuid,
    decide: impl FnOnce(Option<&StoredCustomer>) -> Result<CustomerDecision, Rejection>,
) -> Result<Result<Outcome, Rejection>, T::Error> {
    let current = tx.customer(id, Lock::Row).await?;
    match decide(current.as_ref()) {
        Err(rejection) => Ok(Err(rejection)),
        Ok(decision) => Ok(Ok(carry_out(tx, id, current.as_ref(), decision).await?)),
    }
}

/// `till-server customer add|edit`.
pub(super) async fn save<T: Tx>(
    tx: &mut T,
    id: Uuid,
    edit: &CustomerEdit,
) -> Result<Customer, T::Error> {
    let current = tx.customer(id, Lock::Row).await?;
    let decision = customers::back_office_edit(id, current.as_ref(), edit, back_office_change())?;
    carry_out(tx, id, current.as_ref(), decision).await?;
    saved(tx, id).await
}

/// `till-server customer delete`.
pub(super) async fn delete<T: Tx>(tx: &mut T, id: Uuid) -> Result<Customer, T::Error> {
    let current = tx.customer(id, Lock::Row).await?;
    let decision = customers::back_office_delete(id, current.as_ref(), back_office_change())?;
    carry_out(tx, id, current.as_ref(), decision).await?;
    saved(tx, id).await
}

/// An edit made here now, under an id drawn for it.
fn back_office_change() -> Made {
    customers::back_office_change(Uuid::now_v7(), now_ms())
}

async fn saved<T: Tx>(tx: &mut T, id: Uuid) -> Result<Customer, T::Error> {
    let saved = tx
        .customer(id, Lock::No)
        .await?
        .ok_or_else(|| StorageError::Corrupt(format!("customer {id} vanished")))?;
    Ok(saved.customer)
}

/// Writes what `decision` names under the next change number, and answers its outcome.
async fn carry_out<T: Tx>(
    tx: &mut T,
    id: Uuid,
    current: Option<&StoredCustomer>,
    decision: CustomerDecision,
) -> Result<Outcome, T::Error> {
    let current_id = current.map(|c| c.server_id).unwrap_or_default();
    match decision {
        CustomerDecision::Settle(outcome) => Ok(outcome),
        CustomerDecision::Write {
            insert,
            version,
            fields,
            made,
        } => {
            let at = next_version(tx, id, version, &made).await?;
            let server_id = if insert {
                tx.insert_customer(&at, &fields).await?
            } else {
                tx.update_customer(&at, &fields).await?;
                current_id
            };
            Ok(applied(server_id, version))
        }
        CustomerDecision::Delete { version, made } => {
            let at = next_version(tx, id, version, &made).await?;
            tx.delete_customer(&at).await?;
            Ok(applied(current_id, version))
        }
    }
}

/// The customer's `version`, `made` by a change, as the next change.
async fn next_version<T: Tx>(
    tx: &mut T,
    id: Uuid,
    version: u64,
    made: &Made,
) -> Result<CustomerVersion, T::Error> {
    Ok(CustomerVersion {
        id,
        version: to_i64(version, "version")?,
        change: tx.next_change().await?,
        hlc: stamp_text(&made.hlc)?,
        made_by: made.by,
    })
}

fn applied(server_id: i64, version: u64) -> Outcome {
    Outcome::Applied {
        server_id,
        server_number: None,
        version,
    }
}
