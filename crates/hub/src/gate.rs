//! Rate-limited logging for the lines a client can provoke at will (refusals, floods,
//! overflows): one per provocation would let an attacker fill the disks and drown the
//! operators' view. The counters in the metrics stay exact; the log keeps a sample.

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::admission::{Bucket, Rate};

/// Lines let through: a burst of five, then one a second.
const LINES: Rate = Rate {
    per_second: 1.0,
    burst: 5,
};

/// One kind of log line, let through at most at a steady rate. A line that is let through
/// says how many of its kind were held back since the last one (`suppressed`).
///
/// ```
/// # use ferrio_hub::LogGate;
/// static REFUSED: LogGate = LogGate::new();
/// if let Some(suppressed) = REFUSED.admit() {
///     tracing::info!(suppressed, "request refused");
/// }
/// ```
#[derive(Debug)]
pub struct LogGate {
    state: Mutex<Option<GateState>>,
}

#[derive(Debug)]
struct GateState {
    bucket: Bucket,
    suppressed: u64,
}

impl LogGate {
    /// A gate that has let nothing through yet; `const`, so it can be a `static`.
    pub const fn new() -> Self {
        LogGate {
            state: Mutex::new(None),
        }
    }

    /// Whether a line may be written now: `Some` with the number of lines held back since the
    /// last one written, or `None` to skip this one.
    pub fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut state = self.state.lock();
        let state = state.get_or_insert_with(|| GateState {
            bucket: Bucket::full(LINES, now),
            suppressed: 0,
        });
        if state.bucket.take(LINES, now) {
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed += 1;
            None
        }
    }
}

impl Default for LogGate {
    fn default() -> Self {
        LogGate::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_one_line_a_second_counting_what_was_held_back() {
        let gate = LogGate::new();
        for _ in 0..5 {
            assert_eq!(gate.admit(), Some(0));
        }
        for _ in 0..100 {
            assert_eq!(gate.admit(), None);
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            gate.admit(),
            Some(100),
            "the next line says what it stood for"
        );
        assert_eq!(gate.admit(), None);
    }
}
