//! Employees: who may work a till. What adding one records, what a new PIN or disabling one
//! changes, and the PIN's hash: only an Argon2id hash of a valid PIN is ever stored (and sent to
//! tills, which check a PIN against it offline), never the PIN.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use till_protocol::{employee, Employee, Role};
use uuid::Uuid;

use super::text;
use crate::storage::StorageError;

/// Argon2id's memory cost in KiB, its passes and its lanes: OWASP's minimum (m=19 MiB, t=2,
/// p=1). A till verifies with the parameters the hash names.
const PIN_MEMORY_KIB: u32 = 19_456;
const PIN_PASSES: u32 = 2;
const PIN_LANES: u32 = 1;

/// The Argon2id hash of a valid PIN, as a PHC string. Only [`hash_pin`] makes one. It holds
/// the PIN too, in memory only: adding it checks that no other active employee has that PIN
/// ([`pin_free`]). The PIN is never stored, and never printed (`Debug` leaves it out).
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash {
    hash: String,
    pin: String,
}

impl PinHash {
    pub fn as_str(&self) -> &str {
        &self.hash
    }
}

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PinHash").field(&self.hash).finish()
    }
}

/// Whether `pin` is free: no active employee but `except` (the employee getting it) has it. A
/// till tells employees apart by PIN alone, so two active employees never share one. Each
/// stored hash is checked (Argon2id, one verification per active employee).
pub fn pin_free(
    pin: &PinHash,
    employees: &[Employee],
    except: Option<Uuid>,
) -> Result<(), StorageError> {
    let taken = employees
        .iter()
        .filter(|e| !e.disabled && Some(e.id) != except)
        .any(|e| {
            PasswordHash::new(&e.pin_hash).is_ok_and(|stored| {
                Argon2::default()
                    .verify_password(pin.pin.as_bytes(), &stored)
                    .is_ok()
            })
        });
    if taken {
        Err(StorageError::PinTaken)
    } else {
        Ok(())
    }
}

/// Hashes `pin` (refused unless 4 to 8 ASCII digits; the refusal never repeats it) with `salt`.
pub fn hash_pin(pin: &str, salt: &SaltString) -> Result<PinHash, StorageError> {
    employee::check_pin(pin).map_err(|e| StorageError::Invalid(e.to_string()))?;
    let params = Params::new(PIN_MEMORY_KIB, PIN_PASSES, PIN_LANES, None)
        .map_err(|e| StorageError::Invalid(format!("PIN hash parameters: {e}")))?;
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(pin.as_bytes(), salt)
        .map_err(|e| StorageError::Invalid(format!("cannot hash the PIN: {e}")))?;
    Ok(PinHash {
        hash: hash.to_string(),
        pin: pin.to_string(),
    })
}

/// The employee `id` added as `name` (trimmed; 1 to 200 characters, no control character, no
/// card number) in `role` with the PIN hashed as `pin`: active.
pub fn add(id: Uuid, name: &str, role: Role, pin: PinHash) -> Result<Employee, StorageError> {
    Ok(Employee {
        id,
        name: text::display_name("an employee name", name, |n| n.chars().count())?,
        role,
        pin_hash: pin.hash,
        disabled: false,
    })
}

/// The employee as stored (`None`: there is none), refused as not found.
fn found(id: Uuid, current: Option<&Employee>) -> Result<&Employee, StorageError> {
    current.ok_or_else(|| StorageError::NotFound {
        what: format!("employee {id}"),
    })
}

/// The employee with the PIN hashed as `pin`. A disabled employee gets no new PIN.
pub fn set_pin(
    id: Uuid,
    current: Option<&Employee>,
    pin: PinHash,
) -> Result<Employee, StorageError> {
    let current = found(id, current)?;
    if current.disabled {
        return Err(StorageError::Invalid(format!(
            "employee {id} is disabled; it gets no new PIN"
        )));
    }
    Ok(Employee {
        pin_hash: pin.hash,
        ..current.clone()
    })
}

/// The employees to send a terminal again when it first pulls at protocol revision 3 or later,
/// from `cursor`, given every employee with its change number: those changed at or before its
/// cursor, which it passed while it spoke an older revision (a till upgraded after the back
/// office had employees). Each is written again under a new change number, so that terminal
/// pulls them (other tills pull them once more, unchanged); none when it was sent them before.
pub fn sent_again(
    already_sent: bool,
    cursor: u64,
    employees: Vec<(i64, Employee)>,
) -> Vec<Employee> {
    if already_sent {
        return Vec::new();
    }
    employees
        .into_iter()
        .filter(|(change, _)| u64::try_from(*change).is_ok_and(|c| c <= cursor))
        .map(|(_, e)| e)
        .collect()
}

/// What disabling an employee does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabling {
    /// Write the employee, disabled, as a change tills pull.
    Write(Employee),
    /// It already is disabled: nothing changes, tills are sent nothing new.
    Already(Employee),
}

