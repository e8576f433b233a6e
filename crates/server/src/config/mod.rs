//! Configuration: a TOML file (`--config`), then `FERRIO_*` environment variables, then flags,
//! each later source overriding the earlier. Every setting is declared once, in the table of
//! `settings`; every value is checked at start and a bad one is refused with a message that
//! names it.
//!
//! - `settings`: the table, [`Settings`] and [`Setting`], and how settings become a
//!   [`ServerConfig`].
//! - `values`: parsing values from text and showing defaults.
//! - `cli`: the command line ([`Cli`]) and the file.

mod cli;
mod settings;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use ferrio_cluster::{ClusterConfig, ClusterError};
use ferrio_hub::{ConfigError, HubConfig};
use ferrio_transport::PostLimits;
use ferrio_webhooks::WebhookConfig;
use ferrio_websocket::WsLimits;

use crate::connections::ConnectionLimits;

pub use cli::Cli;
pub use settings::{Listen, Setting, Settings};
pub use values::{Namespaces, Secret};

/// The built-in application the gateway runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppKind {
    /// The chat of the tutorial: `toServer` → `toClient` to the sender and everyone else.
    Chat,
    /// The test application of the conformance cases of docs/protocol.md (§9).
    Conformance,
    /// The fixture of the official Socket.IO protocol test suite, with the timers it expects
    /// (pings every 300 ms, 200 ms to answer, a namespace within 1 s, `maxPayload` 1 MB).
    Suite,
    /// No application: a backend drives the gateway through webhooks and the publish API.
    None,
}

/// The admin listener: metrics, health, and the publish API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Where it listens. By default on loopback: metrics and the API stay off the public
    /// network unless an operator says otherwise.
    pub addr: SocketAddr,
    /// The bearer token of the publish API; `None` turns the API off.
    pub api_token: Option<String>,
}

/// Certificate and key files for TLS on the public listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Everything the gateway needs besides its listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Sessions, timers, transports, origins and admission limits.
    pub hub: HubConfig,
    /// POST body limit.
    pub post: PostLimits,
    /// WebSocket limits.
    pub websocket: WsLimits,
    /// Connection limits and timeouts of the public listener.
    pub connections: ConnectionLimits,
    /// The path prefix of every Socket.IO request, with its leading slash.
    pub resource: String,
    /// The built-in application.
    pub app: AppKind,
    /// How long a shutdown, once the drain is over, gives the sessions to deliver what they
    /// have queued and the connections to close, before it ends what is left and stops.
    pub shutdown_grace: Duration,
    /// How long a shutdown keeps serving with `/readyz` false and handshakes refused before
    /// it refuses client packets and the sessions deliver their queues and end, so a load
    /// balancer can move new clients elsewhere first.
    pub drain: Duration,
    /// Port of the Flash socket policy responder, started when `flashsocket` is enabled;
    /// `None` turns it off. The policy is also answered inline on the main port.
    pub flash_policy_port: Option<u16>,
    /// The admin listener; `None` turns it off.
    pub admin: Option<AdminConfig>,
    /// Webhooks to a backend; `None` turns them off.
    pub webhooks: Option<WebhookConfig>,
    /// The cluster this node joins at start; `None` runs a single node.
    pub cluster: Option<ClusterConfig>,
    /// TLS on the public listener; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// The defaults of [`Settings`].
impl Default for ServerConfig {
    fn default() -> Self {
        Settings::default().assemble(None)
    }
}

/// A configuration the gateway refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ServerConfigError {
    /// A hub setting is unusable.
    #[error(transparent)]
    Hub(#[from] ConfigError),
    /// The resource does not start with `/` or ends with one.
    #[error("resource: must start with `/` and not end with one, like /socket.io")]
    Resource,
    /// A size limit is zero.
    #[error("{0}: must be at least 1")]
    ZeroLimit(&'static str),
    /// One setting has a value that cannot work; the message names it.
    #[error("{setting}: {why}")]
    Invalid {
        /// The setting, as written in the file (`snake_case`).
        setting: String,
        /// What is wrong.
        why: String,
    },
    /// The configuration file cannot be read or is not TOML.
    #[error("config file {path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl ServerConfig {
    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), ServerConfigError> {
        self.hub.validate()?;
        if !self.resource.starts_with('/') || self.resource.ends_with('/') {
            return Err(ServerConfigError::Resource);
        }
        if self.post.max_body_bytes == 0 {
            return Err(ServerConfigError::ZeroLimit("max_body_bytes"));
        }
        if self.post.max_packets == 0 {
            return Err(ServerConfigError::ZeroLimit("max_packets_per_post"));
        }
        if self.websocket.max_message_bytes == 0 {
            return Err(ServerConfigError::ZeroLimit("max_ws_message_bytes"));
        }
        if self.connections.max_connections == Some(0) {
            return Err(ServerConfigError::ZeroLimit("max_connections"));
        }
        if let Some(cluster) = &self.cluster {
            match cluster.validate() {
                Ok(()) => {}
                Err(ClusterError::Config { setting, why }) => return invalid(setting, why),
                Err(error) => return invalid("cluster_redis", error.to_string()),
            }
        }
        if let Some(webhooks) = &self.webhooks {
            if webhooks.url.scheme_str() != Some("http") || webhooks.url.host().is_none() {
                return invalid("webhook_url", "must be an http:// URL with a host");
            }
            if webhooks.events.is_empty() && !webhooks.connect && !webhooks.disconnect {
                return invalid(
                    "webhook_events",
                    "name at least one event (or turn on webhook_connect/webhook_disconnect)",
                );
            }
        }
        Ok(())
    }
}

