//! The cluster's counters and their Prometheus form (`ferrio_cluster_*`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of one node's part in the cluster.
#[derive(Debug, Default)]
pub struct ClusterMetrics {
    pub(crate) redis_up: AtomicBool,
    pub(crate) nodes_live: AtomicU64,
    pub(crate) heartbeats_failed: AtomicU64,
    pub(crate) fenced: AtomicU64,
    pub(crate) appended: AtomicU64,
    pub(crate) append_retries: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) pending: AtomicU64,
    pub(crate) read: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) gaps: AtomicU64,
    pub(crate) missed: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) forwarded_out: AtomicU64,
    pub(crate) forwarded_in: AtomicU64,
    pub(crate) taken: AtomicU64,
    pub(crate) handed_over: AtomicU64,
    pub(crate) link_failures: AtomicU64,
    pub(crate) link_refused: AtomicU64,
    pub(crate) requeued: AtomicU64,
    /// Link round trips: how many, and their total in microseconds.
    pub(crate) round_trips: AtomicU64,
    pub(crate) round_trip_micros: AtomicU64,
    /// Client requests forwarded, by transport.
    pub(crate) forwarded_by: parking_lot::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    /// Whether the last Redis command of the registry succeeded.
    pub redis_up: bool,
    /// Live nodes at the last heartbeat, this one included.
    pub nodes_live: u64,
    /// Heartbeats that could not reach Redis.
    pub heartbeats_failed: u64,
    /// Times this node fenced itself after a pause past its registration's expiry.
    pub fenced: u64,
    /// Broadcasts appended to the bus.
    pub appended: u64,
    /// Append attempts that failed and were retried.
    pub append_retries: u64,
    /// Broadcasts given up after Redis stayed unreachable for the publish retry time, or
    /// refused because too many were waiting: each is a gap every other node counts.
    pub dropped: u64,
    /// Broadcasts waiting to be appended.
    pub pending: u64,
    /// Entries of other nodes read from the bus.
    pub read: u64,
    /// Entries read twice (an append retried after it had landed) and skipped.
    pub duplicates: u64,
    /// Places where entries of one origin went missing.
    pub gaps: u64,
    /// Entries those gaps lost.
    pub missed: u64,
    /// Entries that could not be read as a broadcast, skipped.
    pub malformed: u64,
    /// Deliveries of other nodes' broadcasts to this node's sessions.
    pub delivered: u64,
    /// Client requests forwarded to the node serving their session.
    pub forwarded_out: u64,
    /// Client requests other nodes forwarded here.
    pub forwarded_in: u64,
    /// Sessions minted elsewhere and taken over here at their first transport request.
    pub taken: u64,
    /// Sessions minted here and handed over to the node their first transport request reached.
    pub handed_over: u64,
    /// Link requests that failed (peer unreachable, link broken, no answer).
    pub link_failures: u64,
    /// Link requests refused for a missing or wrong cluster secret.
    pub link_refused: u64,
    /// Batches of forwarded polls that went back to their session unconfirmed.
    pub requeued: u64,
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl ClusterMetrics {
    pub(crate) fn add(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub(crate) fn round_trip(&self, took: std::time::Duration) {
        Self::add(&self.round_trips, 1);
        Self::add(
            &self.round_trip_micros,
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        );
    }

    pub(crate) fn forwarded(&self, transport: &'static str) {
        Self::add(&self.forwarded_out, 1);
        *self.forwarded_by.lock().entry(transport).or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> ClusterSnapshot {
        ClusterSnapshot {
            redis_up: self.redis_up.load(Ordering::Relaxed),
            nodes_live: get(&self.nodes_live),
            heartbeats_failed: get(&self.heartbeats_failed),
            fenced: get(&self.fenced),
            appended: get(&self.appended),
            append_retries: get(&self.append_retries),
            dropped: get(&self.dropped),
            pending: get(&self.pending),
            read: get(&self.read),
            duplicates: get(&self.duplicates),
            gaps: get(&self.gaps),
            missed: get(&self.missed),
            malformed: get(&self.malformed),
            delivered: get(&self.delivered),
            forwarded_out: get(&self.forwarded_out),
            forwarded_in: get(&self.forwarded_in),
            taken: get(&self.taken),
            handed_over: get(&self.handed_over),
            link_failures: get(&self.link_failures),
            link_refused: get(&self.link_refused),
            requeued: get(&self.requeued),
        }
    }

    /// Appends the counters in Prometheus text form, `node` naming this node.
    pub fn render(&self, node: &str, out: &mut String) {
        let s = self.snapshot();
        let metrics: [(&str, &str, &str, u64); 22] = [
            (
                "ferrio_cluster_node_info",
                "gauge",
                "This node's id in the cluster (label node).",
                1,
            ),
            (
                "ferrio_cluster_redis_up",
                "gauge",
                "Whether Redis answered the last heartbeat.",
                u64::from(s.redis_up),
            ),
            (
                "ferrio_cluster_nodes_live",
                "gauge",
                "Live nodes at the last heartbeat, this one included.",
                s.nodes_live,
            ),
            (
                "ferrio_cluster_heartbeats_failed_total",
                "counter",
                "Heartbeats that could not reach Redis.",
                s.heartbeats_failed,
            ),
            (
                "ferrio_cluster_fenced_total",
                "counter",
                "Times this node ended its sessions and took a new id after a pause past its expiry.",
                s.fenced,
            ),
            (
                "ferrio_cluster_bus_appended_total",
                "counter",
                "Broadcasts appended to the bus.",
                s.appended,
            ),
            (
                "ferrio_cluster_bus_append_retries_total",
                "counter",
                "Failed appends that were retried.",
                s.append_retries,
            ),
            (
                "ferrio_cluster_bus_dropped_total",
                "counter",
                "Broadcasts given up unappended (Redis unreachable past the publish retry time, or the queue full).",
                s.dropped,
            ),
            (
                "ferrio_cluster_bus_pending",
                "gauge",
                "Broadcasts waiting to be appended.",
                s.pending,
            ),
            (
                "ferrio_cluster_bus_read_total",
                "counter",
                "Entries of other nodes read from the bus.",
                s.read,
            ),
            (
                "ferrio_cluster_bus_duplicates_total",
                "counter",
                "Entries read twice and skipped.",
                s.duplicates,
            ),
            (
                "ferrio_cluster_bus_gaps_total",
                "counter",
                "Places where entries of one origin went missing.",
                s.gaps,
            ),
            (
                "ferrio_cluster_bus_missed_total",
                "counter",
                "Entries lost in those gaps.",
                s.missed,
            ),
            (
                "ferrio_cluster_bus_malformed_total",
                "counter",
                "Bus entries that were not a broadcast, skipped.",
                s.malformed,
            ),
            (
                "ferrio_cluster_forwarded_out_total",
                "counter",
                "Client requests forwarded to the node serving their session.",
                s.forwarded_out,
            ),
            (
                "ferrio_cluster_forwarded_in_total",
                "counter",
                "Client requests other nodes forwarded here.",
                s.forwarded_in,
            ),
            (
                "ferrio_cluster_taken_total",
                "counter",
                "Sessions minted elsewhere taken over here at their first transport request.",
                s.taken,
            ),
            (
                "ferrio_cluster_handed_over_total",
                "counter",
                "Sessions minted here handed over to the node their first transport request reached.",
                s.handed_over,
            ),
            (
                "ferrio_cluster_link_failures_total",
                "counter",
                "Link requests that failed: peer unreachable, link broken, no answer.",
                s.link_failures,
            ),
            (
                "ferrio_cluster_link_refused_total",
                "counter",
                "Link requests refused for a missing or wrong cluster secret.",
                s.link_refused,
            ),
            (
                "ferrio_cluster_requeued_total",
                "counter",
                "Batches of forwarded polls that went back to their session unconfirmed (link broken, client gone).",
                s.requeued,
            ),
            (
                "ferrio_cluster_bus_delivered_total",
                "counter",
                "Deliveries of other nodes' broadcasts to this node's sessions.",
                s.delivered,
            ),
        ];
        for (name, kind, help, value) in metrics {
            // Writing into a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            if name == "ferrio_cluster_node_info" {
                let _ = writeln!(out, "{name}{{node=\"{node}\"}} {value}");
            } else {
                let _ = writeln!(out, "{name} {value}");
            }
        }
        let round_trips = get(&self.round_trips);
        let micros = get(&self.round_trip_micros);
        let _ = writeln!(
            out,
            "# HELP ferrio_cluster_link_round_trip_seconds Round trips of the cluster's own requests over the links (takes, lookups, confirmations)."
        );
        let _ = writeln!(out, "# TYPE ferrio_cluster_link_round_trip_seconds summary");
        let _ = writeln!(
            out,
            "ferrio_cluster_link_round_trip_seconds_sum {}",
            micros as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "ferrio_cluster_link_round_trip_seconds_count {round_trips}"
        );
        let _ = writeln!(
            out,
            "# HELP ferrio_cluster_forwarded_total Client requests forwarded to the node serving their session, by transport."
        );
        let _ = writeln!(out, "# TYPE ferrio_cluster_forwarded_total counter");
        for (transport, count) in self.forwarded_by.lock().iter() {
            let _ = writeln!(
                out,
                "ferrio_cluster_forwarded_total{{transport=\"{transport}\"}} {count}"
            );
        }
    }
}
