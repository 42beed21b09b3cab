//! Employees as the back office sends them to tills: who may work a till, in which role, and
//! the Argon2id hash of their PIN (never the PIN), so a till checks a PIN offline. The rule of a
//! PIN is here, shared by the back office that sets one and the till that checks one.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The fewest digits of a PIN.
pub const MIN_PIN_DIGITS: usize = 4;
/// The most digits of a PIN.
pub const MAX_PIN_DIGITS: usize = 8;

/// What an employee may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
}

impl Role {
    /// The role's stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }

    /// The role named `name` (`cashier` or `manager`).
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "cashier" => Some(Role::Cashier),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }
}

/// An employee at its latest state. A disabled employee is still sent, so a till learns of it;
/// its PIN never matches there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Employee {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The PIN's Argon2id hash as a PHC string (`$argon2id$v=19$…`).
    pub pin_hash: String,
    pub disabled: bool,
}

/// Who did something on a till: the employee signed in (or the manager who approved), by id and
/// by the name they had then, so the books read without a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub id: Uuid,
    pub name: String,
}

/// What a manager's PIN was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    Void,
    Refund,
    /// A discount above the store's limit.
    Discount,
    PriceOverride,
    /// The drawer opened without a sale.
    NoSale,
    /// A failed item given up on.
    DiscardFailed,
    /// The unsent queue written to a file, to reach the back office by hand.
    ExportQueue,
}

impl ApprovalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAction::Void => "void",
            ApprovalAction::Refund => "refund",
            ApprovalAction::Discount => "discount",
            ApprovalAction::PriceOverride => "price_override",
            ApprovalAction::NoSale => "no_sale",
            ApprovalAction::DiscardFailed => "discard_failed",
            ApprovalAction::ExportQueue => "export_queue",
        }
    }
}

/// A manager's approval, recorded with what it allowed: who approved, what, and why in words
/// (e.g. "discount of 25 % is above the 20 % limit").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub by: Operator,
    pub action: ApprovalAction,
    pub reason: String,
}

/// Why a PIN is refused. The message never repeats the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PIN must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits (0-9)")]
pub struct PinError;

/// Whether `pin` is a PIN: 4 to 8 ASCII digits, nothing else.
pub fn check_pin(pin: &str) -> Result<(), PinError> {
    let digits = (MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len());
    if digits && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_four_to_eight_ascii_digits() {
        for pin in ["0000", "1234", "12345678", "007"] {
            assert_eq!(check_pin(pin).is_ok(), pin.len() >= 4, "{pin}");
        }
        for pin in [
            "",
            "123456789",
            "12a4",
            " 1234",
            "1234 ",
            "١٢٣٤",
            "12-34",
            "+123",
        ] {
            assert_eq!(check_pin(pin), Err(PinError), "{pin:?} is not a PIN");
        }
    }

    #[test]
    fn the_refusal_never_repeats_the_pin() {
        let message = check_pin("98765x").unwrap_err().to_string();
        assert!(!message.contains("98765"), "{message}");
    }

    #[test]
    fn roles_round_trip_by_name() {
        for role in [Role::Cashier, Role::Manager] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).expect("serialises");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("Manager"), None);
        assert_eq!(Role::parse("owner"), None);
    }
}
