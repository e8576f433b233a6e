//! What one session may send: packets and bytes per second, as token buckets with a burst.
//!
//! A packet over the budget is refused (not processed); the client hears of it at most once a
//! second (an error packet, see `dispatch`). Refused packets draw on a second allowance of the
//! same size, refilled at the same rate: a client that sends up to twice its budget is only
//! throttled, one that keeps sending more exhausts the allowance and its session ends
//! ([`DisconnectReason::BudgetExceeded`](crate::DisconnectReason::BudgetExceeded)).

use std::fmt::Write as _;
use std::time::Duration;

use ferrio_protocol::{Packet, PacketBody};
use serde_json::Value;
use tokio::time::Instant;

use crate::admission::Rate;

/// How often a throttled client is told.
const WARN_EVERY: Duration = Duration::from_secs(1);

/// One session's buckets. Tokens are `f32` to keep the four of them in 16 bytes; at the
/// defaults their precision is far finer than a byte.
#[derive(Debug)]
pub(crate) struct Budget {
    updated: Instant,
    packets: f32,
    bytes: f32,
    /// The allowance refused packets draw on.
    packet_slack: f32,
    byte_slack: f32,
    warned: Option<Instant>,
}

/// What the budget says of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spent {
    Accepted,
    /// Over the budget: the packet is not processed; `warn` says the client should be told
    /// now.
    Refused {
        warn: bool,
    },
    /// Over the budget and the allowance: the session ends.
    Exceeded,
}

impl Budget {
    pub(crate) fn full(packets: Rate, bytes: Rate, now: Instant) -> Self {
        Budget {
            updated: now,
            packets: packets.burst as f32,
            bytes: bytes.burst as f32,
            packet_slack: packets.burst as f32,
            byte_slack: bytes.burst as f32,
            warned: None,
        }
    }

    /// Spends one packet of `size` bytes. A packet larger than the byte burst costs the burst,
    /// so it passes when the bucket is full rather than never.
    pub(crate) fn spend(&mut self, size: usize, packets: Rate, bytes: Rate, now: Instant) -> Spent {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        let refill = |tokens: &mut f32, rate: Rate| {
            *tokens = rate.refill(f64::from(*tokens), elapsed) as f32;
        };
        refill(&mut self.packets, packets);
        refill(&mut self.bytes, bytes);
        refill(&mut self.packet_slack, packets);
        refill(&mut self.byte_slack, bytes);
        let cost = size.min(bytes.burst as usize) as f32;
        if self.packets >= 1.0 && self.bytes >= cost {
            self.packets -= 1.0;
            self.bytes -= cost;
            return Spent::Accepted;
        }
        self.packet_slack -= 1.0;
        self.byte_slack -= cost;
        if self.packet_slack < 0.0 || self.byte_slack < 0.0 {
            return Spent::Exceeded;
        }
        let warn = self
            .warned
            .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
        if warn {
            self.warned = Some(now);
        }
        Spent::Refused { warn }
    }
}

/// The bytes a decoded packet stands for: its text as the client sent it, escapes in strings
/// aside (they are counted decoded). Measured rather than handed over by the transports, so
/// that the budget is kept in one place for every transport.
pub(crate) fn packet_size(packet: &Packet) -> usize {
    /// Type, id and the colons: `5:1+:/ns:` is at most a few bytes around the endpoint.
    const HEADER: usize = 4;
    let body = match &packet.body {
        PacketBody::Message(text) => text.len(),
        PacketBody::Json(value) => json_size(value),
        // `{"name":"…","args":[…]}`
        PacketBody::Event { name, args } => {
            20 + name.len() + args.iter().map(|arg| json_size(arg) + 1).sum::<usize>()
        }
        PacketBody::Ack { args, .. } => args
            .iter()
            .flatten()
            .map(|arg| json_size(arg) + 1)
            .sum::<usize>(),
        PacketBody::Connect { query } => query.as_deref().map_or(0, str::len),
        PacketBody::Disconnect
        | PacketBody::Heartbeat
        | PacketBody::Error { .. }
        | PacketBody::Noop => 0,
    };
    HEADER + packet.endpoint.len() + body
}

