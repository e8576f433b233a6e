//! Configuration from flags and `FERRIO_*` environment variables (flags win).

use std::net::IpAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ferrio_hub::{ConfigError, HubConfig, Origins};
use ferrio_protocol::TransportKind;
use ferrio_transport::PostLimits;
use ferrio_websocket::WsLimits;

/// The built-in application the gateway runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppKind {
    /// The chat of the tutorial: `toServer` → `toClient` to the sender and everyone else.
    Chat,
    /// The test application of the protocol specification's conformance cases (§9).
    Conformance,
}

/// Everything the gateway needs besides its listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Sessions, timers, transports and origins.
    pub hub: HubConfig,
    /// POST body limit.
    pub post: PostLimits,
    /// WebSocket limits.
    pub websocket: WsLimits,
    /// The path prefix of every Socket.IO request, with its leading slash.
    pub resource: String,
    /// The built-in application.
    pub app: AppKind,
    /// How long a shutdown waits for open connections before it stops anyway.
    pub shutdown_grace: Duration,
    /// Port of the Flash socket policy responder, started when `flashsocket` is enabled;
    /// `None` turns it off. The policy is also answered inline on the main port.
    pub flash_policy_port: Option<u16>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            hub: HubConfig::default(),
            post: PostLimits::default(),
            websocket: WsLimits::default(),
            resource: "/socket.io".to_owned(),
            app: AppKind::Chat,
            shutdown_grace: Duration::from_secs(5),
            flash_policy_port: Some(10843),
        }
    }
}

/// A configuration the gateway refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ServerConfigError {
    /// A hub setting is unusable.
    #[error(transparent)]
    Hub(#[from] ConfigError),
    /// The resource does not start with `/` or ends with one.
    #[error("--resource must start with `/` and not end with one, like /socket.io")]
    Resource,
    /// A size limit is zero.
    #[error("{0} must be at least 1")]
    ZeroLimit(&'static str),
}

impl ServerConfig {
    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), ServerConfigError> {
        self.hub.validate()?;
        if !self.resource.starts_with('/') || self.resource.ends_with('/') {
            return Err(ServerConfigError::Resource);
        }
        if self.post.max_body_bytes == 0 {
            return Err(ServerConfigError::ZeroLimit("--max-body-bytes"));
        }
        if self.websocket.max_message_bytes == 0 {
            return Err(ServerConfigError::ZeroLimit("--max-ws-message-bytes"));
        }
        Ok(())
    }
}

/// Command-line flags; each has a `FERRIO_*` environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ferrio",
    version,
    about = "A real-time gateway speaking the Socket.IO 0.9 protocol."
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "FERRIO_BIND", default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "FERRIO_PORT", default_value_t = 3000)]
    pub port: u16,
    /// The built-in application.
    #[arg(long, env = "FERRIO_APP", value_enum, default_value = "chat")]
    pub app: AppKind,
    /// Seconds between server heartbeats on streaming transports.
    #[arg(long, env = "FERRIO_HEARTBEAT_INTERVAL", default_value = "25", value_parser = parse_seconds)]
    pub heartbeat_interval: Duration,
    /// Seconds a client may take to answer a heartbeat (announced in the handshake).
    #[arg(long, env = "FERRIO_HEARTBEAT_TIMEOUT", default_value = "60", value_parser = parse_seconds)]
    pub heartbeat_timeout: Duration,
    /// Seconds a session lives without a transport (announced in the handshake).
    #[arg(long, env = "FERRIO_CLOSE_TIMEOUT", default_value = "60", value_parser = parse_seconds)]
    pub close_timeout: Duration,
    /// Seconds a poll waits before it is answered with a noop.
    #[arg(long, env = "FERRIO_POLLING_DURATION", default_value = "20", value_parser = parse_seconds)]
    pub polling_duration: Duration,
    /// Enabled transports, in the order announced to clients.
    #[arg(
        long,
        env = "FERRIO_TRANSPORTS",
        default_value = "websocket,xhr-polling,xhr-multipart,htmlfile,jsonp-polling",
        value_delimiter = ','
    )]
    pub transports: Vec<TransportKind>,
    /// Allowed page origins as host:port patterns (`*` for either part), comma-separated.
    #[arg(long, env = "FERRIO_ORIGINS", default_value = "*:*")]
    pub origins: Origins,
    /// Largest POST body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "FERRIO_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, env = "FERRIO_MAX_WS_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_ws_message_bytes: usize,
    /// Packets buffered per session while no transport drains them; reaching it ends the session.
    #[arg(long, env = "FERRIO_MAX_BUFFERED_PACKETS", default_value_t = 10_000)]
    pub max_buffered_packets: usize,
    /// Path prefix of Socket.IO requests.
    #[arg(long, env = "FERRIO_RESOURCE", default_value = "/socket.io")]
    pub resource: String,
    /// Seconds a shutdown waits for open connections.
    #[arg(long, env = "FERRIO_SHUTDOWN_GRACE", default_value = "5", value_parser = parse_seconds)]
    pub shutdown_grace: Duration,
    /// Offer the Flash socket transport (announced second) and answer Flash socket policy
    /// requests. Off by default, as in the reference.
    #[arg(long, env = "FERRIO_FLASHSOCKET")]
    pub flashsocket: bool,
    /// Port of the Flash socket policy responder when flashsocket is on (0 = off).
    #[arg(long, env = "FERRIO_FLASH_POLICY_PORT", default_value_t = 10843)]
    pub flash_policy_port: u16,
}

impl Cli {
    /// The server configuration these flags describe, validated.
    pub fn server_config(&self) -> Result<ServerConfig, ServerConfigError> {
        let config = ServerConfig {
            hub: HubConfig {
                heartbeat_interval: self.heartbeat_interval,
                heartbeat_timeout: self.heartbeat_timeout,
                close_timeout: self.close_timeout,
                polling_duration: self.polling_duration,
                transports: self.announced_transports(),
                origins: self.origins.clone(),
                max_buffered_packets: self.max_buffered_packets,
                ..HubConfig::default()
            },
            post: PostLimits {
                max_body_bytes: self.max_body_bytes,
            },
            websocket: WsLimits {
                max_message_bytes: self.max_ws_message_bytes,
                ..WsLimits::default()
            },
            resource: self.resource.clone(),
            app: self.app,
            shutdown_grace: self.shutdown_grace,
            flash_policy_port: (self.flash_policy_port != 0).then_some(self.flash_policy_port),
        };
        config.validate()?;
        Ok(config)
    }

    /// `--transports`, with `flashsocket` put second (right after `websocket`) by
    /// `--flashsocket`.
    fn announced_transports(&self) -> Vec<TransportKind> {
        let mut transports = self.transports.clone();
        if self.flashsocket && !transports.contains(&TransportKind::Flashsocket) {
            let after_websocket = transports
                .iter()
                .position(|kind| *kind == TransportKind::Websocket)
                .map_or(0, |index| index + 1);
            transports.insert(after_websocket, TransportKind::Flashsocket);
        }
        transports
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err(format!("`{text}` must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}
