//! Settings of the hub, with the reference server's defaults (docs/protocol.md §4.3).

use std::time::Duration;

use ferrio_protocol::TransportKind;

use crate::admission::Rate;
use crate::origin::Origins;
use crate::recovery::RecoveryConfig;

/// Everything the hub needs to know about timers, limits and transports.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Delay between server heartbeats on streaming transports. Default 25 s. Must be below
    /// `heartbeat_timeout`, which the client uses as its maximum silence.
    pub heartbeat_interval: Duration,
    /// How long a streaming client may take to answer a heartbeat; announced in the handshake.
    /// Default 60 s.
    pub heartbeat_timeout: Duration,
    /// How long a session lives without a transport; announced in the handshake. Default 60 s.
    pub close_timeout: Duration,
    /// How long a poll waits for packets before it is answered with `8::`. Default 20 s,
    /// well below the close timeout the client arms on every poll.
    pub polling_duration: Duration,
    /// How long a handshaken session waits for its first transport request. Default 30 s.
    pub handshake_expiry: Duration,
    /// Enabled transports, in the order the handshake announces them. Default: every
    /// transport but `flashsocket`, in the fallback order
    /// `websocket,xhr-polling,xhr-multipart,htmlfile,jsonp-polling`.
    pub transports: Vec<TransportKind>,
    /// Which page origins may connect. Default: all (`*:*`).
    pub origins: Origins,
    /// Packets a session's outbox may hold, whether no transport drains it or the attached
    /// one cannot keep up. A packet beyond it ends the session with `buffer overflow` rather
    /// than growing without bound (a volatile one is dropped instead). Default 10 000.
    pub max_buffered_packets: usize,
    /// Bytes a session's outbox may hold, counting the batch its streaming transport is
    /// writing: what one slow client can pin. A broadcast's bytes are shared, but each
    /// receiver counts them whole. Beyond it, as for `max_buffered_packets`. Default 4 MiB.
    pub max_buffer_bytes: usize,
    /// Packets per second one session may send, with a burst. Packets beyond it are not
    /// processed (the client gets `7:::0` at most once a second); beyond twice the budget the
    /// session ends (`budget exceeded`). Default 100 a second, bursts of 1 000.
    pub inbound_packets: Rate,
    /// Bytes per second one session may send, with a burst, as `inbound_packets`. A packet
    /// larger than the burst passes when the bucket is full. Default 1 MiB a second, bursts
    /// of 4 MiB.
    pub inbound_bytes: Rate,
    /// The most connected sessions this node holds; handshakes beyond it get `503`, and a
    /// session issued before the node filled up is refused when it connects. Handshakes not
    /// yet followed by a transport request do not count. Default: no limit.
    pub max_sessions: Option<usize>,
    /// The most handshakes not yet followed by a transport request, node-wide; beyond it
    /// `503`. Default 10 000.
    pub max_unconnected: usize,
    /// The most unconnected handshakes of one client address (of one /64 for IPv6); beyond
    /// it `503`. Default 100.
    pub max_unconnected_per_address: usize,
    /// The most bytes of a handshake's query, decoded; beyond it `414`. Default 8 KiB.
    pub max_handshake_query_bytes: usize,
    /// The most bytes of a handshake's headers (`name: value` lines); beyond it `431`.
    /// Default 16 KiB.
    pub max_handshake_header_bytes: usize,
    /// Handshakes per second the node accepts, with a burst; beyond it `503`. Default: no
    /// limit.
    pub handshake_rate: Option<Rate>,
    /// Handshakes per second one client address may make, with a burst. Default: no limit.
    pub handshake_rate_per_address: Option<Rate>,
    /// The timers and limits of Engine.IO sessions (modern clients), which announce them in
    /// milliseconds.
    pub engine: EngineConfig,
}

