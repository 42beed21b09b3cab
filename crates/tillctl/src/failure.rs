//! How a subcommand fails: a stable code, a message, and the process exit code.

use till_core::{CoreError, ErrorCode};

/// Exit code of a runtime failure (bad input, I/O, database).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code when the journal's hash chain is broken.
pub const EXIT_VERIFY_FAILED: u8 = 3;
/// Exit code when the store refuses to open (damaged file or schema from a newer Till).
pub const EXIT_STORE_REFUSED: u8 = 4;

/// A failed subcommand, printed as `error: <message> (<code>)`.
#[derive(Debug)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    pub exit: u8,
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        let exit = match e {
            CoreError::DatabaseCorrupt { .. } | CoreError::SchemaTooNew { .. } => {
                EXIT_STORE_REFUSED
            }
            _ => EXIT_RUNTIME,
        };
        Failure {
            code: e.code(),
            message: e.to_string(),
            exit,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        CoreError::Io(e).into()
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure {
            code: ErrorCode::IoError,
            message: e.to_string(),
            exit: EXIT_RUNTIME,
        }
    }
}
