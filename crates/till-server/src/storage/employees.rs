//! Employee changes made in the back office (`till-server employee …`), written once over
//! [`Tx`]: each change takes the next change number, so tills pull the employee at its latest
//! state. A new PIN takes its change number first: on PostgreSQL that holds the counter's row,
//! so two PINs given at once are checked one after the other, never both against the
//! employees as they were before either.

use till_protocol::{Employee, Role};
use uuid::Uuid;

use super::tx::Tx;
use crate::clock::now_ms;
use crate::decide::employees::{self, Disabling, PinHash};

/// `till-server employee add`.
pub(super) async fn add<T: Tx>(
    tx: &mut T,
    name: &str,
    role: Role,
    pin: PinHash,
) -> Result<Employee, T::Error> {
    let change = tx.next_change().await?;
    employees::pin_free(&pin, &current_employees(tx).await?, None)?;
    let employee = employees::add(Uuid::now_v7(), name, role, pin)?;
    write(tx, employee, change).await
}

/// `till-server employee set-pin`.
pub(super) async fn set_pin<T: Tx>(
    tx: &mut T,
    id: Uuid,
    pin: PinHash,
) -> Result<Employee, T::Error> {
    let change = tx.next_change().await?;
    let current = tx.employee(id).await?;
    let changed = employees::set_pin(id, current.as_ref(), pin.clone())?;
    employees::pin_free(&pin, &current_employees(tx).await?, Some(id))?;
    write(tx, changed, change).await
}

/// Sends a terminal pulling at revision 3 or later from `cursor`, for the first time, every
/// employee its cursor passed ([`employees::sent_again`]); the terminal is then marked sent.
pub(super) async fn send_again<T: Tx>(
    tx: &mut T,
    terminal_id: Uuid,
    cursor: u64,
) -> Result<(), T::Error> {
    let Some(already) = tx.employees_sent(terminal_id).await? else {
        return Ok(());
    };
    if already {
        return Ok(());
    }
    for employee in employees::sent_again(already, cursor, tx.employee_changes().await?) {
        let change = tx.next_change().await?;
        write(tx, employee, change).await?;
    }
    tx.mark_employees_sent(terminal_id).await
}

/// `till-server employee disable`: disabling a disabled employee changes nothing.
pub(super) async fn disable<T: Tx>(tx: &mut T, id: Uuid) -> Result<Employee, T::Error> {
    let current = tx.employee(id).await?;
    match employees::disable(id, current.as_ref())? {
        Disabling::Write(changed) => {
            let change = tx.next_change().await?;
            write(tx, changed, change).await
        }
        Disabling::Already(employee) => Ok(employee),
    }
}

/// Stores the employee as change `change`.
async fn write<T: Tx>(tx: &mut T, employee: Employee, change: i64) -> Result<Employee, T::Error> {
    tx.put_employee(&employee, change, now_ms()).await?;
    Ok(employee)
}

/// Every employee as it is now.
async fn current_employees<T: Tx>(tx: &mut T) -> Result<Vec<Employee>, T::Error> {
    let changes = tx.employee_changes().await?;
    Ok(changes.into_iter().map(|(_, e)| e).collect())
}