/// The length of `value` as compact JSON, strings counted unescaped. The decoder bounds the
/// nesting, so the recursion is bounded too.
fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(number) => {
            let mut digits = Count(0);
            // Counting cannot fail.
            let _ = write!(digits, "{number}");
            digits.0
        }
        Value::String(text) => text.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|item| json_size(item) + 1).sum::<usize>(),
        Value::Object(fields) => {
            2 + fields
                .iter()
                .map(|(key, item)| key.len() + 4 + json_size(item))
                .sum::<usize>()
        }
    }
}

/// Counts what is written to it, keeping none of it.
struct Count(usize);

impl std::fmt::Write for Count {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferrio_protocol::decode;

    use super::*;

    const PACKETS: Rate = Rate {
        per_second: 10.0,
        burst: 20,
    };
    const BYTES: Rate = Rate {
        per_second: 1000.0,
        burst: 4000,
    };

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_and_the_client_is_told_once_a_second() {
        let mut budget = Budget::full(PACKETS, BYTES, Instant::now());
        let spend = |budget: &mut Budget| budget.spend(10, PACKETS, BYTES, Instant::now());
        for _ in 0..20 {
            assert_eq!(spend(&mut budget), Spent::Accepted);
        }
        assert_eq!(spend(&mut budget), Spent::Refused { warn: true });
        assert_eq!(spend(&mut budget), Spent::Refused { warn: false });
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(spend(&mut budget), Spent::Accepted, "one token a tenth");
        assert_eq!(spend(&mut budget), Spent::Refused { warn: false });
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..10 {
            assert_eq!(spend(&mut budget), Spent::Accepted);
        }
        assert_eq!(spend(&mut budget), Spent::Refused { warn: true });
    }

    #[tokio::test(start_paused = true)]
    async fn twice_the_budget_is_throttled_and_more_ends_the_session() {
        let mut budget = Budget::full(PACKETS, BYTES, Instant::now());
        // Twenty packets a second, twice the rate, for ten seconds: never ended.
        for _ in 0..200 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert_ne!(
                budget.spend(10, PACKETS, BYTES, Instant::now()),
                Spent::Exceeded
            );
        }
        // Forty a second: the allowance runs out within seconds.
        let mut ended = None;
        for step in 0..400 {
            tokio::time::advance(Duration::from_millis(25)).await;
            if budget.spend(10, PACKETS, BYTES, Instant::now()) == Spent::Exceeded {
                ended = Some(step);
                break;
            }
        }
        let ended = ended.expect("a client sending four times its budget is ended");
        assert!(ended < 120, "after {ended} steps");
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_budgeted_and_a_huge_packet_passes_on_a_full_bucket() {
        let mut budget = Budget::full(PACKETS, BYTES, Instant::now());
        let now = Instant::now();
        assert_eq!(
            budget.spend(1_000_000, PACKETS, BYTES, now),
            Spent::Accepted
        );
        assert_eq!(
            budget.spend(1, PACKETS, BYTES, now),
            Spent::Refused { warn: true },
            "the byte bucket is empty"
        );
        assert_eq!(
            budget.spend(4000, PACKETS, BYTES, now),
            Spent::Exceeded,
            "a second burst of bytes at once exhausts the allowance"
        );
    }

    #[test]
    fn packet_sizes_follow_the_text() {
        for text in [
            r#"5:::{"name":"toServer","args":[{"nome":"a","msg":"hello"}]}"#,
            r#"5:1+:/chat:{"name":"q","args":[1,{"x":[true,null]}]}"#,
            "3:::a plain message of some length",
            r#"4:::{"a":[1,2,3],"b":"text"}"#,
            "6:::4+[\"x\",2]",
            "2::",
        ] {
            let size = packet_size(&decode(text).unwrap());
            assert!(
                size.abs_diff(text.len()) <= 12,
                "{text}: {size} for {} bytes",
                text.len()
            );
        }
        let big = format!(r#"5:::{{"name":"e","args":["{}"]}}"#, "x".repeat(100_000));
        let size = packet_size(&decode(&big).unwrap());
        assert!(size.abs_diff(big.len()) <= 12, "{size}");
    }
}