fn invalid<T>(setting: &str, why: impl Into<String>) -> Result<T, ServerConfigError> {
    Err(ServerConfigError::Invalid {
        setting: setting.to_owned(),
        why: why.into(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use ferrio_protocol::TransportKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<ServerConfig, ServerConfigError> {
        let mut all = vec!["ferrio"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .expect("flags parse")
            .server_config()
    }

    #[test]
    fn defaults_match_the_reference() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.hub.heartbeat_interval, Duration::from_secs(25));
        assert_eq!(config.hub.close_timeout, Duration::from_secs(60));
        assert_eq!(
            config.admin.unwrap().addr,
            "127.0.0.1:3001".parse().unwrap()
        );
        assert!(config.webhooks.is_none() && config.tls.is_none());
        assert_eq!(ServerConfig::default().flash_policy_port, Some(10843));
    }

    #[test]
    fn bad_values_name_their_setting() {
        let message = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(
            message(&["--heartbeat-interval", "abc"]),
            "heartbeat_interval: `abc` is not a number of seconds"
        );
        assert!(message(&["--transports", "websocket,pigeon"]).contains("pigeon"));
        assert!(message(&["--origins", "nope"]).starts_with("origins:"));
        assert!(message(&["--tls-cert", "a.pem"]).starts_with("tls_key:"));
        assert!(message(&["--webhook-url", "ftp://x/"]).starts_with("webhook_url:"));
        assert!(message(&["--heartbeat-interval", "70"]).starts_with("heartbeat_interval:"));
    }

    #[test]
    fn engine_timers_reach_the_hub() {
        let config = parse(&[
            "--engine-ping-interval",
            "0.3",
            "--engine-ping-timeout",
            "0.2",
            "--engine-connect-timeout",
            "1",
            "--engine-upgrade-timeout",
            "2",
            "--engine-max-payload",
            "1000",
        ])
        .unwrap();
        let engine = &config.hub.engine;
        assert_eq!(engine.ping_interval, Duration::from_millis(300));
        assert_eq!(engine.ping_timeout, Duration::from_millis(200));
        assert_eq!(engine.connect_timeout, Duration::from_secs(1));
        assert_eq!(engine.upgrade_timeout, Duration::from_secs(2));
        assert_eq!(engine.max_payload, 1000);
        assert!(
            parse(&["--engine-ping-interval", "0"])
                .unwrap_err()
                .to_string()
                .starts_with("engine_ping_interval:")
        );
    }

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("ferrio-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ferrio.toml");
        std::fs::write(
            &path,
            "close_timeout = 30\npolling_duration = 10\ntransports = [\"xhr-polling\"]\n\
             heartbeat_timeout = \"soon\"\n",
        )
        .unwrap();
        let path_text = path.display().to_string();
        // The file's unreadable heartbeat_timeout loses to the flag, so it is never read.
        let config = parse(&[
            "--config",
            &path_text,
            "--polling-duration",
            "5",
            "--heartbeat-timeout",
            "61",
        ])
        .unwrap();
        assert_eq!(config.hub.close_timeout, Duration::from_secs(30));
        assert_eq!(config.hub.polling_duration, Duration::from_secs(5));
        assert_eq!(config.hub.heartbeat_timeout, Duration::from_secs(61));
        assert_eq!(config.hub.transports, [TransportKind::XhrPolling]);
        std::fs::write(&path, "closetimeout = 30\n").unwrap();
        assert!(
            parse(&["--config", &path_text])
                .unwrap_err()
                .to_string()
                .contains("unknown setting `closetimeout`")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_are_taken_as_written_and_kept_out_of_debug() {
        let mut settings = Settings::default();
        let token = Setting::named("api_token").unwrap();
        assert!(token.is_secret());
        token.apply(&mut settings, " s3cret ").unwrap();
        assert_eq!(
            settings.api_token.as_ref().map(Secret::expose),
            Some(" s3cret ")
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
        token.apply(&mut settings, "").unwrap();
        assert!(
            settings
                .server_config()
                .unwrap()
                .admin
                .unwrap()
                .api_token
                .is_none()
        );
    }

    #[test]
    fn burst_defaults_to_the_rate_rounded_up() {
        let config = parse(&["--handshake-rate", "2.5", "--handshake-rate-per-ip", "0.2"]).unwrap();
        assert_eq!(config.hub.handshake_rate.map(|rate| rate.burst), Some(3));
        assert_eq!(
            config.hub.handshake_rate_per_address.map(|rate| rate.burst),
            Some(1)
        );
    }
}
