//! The settings table: every setting declared once, with its type, default and parser. The
//! `--config` key is the name, and the flag and the `FERRIO_*` variable derive from it; the
//! `--help` text is the doc comment and the shown default comes from [`Settings::default`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ferrio_cluster::ClusterConfig;
use ferrio_hub::{EngineConfig, HubConfig, Origins, Rate, RecoveryConfig};
use ferrio_protocol::TransportKind;
use ferrio_transport::PostLimits;
use ferrio_webhooks::WebhookConfig;
use ferrio_websocket::WsLimits;
use http::Uri;

use super::values::{
    Namespaces, Secret, SettingValue, parse_app, parse_bool, parse_ip, parse_list,
    parse_namespaces, parse_number, parse_origins, parse_path, parse_positive, parse_seconds,
    parse_seconds_or_zero, parse_secret, parse_socket_addr, parse_text, parse_transports,
    parse_uri, some,
};
use super::{AdminConfig, AppKind, ServerConfig, ServerConfigError, TlsFiles, invalid};
use crate::connections::ConnectionLimits;

/// One setting as the `--config` file, the environment and the command line know it.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    key: &'static str,
    help: &'static str,
    /// What `--help` shows when the default holds no value.
    absent: &'static str,
    switch: bool,
    secret: bool,
    shown_default: fn(&Settings) -> Option<String>,
    store: fn(&mut Settings, &str) -> Result<(), String>,
}

impl Setting {
    /// The key in the `--config` file, in `snake_case`; errors name the setting by it.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The command-line flag, without its dashes: the key in kebab-case.
    pub fn flag(&self) -> String {
        self.key.replace('_', "-")
    }

    /// The environment variable: `FERRIO_` and the key in upper case.
    pub fn env(&self) -> String {
        format!("FERRIO_{}", self.key.to_ascii_uppercase())
    }

    /// What the setting does, as `--help` says it.
    pub fn help(&self) -> &'static str {
        self.help.trim().trim_end_matches('.')
    }

    /// Whether a bare flag, with no value, means `true`.
    pub fn is_switch(&self) -> bool {
        self.switch
    }

    /// Whether the value is a secret: `--help` does not echo it from the environment, and it
    /// is taken exactly as written.
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// The default as `--help` shows it, read from `defaults`.
    pub fn shown_default(&self, defaults: &Settings) -> String {
        (self.shown_default)(defaults).unwrap_or_else(|| self.absent.to_owned())
    }

    /// Reads `text` into this setting of `settings`; the error names the setting and quotes
    /// the text.
    pub fn apply(&self, settings: &mut Settings, text: &str) -> Result<(), ServerConfigError> {
        let value = if self.secret { text } else { text.trim() };
        (self.store)(settings, value).map_err(|why| ServerConfigError::Invalid {
            setting: self.key.to_owned(),
            why: format!("`{text}` {why}"),
        })
    }

    /// The setting by its key.
    pub fn named(key: &str) -> Option<&'static Setting> {
        Setting::ALL.iter().find(|setting| setting.key == key)
    }
}

/// Declares [`Settings`] (a typed field per setting, and its `Default`) and [`Setting::ALL`]
/// (what the file, the environment and the flags need to read each one) from one entry per
/// setting:
///
/// ```text
/// /// Help text (the field's doc and the flag's --help).
/// key: Type = default $(=> "shown when the default holds no value")?, parser;
/// ```
///
/// The parser turns the text (trimmed, unless the type is a secret) into the field's type; its
/// error completes the sentence "`text` …". The value type says how its default is shown and
/// whether a bare flag means `true`.
macro_rules! declare_settings {
    (@absent) => {
        "none"
    };
    (@absent $absent:literal) => {
        $absent
    };
    ($(
        $(#[doc = $doc:literal])+
        $key:ident: $ty:ty = $default:expr $(=> $absent:literal)?, $parse:expr;
    )+) => {
        /// Every setting of the gateway, typed. [`Setting::ALL`] reads them from text;
        /// [`Settings::server_config`] turns them into the gateway's configuration.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $(
                $(#[doc = $doc])+
                pub $key: $ty,
            )+
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings {
                    $($key: $default,)+
                }
            }
        }

        impl Setting {
            /// Every setting, in the order `--help` lists them.
            pub const ALL: &'static [Setting] = &[$(
                Setting {
                    key: stringify!($key),
                    help: concat!($($doc),+),
                    absent: declare_settings!(@absent $($absent)?),
                    switch: <$ty as SettingValue>::SWITCH,
                    secret: <$ty as SettingValue>::SECRET,
                    shown_default: |defaults| defaults.$key.shown(),
                    store: |settings, text| {
                        settings.$key = ($parse)(text)?;
                        Ok(())
                    },
                },
            )+];
        }
    };
}

