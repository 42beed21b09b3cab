//! The one error shape the UI sees: `{code, message}`. The UI switches on `code`, one of the
//! core's [`ErrorCode`]s (its TypeScript type is generated from the same enum); `message` is for
//! people. Every command maps its failure here exactly once.

use serde::Serialize;
use till_core::error::{CoreError, ErrorCode};
use till_core::sync::SyncError;

/// An error as it crosses IPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }

    /// Input the shell could not parse before any core function ran.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::InvalidInput, message)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Core(core) => core.into(),
            other => AppError::new(other.code(), other.to_string()),
        }
    }
}

impl From<tauri::Error> for AppError {
    fn from(e: tauri::Error) -> Self {
        // A panicked or cancelled blocking task: report it, never take the app down with it.
        tracing::error!(error = %e, "a blocking command task did not finish");
        AppError::new(
            ErrorCode::Internal,
            "the operation did not finish; see the log",
        )
    }
}

/// What every command returns.
pub type CmdResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::money::Money;

    #[test]
    fn a_short_tender_has_the_code_the_app_api_names() {
        let eur = till_protocol::Currency {
            code: "EUR".into(),
            exponent: 2,
        };
        let e = AppError::from(CoreError::TenderShort {
            due: Money::new(500, &eur),
            tendered: Money::new(100, &eur),
        });
        assert_eq!(
            e.code, "insufficient_tender",
            "the UI switches on this code"
        );
        assert!(
            e.message.contains("€5.00"),
            "the message says what is due, as money: {}",
            e.message
        );
    }

    #[test]
    fn a_core_error_inside_a_sync_error_keeps_the_core_code() {
        let e = AppError::from(SyncError::Core(CoreError::NoCatalog));
        assert_eq!(e.code, "no_catalog");
        let e = AppError::from(SyncError::NotEnrolled);
        assert_eq!(e.code, "not_enrolled");
    }

    #[test]
    fn errors_cross_ipc_as_code_and_message_only() {
        let json = serde_json::to_value(AppError::new(ErrorCode::EmptyCart, "the cart is empty"))
            .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"code": "empty_cart", "message": "the cart is empty"})
        );
    }
}
