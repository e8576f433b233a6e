//! Event names the reference keeps for its sockets' own lifecycle.

/// The names no application event may use: the client emits `connect`, `connect_error` and
/// `disconnect` itself, the server `disconnecting` and `disconnect`, and Node's `EventEmitter`
/// `newListener` and `removeListener`. A revision 5 decoder refuses events named so (the
/// reference's `isPayloadValid`); revision 4 decoders let them through.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `name` is one of the [`RESERVED_EVENTS`] (case-sensitive, as the reference compares).
///
/// ```
/// use ferrio_sio::is_reserved_event;
///
/// assert!(is_reserved_event("disconnecting"));
/// assert!(!is_reserved_event("Connect"));
/// assert!(!is_reserved_event("message"));
/// ```
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}
