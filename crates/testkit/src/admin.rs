//! The admin listener of the gateway under test: requests to it ([`TestServer::admin`], the
//! bearer-token publish API [`TestServer::api`]) and its Prometheus metrics, parsed strictly
//! ([`Metrics`]) and read until a counter moves ([`TestServer::metrics_until`]).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::Method;

use crate::http::REQUEST_TIMEOUT;
use crate::{HttpResponse, TestServer, request, retry_until};

impl TestServer {
    /// One request to the admin listener on a fresh connection.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> HttpResponse {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            request(self.admin_addr, method, path, headers, body),
        )
        .await
        .unwrap_or_else(|_| panic!("admin request to {path} timed out"))
    }

    /// A GET on the admin listener.
    pub async fn admin_get(&self, path: &str) -> HttpResponse {
        self.admin(Method::GET, path, &[], Bytes::new()).await
    }

    /// A publish API call with `Authorization: Bearer {token}` (none when `token` is `None`)
    /// and, when `body` is not empty, `Content-Type: application/json`.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> HttpResponse {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = Vec::new();
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        self.admin(method, path, &headers, body.to_owned()).await
    }

    /// `GET /metrics`, checked to be `200` in the Prometheus text format, parsed.
    pub async fn metrics(&self) -> Metrics {
        let response = self.admin_get("/metrics").await;
        assert_eq!(response.status, 200, "/metrics: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        Metrics::parse(&response.text())
            .unwrap_or_else(|error| panic!("/metrics is not Prometheus text: {error}"))
    }

    /// Reads `/metrics` until `check` holds (counters move a moment after the packet that
    /// moves them); panics naming `what` with the last exposition after `timeout`.
    pub async fn metrics_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let pause = Duration::from_millis(25);
        let outcome = retry_until(timeout, pause, async || self.metrics().await, check).await;
        outcome.unwrap_or_else(|last| {
            let non_zero: Vec<String> = last
                .samples
                .iter()
                .filter(|s| s.value != 0.0)
                .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
                .collect();
            panic!("{what}: not seen in /metrics; non-zero samples:\n{non_zero:#?}");
        })
    }
}

/// One sample of a Prometheus text exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (for histograms, with its `_bucket`/`_sum`/`_count` suffix).
    pub name: String,
    /// Label pairs, in order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        labels
            .iter()
            .all(|(key, value)| self.labels.iter().any(|(k, v)| k == key && v == value))
    }
}

/// A parsed Prometheus text exposition (format 0.0.4): families with their `HELP` and `TYPE`,
/// and every sample. The parse is strict: a line that is neither a comment nor a well-formed
/// sample is an error, so a broken exposition fails the test that reads it.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Family name → (type, help).
    pub families: BTreeMap<String, (String, String)>,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut metrics = Metrics::default();
        for (number, line) in text.lines().enumerate() {
            let number = number + 1;
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                metrics.families.entry(name.to_owned()).or_default().1 = help.to_owned();
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("line {number}: TYPE without a type: {line:?}"))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(format!("line {number}: unknown type {kind:?}"));
                }
                metrics.families.entry(name.to_owned()).or_default().0 = kind.to_owned();
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            metrics
                .samples
                .push(parse_sample(line).map_err(|why| format!("line {number} {line:?}: {why}"))?);
        }
        for sample in &metrics.samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| sample.name.strip_suffix(suffix))
                .find(|base| metrics.families.contains_key(*base))
                .unwrap_or(&sample.name);
            if !metrics.families.contains_key(family) {
                return Err(format!("sample {} has no TYPE line", sample.name));
            }
        }
        Ok(metrics)
    }

    /// The type of family `name` (`counter`, `gauge`, `histogram`…).
    pub fn kind(&self, name: &str) -> Option<&str> {
        self.families.get(name).map(|(kind, _)| kind.as_str())
    }

    /// The value of the sample `name` whose labels are exactly `labels` (in any order).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels.len() == labels.len() && s.has_labels(labels))
            .map(|s| s.value)
    }

    /// [`Metrics::get`], or 0 when there is no such sample.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The sum of every sample `name` that has at least `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && s.has_labels(labels))
            .map(|s| s.value)
            .sum()
    }

    /// The samples of `name`.
    pub fn samples_of(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut at = inner;
        loop {
            at = at.strip_prefix(',').unwrap_or(at);
            if let Some(after) = at.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = at.split_once("=\"").ok_or("label without =\"")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (index, '"') => break index,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (_, other) => value.push(other),
                }
            };
            labels.push((key.to_owned(), value));
            at = &after[end + 1..];
        }
    }
    let value_text = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value_text = value_text.split(' ').next().unwrap_or_default();
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        text => text.parse().map_err(|_| format!("bad value {text:?}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}
