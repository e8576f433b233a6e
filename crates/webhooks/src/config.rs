//! Webhook settings.

use std::time::Duration;

use http::Uri;

/// What the webhooks send, and where.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The backend URL (`http://…`) every call is POSTed to.
    pub url: Uri,
    /// Client event names forwarded to the backend.
    pub events: Vec<String>,
    /// Namespaces whose events are forwarded; default only the default namespace (`""`).
    pub namespaces: Vec<String>,
    /// Also POST a `connect` call when a socket joins a namespace.
    pub connect: bool,
    /// Also POST a `disconnect` call, with the reason, when a socket leaves.
    pub disconnect: bool,
    /// How long one attempt may take. Default 5 s.
    pub timeout: Duration,
    /// Further attempts after a connection error, a timeout or a `5xx`, waiting 100 ms,
    /// 200 ms, 400 ms… between them. A `4xx` is not retried. Default 2.
    pub retries: u32,
}

impl WebhookConfig {
    /// Calls to `url` for `events` of the default namespace, with the default timeout and
    /// retries, without connect/disconnect notifications.
    pub fn new(url: Uri, events: Vec<String>) -> Self {
        WebhookConfig {
            url,
            events,
            namespaces: vec![String::new()],
            connect: false,
            disconnect: false,
            timeout: Duration::from_secs(5),
            retries: 2,
        }
    }
}
