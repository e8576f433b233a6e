//! The server's memory and sessions as the soak reads them: `VmRSS` from `/proc` (with
//! `--server-pid`) and, from ferrio's admin listener (with `--admin`), jemalloc's figures
//! (`ferrio_allocator_bytes`) and the live sessions (`ferrio_sessions`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::admin::{self, Metrics};
use crate::client::Ctx;
use crate::error::Result;
use crate::probe::Probe;
use crate::stats::round1;

/// One reading; each figure is there when its source was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Resident set size, KiB.
    pub(crate) rss_kb: Option<u64>,
    /// Bytes the application holds, as jemalloc counts them.
    pub(crate) allocated: Option<u64>,
    /// Bytes of jemalloc's pages in RAM.
    pub(crate) resident: Option<u64>,
    /// Live sessions (handshaken but not connected included).
    pub(crate) sessions: Option<u64>,
}

impl Reading {
    /// As JSON.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "rss_kb": self.rss_kb,
            "allocated_bytes": self.allocated,
            "jemalloc_resident_bytes": self.resident,
            "sessions": self.sessions,
        })
    }

    /// The larger of each figure.
    pub(crate) fn max(self, other: Reading) -> Reading {
        let max = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Reading {
            rss_kb: max(self.rss_kb, other.rss_kb),
            allocated: max(self.allocated, other.allocated),
            resident: max(self.resident, other.resident),
            sessions: max(self.sessions, other.sessions),
        }
    }
}

/// Reads the server.
#[derive(Debug, Clone)]
pub(crate) struct Gauge {
    probe: Probe,
    admin: Option<SocketAddr>,
}

/// Readings a steady figure is the median of.
pub(crate) const STEADY_READINGS: usize = 5;
/// Time between those readings.
pub(crate) const STEADY_EVERY: Duration = Duration::from_secs(1);

impl Gauge {
    /// A gauge of the process `probe` reads and the admin listener at `admin`.
    pub(crate) fn new(probe: Probe, admin: Option<SocketAddr>) -> Self {
        Gauge { probe, admin }
    }

    /// `/metrics` of the admin listener, if one was given.
    pub(crate) async fn metrics(&self, ctx: &Ctx) -> Result<Option<Metrics>> {
        match self.admin {
            Some(admin) => admin::scrape(ctx, admin).await.map(Some),
            None => Ok(None),
        }
    }

    /// One reading now.
    pub(crate) async fn read(&self, ctx: &Ctx) -> Result<Reading> {
        let rss_kb = self.probe.sample()?.map(|sample| sample.rss_kb);
        let mut reading = Reading {
            rss_kb,
            ..Reading::default()
        };
        if let Some(metrics) = self.metrics(ctx).await? {
            let allocator = metrics.by_label("ferrio_allocator_bytes", "kind")?;
            reading.allocated = allocator.get("allocated").copied();
            reading.resident = allocator.get("resident").copied();
            reading.sessions = Some(metrics.sum("ferrio_sessions")?);
        }
        Ok(reading)
    }

    /// The median of [`STEADY_READINGS`] readings [`STEADY_EVERY`] apart, figure by figure: one
    /// reading can catch a burst of the healthy members' chat.
    pub(crate) async fn steady(&self, ctx: &Ctx) -> Result<Reading> {
        if !self.probe.has_pid() && self.admin.is_none() {
            return Ok(Reading::default());
        }
        let mut readings = Vec::with_capacity(STEADY_READINGS);
        for index in 0..STEADY_READINGS {
            if index > 0 {
                tokio::time::sleep(STEADY_EVERY).await;
            }
            readings.push(self.read(ctx).await?);
        }
        Ok(Reading {
            rss_kb: median(readings.iter().filter_map(|r| r.rss_kb).collect()),
            allocated: median(readings.iter().filter_map(|r| r.allocated).collect()),
            resident: median(readings.iter().filter_map(|r| r.resident).collect()),
            sessions: median(readings.iter().filter_map(|r| r.sessions).collect()),
        })
    }
}

/// The median (the upper one of an even count), or `None` without values.
fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

/// How far `settled` is above `baseline`, in percent.
pub(crate) fn growth_pct(baseline: u64, settled: u64) -> Option<f64> {
    (baseline > 0).then(|| round1((settled as f64 / baseline as f64 - 1.0) * 100.0))
}

/// Counters of the server that say which defences fired and how sessions ended:
/// `ferrio_disconnects_total` by reason, `ferrio_handshakes_total` by outcome.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    disconnects: BTreeMap<String, u64>,
    handshakes: BTreeMap<String, u64>,
}

impl Counters {
    /// The counters in `metrics`.
    pub(crate) fn of(metrics: &Metrics) -> Result<Self> {
        Ok(Counters {
            disconnects: metrics.by_label("ferrio_disconnects_total", "reason")?,
            handshakes: metrics.by_label("ferrio_handshakes_total", "outcome")?,
        })
    }

    /// What grew from `earlier` to `self`, as JSON.
    pub(crate) fn since(&self, earlier: &Counters) -> Value {
        let delta = |now: &BTreeMap<String, u64>, then: &BTreeMap<String, u64>| {
            now.iter()
                .filter_map(|(key, value)| {
                    let grown = value.saturating_sub(then.get(key).copied().unwrap_or(0));
                    (grown > 0).then(|| (key.clone(), json!(grown)))
                })
                .collect::<serde_json::Map<String, Value>>()
        };
        json!({
            "disconnects": delta(&self.disconnects, &earlier.disconnects),
            "handshakes": delta(&self.handshakes, &earlier.handshakes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_growth() {
        assert_eq!(median(vec![5, 1, 9, 3, 7]), Some(5));
        assert_eq!(median(vec![2, 1]), Some(2));
        assert_eq!(median(Vec::new()), None);
        assert_eq!(growth_pct(1000, 1100), Some(10.0));
        assert_eq!(growth_pct(1000, 950), Some(-5.0));
        assert_eq!(growth_pct(0, 5), None);
    }

    #[test]
    fn peaks_take_each_figure_s_largest() {
        let a = Reading {
            rss_kb: Some(10),
            allocated: Some(5),
            resident: None,
            sessions: Some(3),
        };
        let b = Reading {
            rss_kb: Some(8),
            allocated: Some(7),
            resident: Some(1),
            sessions: None,
        };
        assert_eq!(
            a.max(b),
            Reading {
                rss_kb: Some(10),
                allocated: Some(7),
                resident: Some(1),
                sessions: Some(3),
            }
        );
    }
}
