//! Writes that stopped: the error a connection's write fails with when the client has taken
//! nothing for the write timeout, and the signal that tells a streaming response its
//! connection was given up for that reason. The connection itself applies the timeout
//! (`ferrio-server`), below every transport, so each of them is bounded by the same rule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why a write to a connection failed: the client took no byte for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client took nothing for {0:?}")]
pub struct WriteStalled(pub Duration);

impl WriteStalled {
    /// The error a connection's write fails with.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, self)
    }
}

/// Whether `error` is a write given up by the write timeout ([`WriteStalled`]), as opposed to
/// a connection that broke.
pub fn is_write_stall(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<WriteStalled>())
}

/// Raised by a connection whose write stalled, before it fails; the request extension a
/// streaming response reads when its body is dropped, to end its session as a write timeout
/// rather than as a client that went away.
#[derive(Debug, Clone, Default)]
pub struct StallSignal(Arc<AtomicBool>);

impl StallSignal {
    /// A signal not raised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the connection's writes as given up.
    pub fn raise(&self) {
        // Read after the connection failed, which already orders it.
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the connection's writes were given up.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_is_told_apart_from_other_timeouts() {
        let stalled = WriteStalled(Duration::from_secs(3)).into_io();
        assert!(is_write_stall(&stalled));
        assert_eq!(stalled.kind(), std::io::ErrorKind::TimedOut);
        assert!(!is_write_stall(&std::io::ErrorKind::TimedOut.into()));
    }
}
