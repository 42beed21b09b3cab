//! The back office's own settings, written once over [`Tx`].

use super::tx::Tx;
use crate::decide::settings::{OfficeSetting, OfficeSettings};

/// `till-server settings set NAME VALUE`: the settings as they are now.
pub(super) async fn set<T: Tx>(
    tx: &mut T,
    setting: OfficeSetting,
) -> Result<OfficeSettings, T::Error> {
    let (name, value) = setting.row();
    tx.put_office_setting(name, &value).await?;
    tx.office_settings().await
}
