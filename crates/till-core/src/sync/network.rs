//! The system saying the network came back, as a nudge for the sync engine
//! ([`SyncHandle::nudge`](super::SyncHandle::nudge)). NetworkManager announces its state on the
//! system D-Bus (`StateChanged` of `org.freedesktop.NetworkManager`); each change to a connected
//! state calls the watcher's function. Without a system bus or without NetworkManager on it the
//! watch logs once and ends: the engine's own health probes and ticks still notice the network,
//! only later.
//!
//! D-Bus rather than netlink: NetworkManager already decides when the machine *has a
//! connection* (a configured link with an address, `NM_STATE_CONNECTED_LOCAL` or better), where
//! netlink's `RTM_NEWADDR`/`RTM_NEWROUTE` fire for every address and route of every interface
//! (container bridges, IPv6 temporary addresses) and would need a policy of our own to say what
//! "back" means. A desktop Linux till runs NetworkManager; `zbus` speaks D-Bus in pure Rust.
//! The bus is the one `DBUS_SYSTEM_BUS_ADDRESS` names, else the standard system socket.

use std::time::Duration;

use futures_util::StreamExt;
use zbus::proxy::CacheProperties;

/// NetworkManager's well-known name, also its interface's.
pub const NETWORK_MANAGER: &str = "org.freedesktop.NetworkManager";

/// The object NetworkManager announces its state on.
pub const NETWORK_MANAGER_PATH: &str = "/org/freedesktop/NetworkManager";

/// `NM_STATE_CONNECTED_LOCAL`: a link is up with an address; a back office on the shop's own
/// network is reachable from here on, even without a route to the Internet. The states above it
/// (`CONNECTED_SITE` 60, `CONNECTED_GLOBAL` 70) are connected too; those below (asleep,
/// disconnected, disconnecting, connecting) are not.
const CONNECTED_LOCAL: u32 = 50;

/// How long the watch waits for NetworkManager's current state before going on without it.
const STATE_WAIT: Duration = Duration::from_secs(2);

/// Whether NetworkManager moving from `before` (unknown: `None`) to `now` means the network
/// came back: a connected state after one that was not.
pub fn came_back(before: Option<u32>, now: u32) -> bool {
    connected(now) && !before.is_some_and(connected)
}

fn connected(state: u32) -> bool {
    state >= CONNECTED_LOCAL
}

/// Why the network is not watched.
#[derive(Debug, thiserror::Error)]
enum Unwatched {
    #[error("no system bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("the system bus does not answer: {0}")]
    Asked(#[from] zbus::fdo::Error),
    #[error("NetworkManager is not on the system bus")]
    NoNetworkManager,
}

/// Calls `on_back` each time NetworkManager says the network came back, for as long as the
/// system bus lasts. Ends, saying why once in the log, when there is no bus or no
/// NetworkManager on it, or when the bus goes away.
pub async fn watch(on_back: impl Fn()) {
    match listen(&on_back).await {
        Ok(()) => tracing::info!("the system bus closed; sync notices the network by polling"),
        Err(e) => tracing::info!(
            reason = %e,
            "the network is not watched; sync notices it by polling"
        ),
    }
}

async fn listen(on_back: &impl Fn()) -> Result<(), Unwatched> {
    let bus = zbus::Connection::system().await?;
    let name = zbus::names::BusName::try_from(NETWORK_MANAGER).map_err(zbus::Error::from)?;
    if !zbus::fdo::DBusProxy::new(&bus)
        .await?
        .name_has_owner(name)
        .await?
    {
        return Err(Unwatched::NoNetworkManager);
    }
    let manager = zbus::proxy::Builder::<zbus::Proxy>::new(&bus)
        .destination(NETWORK_MANAGER)?
        .path(NETWORK_MANAGER_PATH)?
        .interface(NETWORK_MANAGER)?
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let mut changes = manager.receive_signal("StateChanged").await?;
    // Where it stands now, if it says so soon: a wedged NetworkManager does not stop the watch.
    let mut state = tokio::time::timeout(STATE_WAIT, manager.get_property::<u32>("State"))
        .await
        .ok()
        .and_then(Result::ok);
    tracing::info!(state, "watching NetworkManager for the network coming back");
    while let Some(signal) = changes.next().await {
        let Ok(now) = signal.body().deserialize::<u32>() else {
            continue;
        };
        if came_back(state, now) {
            tracing::info!(state = now, "the network came back: sync is nudged");
            on_back();
        }
        state = Some(now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_connected_state_after_one_that_was_not_is_the_network_coming_back() {
        let rows = [
            (
                Some(20),
                70,
                true,
                "disconnected, then connected to the Internet",
            ),
            (
                Some(40),
                50,
                true,
                "a shop network without an Internet route is enough",
            ),
            (None, 70, true, "connected after an unknown state"),
            (Some(70), 60, false, "still connected, only less"),
            (Some(60), 70, false, "still connected, only more"),
            (Some(70), 20, false, "the network went away"),
            (Some(20), 40, false, "connecting is not connected yet"),
            (None, 10, false, "asleep"),
        ];
        for (before, now, back, why) in rows {
            assert_eq!(came_back(before, now), back, "{why}");
        }
    }
}
