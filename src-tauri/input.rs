//! Command arguments that fail to deserialize (a wrong type, an unknown field, a missing key)
//! reach the UI as the same `{code: "invalid_input", message}` as every other refusal, instead
//! of Tauri's own plain-string error. Every command argument is an [`Input`].

use serde::Deserialize;
use tauri::ipc::{CommandArg, CommandItem, InvokeError};
use tauri::Runtime;

use crate::error::AppError;

/// One command argument, deserialized with a typed error.
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<T> Input<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<'de, R: Runtime, T: Deserialize<'de>> CommandArg<'de, R> for Input<T> {
    fn from_command(command: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        let (name, key) = (command.name, command.key);
        T::deserialize(command).map(Input).map_err(|e| {
            tracing::debug!(command = name, arg = key, error = %e, "refused a malformed argument");
            InvokeError::from(AppError::invalid_input(format!("{key}: {e}")))
        })
    }
}
