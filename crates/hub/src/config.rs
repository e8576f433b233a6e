//! Settings of the hub, with the reference server's defaults (docs/protocol.md §4.3).

use std::time::Duration;

use ferrio_protocol::TransportKind;

use crate::admission::Rate;
use crate::origin::Origins;

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
    /// Packets a session may hold while no transport drains them. Reaching it ends the
    /// session with `buffer overflow` rather than growing without bound. Default 10 000.
    pub max_buffered_packets: usize,
    /// The most sessions this node holds; handshakes beyond it get `503`. Default: no limit.
    pub max_sessions: Option<usize>,
    /// Handshakes per second the node accepts, with a burst; beyond it `503`. Default: no
    /// limit.
    pub handshake_rate: Option<Rate>,
    /// Handshakes per second one client address may make, with a burst. Default: no limit.
    pub handshake_rate_per_address: Option<Rate>,
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
            max_sessions: None,
            handshake_rate: None,
            handshake_rate_per_address: None,
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
        if self.max_buffered_packets == 0 {
            return Err(ConfigError::ZeroLimit("max_buffered_packets"));
        }
        Ok(())
    }

    /// Whether `kind` is enabled.
    pub fn enables(&self, kind: TransportKind) -> bool {
        self.transports.contains(&kind)
    }
}
