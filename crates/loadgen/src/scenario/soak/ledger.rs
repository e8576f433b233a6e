//! The healthy members' ledger: every line each member hears, checked as it arrives (each
//! speaker's lines once and in order) and at the end against what each speaker is known to
//! have said (nothing lost, nothing extra).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

use crate::chat::Line;
use crate::stats::{Latencies, Summary};

/// The most failures quoted in the report; the counts are exact.
const EXAMPLES: usize = 10;

/// What the ledger knows a speaker said, learned when it registers and when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Said {
    /// Lines every member must have heard: those the speaker saw echoed, or wrote.
    pub(crate) at_least: u64,
    /// Lines the speaker may have said at most.
    pub(crate) at_most: u64,
    /// Whether the server may have refused some of its lines (a flooder over its inbound
    /// budget), so that members hear its numbers with gaps; they must still all hear the
    /// same lines.
    pub(crate) refusable: bool,
}

impl Said {
    /// A speaker still talking: anything up to now is fine.
    pub(crate) fn talking(refusable: bool) -> Self {
        Said {
            at_least: 0,
            at_most: u64::MAX,
            refusable,
        }
    }

    /// Whether the speaker is still talking, so that what it said is not known yet.
    fn talking_still(&self) -> bool {
        self.at_most == u64::MAX
    }

    /// A speaker done, known to have said between `at_least` and `at_most` lines.
    pub(crate) fn between(at_least: u64, at_most: u64) -> Self {
        Said {
            at_least,
            at_most,
            refusable: false,
        }
    }
}

/// One member's count of one speaker.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// The highest line number heard.
    last: u64,
    /// Lines heard that were above every line heard before: a repeat never counts twice,
    /// so a repeat cannot hide a loss (a line arriving late is counted as lost, and as
    /// misheard, which fails the run either way).
    rising: u64,
}

/// What one member heard.
#[derive(Debug, Default)]
struct Book {
    from: HashMap<String, Tally>,
    heard: u64,
    misordered: u64,
    latencies: Latencies,
}

/// Failures of one kind: the exact count and the first few, quoted.
#[derive(Debug, Default, Clone)]
pub(crate) struct Failures {
    /// How many.
    pub(crate) count: u64,
    /// The first [`EXAMPLES`] of them.
    pub(crate) examples: Vec<String>,
}

impl Failures {
    /// Counts `count` more, quoting `example` if there is room.
    pub(crate) fn add(&mut self, count: u64, example: impl FnOnce() -> String) {
        if count == 0 {
            return;
        }
        self.count += count;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }

    /// As JSON.
    pub(crate) fn to_json(&self) -> Value {
        json!({ "count": self.count, "examples": self.examples })
    }
}

/// Every member's book and every speaker's account.
#[derive(Debug)]
pub(crate) struct Ledger {
    books: Vec<Mutex<Book>>,
    speakers: Mutex<BTreeMap<String, Said>>,
    /// Lines heard twice, out of order or with a gap, or from no registered speaker.
    misheard: Mutex<Failures>,
}

/// The ledger's account at the end of a run.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    /// Lines the members heard, all together.
    pub(crate) delivered: u64,
    /// Speakers registered.
    pub(crate) speakers: usize,
    /// Lines a member should have heard and did not (one per member and line).
    pub(crate) lost: Failures,
    /// Lines a member heard beyond what their speaker can have said.
    pub(crate) extra: Failures,
    /// Lines heard twice, out of order or with a gap, or from nobody known.
    pub(crate) misheard: Failures,
    /// Speakers whose lines the members did not all hear alike (only refusable speakers'
    /// lines can differ from what was said, but never between members).
    pub(crate) disagreements: Failures,
    /// Delivery latency of the lines of speakers whose lines cannot be refused.
    pub(crate) latency: Summary,
}

impl Audit {
    /// Whether nothing went wrong.
    pub(crate) fn clean(&self) -> bool {
        self.lost.count == 0
            && self.extra.count == 0
            && self.misheard.count == 0
            && self.disagreements.count == 0
    }