/// The hub's own defaults, which the hub's settings start from.
fn hub() -> HubConfig {
    HubConfig::default()
}

/// The connection limits' own defaults, which the connection settings start from.
fn connections() -> ConnectionLimits {
    ConnectionLimits::default()
}

/// The cluster's own defaults, which the cluster settings start from.
fn cluster() -> ClusterConfig {
    ClusterConfig::new("")
}

/// The webhook client's own defaults, which the webhook settings start from.
fn webhook() -> WebhookConfig {
    WebhookConfig::new(Uri::default(), Vec::new())
}

declare_settings! {
    /// Address of the public listener.
    bind: IpAddr = IpAddr::from([0, 0, 0, 0]), parse_ip;
    /// Port of the public listener; 0 picks a free one.
    port: u16 = 3000, parse_number;
    /// Built-in application: chat, conformance, suite or none.
    app: AppKind = AppKind::Chat, parse_app;
    /// Seconds between server heartbeats on streaming transports.
    heartbeat_interval: Duration = hub().heartbeat_interval, parse_seconds;
    /// Seconds a client may take to answer a heartbeat; announced.
    heartbeat_timeout: Duration = hub().heartbeat_timeout, parse_seconds;
    /// Seconds a session lives without a transport; announced.
    close_timeout: Duration = hub().close_timeout, parse_seconds;
    /// Seconds a poll waits before it is answered with a noop.
    polling_duration: Duration = hub().polling_duration, parse_seconds;
    /// Seconds between the server's pings to a socket.io-client 3.x–4.x, or the most a 2.x
    /// client may wait between its own, less the ping timeout; announced, in milliseconds.
    engine_ping_interval: Duration = hub().engine.ping_interval, parse_seconds;
    /// Seconds a modern client may take to answer a ping (3.x–4.x) or be late with its own
    /// (2.x); announced, in milliseconds.
    engine_ping_timeout: Duration = hub().engine.ping_timeout, parse_seconds;
    /// Seconds a modern session may stay without joining a namespace.
    engine_connect_timeout: Duration = hub().engine.connect_timeout, parse_seconds;
    /// Seconds a WebSocket opened to upgrade a polling session may take to finish it.
    engine_upgrade_timeout: Duration = hub().engine.upgrade_timeout, parse_seconds;
    /// Largest POST body or WebSocket message of a modern client, in bytes; announced.
    engine_max_payload: usize = hub().engine.max_payload, parse_number;
    /// Seconds a socket.io-client 4.x socket dropped without its client choosing can come
    /// back with its id, rooms and missed broadcasts; 0 = connection state recovery off.
    engine_recovery_window: Duration = Duration::ZERO => "0 (off)", parse_seconds_or_zero;
    /// Broadcasts kept for recovering clients, oldest dropped first.
    engine_recovery_log: usize = RecoveryConfig::default().log_size, parse_number;
    /// Enabled transports, comma-separated, in announced order.
    transports: Vec<TransportKind> = hub().transports, parse_transports;
    /// Offer the Flash socket transport (announced second), answer Flash policy requests and
    /// serve the Flash movie.
    flashsocket: bool = false, parse_bool;
    /// Port of the Flash policy responder when flashsocket is on; 0 = off.
    flash_policy_port: u16 = 10843, parse_number;
    /// Allowed page origins as host:port patterns, `*` for either part, comma-separated.
    origins: Origins = hub().origins, parse_origins;
    /// Largest POST body in bytes; larger ones get 413.
    max_body_bytes: usize = PostLimits::default().max_body_bytes, parse_number;
    /// Most packets one POST body may frame; more get 413.
    max_packets_per_post: usize = PostLimits::default().max_packets, parse_number;
    /// Largest WebSocket message a client may send, in bytes.
    max_ws_message_bytes: usize = WsLimits::default().max_message_bytes, parse_number;
    /// Seconds a client may take to send a request's headers, counted from when the
    /// connection is ready for a request (so also the most a kept-alive connection waits idle).
    header_read_timeout: Duration = connections().header_read_timeout, parse_seconds;
    /// Seconds a POST body may go without a byte arriving; a stalled one gets 408.
    body_read_timeout: Duration = PostLimits::default().body_read_timeout, parse_seconds;
    /// Seconds a WebSocket client may take to finish a message it has begun sending.
    ws_message_timeout: Duration = WsLimits::default().message_timeout, parse_seconds;
    /// Seconds a write to a client may make no progress before its connection and session end.
    write_timeout: Duration = connections().write_timeout, parse_seconds;
    /// Most connections open at once on the public port; more get 503.
    max_connections: Option<usize> = connections().max_connections
        => "the open-files limit less a reserve", some(parse_number);
    /// Most connections one client address (an IPv6 one by its /64) may hold open; 0 = no limit.
    max_connections_per_ip: usize =
        connections().max_connections_per_address.unwrap_or(0), parse_number;
    /// Packets one session may have queued; one more ends the session.
    max_buffered_packets: usize = hub().max_buffered_packets, parse_number;
    /// Bytes one session may have queued or being written; one more packet ends the session.
    max_buffer_bytes: usize = hub().max_buffer_bytes, parse_number;
    /// Packets per second one session may send; more are refused.
    inbound_packet_rate: f64 = hub().inbound_packets.per_second, parse_positive;
    /// Burst of packets one session may send above its rate.
    inbound_packet_burst: u32 = hub().inbound_packets.burst, parse_number;
    /// Bytes per second one session may send; more are refused.
    inbound_byte_rate: f64 = hub().inbound_bytes.per_second, parse_positive;
    /// Burst of bytes one session may send above its rate.
    inbound_byte_burst: u32 = hub().inbound_bytes.burst, parse_number;
    /// Most connected sessions this node holds; more handshakes get 503.
    max_sessions: Option<usize> = hub().max_sessions => "no limit", some(parse_number);
    /// Most handshakes not yet followed by a transport request; more get 503.
    max_unconnected: usize = hub().max_unconnected, parse_number;
    /// Most unconnected handshakes of one client address (IPv6: one /64).
    max_unconnected_per_ip: usize = hub().max_unconnected_per_address, parse_number;
    /// Largest handshake query in bytes; larger ones get 414.
    max_handshake_query_bytes: usize = hub().max_handshake_query_bytes, parse_number;
    /// Largest handshake header section in bytes; larger ones get 431.
    max_handshake_header_bytes: usize = hub().max_handshake_header_bytes, parse_number;
    /// Handshakes per second the node accepts; more get 503.
    handshake_rate: Option<f64> = hub().handshake_rate.map(|rate| rate.per_second)
        => "no limit", some(parse_positive);
    /// Burst allowed above the node's handshake rate.
    handshake_burst: Option<u32> = hub().handshake_rate.map(|rate| rate.burst)
        => "the rate, at least 1", some(parse_number);
    /// Handshakes per second one client address may make.
    handshake_rate_per_ip: Option<f64> =
        hub().handshake_rate_per_address.map(|rate| rate.per_second)
        => "no limit", some(parse_positive);
    /// Burst allowed above the per-address rate.
    handshake_burst_per_ip: Option<u32> =
        hub().handshake_rate_per_address.map(|rate| rate.burst)
        => "the rate, at least 1", some(parse_number);
    /// Path prefix of Socket.IO requests.
    resource: String = "/socket.io".to_owned(), parse_text;
    /// Seconds a shutdown keeps serving with readiness off before sessions deliver their queues.
    drain_seconds: Duration = Duration::ZERO, parse_seconds_or_zero;
    /// Seconds a shutdown gives sessions to deliver their queues and connections to close.
    shutdown_grace: Duration = Duration::from_secs(5), parse_seconds;
    /// Address of the admin listener.
    admin_bind: IpAddr = IpAddr::from([127, 0, 0, 1]), parse_ip;
    /// Port of the admin listener (metrics, health, API); 0 = off.
    admin_port: u16 = 3001, parse_number;
    /// Bearer token that turns on the publish API.
    api_token: Option<Secret> = None, parse_secret;
    /// Backend URL (http://…) that client events are POSTed to.
    webhook_url: Option<Uri> = None, some(parse_uri);
    /// Client events forwarded to the webhook, comma-separated.
    webhook_events: Vec<String> = Vec::new(), parse_list;
    /// Namespaces whose events are forwarded, comma-separated, `/` for the default.
    webhook_namespaces: Namespaces = Namespaces(webhook().namespaces), parse_namespaces;
    /// Also notify the webhook of connects.
    webhook_connect: bool = webhook().connect, parse_bool;
    /// Also notify the webhook of disconnects, with the reason.
    webhook_disconnect: bool = webhook().disconnect, parse_bool;
    /// Seconds one webhook attempt may take.
    webhook_timeout: Duration = webhook().timeout, parse_seconds;
    /// Further attempts after a failed webhook call (connection error, timeout, 5xx).
    webhook_retries: u32 = webhook().retries, parse_number;
    /// Redis URL (redis://…, or redis+cluster://host:port,… for a Redis Cluster) of the cluster
    /// this node joins; unset runs a single node.
    cluster_redis: Option<Secret> = None, parse_secret;
    /// Name of the cluster: its Redis keys' prefix, so several clusters share one Redis.
    cluster_name: String = cluster().name, parse_text;
    /// Seconds a node's registration lives without a heartbeat.
    cluster_node_ttl: Duration = cluster().node_ttl, parse_seconds;
    /// Seconds between a node's heartbeats; at most half the node TTL.
    cluster_heartbeat: Duration = cluster().heartbeat, parse_seconds;
    /// Entries the broadcast stream keeps (approximately): how far a node may fall behind.
    cluster_bus_maxlen: usize = cluster().bus_maxlen, parse_number;
    /// Seconds a broadcast waits for an unreachable Redis before it is given up (counted).
    cluster_publish_retry: Duration = cluster().publish_retry, parse_seconds;
    /// Address of the node-to-node link (HTTP/2); port 0 picks a free one.
    cluster_listen: SocketAddr = cluster().listen, parse_socket_addr;
    /// Address other nodes dial for the link; the link's own address when unset.
    cluster_advertise: Option<String> = None
        => "the link's own address", some(parse_text);
    /// Secret every link request carries, the same on every node (16 characters or more).
    cluster_secret: Option<Secret> = None, parse_secret;
    /// PEM certificate chain: serve HTTPS/WSS on the public port.
    tls_cert: Option<PathBuf> = None, some(parse_path);
    /// PEM private key for --tls-cert.
    tls_key: Option<PathBuf> = None, some(parse_path);
}

