//! What the dashboard charts: the hub's cumulative counters sampled once a second into a short
//! ring, so the page opens on the last minutes instead of an empty chart, and every viewer sees
//! the same rates. Only counters are read (no session is visited), so sampling costs a few
//! dozen atomic loads a second whether or not anyone watches.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ferrio_hub::HubMetrics;
use parking_lot::Mutex;

/// How often the counters are sampled: the resolution of the charts.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// How many per-second rates the charts get: the last two minutes.
const RATE_POINTS: usize = 120;

/// How far back the recent disconnects reach.
const DISCONNECT_WINDOW: Duration = Duration::from_secs(300);

/// Samples kept: enough to reach back over the disconnect window and the charts.
const KEPT: usize = {
    let window = (DISCONNECT_WINDOW.as_secs() / SAMPLE_EVERY.as_secs()) as usize;
    let kept = if window > RATE_POINTS {
        window
    } else {
        RATE_POINTS
    };
    kept + 1
};

/// The packet types that carry the application's data (as opposed to connects, heartbeats,
/// noops and errors): what the dashboard calls messages.
const MESSAGE_TYPES: [&str; 4] = ["message", "json", "event", "ack"];

/// The counters the dashboard follows, at one moment; every figure counts from the start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Activity {
    pub(crate) handshakes_accepted: u64,
    /// Every handshake refused, whatever the reason.
    pub(crate) handshakes_refused: u64,
    /// Application packets received from clients.
    pub(crate) messages_in: u64,
    /// Application packets written to clients.
    pub(crate) messages_out: u64,
    /// Ended sessions and namespace sockets, by reason (every reason, in label order).
    pub(crate) disconnects: Vec<(&'static str, u64)>,
}

impl Activity {
    /// Reads the counters now.
    pub(crate) fn read(counters: &HubMetrics) -> Self {
        let mut activity = Activity::default();
        for (outcome, count) in counters.handshakes() {
            if outcome == "accepted" {
                activity.handshakes_accepted += count;
            } else {
                activity.handshakes_refused += count;
            }
        }
        for (kind, received, written) in counters.packets_by_type() {
            if MESSAGE_TYPES.contains(&kind) {
                activity.messages_in += received;
                activity.messages_out += written;
            }
        }
        activity.disconnects = counters.disconnects();
        activity
    }
}

/// Per-second rates over the charted interval, oldest first, one value per sample interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Rates {
    pub(crate) handshakes_accepted: Vec<f64>,
    pub(crate) handshakes_refused: Vec<f64>,
    pub(crate) messages_in: Vec<f64>,
    pub(crate) messages_out: Vec<f64>,
}

/// Disconnects over the recent past.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RecentDisconnects {
    /// How far back the counts reach: the disconnect window, or less while the listener has
    /// not been up that long.
    pub(crate) seconds: u64,
    /// The reasons that ended something in that time, with how often, most frequent first.
    pub(crate) reasons: Vec<(&'static str, u64)>,
}

/// The ring of samples.
#[derive(Debug, Default)]
pub(crate) struct History {
    samples: Mutex<VecDeque<(Instant, Activity)>>,
}

impl History {
    /// Keeps `activity` as read at `at`, dropping the oldest sample past [`KEPT`].
    pub(crate) fn record(&self, at: Instant, activity: Activity) {
        let mut samples = self.samples.lock();
        if samples.len() == KEPT {
            samples.pop_front();
        }
        samples.push_back((at, activity));
    }

    /// The rates between consecutive samples of the last [`RATE_POINTS`] intervals, divided by
    /// the time that really passed between them (a tick can come late).
    pub(crate) fn rates(&self) -> Rates {
        let mut samples = self.samples.lock();
        let samples = samples.make_contiguous();
        let recent = &samples[samples.len().saturating_sub(RATE_POINTS + 1)..];
        let series = |count: fn(&Activity) -> u64| -> Vec<f64> {
            recent
                .windows(2)
                .map(|pair| {
                    let ((then, before), (now, after)) = (&pair[0], &pair[1]);
                    let seconds = now.saturating_duration_since(*then).as_secs_f64();
                    per_second(count(after).saturating_sub(count(before)), seconds)
                })
                .collect()
        };
        Rates {
            handshakes_accepted: series(|activity| activity.handshakes_accepted),
            handshakes_refused: series(|activity| activity.handshakes_refused),
            messages_in: series(|activity| activity.messages_in),
            messages_out: series(|activity| activity.messages_out),
        }
    }

