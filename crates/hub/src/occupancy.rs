//! What the node holds, counted where sessions change phase: connected sessions against
//! `max_sessions`, and handshakes not yet followed by a transport request (unconnected) against
//! caps of their own, node-wide and per client address.
//!
//! Unconnected handshakes are counted apart because they cost a client one request each and
//! live for the handshake expiry: counted with the connected sessions, one address
//! re-handshaking every few seconds would hold a node full. A legitimate client connects
//! within a round trip of its handshake, so a cap on the unconnected ones costs it nothing.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use crate::handshake::UnconnectedLimit;

/// The counts, and the caps of the unconnected handshakes.
#[derive(Debug)]
pub(crate) struct Occupancy {
    max_unconnected: usize,
    max_unconnected_per_address: usize,
    connected: AtomicUsize,
    unconnected: AtomicUsize,
    /// Unconnected handshakes by [`address_key`]; an address leaves the map with its last one.
    by_address: DashMap<IpAddr, usize>,
}

/// The key an address is counted under: an IPv4 address as it is (IPv4-mapped IPv6 too),
/// an IPv6 address by its /64 prefix, which one client usually holds whole.
pub(crate) fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

impl Occupancy {
    pub(crate) fn new(max_unconnected: usize, max_unconnected_per_address: usize) -> Self {
        Occupancy {
            max_unconnected,
            max_unconnected_per_address,
            connected: AtomicUsize::new(0),
            unconnected: AtomicUsize::new(0),
            by_address: DashMap::new(),
        }
    }

    /// Connected sessions now.
    pub(crate) fn connected(&self) -> usize {
        self.connected.load(Ordering::Acquire)
    }

    /// Unconnected handshakes now.
    pub(crate) fn unconnected(&self) -> usize {
        self.unconnected.load(Ordering::Acquire)
    }

    /// Counts a new unconnected handshake from `address`, unless a cap is reached.
    pub(crate) fn add_unconnected(&self, address: IpAddr) -> Result<(), UnconnectedLimit> {
        let taken = self
            .unconnected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < self.max_unconnected).then_some(count + 1)
            });
        if taken.is_err() {
            return Err(UnconnectedLimit::Node);
        }
        let mut count = self.by_address.entry(address_key(address)).or_insert(0);
        if *count >= self.max_unconnected_per_address {
            drop(count);
            self.unconnected.fetch_sub(1, Ordering::AcqRel);
            return Err(UnconnectedLimit::Address);
        }
        *count += 1;
        Ok(())
    }

    /// An unconnected handshake from `address` connected, expired or was refused.
    pub(crate) fn remove_unconnected(&self, address: IpAddr) {
        self.unconnected.fetch_sub(1, Ordering::AcqRel);
        self.by_address
            .remove_if_mut(&address_key(address), |_, count| {
                *count = count.saturating_sub(1);
                *count == 0
            });
    }

    /// Takes a connected session's slot, unless `max` are taken.
    pub(crate) fn take_connected(&self, max: Option<usize>) -> bool {
        self.connected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| match max {
                Some(max) if count >= max => None,
                _ => Some(count + 1),
            })
            .is_ok()
    }

    /// Gives a connected session's slot back.
    pub(crate) fn release_connected(&self) {
        self.connected.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconnected_handshakes_are_capped_per_address_and_per_node() {
        let occupancy = Occupancy::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(occupancy.add_unconnected(a), Ok(()));
        assert_eq!(occupancy.add_unconnected(a), Ok(()));
        assert_eq!(occupancy.add_unconnected(a), Err(UnconnectedLimit::Address));
        assert_eq!(occupancy.add_unconnected(b), Ok(()));
        assert_eq!(occupancy.add_unconnected(c), Err(UnconnectedLimit::Node));
        occupancy.remove_unconnected(a);
        assert_eq!(occupancy.add_unconnected(c), Ok(()));
        for address in [a, b, c] {
            occupancy.remove_unconnected(address);
        }
        assert_eq!(occupancy.unconnected(), 0);
        assert!(
            occupancy.by_address.is_empty(),
            "no address is kept for nothing"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_prefix() {
        let occupancy = Occupancy::new(10, 1);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_prefix: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(occupancy.add_unconnected(one), Ok(()));
        assert_eq!(
            occupancy.add_unconnected(same_prefix),
            Err(UnconnectedLimit::Address)
        );
        assert_eq!(occupancy.add_unconnected(other), Ok(()));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(occupancy.add_unconnected(mapped), Ok(()));
        assert_eq!(
            occupancy.add_unconnected(v4),
            Err(UnconnectedLimit::Address)
        );
    }

    #[test]
    fn connected_slots_stop_at_the_maximum() {
        let occupancy = Occupancy::new(1, 1);
        assert!(occupancy.take_connected(Some(2)));
        assert!(occupancy.take_connected(Some(2)));
        assert!(!occupancy.take_connected(Some(2)));
        occupancy.release_connected();
        assert!(occupancy.take_connected(Some(2)));
        assert!(occupancy.take_connected(None), "no maximum");
        assert_eq!(occupancy.connected(), 3);
    }
}
