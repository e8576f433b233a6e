//! What the hub's test files share.

use ferrio_hub::{DisconnectReason, Hub};

/// How many sessions ended for `reason`, by the counters.
pub(crate) fn disconnects(hub: &Hub, reason: DisconnectReason) -> u64 {
    hub.metrics()
        .disconnects
        .iter()
        .find(|(label, _)| *label == reason.as_str())
        .map_or(0, |(_, count)| *count)
}
