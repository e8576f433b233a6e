//! What the hub learns about a client at its handshake (docs/protocol.md §2.7, §2.8), as plain
//! data.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::generation::Generation;

/// The request data of a handshake, built by the server: the hub never sees a request.
///
/// A session keeps it for its whole life, so it holds each thing once: the query parsed (the
/// raw URL adds nothing but its fixed path), and every header, since the application and the
/// webhooks may ask for any of them (cookies, proxies' `x-forwarded-*`, custom tokens). Both
/// are bounded at the handshake ([`HubConfig::max_handshake_query_bytes`],
/// [`HubConfig::max_handshake_header_bytes`]).
///
/// [`HubConfig::max_handshake_query_bytes`]: crate::HubConfig::max_handshake_query_bytes
/// [`HubConfig::max_handshake_header_bytes`]: crate::HubConfig::max_handshake_header_bytes
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectInfo {
    /// Request headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The TCP peer.
    pub address: SocketAddr,
    /// The decoded query pairs of the handshake URL (including `t`, `jsonp` and user keys).
    pub query: Vec<(String, String)>,
    /// Whether the connection is TLS.
    pub secure: bool,
}

impl ConnectInfo {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The bytes of the query pairs, keys and values decoded.
    pub fn query_bytes(&self) -> usize {
        self.query
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum()
    }

    /// The bytes of the headers as they travelled: `name: value` and the line break.
    pub fn header_bytes(&self) -> usize {
        self.headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum()
    }
}

/// What the server keeps of a handshake, exposed to the application as `socket.handshake()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandshakeData {
    /// The request data.
    pub info: ConnectInfo,
    /// Whether the handshake had an `Origin` header (a cross-domain page).
    pub xdomain: bool,
    /// When the handshake was made.
    pub time: SystemTime,
    /// Free-form data the authorization hook may attach (a user record, a tenant…).
    pub data: Map<String, Value>,
    /// The wire generation the handshake opened the session in. It travels with the rest
    /// when another node of a cluster takes the session over.
    #[serde(default = "legacy")]
    pub generation: Generation,
}

/// What a handshake recorded before sessions had a generation: a 0.9 session.
fn legacy() -> Generation {
    Generation::Legacy
}

impl HandshakeData {
    /// Builds the data of a new handshake.
    pub fn new(mut info: ConnectInfo) -> Self {
        let xdomain = info.header("origin").is_some();
        // The session keeps these for its whole life: give back what building them
        // over-allocated (a collected query, decoded values). A no-op when already exact.
        info.headers.shrink_to_fit();
        info.query.shrink_to_fit();
        for (key, value) in info.query.iter_mut().chain(info.headers.iter_mut()) {
            key.shrink_to_fit();
            value.shrink_to_fit();
        }
        HandshakeData {
            info,
            xdomain,
            time: SystemTime::now(),
            data: Map::new(),
            generation: Generation::Legacy,
        }
    }

    /// The first value of the query key `key`.
    ///
    /// ```
    /// # use ferrio_hub::{ConnectInfo, HandshakeData};
    /// let info = ConnectInfo {
    ///     headers: vec![],
    ///     address: "127.0.0.1:1".parse().unwrap(),
    ///     query: vec![("t".into(), "1".into()), ("token".into(), "abc".into())],
    ///     secure: false,
    /// };
    /// assert_eq!(HandshakeData::new(info).query("token"), Some("abc"));
    /// ```
    pub fn query(&self, key: &str) -> Option<&str> {
        self.info
            .query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.info.header(name)
    }
}

/// What an Engine.IO handshake opened: the session's id and what its `open` packet
/// announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOpen {
    /// The session id.
    pub sid: String,
    /// Delay between the server's pings (revision 4) or the client's (revision 3).
    pub ping_interval: std::time::Duration,
    /// How late a pong (revision 4) or a ping (revision 3) may be.
    pub ping_timeout: std::time::Duration,
    /// The most bytes of one HTTP body or WebSocket message from the client.
    pub max_payload: usize,
}

/// What an authorization hook decides (docs/protocol.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Let the client in.
    Accept,
    /// Refuse: `403 handshake unauthorized`, or `7::/ns:2` for a namespace.
    Refuse,
    /// Refuse a namespace with a message and data for a Socket.IO client's `connect_error`
    /// (`44/ns,{"message":…,"data":…}`; Socket.IO 4 gets the data, or the message). A 0.9
    /// client is told `7::/ns:2`, as for [`Authorization::Refuse`], and so is a handshake.
    RefuseWith {
        /// The error's message.
        message: String,
        /// The error's data, if any.
        data: Option<serde_json::Value>,
    },
    /// The hook failed: `500 handshake error` (a namespace answers `7::/ns:2` too, since the
    /// error table has no other code for it).
    Error(String),
}

/// Why a handshake was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The origin is not in the allow-list: `403 handshake bad origin`.
    #[error("handshake bad origin")]
    BadOrigin,
    /// The authorization hook refused: `403 handshake unauthorized`.
    #[error("handshake unauthorized")]
    Unauthorized,
    /// The authorization hook failed: `500 handshake error`.
    #[error("handshake error")]
    AuthorizationError(String),
    /// The node is shutting down or draining: `503`.
    #[error("server unavailable")]
    Unavailable,
    /// The node holds its maximum number of sessions: `503`.
    #[error("server full")]
    Full,
    /// Too many handshakes from the node's clients or from this address: `503`. The client
    /// is not told which limit refused; the metrics count the two apart.
    #[error("too many handshakes")]
    RateLimited(RateLimit),
    /// Too many handshakes not yet followed by a transport request, on the node or from this
    /// address: `503`. As for rate limits, the client is not told which.
    #[error("too many pending handshakes")]
    TooManyUnconnected(UnconnectedLimit),
    /// The query is over `max_handshake_query_bytes`: `414`.
    #[error("handshake query too long")]
    QueryTooLong,
    /// The headers are over `max_handshake_header_bytes`: `431`.
    #[error("handshake headers too large")]
    HeadersTooLarge,
}

/// Which handshake rate limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// The node-wide rate (`handshake_rate`).
    Node,
    /// The rate of one client address (`handshake_rate_per_ip`).
    Address,
}

/// Which cap of unconnected handshakes refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnconnectedLimit {
    /// The node-wide cap (`max_unconnected`).
    Node,
    /// The cap of one client address, or of one IPv6 /64 (`max_unconnected_per_ip`).
    Address,
}
