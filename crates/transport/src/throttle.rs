//! Log lines for events a client can repeat at will (malformed frames, stalled bodies, refused
//! connections): one line a second at most, saying how many events it stands for, so an
//! attacker cannot flood the log while an operator still sees that, and how much, it happens.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two lines of one throttle.
const INTERVAL: Duration = Duration::from_secs(1);

/// Lets one log line a second through for one kind of event, counting the events in between.
/// Meant as a `static` beside the line it guards:
///
/// ```
/// use ferrio_transport::LogThrottle;
///
/// static REFUSED: LogThrottle = LogThrottle::new();
/// if let Some(events) = REFUSED.admit() {
///     tracing::info!(events, "connection refused");
/// }
/// ```
#[derive(Debug)]
pub struct LogThrottle {
    /// When the last line went out; `None` before the first.
    last: Mutex<Option<Instant>>,
    /// Events since the last line, this one included.
    events: AtomicU64,
}

impl LogThrottle {
    /// A throttle that lets its first event through.
    pub const fn new() -> Self {
        LogThrottle {
            last: Mutex::new(None),
            events: AtomicU64::new(0),
        }
    }

    /// Counts one event. `Some(n)` when a line may go out now, `n` being the events since the
    /// last line (this one included); `None` while the last line is less than a second old.
    pub fn admit(&self) -> Option<u64> {
        // The counter orders nothing else.
        self.events.fetch_add(1, Ordering::Relaxed);
        // A contended lock means another thread is deciding right now: this event is counted
        // for the line it may write.
        let mut last = self.last.try_lock().ok()?;
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < INTERVAL) {
            return None;
        }
        *last = Some(now);
        Some(self.events.swap(0, Ordering::Relaxed))
    }
}

impl Default for LogThrottle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_counting_the_events_between() {
        let throttle = LogThrottle::new();
        assert_eq!(throttle.admit(), Some(1));
        for _ in 0..99 {
            assert_eq!(throttle.admit(), None);
        }
        // As if the last line were older than the interval.
        *throttle.last.lock().unwrap() = Instant::now().checked_sub(INTERVAL);
        assert_eq!(throttle.admit(), Some(100));
        assert_eq!(throttle.admit(), None);
    }
}
