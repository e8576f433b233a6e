//! ferrio's admin listener seen from the loadgen: `/metrics` fetched and the few families the
//! scenarios read picked out of the Prometheus text (`ferrio_sessions`,
//! `ferrio_allocator_bytes`, `ferrio_disconnects_total`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::client::{Ctx, excerpt};
use crate::error::{Error, Result};
use crate::http::HttpConn;

/// One `/metrics` answer.
#[derive(Debug)]
pub(crate) struct Metrics {
    text: String,
}

/// Fetches `/metrics` from the admin listener at `admin`.
pub(crate) async fn scrape(ctx: &Ctx, admin: SocketAddr) -> Result<Metrics> {
    let mut http = ctx
        .within(
            "connecting to the admin listener",
            HttpConn::connect(Arc::clone(&ctx.net), admin),
        )
        .await?;
    let response = ctx.within("GET /metrics", http.get("/metrics")).await?;
    if response.status != 200 {
        return Err(Error::Http(format!(
            "/metrics answered {} {}",
            response.status,
            excerpt(&response.body)
        )));
    }
    Ok(Metrics {
        text: response.body,
    })
}

impl Metrics {
    /// Wraps Prometheus text.
    #[cfg(test)]
    fn from_text(text: &str) -> Self {
        Metrics {
            text: text.to_owned(),
        }
    }

    /// The samples of family `name`, each as its label text (what is between the braces) and
    /// its value; an error when the family is not declared at all.
    fn samples(&self, name: &str) -> Result<Vec<(&str, f64)>> {
        let declared = format!("# TYPE {name} ");
        let mut found = false;
        let mut samples = Vec::new();
        for line in self.text.lines() {
            if line.starts_with(&declared) {
                found = true;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (series_name, labels) = match series.split_once('{') {
                Some((series_name, labels)) => (series_name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            if series_name == name {
                let value: f64 = value
                    .parse()
                    .map_err(|_| Error::protocol(format!("bad sample {line:?} in /metrics")))?;
                samples.push((labels, value));
            }
        }
        if found {
            Ok(samples)
        } else {
            Err(Error::protocol(format!("/metrics has no {name}")))
        }
    }

    /// The sum of every sample of family `name` (a gauge or counter with whole values).
    pub(crate) fn sum(&self, name: &str) -> Result<u64> {
        Ok(self
            .samples(name)?
            .iter()
            .map(|(_, value)| *value as u64)
            .sum())
    }

    /// The samples of family `name` by the value of their label `key`.
    pub(crate) fn by_label(&self, name: &str, key: &str) -> Result<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for (labels, value) in self.samples(name)? {
            if let Some(label) = label_value(labels, key) {
                *out.entry(label.to_owned()).or_default() += value as u64;
            }
        }
        Ok(out)
    }
}

/// The value of label `key` in `a="x",key="y"`. The families read here have no escaped quotes
/// in their values.
fn label_value<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == key).then(|| value.trim().trim_matches('"'))
    })
}

/// The sum of the `ferrio_sessions` gauge (one sample per transport), when an admin listener is
/// given.
pub(crate) async fn sessions(ctx: &Ctx, admin: Option<SocketAddr>) -> Result<Option<u64>> {
    let Some(admin) = admin else {
        return Ok(None);
    };
    scrape(ctx, admin).await?.sum("ferrio_sessions").map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP ferrio_sessions Live sessions.\n# TYPE ferrio_sessions gauge\n\
                        ferrio_sessions{transport=\"websocket\"} 3\n\
                        ferrio_sessions{transport=\"xhr-polling\"} 4\n\
                        ferrio_sessions_total 99\n# TYPE ferrio_buffered_packets gauge\n\
                        ferrio_buffered_packets 7\n\
                        # TYPE ferrio_disconnects_total counter\n\
                        ferrio_disconnects_total{reason=\"close timeout\"} 5\n\
                        ferrio_disconnects_total{reason=\"budget exceeded\"} 2\n";

    #[test]
    fn gauge_sums_transports() {
        let metrics = Metrics::from_text(TEXT);
        assert_eq!(metrics.sum("ferrio_sessions").expect("declared"), 7);
        assert_eq!(metrics.sum("ferrio_buffered_packets").expect("declared"), 7);
    }

    #[test]
    fn gauge_without_samples_is_zero_and_missing_gauge_is_an_error() {
        let declared = Metrics::from_text("# TYPE ferrio_sessions gauge\n");
        assert_eq!(declared.sum("ferrio_sessions").expect("declared"), 0);
        let other = Metrics::from_text("# TYPE other gauge\nother 1\n");
        assert!(other.sum("ferrio_sessions").is_err());
    }

    #[test]
    fn samples_are_read_by_label() {
        let metrics = Metrics::from_text(TEXT);
        let reasons = metrics
            .by_label("ferrio_disconnects_total", "reason")
            .expect("declared");
        assert_eq!(reasons.get("close timeout"), Some(&5));
        assert_eq!(reasons.get("budget exceeded"), Some(&2));
        assert_eq!(reasons.len(), 2);
    }
}
