//! Settling a ticket the back office stored with other figures than this till sent. The ticket
//! is in the journal as rung up and the back office holds its own row: neither is rewritten. A
//! manager acknowledges the difference, which is recorded (who, when) and queues nothing.

use super::super::error::SyncError;
use super::Resolution;

/// Settles a `totals_differ` conflict as `resolution` says: only an acknowledgement (keep
/// theirs) is one.
pub(super) fn settle(resolution: &Resolution) -> Result<Option<u64>, SyncError> {
    match resolution {
        Resolution::KeepTheirs => Ok(None),
        _ => Err(SyncError::NotApplicable(
            "a ticket the back office stored with other figures is only acknowledged: neither \
             the ticket nor the back office's row is rewritten"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_stored_otherwise_are_only_acknowledged() {
        assert_eq!(settle(&Resolution::KeepTheirs).ok(), Some(None));
        assert!(
            settle(&Resolution::KeepMine).is_err(),
            "this till's figures cannot be pushed over the back office's"
        );
    }
}
