//! The employees the back office sent this till (by pull, [`upsert`]): who may work it, and the
//! Argon2id hash of each one's PIN, so a PIN is checked here, offline ([`verify_pin`]). The PIN
//! itself is never stored or sent; a disabled employee stays listed and never matches.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use rusqlite::{params, Connection};
use serde::Serialize;
use till_protocol::{employee, Role};
use uuid::Uuid;

use crate::error::{CoreError, Result};

/// An employee as the till shows it: never its PIN's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Employee {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

/// Stores the employee as the back office sent it, replacing what the till held.
pub fn upsert(conn: &Connection, e: &till_protocol::Employee) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO employees (id, name, role, pin_hash, disabled) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
             pin_hash = excluded.pin_hash, disabled = excluded.disabled",
    )?
    .execute(params![
        e.id.to_string(),
        e.name,
        e.role.as_str(),
        e.pin_hash,
        e.disabled
    ])?;
    Ok(())
}

/// The employees (the active ones only, if `only_active`), each with its PIN's hash, by name.
fn rows(conn: &Connection, only_active: bool) -> Result<Vec<(Employee, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, role, pin_hash, disabled FROM employees
         WHERE disabled = 0 OR ?1 = 0 ORDER BY name, id",
    )?;
    let rows = stmt.query_map([only_active], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut employees = Vec::new();
    for row in rows {
        let (id, name, role, pin_hash, disabled) = row?;
        let employee = Employee {
            id: Uuid::parse_str(&id)
                .map_err(|e| CoreError::InvalidInput(format!("employee id {id:?}: {e}")))?,
            name,
            role: Role::parse(&role)
                .ok_or_else(|| CoreError::InvalidInput(format!("employee role {role:?}")))?,
            disabled,
        };
        employees.push((employee, pin_hash));
    }
    Ok(employees)
}

/// Every employee this till knows, disabled ones too, by name.
pub fn list(conn: &Connection) -> Result<Vec<Employee>> {
    Ok(rows(conn, false)?.into_iter().map(|(e, _)| e).collect())
}

/// The active employee whose PIN is `pin` (`None`: no active employee's is). A `pin` that is
/// not 4 to 8 digits is refused as invalid input; a hash the till cannot read matches nothing.
pub fn verify_pin(conn: &Connection, pin: &str) -> Result<Option<Employee>> {
    employee::check_pin(pin).map_err(|e| CoreError::InvalidInput(e.to_string()))?;
    for (employee, pin_hash) in rows(conn, true)? {
        let Ok(hash) = PasswordHash::new(&pin_hash) else {
            tracing::warn!(employee = %employee.id, "an employee's PIN hash cannot be read");
            continue;
        };
        if Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok()
        {
            return Ok(Some(employee));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Params, Version};

    /// The back office's hash of `pin` (Argon2id, m=19 MiB, t=2, p=1).
    fn hashed(pin: &str) -> String {
        let params = Params::new(19_456, 2, 1, None).expect("params");
        let salt = SaltString::encode_b64(Uuid::now_v7().as_bytes()).expect("a salt");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(pin.as_bytes(), &salt)
            .expect("hashes")
            .to_string()
    }

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().expect("opens");
        crate::migrations::migrate(&mut conn).expect("migrates");
        conn
    }

    fn sent(name: &str, role: Role, pin: &str, disabled: bool) -> till_protocol::Employee {
        till_protocol::Employee {
            id: Uuid::now_v7(),
            name: name.into(),
            role,
            pin_hash: hashed(pin),
            disabled,
        }
    }

    #[test]
    fn the_right_pin_finds_its_employee_and_a_wrong_one_nobody() {
        let conn = store();
        let ada = sent("Ada", Role::Cashier, "1234", false);
        let grace = sent("Grace", Role::Manager, "87654321", false);
        upsert(&conn, &ada).expect("stores");
        upsert(&conn, &grace).expect("stores");
        let found = verify_pin(&conn, "87654321")
            .expect("checks")
            .expect("Grace");
        assert_eq!((found.id, found.role), (grace.id, Role::Manager));
        assert_eq!(
            verify_pin(&conn, "1234").expect("checks").map(|e| e.id),
            Some(ada.id)
        );
        assert_eq!(verify_pin(&conn, "4321").expect("checks"), None);
        assert!(matches!(
            verify_pin(&conn, "12ab"),
            Err(CoreError::InvalidInput(_))
        ));
    }

    #[test]
    fn a_disabled_employee_never_matches_but_stays_listed() {
        let conn = store();
        let mut ada = sent("Ada", Role::Cashier, "1234", false);
        upsert(&conn, &ada).expect("stores");
        ada.disabled = true;
        upsert(&conn, &ada).expect("the change replaces it");
        assert_eq!(verify_pin(&conn, "1234").expect("checks"), None);
        let listed = list(&conn).expect("lists");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].disabled);
    }

    #[test]
    fn a_hash_the_till_cannot_read_matches_nothing() {
        let conn = store();
        let mut ada = sent("Ada", Role::Cashier, "1234", false);
        ada.pin_hash = "not a hash".into();
        upsert(&conn, &ada).expect("stores");
        assert_eq!(verify_pin(&conn, "1234").expect("checks"), None);
    }

    #[test]
    fn a_pin_is_checked_within_half_a_second_even_unoptimised() {
        let conn = store();
        upsert(&conn, &sent("Ada", Role::Cashier, "1234", false)).expect("stores");
        let started = std::time::Instant::now();
        verify_pin(&conn, "1234").expect("checks").expect("Ada");
        let took = started.elapsed();
        assert!(took.as_millis() < 500, "one PIN check took {took:?}");
    }
}
