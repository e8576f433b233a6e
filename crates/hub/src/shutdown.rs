//! Where a shutdown stands, and the cut it makes between the client packets the hub accepted
//! and those it refuses.
//!
//! A client learns that a packet was accepted from a POST answered `1` or from an ack; by then
//! the hub has handled it, and the application's emits it caused are queued. So no session may
//! end with "nothing left to deliver" while such a packet is still being handled, or what it
//! queues would find its session gone. The cut is two steps: [`Shutdown::begin`] refuses every
//! later packet, and once the packets that were already being handled are done ([`Ingesting`]
//! counts them) the hub starts flushing: from then on a session ends when its transport finds
//! nothing more queued for it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::hub::HubInner;

/// The shutdown state of one hub.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// Handshakes and client packets are refused.
    begun: AtomicBool,
    /// Every client packet accepted before the shutdown has been handled: a session whose
    /// transport finds nothing queued ends.
    flushing: AtomicBool,
    /// Client packets being handled now, or being refused.
    ingesting: AtomicUsize,
    /// Woken when the registry empties during a shutdown.
    pub(crate) emptied: Notify,
}

impl Shutdown {
    pub(crate) fn has_begun(&self) -> bool {
        self.begun.load(Ordering::Acquire)
    }

    pub(crate) fn is_flushing(&self) -> bool {
        self.flushing.load(Ordering::Acquire)
    }

    /// Refuses every later client packet. `true` when no packet is being handled: the caller
    /// starts flushing; otherwise the last packet to be counted out does. `false` as well
    /// when the shutdown had begun already.
    pub(crate) fn begin(&self) -> bool {
        // Sequentially consistent with the count in `enter`: either an ingest sees the
        // shutdown begun, or this sees the ingest under way and leaves the flush to it.
        if self.begun.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.ingesting.load(Ordering::SeqCst) == 0 && self.flush_once()
    }

    /// Counts a client packet in; whether it is accepted (the shutdown has not begun). Either
    /// way it is counted out with [`Shutdown::leave`].
    fn enter(&self) -> bool {
        self.ingesting.fetch_add(1, Ordering::SeqCst);
        !self.begun.load(Ordering::SeqCst)
    }

    /// Counts a client packet out; `true` when the caller is the one to start flushing.
    fn leave(&self) -> bool {
        self.ingesting.fetch_sub(1, Ordering::SeqCst) == 1
            && self.begun.load(Ordering::SeqCst)
            && self.flush_once()
    }

    fn flush_once(&self) -> bool {
        !self.flushing.swap(true, Ordering::AcqRel)
    }
}

/// Client packets being handled, from the check that accepts or refuses them until every
/// emit they cause is queued. Dropping it counts them out and, when they were the last ones
/// under way after the shutdown began, starts the flush (even while unwinding from a handler
/// that panicked).
#[derive(Debug)]
pub(crate) struct Ingesting<'a> {
    hub: &'a HubInner,
    accepted: bool,
}

impl<'a> Ingesting<'a> {
    pub(crate) fn enter(hub: &'a HubInner) -> Self {
        let accepted = hub.shutdown.enter();
        Ingesting { hub, accepted }
    }

    /// Whether the packets may be handled: the shutdown had not begun.
    pub(crate) fn accepted(&self) -> bool {
        self.accepted
    }
}

impl Drop for Ingesting<'_> {
    fn drop(&mut self) {
        if self.hub.shutdown.leave() {
            self.hub.start_flushing();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_starts_once_the_packets_under_way_are_handled() {
        let shutdown = Shutdown::default();
        assert!(shutdown.enter(), "accepted before the shutdown");
        assert!(shutdown.enter(), "accepted before the shutdown");
        assert!(!shutdown.begin(), "two packets under way");
        assert!(!shutdown.enter(), "a packet after the cut is refused");
        assert!(!shutdown.leave());
        assert!(!shutdown.leave());
        assert!(!shutdown.is_flushing());
        assert!(shutdown.leave(), "the last one starts the flush");
        assert!(shutdown.is_flushing());
        assert!(!shutdown.enter());
        assert!(!shutdown.leave(), "the flush starts once");
        assert!(!shutdown.begin(), "so does the shutdown");
    }

    #[test]
    fn with_nothing_under_way_the_flush_starts_at_once() {
        let shutdown = Shutdown::default();
        assert!(shutdown.enter());
        assert!(!shutdown.leave(), "no shutdown yet");
        assert!(!shutdown.has_begun());
        assert!(shutdown.begin());
        assert!(shutdown.has_begun() && shutdown.is_flushing());
    }
}
