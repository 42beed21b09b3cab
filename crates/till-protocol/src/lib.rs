//! The wire protocol between a Till terminal and the back office (`/v1`), and the rules both
//! sides apply: the pricing rule and the card-number detector. Every type here is what travels as JSON; structs refuse unknown fields
//! because a stray field between two versions of our own code means a bug.

pub mod bundle;
pub mod card;
pub mod catalog;
pub mod chain;
pub mod employee;
pub mod encoding;
pub mod fields;
pub mod pricing;
pub mod shift;
pub mod sync;
pub mod text;
pub mod ticket;

pub use catalog::*;
pub use chain::ChainHead;
pub use employee::{Approval, ApprovalAction, Employee, Operator, Role};
pub use fields::{CustomerField, Rule};
pub use sync::*;
pub use ticket::*;

/// The path prefix of this protocol version.
pub const API_PREFIX: &str = "/v1";

/// A hybrid logical clock stamp: wall-clock milliseconds, a logical counter that orders events
/// within one millisecond, and the node that made it. Stamps compare in that order, so
/// last-writer-wins never depends on raw wall clocks alone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    pub wall_ms: i64,
    pub counter: u32,
    pub node: uuid::Uuid,
}

/// The error body of every non-2xx answer: a stable `code` to switch on and a human `message`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}
