//! Per-origin sequence numbers of the bus: what makes a read entry new, a duplicate (an append
//! retried after its first attempt had in fact landed), or the first after a gap (entries
//! trimmed away, lost with a Redis restarted without persistence, or given up by their
//! publisher). Pure bookkeeping, no I/O.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What to do with an entry read from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it; `missed` entries of the same origin before it never arrived.
    Deliver { missed: u64 },
    /// Already delivered: skip it.
    Duplicate,
}

/// The last sequence number seen of every origin node.
#[derive(Debug, Default)]
pub(crate) struct Sequences {
    last: HashMap<String, Seen>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    seq: u64,
    at: Instant,
}

impl Sequences {
    /// Judges entry `seq` of `origin`, read at `now`. The first entry of an origin is new
    /// whatever its number: what came before it was published before this node was reading.
    pub(crate) fn observe(&mut self, origin: &str, seq: u64, now: Instant) -> Verdict {
        match self.last.get_mut(origin) {
            None => {
                self.last.insert(origin.to_owned(), Seen { seq, at: now });
                Verdict::Deliver { missed: 0 }
            }
            Some(seen) if seq <= seen.seq => Verdict::Duplicate,
            Some(seen) => {
                let missed = seq - seen.seq - 1;
                *seen = Seen { seq, at: now };
                Verdict::Deliver { missed }
            }
        }
    }

    /// Forgets origins silent for `silence`: nodes that stopped, whose ids never come back.
    pub(crate) fn forget_silent(&mut self, now: Instant, silence: Duration) {
        self.last
            .retain(|_, seen| now.saturating_duration_since(seen.at) < silence);
    }

    /// How many origins are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_entries_are_delivered_and_repeats_skipped() {
        let now = Instant::now();
        let mut sequences = Sequences::default();
        assert_eq!(
            sequences.observe("a", 7, now),
            Verdict::Deliver { missed: 0 }
        );
        assert_eq!(
            sequences.observe("a", 8, now),
            Verdict::Deliver { missed: 0 }
        );
        assert_eq!(sequences.observe("a", 8, now), Verdict::Duplicate);
        assert_eq!(sequences.observe("a", 3, now), Verdict::Duplicate);
        assert_eq!(
            sequences.observe("b", 1, now),
            Verdict::Deliver { missed: 0 }
        );
        assert_eq!(
            sequences.observe("a", 9, now),
            Verdict::Deliver { missed: 0 }
        );
    }

    #[test]
    fn a_jump_counts_what_is_missing() {
        let now = Instant::now();
        let mut sequences = Sequences::default();
        sequences.observe("a", 1, now);
        assert_eq!(
            sequences.observe("a", 5, now),
            Verdict::Deliver { missed: 3 }
        );
        assert_eq!(
            sequences.observe("a", 6, now),
            Verdict::Deliver { missed: 0 }
        );
    }

    #[test]
    fn silent_origins_are_forgotten() {
        let start = Instant::now();
        let mut sequences = Sequences::default();
        sequences.observe("gone", 1, start);
        sequences.observe("live", 1, start + Duration::from_secs(50));
        sequences.forget_silent(start + Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(sequences.len(), 1);
        assert_eq!(
            sequences.observe("live", 2, start),
            Verdict::Deliver { missed: 0 }
        );
    }
}