/// The timers and limits of Engine.IO sessions, with the reference server's defaults.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Delay between the server's pings (revision 4), or the most a revision 3 client waits
    /// between its own, less `ping_timeout`. Default 25 s.
    pub ping_interval: Duration,
    /// How long the client may take to answer a ping (revision 4) or be late with its own
    /// (revision 3). Default 20 s.
    pub ping_timeout: Duration,
    /// How long a session may stay without any namespace joined. Default 45 s.
    pub connect_timeout: Duration,
    /// How long a WebSocket opened to upgrade a polling session may take to finish the
    /// upgrade (probe and `upgrade` packet) before it is closed; the session polls on.
    /// Default 10 s.
    pub upgrade_timeout: Duration,
    /// The most bytes of one HTTP body or WebSocket message from the client. Default 1 MB.
    pub max_payload: usize,
    /// Connection state recovery for Socket.IO 5 clients; `None` (the default, as in the
    /// reference) leaves it off, and broadcasts carry no offsets.
    pub recovery: Option<RecoveryConfig>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            connect_timeout: Duration::from_millis(45_000),
            upgrade_timeout: Duration::from_millis(10_000),
            recovery: None,
            max_payload: 1_000_000,
        }
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            heartbeat_interval: Duration::from_secs(25),
            heartbeat_timeout: Duration::from_secs(60),
            close_timeout: Duration::from_secs(60),
            polling_duration: Duration::from_secs(20),
            handshake_expiry: Duration::from_secs(30),
            transports: vec![
                TransportKind::Websocket,
                TransportKind::XhrPolling,
                TransportKind::XhrMultipart,
                TransportKind::Htmlfile,
                TransportKind::JsonpPolling,
            ],
            origins: Origins::any(),
            max_buffered_packets: 10_000,
            max_buffer_bytes: 4 * 1024 * 1024,
            inbound_packets: Rate::new(100.0, 1000),
            inbound_bytes: Rate::new(1024.0 * 1024.0, 4 * 1024 * 1024),
            max_sessions: None,
            max_unconnected: 10_000,
            max_unconnected_per_address: 100,
            max_handshake_query_bytes: 8 * 1024,
            max_handshake_header_bytes: 16 * 1024,
            handshake_rate: None,
            handshake_rate_per_address: None,
            engine: EngineConfig::default(),
        }
    }
}

/// A setting that cannot work with the 0.9 client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The heartbeat interval is not below the heartbeat timeout.
    #[error(
        "heartbeat_interval: {interval:?} must be above zero and below heartbeat_timeout ({timeout:?})"
    )]
    HeartbeatInterval {
        /// The interval.
        interval: Duration,
        /// The timeout.
        timeout: Duration,
    },
    /// A timer the handshake announces is below one second (the client would arm a 0 ms timer).
    /// Holds the setting's name.
    #[error("{0}: must be at least one second")]
    TooShort(&'static str),
    /// No transport is enabled.
    #[error("transports: at least one transport must be enabled")]
    NoTransport,
    /// A limit is zero. Holds the setting's name.
    #[error("{0}: must be at least 1")]
    ZeroLimit(&'static str),
}

impl HubConfig {
    /// Checks the settings against what the 0.9 client can work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_timeout < Duration::from_secs(1) {
            return Err(ConfigError::TooShort("heartbeat_timeout"));
        }
        if self.close_timeout < Duration::from_secs(1) {
            return Err(ConfigError::TooShort("close_timeout"));
        }
        if self.heartbeat_interval >= self.heartbeat_timeout || self.heartbeat_interval.is_zero() {
            return Err(ConfigError::HeartbeatInterval {
                interval: self.heartbeat_interval,
                timeout: self.heartbeat_timeout,
            });
        }
        if self.handshake_expiry < Duration::from_secs(1) {
            return Err(ConfigError::TooShort("handshake_expiry"));
        }
        if self.polling_duration.is_zero() {
            return Err(ConfigError::TooShort("polling_duration"));
        }
        if self.transports.is_empty() {
            return Err(ConfigError::NoTransport);
        }
        for (rate, name, burst_name) in [
            (self.handshake_rate, "handshake_rate", "handshake_burst"),
            (
                self.handshake_rate_per_address,
                "handshake_rate_per_ip",
                "handshake_burst_per_ip",
            ),
            (
                Some(self.inbound_packets),
                "inbound_packet_rate",
                "inbound_packet_burst",
            ),
            (
                Some(self.inbound_bytes),
                "inbound_byte_rate",
                "inbound_byte_burst",
            ),
        ] {
            let Some(rate) = rate else { continue };
            if !(rate.per_second > 0.0 && rate.per_second.is_finite()) {
                return Err(ConfigError::ZeroLimit(name));
            }
            if rate.burst == 0 {
                return Err(ConfigError::ZeroLimit(burst_name));
            }
        }
        if self.max_sessions == Some(0) {
            return Err(ConfigError::ZeroLimit("max_sessions"));
        }
        for (limit, name) in [
            (self.max_buffered_packets, "max_buffered_packets"),
            (self.max_buffer_bytes, "max_buffer_bytes"),
            (self.max_unconnected, "max_unconnected"),
            (self.max_unconnected_per_address, "max_unconnected_per_ip"),
            (self.max_handshake_query_bytes, "max_handshake_query_bytes"),
            (
                self.max_handshake_header_bytes,
                "max_handshake_header_bytes",
            ),
        ] {
            if limit == 0 {
                return Err(ConfigError::ZeroLimit(name));
            }
        }
        Ok(())
    }

    /// Whether `kind` is enabled.
    pub fn enables(&self, kind: TransportKind) -> bool {
        self.transports.contains(&kind)
    }
}
