//! The back office's own settings: store policies that only the server applies, kept as named
//! rows (`till-server settings set NAME VALUE`), never sent to terminals.

use crate::storage::StorageError;

/// The stored name of [`OfficeSettings::allow_cross_till_returns`].
const CROSS_TILL_RETURNS: &str = "allow_cross_till_returns";

/// The back office's settings, each at its default until set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OfficeSettings {
    /// Whether a till may void or refund a sale made on another till (each refunded line then
    /// checked against the sale). Off by default: a reversal of another till's sale is
    /// `not_your_sale`.
    pub allow_cross_till_returns: bool,
}

/// One setting and its new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeSetting {
    AllowCrossTillReturns(bool),
}

impl OfficeSetting {
    /// `NAME VALUE` from the command line: `allow-cross-till-returns true|false`.
    pub fn parse(name: &str, value: &str) -> Result<Self, StorageError> {
        match name.replace('-', "_").as_str() {
            CROSS_TILL_RETURNS => Ok(OfficeSetting::AllowCrossTillReturns(flag(name, value)?)),
            _ => Err(StorageError::Invalid(format!(
                "no setting {name:?}; the settings are: allow-cross-till-returns"
            ))),
        }
    }

    /// The stored row: name and value.
    pub fn row(&self) -> (&'static str, String) {
        match self {
            OfficeSetting::AllowCrossTillReturns(on) => (CROSS_TILL_RETURNS, on.to_string()),
        }
    }
}

fn flag(name: &str, value: &str) -> Result<bool, StorageError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(StorageError::Invalid(format!(
            "{name} is true or false, not {value:?}"
        ))),
    }
}

impl OfficeSettings {
    /// The settings the stored rows say; a row this binary does not know is left alone (a newer
    /// server may have written it), a known one that does not parse is damage.
    pub fn from_rows(rows: &[(String, String)]) -> Result<Self, StorageError> {
        let mut settings = OfficeSettings::default();
        for (name, value) in rows {
            if name == CROSS_TILL_RETURNS {
                settings.allow_cross_till_returns = flag(name, value)
                    .map_err(|e| StorageError::Corrupt(format!("setting {name}: {e}")))?;
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_till_returns_are_off_until_set() {
        assert!(!OfficeSettings::default().allow_cross_till_returns);
        assert_eq!(
            OfficeSettings::from_rows(&[]).expect("no rows"),
            OfficeSettings::default()
        );
    }

    #[test]
    fn a_setting_set_on_the_command_line_reads_back_from_its_row() {
        let set = OfficeSetting::parse("allow-cross-till-returns", "true").expect("parses");
        let (name, value) = set.row();
        let read = OfficeSettings::from_rows(&[(name.to_string(), value)]).expect("reads");
        assert!(read.allow_cross_till_returns);
        assert_eq!(
            OfficeSetting::parse("allow_cross_till_returns", "false").expect("parses"),
            OfficeSetting::AllowCrossTillReturns(false)
        );
    }

    #[test]
    fn unknown_names_and_values_are_refused_and_unknown_rows_ignored() {
        assert!(matches!(
            OfficeSetting::parse("allow-everything", "true"),
            Err(StorageError::Invalid(_))
        ));
        assert!(matches!(
            OfficeSetting::parse("allow-cross-till-returns", "yes"),
            Err(StorageError::Invalid(_))
        ));
        let rows = [("from_a_newer_server".to_string(), "x".to_string())];
        assert!(OfficeSettings::from_rows(&rows).is_ok());
        let damaged = [(CROSS_TILL_RETURNS.to_string(), "maybe".to_string())];
        assert!(matches!(
            OfficeSettings::from_rows(&damaged),
            Err(StorageError::Corrupt(_))
        ));
    }
}
