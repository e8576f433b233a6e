//! Admission control against reconnect storms: legacy clients reconnect without jitter, so a
//! restart can bring every client back in the same second. Token buckets bound the handshake
//! rate of the node and of each address; the same buckets bound what one session may send
//! (`budget`) and how often a line an attacker can provoke is logged (`gate`).

use std::net::IpAddr;

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::handshake::RateLimit;

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// The most tokens a bucket holds (the largest burst let through at once).
    pub burst: u32,
}

impl Rate {
    /// `per_second` tokens (handshakes, packets, bytes) a second, with bursts of up to `burst`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Rate { per_second, burst }
    }

    /// `tokens` after `elapsed` seconds of refilling, capped at the burst: the one token-bucket
    /// formula of the hub.
    pub(crate) fn refill(self, tokens: f64, elapsed: f64) -> f64 {
        (tokens + elapsed * self.per_second).min(f64::from(self.burst))
    }
}

/// A token bucket: [`Rate`] says how it refills.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    pub(crate) fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate.burst),
            updated: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = rate.refill(self.tokens, elapsed);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        rate.refill(self.tokens, elapsed) >= f64::from(rate.burst)
    }
}

/// The handshake rate limits of one node.
#[derive(Debug)]
pub(crate) struct Admission {
    node_rate: Option<Rate>,
    address_rate: Option<Rate>,
    node: Mutex<Option<Bucket>>,
    addresses: DashMap<IpAddr, Bucket>,
}

/// Address buckets are pruned when this many exist; full buckets carry no information.
const PRUNE_AT: usize = 4096;

impl Admission {
    pub(crate) fn new(node_rate: Option<Rate>, address_rate: Option<Rate>) -> Self {
        Admission {
            node_rate,
            address_rate,
            node: Mutex::new(None),
            addresses: DashMap::new(),
        }
    }

    /// Takes a token for a handshake from `address`.
    pub(crate) fn admit(&self, address: IpAddr) -> Result<(), RateLimit> {
        let now = Instant::now();
        if let Some(rate) = self.address_rate {
            if self.addresses.len() >= PRUNE_AT {
                self.addresses
                    .retain(|_, bucket| !bucket.is_full(rate, now));
            }
            let mut bucket = self
                .addresses
                .entry(address)
                .or_insert_with(|| Bucket::full(rate, now));
            if !bucket.take(rate, now) {
                return Err(RateLimit::Address);
            }
        }
        if let Some(rate) = self.node_rate {
            let mut node = self.node.lock();
            if !node
                .get_or_insert_with(|| Bucket::full(rate, now))
                .take(rate, now)
            {
                return Err(RateLimit::Node);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn buckets_allow_bursts_then_the_rate() {
        let admission = Admission::new(Some(Rate::new(10.0, 5)), None);
        let address: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(admission.admit(address), Ok(()));
        }
        assert_eq!(admission.admit(address), Err(RateLimit::Node));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(admission.admit(address), Ok(()));
        assert_eq!(admission.admit(address), Err(RateLimit::Node));
    }

    #[tokio::test(start_paused = true)]
    async fn each_address_has_its_own_bucket() {
        let admission = Admission::new(None, Some(Rate::new(1.0, 2)));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(admission.admit(a), Ok(()));
        assert_eq!(admission.admit(a), Ok(()));
        assert_eq!(admission.admit(a), Err(RateLimit::Address));
        assert_eq!(admission.admit(b), Ok(()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(admission.admit(a), Ok(()));
    }
}
