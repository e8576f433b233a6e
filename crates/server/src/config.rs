//! Configuration: a TOML file (`--config`), then `FERRIO_*` environment variables, then flags,
//! each later source overriding the earlier. Every setting is checked at start and a bad one
//! is refused with a message that names it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ferrio_hub::{ConfigError, HubConfig, Origins, Rate};
use ferrio_protocol::TransportKind;
use ferrio_transport::PostLimits;
use ferrio_webhooks::WebhookConfig;
use ferrio_websocket::WsLimits;

/// The built-in application the gateway runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppKind {
    /// The chat of the tutorial: `toServer` → `toClient` to the sender and everyone else.
    Chat,
    /// The test application of the conformance cases of docs/protocol.md (§9).
    Conformance,
    /// No application: a backend drives the gateway through webhooks and the publish API.
    None,
}

/// The admin listener: metrics, health, and the publish API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Where it listens. Default `127.0.0.1:3001`: metrics and the API stay off the public
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
    /// The path prefix of every Socket.IO request, with its leading slash.
    pub resource: String,
    /// The built-in application.
    pub app: AppKind,
    /// How long a shutdown waits for open connections before it stops anyway.
    pub shutdown_grace: Duration,
    /// How long a shutdown keeps serving with `/readyz` false and handshakes refused before
    /// it ends the sessions, so a load balancer can move new clients elsewhere first.
    pub drain: Duration,
    /// Port of the Flash socket policy responder, started when `flashsocket` is enabled;
    /// `None` turns it off. The policy is also answered inline on the main port.
    pub flash_policy_port: Option<u16>,
    /// The admin listener; `None` turns it off.
    pub admin: Option<AdminConfig>,
    /// Webhooks to a backend; `None` turns them off.
    pub webhooks: Option<WebhookConfig>,
    /// TLS on the public listener; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
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
            drain: Duration::ZERO,
            flash_policy_port: Some(10843),
            admin: Some(AdminConfig {
                addr: SocketAddr::from(([127, 0, 0, 1], 3001)),
                api_token: None,
            }),
            webhooks: None,
            tls: None,
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
        if self.websocket.max_message_bytes == 0 {
            return Err(ServerConfigError::ZeroLimit("max_ws_message_bytes"));
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

/// Command-line flags. Each has a `FERRIO_*` environment variable and a `snake_case` key in
/// the `--config` file; flags override the environment, which overrides the file.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "ferrio",
    version,
    about = "A real-time gateway speaking the Socket.IO 0.9 protocol over every transport old and new browsers have.",
    after_help = "Durations are seconds (fractions allowed). Every flag can also be set with the environment \
                  variable shown, or as a snake_case key in the --config TOML file \
                  (for example heartbeat_interval = 25)."
)]
pub struct Cli {
    /// TOML file with settings (keys as the flags, in snake_case).
    #[arg(long, env = "FERRIO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Instead of serving: ask the admin listener of a running gateway (as configured) for
    /// /healthz and exit 0 when it answers 200 — the container HEALTHCHECK.
    #[arg(long)]
    pub healthcheck: bool,
    /// Address to listen on [default: 0.0.0.0].
    #[arg(long, env = "FERRIO_BIND")]
    pub bind: Option<String>,
    /// Port to listen on; 0 picks a free one [default: 3000].
    #[arg(long, env = "FERRIO_PORT")]
    pub port: Option<String>,
    /// Built-in application: chat, conformance or none [default: chat].
    #[arg(long, env = "FERRIO_APP")]
    pub app: Option<String>,
    /// Seconds between server heartbeats on streaming transports [default: 25].
    #[arg(long, env = "FERRIO_HEARTBEAT_INTERVAL")]
    pub heartbeat_interval: Option<String>,
    /// Seconds a client may take to answer a heartbeat; announced [default: 60].
    #[arg(long, env = "FERRIO_HEARTBEAT_TIMEOUT")]
    pub heartbeat_timeout: Option<String>,
    /// Seconds a session lives without a transport; announced [default: 60].
    #[arg(long, env = "FERRIO_CLOSE_TIMEOUT")]
    pub close_timeout: Option<String>,
    /// Seconds a poll waits before it is answered with a noop [default: 20].
    #[arg(long, env = "FERRIO_POLLING_DURATION")]
    pub polling_duration: Option<String>,
    /// Enabled transports, comma-separated, in announced order
    /// [default: websocket,xhr-polling,xhr-multipart,htmlfile,jsonp-polling].
    #[arg(long, env = "FERRIO_TRANSPORTS")]
    pub transports: Option<String>,
    /// Offer the Flash socket transport (announced second) and answer Flash policy requests
    /// [default: false].
    #[arg(long, env = "FERRIO_FLASHSOCKET", num_args = 0..=1, default_missing_value = "true")]
    pub flashsocket: Option<String>,
    /// Port of the Flash policy responder when flashsocket is on; 0 = off [default: 10843].
    #[arg(long, env = "FERRIO_FLASH_POLICY_PORT")]
    pub flash_policy_port: Option<String>,
    /// Allowed page origins as host:port patterns, `*` for either part, comma-separated
    /// [default: *:*].
    #[arg(long, env = "FERRIO_ORIGINS")]
    pub origins: Option<String>,
    /// Largest POST body in bytes; larger ones get 413 [default: 1048576].
    #[arg(long, env = "FERRIO_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<String>,
    /// Largest WebSocket message a client may send, in bytes [default: 1048576].
    #[arg(long, env = "FERRIO_MAX_WS_MESSAGE_BYTES")]
    pub max_ws_message_bytes: Option<String>,
    /// Packets buffered per session with no transport; reaching it ends the session
    /// [default: 10000].
    #[arg(long, env = "FERRIO_MAX_BUFFERED_PACKETS")]
    pub max_buffered_packets: Option<String>,
    /// Most sessions this node holds; more handshakes get 503 [default: no limit].
    #[arg(long, env = "FERRIO_MAX_SESSIONS")]
    pub max_sessions: Option<String>,
    /// Handshakes per second the node accepts; more get 503 [default: no limit].
    #[arg(long, env = "FERRIO_HANDSHAKE_RATE")]
    pub handshake_rate: Option<String>,
    /// Burst allowed above the node's handshake rate [default: the rate, at least 1].
    #[arg(long, env = "FERRIO_HANDSHAKE_BURST")]
    pub handshake_burst: Option<String>,
    /// Handshakes per second one client address may make [default: no limit].
    #[arg(long, env = "FERRIO_HANDSHAKE_RATE_PER_IP")]
    pub handshake_rate_per_ip: Option<String>,
    /// Burst allowed above the per-address rate [default: the rate, at least 1].
    #[arg(long, env = "FERRIO_HANDSHAKE_BURST_PER_IP")]
    pub handshake_burst_per_ip: Option<String>,
    /// Path prefix of Socket.IO requests [default: /socket.io].
    #[arg(long, env = "FERRIO_RESOURCE")]
    pub resource: Option<String>,
    /// Seconds a shutdown keeps serving with readiness off before ending sessions
    /// [default: 0].
    #[arg(long, env = "FERRIO_DRAIN_SECONDS")]
    pub drain_seconds: Option<String>,
    /// Seconds a shutdown waits for open requests [default: 5].
    #[arg(long, env = "FERRIO_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// Address of the admin listener [default: 127.0.0.1].
    #[arg(long, env = "FERRIO_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// Port of the admin listener (metrics, health, API); 0 = off [default: 3001].
    #[arg(long, env = "FERRIO_ADMIN_PORT")]
    pub admin_port: Option<String>,
    /// Bearer token that turns on the publish API [default: none, API off].
    #[arg(long, env = "FERRIO_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Backend URL (http://…) that client events are POSTed to [default: none].
    #[arg(long, env = "FERRIO_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Client events forwarded to the webhook, comma-separated [default: none].
    #[arg(long, env = "FERRIO_WEBHOOK_EVENTS")]
    pub webhook_events: Option<String>,
    /// Namespaces whose events are forwarded, comma-separated, `/` for the default
    /// [default: /].
    #[arg(long, env = "FERRIO_WEBHOOK_NAMESPACES")]
    pub webhook_namespaces: Option<String>,
    /// Also notify the webhook of connects [default: false].
    #[arg(long, env = "FERRIO_WEBHOOK_CONNECT", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_connect: Option<String>,
    /// Also notify the webhook of disconnects, with the reason [default: false].
    #[arg(long, env = "FERRIO_WEBHOOK_DISCONNECT", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_disconnect: Option<String>,
    /// Seconds one webhook attempt may take [default: 5].
    #[arg(long, env = "FERRIO_WEBHOOK_TIMEOUT")]
    pub webhook_timeout: Option<String>,
    /// Further attempts after a failed webhook call (connection error, timeout, 5xx)
    /// [default: 2].
    #[arg(long, env = "FERRIO_WEBHOOK_RETRIES")]
    pub webhook_retries: Option<String>,
    /// PEM certificate chain: serve HTTPS/WSS on the public port [default: none].
    #[arg(long, env = "FERRIO_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert [default: none].
    #[arg(long, env = "FERRIO_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// Where the public listener binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Address.
    pub bind: IpAddr,
    /// Port.
    pub port: u16,
}