    /// The disconnects between the oldest sample within [`DISCONNECT_WINDOW`] of the newest
    /// and the newest.
    pub(crate) fn recent_disconnects(&self) -> RecentDisconnects {
        let samples = self.samples.lock();
        let Some((newest_at, newest)) = samples.back() else {
            return RecentDisconnects::default();
        };
        let Some((oldest_at, oldest)) = samples
            .iter()
            .find(|(at, _)| newest_at.saturating_duration_since(*at) <= DISCONNECT_WINDOW)
        else {
            return RecentDisconnects::default();
        };
        let mut reasons: Vec<(&'static str, u64)> = newest
            .disconnects
            .iter()
            .filter_map(|(reason, count)| {
                let before = oldest
                    .disconnects
                    .iter()
                    .find(|(earlier, _)| earlier == reason)
                    .map_or(0, |(_, count)| *count);
                let recent = count.saturating_sub(before);
                (recent > 0).then_some((*reason, recent))
            })
            .collect();
        // Stable: equal counts keep the label order.
        reasons.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        RecentDisconnects {
            seconds: newest_at.saturating_duration_since(*oldest_at).as_secs(),
            reasons,
        }
    }
}

/// `count` over `seconds`, to two decimals (the page shows no more); 0 for no time.
fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    (count as f64 / seconds * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(handshakes: u64, messages: u64, booted: u64, closed: u64) -> Activity {
        Activity {
            handshakes_accepted: handshakes,
            handshakes_refused: 0,
            messages_in: messages,
            messages_out: messages * 2,
            disconnects: vec![("booted", booted), ("socket close", closed)],
        }
    }

    #[test]
    fn rates_are_deltas_over_the_time_that_passed() {
        let history = History::default();
        let start = Instant::now();
        assert_eq!(
            history.rates(),
            Rates::default(),
            "nothing before two samples"
        );
        history.record(start, activity(0, 0, 0, 0));
        assert!(history.rates().messages_in.is_empty());
        history.record(start + Duration::from_secs(1), activity(3, 10, 0, 0));
        // A late tick: two seconds passed, so the rate is halved.
        history.record(start + Duration::from_secs(3), activity(3, 30, 0, 0));
        let rates = history.rates();
        assert_eq!(rates.handshakes_accepted, [3.0, 0.0]);
        assert_eq!(rates.handshakes_refused, [0.0, 0.0]);
        assert_eq!(rates.messages_in, [10.0, 10.0]);
        assert_eq!(rates.messages_out, [20.0, 20.0]);
        assert_eq!(per_second(1, 3.0), 0.33);
        assert_eq!(per_second(5, 0.0), 0.0);
    }

    #[test]
    fn the_ring_keeps_its_size_and_the_charts_their_length() {
        let history = History::default();
        let start = Instant::now();
        for second in 0..(KEPT as u64 + 50) {
            history.record(
                start + Duration::from_secs(second),
                activity(second, second, 0, 0),
            );
        }
        assert_eq!(history.samples.lock().len(), KEPT);
        let rates = history.rates();
        assert_eq!(rates.handshakes_accepted.len(), RATE_POINTS);
        assert!(rates.handshakes_accepted.iter().all(|rate| *rate == 1.0));
    }

    #[test]
    fn recent_disconnects_count_only_the_window_and_name_only_reasons_that_happened() {
        let history = History::default();
        let start = Instant::now();
        assert_eq!(history.recent_disconnects(), RecentDisconnects::default());
        // Four boots long ago, then one more boot and three closes within the window.
        history.record(start, activity(0, 0, 4, 0));
        let window = DISCONNECT_WINDOW.as_secs();
        history.record(start + Duration::from_secs(10), activity(0, 0, 4, 0));
        history.record(start + Duration::from_secs(window), activity(0, 0, 4, 1));
        history.record(
            start + Duration::from_secs(window + 10),
            activity(0, 0, 5, 3),
        );
        assert_eq!(
            history.recent_disconnects(),
            RecentDisconnects {
                seconds: window,
                reasons: vec![("socket close", 3), ("booted", 1)],
            }
        );
        // Early on, the window is as long as the samples reach.
        let young = History::default();
        young.record(start, activity(0, 0, 0, 0));
        young.record(start + Duration::from_secs(7), activity(0, 0, 2, 0));
        assert_eq!(
            young.recent_disconnects(),
            RecentDisconnects {
                seconds: 7,
                reasons: vec![("booted", 2)],
            }
        );
    }
}
