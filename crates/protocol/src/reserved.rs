//! Event names reserved for the client's own lifecycle (docs/protocol.md §3.8).
//!
//! A client fires its handlers for `connect`, `disconnect`, `error`… when an event of that
//! name arrives, as if the connection itself had changed; so such names must neither be sent
//! nor handed to an application as client events.

/// The reserved event names: the specification's eight, the client's other lifecycle events,
/// and `newListener`, which the reference server's emitter intercepts.
pub const RESERVED_EVENTS: [&str; 13] = [
    "message",
    "connect",
    "disconnect",
    "open",
    "close",
    "error",
    "retry",
    "reconnect",
    "reconnecting",
    "reconnect_failed",
    "connect_failed",
    "connecting",
    "newListener",
];

/// Whether `name` is one of the [`RESERVED_EVENTS`].
///
/// ```
/// use ferrio_protocol::is_reserved_event;
/// assert!(is_reserved_event("disconnect"));
/// assert!(!is_reserved_event("chat"));
/// ```
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_exactly() {
        assert!(RESERVED_EVENTS.iter().all(|name| is_reserved_event(name)));
        assert!(!is_reserved_event("Disconnect"));
        assert!(!is_reserved_event("connect "));
        assert!(!is_reserved_event(""));
    }
}
