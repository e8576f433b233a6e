//! Latency samples and their percentiles.

use serde_json::{Value, json};

/// Latency samples in microseconds.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    samples: Vec<u64>,
}

impl Latencies {
    /// Room for `capacity` samples.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Latencies {
            samples: Vec::with_capacity(capacity),
        }
    }

    /// Records one sample.
    pub(crate) fn push(&mut self, micros: u64) {
        self.samples.push(micros);
    }

    /// Takes in another set.
    pub(crate) fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    /// Takes in a copy of another set.
    pub(crate) fn merge_from(&mut self, other: &Latencies) {
        self.samples.extend_from_slice(&other.samples);
    }

    /// How many samples.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// The nearest-rank percentile `p` (0–100), or `None` without samples.
    fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
        if sorted.is_empty() {
            return None;
        }
        let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
        sorted.get(rank - 1).copied()
    }

    /// `{p50, p90, p99, max, mean}` in microseconds.
    pub(crate) fn summary(mut self) -> Summary {
        self.samples.sort_unstable();
        let sorted = &self.samples;
        let mean = if sorted.is_empty() {
            None
        } else {
            Some(sorted.iter().sum::<u64>() as f64 / sorted.len() as f64)
        };
        Summary {
            count: sorted.len(),
            p50: Self::percentile(sorted, 50),
            p90: Self::percentile(sorted, 90),
            p99: Self::percentile(sorted, 99),
            max: sorted.last().copied(),
            mean,
        }
    }
}

/// Percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary {
    /// Number of samples.
    pub(crate) count: usize,
    /// Median.
    pub(crate) p50: Option<u64>,
    /// 90th percentile.
    pub(crate) p90: Option<u64>,
    /// 99th percentile.
    pub(crate) p99: Option<u64>,
    /// Largest.
    pub(crate) max: Option<u64>,
    /// Arithmetic mean.
    pub(crate) mean: Option<f64>,
}

impl Summary {
    /// As a JSON object.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "p50_us": self.p50,
            "p90_us": self.p90,
            "p99_us": self.p99,
            "max_us": self.max,
            "mean_us": self.mean.map(round1),
        })
    }
}

/// Rounds to one decimal for the JSON line.
pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Rounds to three decimals for the JSON line.
pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut latencies = Latencies::default();
        for micros in (1..=100).rev() {
            latencies.push(micros);
        }
        let summary = latencies.summary();
        assert_eq!(summary.p50, Some(50));
        assert_eq!(summary.p99, Some(99));
        assert_eq!(summary.max, Some(100));
        assert_eq!(summary.count, 100);
    }

    #[test]
    fn empty_has_no_percentiles() {
        let summary = Latencies::default().summary();
        assert_eq!(summary.p50, None);
        assert_eq!(summary.max, None);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let mut latencies = Latencies::with_capacity(1);
        latencies.push(7);
        let summary = latencies.summary();
        assert_eq!(
            (summary.p50, summary.p99, summary.max),
            (Some(7), Some(7), Some(7))
        );
    }
}