/// The merged raw settings: for each key, the winning value as text.
struct Raw(BTreeMap<&'static str, String>);

impl Raw {
    fn get<T>(
        &self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ServerConfigError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(text) => parse(text.trim())
                .map(Some)
                .map_err(|why| ServerConfigError::Invalid {
                    setting: key.to_owned(),
                    why: format!("`{text}` {why}"),
                }),
        }
    }
}

impl Cli {
    fn flag_values(&self) -> Vec<(&'static str, Option<String>)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        vec![
            ("bind", self.bind.clone()),
            ("port", self.port.clone()),
            ("app", self.app.clone()),
            ("heartbeat_interval", self.heartbeat_interval.clone()),
            ("heartbeat_timeout", self.heartbeat_timeout.clone()),
            ("close_timeout", self.close_timeout.clone()),
            ("polling_duration", self.polling_duration.clone()),
            ("transports", self.transports.clone()),
            ("flashsocket", self.flashsocket.clone()),
            ("flash_policy_port", self.flash_policy_port.clone()),
            ("origins", self.origins.clone()),
            ("max_body_bytes", self.max_body_bytes.clone()),
            ("max_ws_message_bytes", self.max_ws_message_bytes.clone()),
            ("max_buffered_packets", self.max_buffered_packets.clone()),
            ("max_sessions", self.max_sessions.clone()),
            ("handshake_rate", self.handshake_rate.clone()),
            ("handshake_burst", self.handshake_burst.clone()),
            ("handshake_rate_per_ip", self.handshake_rate_per_ip.clone()),
            (
                "handshake_burst_per_ip",
                self.handshake_burst_per_ip.clone(),
            ),
            ("resource", self.resource.clone()),
            ("drain_seconds", self.drain_seconds.clone()),
            ("shutdown_grace", self.shutdown_grace.clone()),
            ("admin_bind", self.admin_bind.clone()),
            ("admin_port", self.admin_port.clone()),
            ("api_token", self.api_token.clone()),
            ("webhook_url", self.webhook_url.clone()),
            ("webhook_events", self.webhook_events.clone()),
            ("webhook_namespaces", self.webhook_namespaces.clone()),
            ("webhook_connect", self.webhook_connect.clone()),
            ("webhook_disconnect", self.webhook_disconnect.clone()),
            ("webhook_timeout", self.webhook_timeout.clone()),
            ("webhook_retries", self.webhook_retries.clone()),
            ("tls_cert", path(&self.tls_cert)),
            ("tls_key", path(&self.tls_key)),
        ]
    }

    /// The file's settings, then the environment's and the flags' over them.
    fn raw(&self) -> Result<Raw, ServerConfigError> {
        let mut raw = BTreeMap::new();
        if let Some(path) = &self.config {
            let file_error = |why: String| ServerConfigError::File {
                path: path.clone(),
                why,
            };
            let text =
                std::fs::read_to_string(path).map_err(|error| file_error(error.to_string()))?;
            let table: toml::Table = text
                .parse()
                .map_err(|error: toml::de::Error| file_error(error.to_string()))?;
            for (key, value) in table {
                // The file holds the flags' settings, in snake_case.
                let known = Cli::default()
                    .flag_values()
                    .into_iter()
                    .map(|(name, _)| name)
                    .find(|name| *name == key);
                let Some(known) = known else {
                    return Err(file_error(format!("unknown setting `{key}`")));
                };
                raw.insert(known, toml_text(known, &value)?);
            }
        }
        for (key, value) in self.flag_values() {
            if let Some(value) = value {
                raw.insert(key, value);
            }
        }
        Ok(Raw(raw))
    }

    /// Where the public listener binds.
    pub fn listen(&self) -> Result<Listen, ServerConfigError> {
        let raw = self.raw()?;
        Ok(Listen {
            bind: raw
                .get("bind", parse_ip)?
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port: raw.get("port", parse_number)?.unwrap_or(3000),
        })
    }

    /// The server configuration these settings describe, validated.
    pub fn server_config(&self) -> Result<ServerConfig, ServerConfigError> {
        let raw = self.raw()?;
        let defaults = ServerConfig::default();
        let hub_defaults = HubConfig::default();
        let mut transports = raw
            .get("transports", parse_transports)?
            .unwrap_or(hub_defaults.transports);
        if raw.get("flashsocket", parse_bool)?.unwrap_or(false)
            && !transports.contains(&TransportKind::Flashsocket)
        {
            // Announced second, right after websocket.
            let after_websocket = transports
                .iter()
                .position(|kind| *kind == TransportKind::Websocket)
                .map_or(0, |index| index + 1);
            transports.insert(after_websocket, TransportKind::Flashsocket);
        }
        let rate = |rate_key, burst_key| -> Result<Option<Rate>, ServerConfigError> {
            let Some(per_second) = raw.get(rate_key, parse_positive)? else {
                return Ok(None);
            };
            let burst = raw
                .get(burst_key, parse_number::<u32>)?
                .unwrap_or_else(|| per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
            Ok(Some(Rate::new(per_second, burst)))
        };
        let hub = HubConfig {
            heartbeat_interval: raw
                .get("heartbeat_interval", parse_seconds)?
                .unwrap_or(hub_defaults.heartbeat_interval),
            heartbeat_timeout: raw
                .get("heartbeat_timeout", parse_seconds)?
                .unwrap_or(hub_defaults.heartbeat_timeout),
            close_timeout: raw
                .get("close_timeout", parse_seconds)?
                .unwrap_or(hub_defaults.close_timeout),
            polling_duration: raw
                .get("polling_duration", parse_seconds)?
                .unwrap_or(hub_defaults.polling_duration),
            transports,
            origins: raw
                .get("origins", |text| {
                    text.parse::<Origins>().map_err(|e| e.to_string())
                })?
                .unwrap_or(hub_defaults.origins),
            max_buffered_packets: raw
                .get("max_buffered_packets", parse_number)?
                .unwrap_or(hub_defaults.max_buffered_packets),
            max_sessions: raw.get("max_sessions", parse_number)?,
            handshake_rate: rate("handshake_rate", "handshake_burst")?,
            handshake_rate_per_address: rate("handshake_rate_per_ip", "handshake_burst_per_ip")?,
            ..hub_defaults
        };
        let admin_port: u16 = raw.get("admin_port", parse_number)?.unwrap_or(3001);
        let admin_bind = raw
            .get("admin_bind", parse_ip)?
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let webhooks = match raw.get("webhook_url", |text| {
            text.parse::<http::Uri>().map_err(|e| e.to_string())
        })? {
            None => None,
            Some(url) => {
                let mut webhooks = WebhookConfig::new(
                    url,
                    raw.get("webhook_events", parse_list)?.unwrap_or_default(),
                );
                if let Some(namespaces) = raw.get("webhook_namespaces", parse_list)? {
                    webhooks.namespaces = namespaces
                        .into_iter()
                        .map(|name| if name == "/" { String::new() } else { name })
                        .collect();
                }
                webhooks.connect = raw.get("webhook_connect", parse_bool)?.unwrap_or(false);
                webhooks.disconnect = raw.get("webhook_disconnect", parse_bool)?.unwrap_or(false);
                webhooks.timeout = raw
                    .get("webhook_timeout", parse_seconds)?
                    .unwrap_or(webhooks.timeout);
                webhooks.retries = raw
                    .get("webhook_retries", parse_number)?
                    .unwrap_or(webhooks.retries);
                Some(webhooks)
            }
        };
        let tls = match (
            raw.get("tls_cert", parse_path)?,
            raw.get("tls_key", parse_path)?,
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return invalid("tls_key", "is required with tls_cert"),
            (None, Some(_)) => return invalid("tls_cert", "is required with tls_key"),
        };
        let config = ServerConfig {
            hub,
            post: PostLimits {
                max_body_bytes: raw
                    .get("max_body_bytes", parse_number)?
                    .unwrap_or(defaults.post.max_body_bytes),
            },
            websocket: WsLimits {
                max_message_bytes: raw
                    .get("max_ws_message_bytes", parse_number)?
                    .unwrap_or(defaults.websocket.max_message_bytes),
            },
            resource: raw
                .get("resource", |text| Ok(text.to_owned()))?
                .unwrap_or(defaults.resource),
            app: raw.get("app", parse_app)?.unwrap_or(defaults.app),
            shutdown_grace: raw
                .get("shutdown_grace", parse_seconds)?
                .unwrap_or(defaults.shutdown_grace),
            drain: raw
                .get("drain_seconds", parse_seconds_or_zero)?
                .unwrap_or(defaults.drain),
            flash_policy_port: match raw.get("flash_policy_port", parse_number::<u16>)? {
                Some(0) => None,
                Some(port) => Some(port),
                None => defaults.flash_policy_port,
            },
            admin: (admin_port != 0).then(|| AdminConfig {
                addr: SocketAddr::new(admin_bind, admin_port),
                api_token: raw
                    .0
                    .get("api_token")
                    .filter(|token| !token.is_empty())
                    .cloned(),
            }),
            webhooks,
            tls,
        };
        config.validate()?;
        Ok(config)
    }
}