    /// As JSON.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "delivered": self.delivered,
            "speakers": self.speakers,
            "lost": self.lost.to_json(),
            "extra": self.extra.to_json(),
            "misheard": self.misheard.to_json(),
            "disagreements": self.disagreements.to_json(),
            "latency": self.latency.to_json(),
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking member cannot leave a book half-updated in a way that matters here.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ledger {
    /// A ledger for `members` members.
    pub(crate) fn new(members: usize) -> Self {
        Ledger {
            books: (0..members).map(|_| Mutex::default()).collect(),
            speakers: Mutex::default(),
            misheard: Mutex::default(),
        }
    }

    /// Registers a speaker, or updates what it is known to have said. Speakers register
    /// before their first line, so no member hears a line of an unknown speaker.
    pub(crate) fn speaker(&self, nome: &str, said: Said) {
        lock(&self.speakers).insert(nome.to_owned(), said);
    }

    /// Member `member` heard `line` at `now` (run clock, µs).
    pub(crate) fn heard(&self, member: usize, line: Line<'_>, now: u64) {
        let refusable = match lock(&self.speakers).get(line.nome) {
            Some(said) => said.refusable,
            None => {
                lock(&self.misheard).add(1, || {
                    format!("member {member} heard {}:{} of nobody", line.nome, line.seq)
                });
                return;
            }
        };
        let Some(book) = self.books.get(member) else {
            return;
        };
        let mut book = lock(book);
        book.heard += 1;
        if !refusable {
            book.latencies.push(now.saturating_sub(line.micros));
        }
        let tally = book.from.entry(line.nome.to_owned()).or_default();
        let last = tally.last;
        let fine = line.seq == last + 1 || (refusable && line.seq > last);
        if line.seq > last {
            tally.last = line.seq;
            tally.rising += 1;
        }
        if !fine {
            book.misordered += 1;
            drop(book);
            let what = if line.seq <= last {
                "twice or out of order"
            } else {
                "after a gap"
            };
            lock(&self.misheard).add(1, || {
                format!(
                    "member {member} heard {}:{} {what} (last was {last})",
                    line.nome, line.seq
                )
            });
        }
    }

    /// Whether every speaker is done, every member has heard at least what each is known to
    /// have said, and all members heard each refusable speaker alike: the end of a run waits
    /// for this.
    pub(crate) fn complete(&self) -> bool {
        if lock(&self.speakers).values().any(Said::talking_still) {
            return false;
        }
        let audit = self.account(false);
        audit.lost.count == 0 && audit.disagreements.count == 0
    }

    /// The account as it stands.
    pub(crate) fn audit(&self) -> Audit {
        self.account(true)
    }

    /// The account, with the latencies only when asked for (they are many to copy).
    fn account(&self, with_latency: bool) -> Audit {
        let speakers = lock(&self.speakers).clone();
        let mut lost = Failures::default();
        let mut extra = Failures::default();
        let mut disagreements = Failures::default();
        let mut delivered = 0;
        let mut latencies = Latencies::default();
        let mut refusable_heard: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
        for (member, book) in self.books.iter().enumerate() {
            let book = lock(book);
            delivered += book.heard;
            if with_latency {
                latencies.merge_from(&book.latencies);
            }
            for (nome, said) in &speakers {
                let tally = book.from.get(nome).copied().unwrap_or_default();
                if said.refusable {
                    refusable_heard
                        .entry(nome)
                        .or_default()
                        .push((tally.rising, tally.last));
                }
                lost.add(said.at_least.saturating_sub(tally.rising), || {
                    format!(
                        "member {member} heard {} of {nome}'s {} lines",
                        tally.rising, said.at_least
                    )
                });
                extra.add(tally.rising.saturating_sub(said.at_most), || {
                    format!(
                        "member {member} heard {} lines of {nome}, who said at most {}",
                        tally.rising, said.at_most
                    )
                });
            }
        }
        for (nome, heard) in refusable_heard {
            if heard.windows(2).any(|pair| pair[0] != pair[1]) {
                disagreements.add(1, || {
                    format!("members heard {nome}'s lines differently (count, last): {heard:?}")
                });
            }
        }
        Audit {
            delivered,
            speakers: speakers.len(),
            lost,
            extra,
            misheard: lock(&self.misheard).clone(),
            disagreements,
            latency: latencies.summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(nome: &str, seq: u64) -> Line<'_> {
        Line {
            nome,
            seq,
            micros: 0,
            attached: None,
        }
    }

    #[test]
    fn every_line_once_in_order_is_clean() {
        let ledger = Ledger::new(2);
        ledger.speaker("h0", Said::talking(false));
        for member in 0..2 {
            for seq in 1..=3 {
                ledger.heard(member, line("h0", seq), 10);
            }
        }
        assert!(!ledger.complete(), "h0 has not said how much it said");
        ledger.speaker("h0", Said::between(3, 3));
        let audit = ledger.audit();
        assert!(audit.clean(), "{audit:?}");
        assert!(ledger.complete());
        assert_eq!(audit.delivered, 6);
    }

    #[test]
    fn a_missing_line_is_lost_and_a_repeat_misheard() {
        let ledger = Ledger::new(2);
        ledger.speaker("c1", Said::talking(false));
        ledger.heard(0, line("c1", 1), 0);
        ledger.heard(0, line("c1", 2), 0);
        ledger.heard(1, line("c1", 1), 0);
        ledger.heard(1, line("c1", 1), 0);
        ledger.speaker("c1", Said::between(2, 2));
        let audit = ledger.audit();
        assert!(!ledger.complete());
        // Member 1 heard line 1 twice and line 2 never: the repeat hides nothing.
        assert_eq!(audit.misheard.count, 1, "{audit:?}");
        assert_eq!(audit.lost.count, 1);
        assert!(audit.lost.examples[0].contains("member 1 heard 1 of c1's 2"));
        let ledger = Ledger::new(1);
        ledger.speaker("c2", Said::between(2, 3));
        ledger.heard(0, line("c2", 1), 0);
        let audit = ledger.audit();
        assert_eq!(audit.lost.count, 1);
        assert!(audit.lost.examples[0].contains("heard 1 of c2's 2"));
    }

    #[test]
    fn gaps_are_misheard_unless_the_speaker_is_refusable() {
        let ledger = Ledger::new(2);
        ledger.speaker("h0", Said::talking(false));
        ledger.speaker("f0", Said::talking(true));
        ledger.heard(0, line("h0", 2), 0);
        for member in 0..2 {
            ledger.heard(member, line("f0", 1), 0);
            ledger.heard(member, line("f0", 5), 0);
        }
        let audit = ledger.audit();
        assert_eq!(audit.misheard.count, 1, "{audit:?}");
        assert!(audit.misheard.examples[0].contains("h0:2 after a gap"));
        assert_eq!(audit.disagreements.count, 0);
    }

    #[test]
    fn refusable_speakers_must_be_heard_alike() {
        let ledger = Ledger::new(2);
        ledger.speaker("f0", Said::talking(true));
        ledger.heard(0, line("f0", 1), 0);
        ledger.heard(0, line("f0", 2), 0);
        ledger.heard(1, line("f0", 1), 0);
        assert_eq!(ledger.audit().disagreements.count, 1);
        assert!(!ledger.complete());
    }

    #[test]
    fn lines_of_nobody_and_beyond_what_was_said_are_counted() {
        let ledger = Ledger::new(1);
        ledger.heard(0, line("x", 1), 0);
        ledger.speaker("c0", Said::between(1, 1));
        ledger.heard(0, line("c0", 1), 0);
        ledger.heard(0, line("c0", 2), 0);
        let audit = ledger.audit();
        assert_eq!(audit.misheard.count, 1);
        assert_eq!(audit.extra.count, 1);
        assert!(!audit.clean());
    }
}