/// The employee disabled.
pub fn disable(id: Uuid, current: Option<&Employee>) -> Result<Disabling, StorageError> {
    let current = found(id, current)?;
    Ok(if current.disabled {
        Disabling::Already(current.clone())
    } else {
        Disabling::Write(Employee {
            disabled: true,
            ..current.clone()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salt() -> SaltString {
        SaltString::encode_b64(b"a fixed test salt").expect("a salt")
    }

    fn pin(pin: &str) -> PinHash {
        hash_pin(pin, &salt()).expect("a valid PIN")
    }

    fn ada() -> Employee {
        add(Uuid::now_v7(), "  Ada  ", Role::Cashier, pin("1234")).expect("a valid employee")
    }

    #[test]
    fn a_pin_is_stored_as_an_argon2id_hash_that_verifies_it_and_no_other() {
        let hash = pin("1234");
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!hash.as_str().contains("1234"));
        let parsed = PasswordHash::new(hash.as_str()).expect("a PHC string");
        assert!(Argon2::default().verify_password(b"1234", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"4321", &parsed).is_err());
    }

    #[test]
    fn a_pin_that_is_not_four_to_eight_digits_is_refused_without_repeating_it() {
        for bad in ["123", "123456789", "12a4", "", " 1234"] {
            match hash_pin(bad, &salt()) {
                Err(StorageError::Invalid(message)) => {
                    assert!(message.contains("4 to 8 digits"), "{message}");
                }
                other => panic!("{bad:?} must be refused, got {other:?}"),
            }
        }
        assert!(hash_pin("98765x", &salt())
            .unwrap_err()
            .to_string()
            .find("98765")
            .is_none());
    }

    #[test]
    fn an_employee_is_added_active_under_its_trimmed_name() {
        let e = ada();
        assert_eq!(e.name, "Ada");
        assert_eq!(e.role, Role::Cashier);
        assert!(!e.disabled);
    }

    #[test]
    fn a_blank_overlong_control_or_card_number_name_is_refused() {
        let long = "x".repeat(201);
        for bad in ["", "   ", &long, "Ada\u{7}", "4111 1111 1111 1111"] {
            assert!(
                matches!(
                    add(Uuid::now_v7(), bad, Role::Manager, pin("1234")),
                    Err(StorageError::Invalid(_))
                ),
                "{bad:?} must be refused"
            );
        }
        let longest = "é".repeat(200);
        assert!(add(Uuid::now_v7(), &longest, Role::Manager, pin("1234")).is_ok());
    }

    #[test]
    fn a_new_pin_replaces_the_hash_and_nothing_else() {
        let e = ada();
        let changed = set_pin(e.id, Some(&e), pin("98765432")).expect("a new PIN");
        assert_ne!(changed.pin_hash, e.pin_hash);
        assert_eq!(
            (changed.name.as_str(), changed.role),
            ("Ada", Role::Cashier)
        );
        assert!(matches!(
            set_pin(e.id, None, pin("1111")),
            Err(StorageError::NotFound { .. })
        ));
        let Ok(Disabling::Write(disabled)) = disable(e.id, Some(&e)) else {
            panic!("an active employee is disabled");
        };
        assert!(matches!(
            set_pin(e.id, Some(&disabled), pin("1111")),
            Err(StorageError::Invalid(_))
        ));
    }

    #[test]
    fn disabling_is_a_change_once_and_unknown_employees_are_not_found() {
        let e = ada();
        let Ok(Disabling::Write(disabled)) = disable(e.id, Some(&e)) else {
            panic!("an active employee is disabled");
        };
        assert!(disabled.disabled);
        assert_eq!(
            disable(e.id, Some(&disabled)).expect("found"),
            Disabling::Already(disabled.clone())
        );
        assert!(matches!(
            disable(e.id, None),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn a_pin_another_active_employee_has_is_taken_and_the_pin_itself_is_never_printed() {
        let e = ada();
        let same = pin("1234");
        assert!(matches!(
            pin_free(&same, std::slice::from_ref(&e), None),
            Err(StorageError::PinTaken)
        ));
        assert_eq!(
            pin_free(&same, std::slice::from_ref(&e), Some(e.id)).ok(),
            Some(()),
            "an employee may keep its own PIN"
        );
        assert_eq!(
            pin_free(&pin("4321"), std::slice::from_ref(&e), None).ok(),
            Some(())
        );
        let Ok(Disabling::Write(disabled)) = disable(e.id, Some(&e)) else {
            panic!("an active employee is disabled");
        };
        assert_eq!(
            pin_free(&same, &[disabled], None).ok(),
            Some(()),
            "a disabled employee's PIN is free again"
        );
        assert!(!format!("{same:?}").contains("1234\""), "{same:?}");
    }

    #[test]
    fn a_terminal_first_pulling_employees_is_sent_again_those_its_cursor_passed_once() {
        let (a, b) = (ada(), ada());
        let employees = || vec![(3, a.clone()), (8, b.clone())];
        assert_eq!(sent_again(false, 5, employees()), vec![a.clone()]);
        assert_eq!(
            sent_again(false, 8, employees()),
            vec![a.clone(), b.clone()]
        );
        assert!(
            sent_again(false, 0, employees()).is_empty(),
            "a till pulling from the start gets them all anyway"
        );
        assert!(sent_again(true, 8, employees()).is_empty(), "only once");
    }
}