/// Where the public listener binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Address.
    pub bind: IpAddr,
    /// Port.
    pub port: u16,
}

impl Settings {
    /// The Engine.IO timers and limits. `--app suite` runs with those the official test
    /// suite expects, whatever the settings say.
    fn engine_config(&self) -> EngineConfig {
        let configured = EngineConfig {
            ping_interval: self.engine_ping_interval,
            ping_timeout: self.engine_ping_timeout,
            connect_timeout: self.engine_connect_timeout,
            upgrade_timeout: self.engine_upgrade_timeout,
            max_payload: self.engine_max_payload,
            recovery: (!self.engine_recovery_window.is_zero()).then_some(RecoveryConfig {
                window: self.engine_recovery_window,
                log_size: self.engine_recovery_log,
            }),
        };
        match self.app {
            AppKind::Suite => EngineConfig {
                ping_interval: Duration::from_millis(300),
                ping_timeout: Duration::from_millis(200),
                connect_timeout: Duration::from_millis(1000),
                max_payload: 1_000_000,
                ..configured
            },
            _ => configured,
        }
    }

    /// Where the public listener binds.
    pub fn listen(&self) -> Listen {
        Listen {
            bind: self.bind,
            port: self.port,
        }
    }

    /// The gateway's configuration these settings describe, checked.
    pub fn server_config(&self) -> Result<ServerConfig, ServerConfigError> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => return invalid("tls_key", "is required with tls_cert"),
            (None, Some(_)) => return invalid("tls_cert", "is required with tls_key"),
        };
        let config = self.assemble(tls);
        config.validate()?;
        Ok(config)
    }

    /// The configuration, unchecked, with `tls` already paired up.
    pub(super) fn assemble(&self, tls: Option<TlsFiles>) -> ServerConfig {
        let mut transports = self.transports.clone();
        if self.flashsocket && !transports.contains(&TransportKind::Flashsocket) {
            // Announced second, right after websocket.
            let after_websocket = transports
                .iter()
                .position(|kind| *kind == TransportKind::Websocket)
                .map_or(0, |index| index + 1);
            transports.insert(after_websocket, TransportKind::Flashsocket);
        }
        let admin = (self.admin_port != 0).then(|| AdminConfig {
            addr: SocketAddr::new(self.admin_bind, self.admin_port),
            api_token: self
                .api_token
                .as_ref()
                .map(|token| token.expose().to_owned()),
        });
        let webhooks = self.webhook_url.clone().map(|url| WebhookConfig {
            url,
            events: self.webhook_events.clone(),
            namespaces: self.webhook_namespaces.0.clone(),
            connect: self.webhook_connect,
            disconnect: self.webhook_disconnect,
            timeout: self.webhook_timeout,
            retries: self.webhook_retries,
        });
        let cluster = self.cluster_redis.as_ref().map(|url| ClusterConfig {
            redis_url: url.expose().to_owned(),
            name: self.cluster_name.clone(),
            node_ttl: self.cluster_node_ttl,
            heartbeat: self.cluster_heartbeat,
            bus_maxlen: self.cluster_bus_maxlen,
            publish_retry: self.cluster_publish_retry,
            listen: self.cluster_listen,
            advertise: self.cluster_advertise.clone(),
            secret: self
                .cluster_secret
                .as_ref()
                .map(|secret| secret.expose().to_owned())
                .unwrap_or_default(),
            ..cluster()
        });
        ServerConfig {
            hub: HubConfig {
                heartbeat_interval: self.heartbeat_interval,
                heartbeat_timeout: self.heartbeat_timeout,
                close_timeout: self.close_timeout,
                polling_duration: self.polling_duration,
                transports,
                origins: self.origins.clone(),
                max_buffered_packets: self.max_buffered_packets,
                max_buffer_bytes: self.max_buffer_bytes,
                inbound_packets: Rate::new(self.inbound_packet_rate, self.inbound_packet_burst),
                inbound_bytes: Rate::new(self.inbound_byte_rate, self.inbound_byte_burst),
                max_sessions: self.max_sessions,
                max_unconnected: self.max_unconnected,
                max_unconnected_per_address: self.max_unconnected_per_ip,
                max_handshake_query_bytes: self.max_handshake_query_bytes,
                max_handshake_header_bytes: self.max_handshake_header_bytes,
                handshake_rate: rate(self.handshake_rate, self.handshake_burst),
                handshake_rate_per_address: rate(
                    self.handshake_rate_per_ip,
                    self.handshake_burst_per_ip,
                ),
                engine: self.engine_config(),
                ..hub()
            },
            post: PostLimits {
                max_body_bytes: self.max_body_bytes,
                body_read_timeout: self.body_read_timeout,
                max_packets: self.max_packets_per_post,
            },
            websocket: WsLimits {
                max_message_bytes: self.max_ws_message_bytes,
                message_timeout: self.ws_message_timeout,
            },
            connections: ConnectionLimits {
                header_read_timeout: self.header_read_timeout,
                write_timeout: self.write_timeout,
                max_connections: self.max_connections,
                max_connections_per_address: (self.max_connections_per_ip != 0)
                    .then_some(self.max_connections_per_ip),
            },
            resource: self.resource.clone(),
            app: self.app,
            shutdown_grace: self.shutdown_grace,
            drain: self.drain_seconds,
            flash_policy_port: (self.flash_policy_port != 0).then_some(self.flash_policy_port),
            admin,
            webhooks,
            cluster,
            tls,
        }
    }
}

