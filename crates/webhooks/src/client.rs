//! The calls to the backend, with timeouts, retries and statistics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tracing::{debug, warn};

use crate::config::WebhookConfig;

/// What a call notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A client event.
    Event,
    /// A socket joined a namespace.
    Connect,
    /// A socket left a namespace.
    Disconnect,
}

impl CallKind {
    const ALL: [CallKind; 3] = [CallKind::Event, CallKind::Connect, CallKind::Disconnect];

    /// The label and the `type` field of the JSON body.
    pub const fn label(self) -> &'static str {
        match self {
            CallKind::Event => "event",
            CallKind::Connect => "connect",
            CallKind::Disconnect => "disconnect",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    HttpError,
    Timeout,
    ConnectionError,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::Timeout,
        Outcome::ConnectionError,
    ];

    const fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http_error",
            Outcome::Timeout => "timeout",
            Outcome::ConnectionError => "connection_error",
        }
    }
}

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A backend reply larger than this is not read (it would only be an ack's arguments).
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// The webhook client and its statistics.
#[derive(Debug)]
pub struct Webhooks {
    pub(crate) config: WebhookConfig,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Attempts by call kind and outcome.
    calls: [[AtomicU64; 4]; 3],
    /// Cumulative histogram counts per bucket, then the `+Inf` count.
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_micros_sum: AtomicU64,
}

impl Webhooks {
    /// A client for `config`.
    pub fn new(config: WebhookConfig) -> Self {
        Webhooks {
            config,
            client: Client::builder(TokioExecutor::new()).build_http(),
            calls: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_micros_sum: AtomicU64::new(0),
        }
    }

    /// POSTs `body` to the backend, retrying as configured. Returns the backend's JSON reply
    /// (`Value::Null` for an empty one), or `None` when every attempt failed.
    pub async fn call(&self, kind: CallKind, body: &Value) -> Option<Value> {
        let payload = Bytes::from(body.to_string());
        let mut backoff = Duration::from_millis(100);
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let started = Instant::now();
            let result =
                tokio::time::timeout(self.config.timeout, self.attempt(payload.clone())).await;
            self.observe_latency(started.elapsed());
            let (outcome, reply, retry) = match result {
                Err(_) => (Outcome::Timeout, None, true),
                Ok(Err(AttemptError::Connection(error))) => {
                    debug!(%error, "webhook connection failed");
                    (Outcome::ConnectionError, None, true)
                }
                Ok(Err(AttemptError::Status(status))) => {
                    (Outcome::HttpError, None, status.is_server_error())
                }
                Ok(Ok(reply)) => (Outcome::Ok, Some(reply), false),
            };
            self.count(kind, outcome);
            if reply.is_some() || !retry {
                if reply.is_none() {
                    warn!(
                        kind = kind.label(),
                        outcome = outcome.label(),
                        "webhook refused by the backend"
                    );
                }
                return reply;
            }
        }
        warn!(
            kind = kind.label(),
            attempts = self.config.retries + 1,
            "webhook failed on every attempt"
        );
        None
    }

    async fn attempt(&self, payload: Bytes) -> Result<Value, AttemptError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.config.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(payload))
            .map_err(|error| AttemptError::Connection(error.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| AttemptError::Connection(error.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AttemptError::Status(status));
        }
        let bytes = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|error| AttemptError::Connection(error.to_string()))?
            .to_bytes();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            debug!("webhook reply is not JSON; ignored");
            Value::Null
        }))
    }

    fn count(&self, kind: CallKind, outcome: Outcome) {
        let kind_index = CallKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let outcome_index = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.calls[kind_index][outcome_index].fetch_add(1, Ordering::Relaxed);
    }

    fn observe_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (index, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[index].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros_sum.fetch_add(micros, Ordering::Relaxed);
    }

    /// Appends the webhook metrics in the Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP ferrio_webhook_calls_total Webhook attempts by call kind and outcome."
        );
        let _ = writeln!(out, "# TYPE ferrio_webhook_calls_total counter");
        for (kind_index, kind) in CallKind::ALL.iter().enumerate() {
            for (outcome_index, outcome) in Outcome::ALL.iter().enumerate() {
                let count = self.calls[kind_index][outcome_index].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "ferrio_webhook_calls_total{{kind=\"{}\",outcome=\"{}\"}} {count}",
                    kind.label(),
                    outcome.label()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP ferrio_webhook_duration_seconds Latency of webhook attempts."
        );
        let _ = writeln!(out, "# TYPE ferrio_webhook_duration_seconds histogram");
        for (index, bound) in BUCKETS.iter().enumerate() {
            let count = self.latency_buckets[index].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "ferrio_webhook_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
            );
        }
        let total = self.latency_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "ferrio_webhook_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let sum = self.latency_micros_sum.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "ferrio_webhook_duration_seconds_sum {sum}");
        let _ = writeln!(out, "ferrio_webhook_duration_seconds_count {total}");
    }
}

enum AttemptError {
    Connection(String),
    Status(http::StatusCode),
}