/// A TOML value as the text a flag would hold.
fn toml_text(key: &str, value: &toml::Value) -> Result<String, ServerConfigError> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(text) => Ok(text.clone()),
                _ => invalid(key, "list items must be strings"),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        _ => invalid(key, "must be a string, number, boolean or list of strings"),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| "is not a number of seconds".to_owned())?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err("must be more than 0 and at most 86400 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_seconds_or_zero(text: &str) -> Result<Duration, String> {
    if text.parse::<f64>().is_ok_and(|seconds| seconds == 0.0) {
        return Ok(Duration::ZERO);
    }
    parse_seconds(text)
}

fn parse_number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| "is not a whole number in range".to_owned())
}

fn parse_positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err("must be a number above 0".to_owned()),
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("is not true or false".to_owned()),
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse().map_err(|_| "is not an IP address".to_owned())
}

fn parse_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(PathBuf::from(text))
}

fn parse_app(text: &str) -> Result<AppKind, String> {
    AppKind::from_str(text, true).map_err(|_| "is not chat, conformance or none".to_owned())
}

fn parse_list(text: &str) -> Result<Vec<String>, String> {
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect())
}

fn parse_transports(text: &str) -> Result<Vec<TransportKind>, String> {
    let mut transports = Vec::new();
    for name in parse_list(text)? {
        let kind: TransportKind = name
            .parse()
            .map_err(|_| format!("names an unknown transport `{name}`"))?;
        if !transports.contains(&kind) {
            transports.push(kind);
        }
    }
    if transports.is_empty() {
        return Err("names no transport".to_owned());
    }
    Ok(transports)
}

#[cfg(test)]
mod tests {
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
    }

    #[test]
    fn bad_values_name_their_setting() {
        let message = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert!(message(&["--heartbeat-interval", "abc"]).starts_with("heartbeat_interval:"));
        assert!(message(&["--transports", "websocket,pigeon"]).contains("pigeon"));
        assert!(message(&["--origins", "nope"]).starts_with("origins:"));
        assert!(message(&["--tls-cert", "a.pem"]).starts_with("tls_key:"));
        assert!(message(&["--webhook-url", "ftp://x/"]).starts_with("webhook_url:"));
        assert!(message(&["--heartbeat-interval", "70"]).starts_with("heartbeat_interval:"));
    }

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("ferrio-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ferrio.toml");
        std::fs::write(
            &path,
            "close_timeout = 30\npolling_duration = 10\ntransports = [\"xhr-polling\"]\n",
        )
        .unwrap();
        let path_text = path.display().to_string();
        let config = parse(&["--config", &path_text, "--polling-duration", "5"]).unwrap();
        assert_eq!(config.hub.close_timeout, Duration::from_secs(30));
        assert_eq!(config.hub.polling_duration, Duration::from_secs(5));
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
}