/// A handshake rate and its burst, which defaults to the rate rounded up (at least 1).
fn rate(per_second: Option<f64>, burst: Option<u32>) -> Option<Rate> {
    let per_second = per_second?;
    let burst = burst.unwrap_or_else(|| per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
    Some(Rate::new(per_second, burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shown_default_reads_back_as_the_default() {
        let defaults = Settings::default();
        for setting in Setting::ALL {
            if (setting.shown_default)(&defaults).is_none() {
                continue;
            }
            let shown = setting.shown_default(&defaults);
            let mut read = Settings::default();
            setting
                .apply(&mut read, &shown)
                .unwrap_or_else(|error| panic!("{}: {shown:?}: {error}", setting.key()));
            assert_eq!(
                format!("{read:?}"),
                format!("{defaults:?}"),
                "{}: {shown:?}",
                setting.key()
            );
        }
    }

    #[test]
    fn keys_are_snake_case_and_documented() {
        for setting in Setting::ALL {
            let key = setting.key();
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{key}"
            );
            assert!(!setting.help().is_empty(), "{key} has no help");
            assert!(
                !setting.help().contains("[default"),
                "{key}: the default comes from Settings::default, not the help text"
            );
        }
        assert_eq!(
            Setting::named("heartbeat_interval")
                .map(Setting::env)
                .as_deref(),
            Some("FERRIO_HEARTBEAT_INTERVAL")
        );
    }
}
