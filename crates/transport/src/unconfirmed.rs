//! The batches an answer relayed by another node of a cluster carries, kept until that node
//! confirms that its client's connection took them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use ferrio_hub::Batch;

/// A request extension on a GET that another node of the cluster forwarded here: each batch
/// the answer carries is kept with the offset in the answer's body where it ends, until the
/// forwarding node confirms ([`Unconfirmed::confirm`]) that its client's connection took the
/// body up to there. What is still unconfirmed when the confirmations stop
/// ([`Unconfirmed::close`]) goes back to the session, so no packet is lost between nodes.
#[derive(Debug, Clone, Default)]
pub struct Unconfirmed(Arc<Mutex<Ledger>>);

#[derive(Debug, Default)]
struct Ledger {
    /// Bytes of the answer's body written so far.
    written: u64,
    /// The batches written and not confirmed, oldest first, with the offset each ends at.
    batches: VecDeque<(u64, Batch)>,
    /// No confirmation will come any more.
    closed: bool,
}

impl Unconfirmed {
    /// Records that the answer's body goes on with `len` bytes, which carry `batch` when they
    /// hold session packets. Once the confirmations have stopped, nobody will relay the bytes:
    /// the batch is given back, for the caller to return to its session instead of writing it.
    pub fn record(&self, len: usize, batch: Option<Batch>) -> Result<(), Batch> {
        let mut ledger = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match batch {
            Some(batch) if ledger.closed => Err(batch),
            batch => {
                ledger.written += len as u64;
                if let Some(batch) = batch {
                    let end = ledger.written;
                    ledger.batches.push_back((end, batch));
                }
                Ok(())
            }
        }
    }

    /// The forwarding node's client took the answer's body up to `offset`: every batch that
    /// ends there or before is delivered.
    pub fn confirm(&self, offset: u64) {
        let mut ledger = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        while ledger
            .batches
            .front()
            .is_some_and(|(end, _)| *end <= offset)
        {
            ledger.batches.pop_front();
        }
    }

    /// No confirmation will come any more (the relay ended, or its link broke): the batches
    /// still unconfirmed, oldest first. Nothing is recorded after this.
    pub fn close(&self) -> Vec<Batch> {
        let mut ledger = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.closed = true;
        ledger.batches.drain(..).map(|(_, batch)| batch).collect()
    }

    /// Whether the confirmations have stopped: a stream writes nothing more then.
    pub fn is_closed(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(text: &'static str) -> Batch {
        Batch::from(vec![ferrio_hub::Encoded::from_static(text)])
    }

    #[test]
    fn batches_are_confirmed_by_the_offset_they_end_at() {
        let unconfirmed = Unconfirmed::default();
        unconfirmed.record(10, None).unwrap();
        unconfirmed.record(5, Some(batch("3:::a"))).unwrap();
        unconfirmed.record(5, Some(batch("3:::b"))).unwrap();
        unconfirmed.confirm(14);
        unconfirmed.confirm(15);
        let left = unconfirmed.close();
        assert_eq!(left, vec![batch("3:::b")]);
    }

    #[test]
    fn after_close_a_batch_is_given_back_and_nothing_is_kept() {
        let unconfirmed = Unconfirmed::default();
        unconfirmed.record(5, Some(batch("3:::a"))).unwrap();
        assert_eq!(unconfirmed.close(), vec![batch("3:::a")]);
        assert!(unconfirmed.is_closed());
        assert_eq!(
            unconfirmed.record(5, Some(batch("3:::b"))),
            Err(batch("3:::b"))
        );
        assert_eq!(unconfirmed.record(3, None), Ok(()));
        assert!(unconfirmed.close().is_empty());
    }
}
