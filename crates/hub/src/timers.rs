//! Every session's timers — heartbeats, heartbeat timeout, close timeout, handshake expiry —
//! run on one task per hub. A session costs an entry in an ordered map rather than a task and
//! a sleep of its own: about 400 bytes that each of a hundred thousand idle sessions would
//! otherwise hold for nothing.
//!
//! Sessions say when their deadlines may have moved ([`Timers::moved`]); the task then asks
//! each such session for its next step ([`Session::timer_step`]) and files it under its next
//! deadline. The decisions stay in the session; this module only keeps the order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::hub::HubInner;
use crate::session::{Session, TimerStep};

/// Where a session's next deadline is filed: the deadline, then a sequence number that keeps
/// equal deadlines apart.
pub(crate) type TimerKey = (Instant, u64);

/// The hub's timer queue.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: Mutex<Queue>,
    /// Wakes the timer task when sessions were queued.
    wake: Notify,
    next_seq: AtomicU64,
    started: AtomicBool,
}

#[derive(Debug, Default)]
struct Queue {
    /// Sessions whose deadlines may have moved since the task last looked at them.
    moved: Vec<Arc<Session>>,
    /// Every session with a deadline, once, by that deadline.
    deadlines: BTreeMap<TimerKey, Weak<Session>>,
}

impl Timers {
    /// Queues `session` for the timer task to look at.
    pub(crate) fn moved(&self, session: Arc<Session>) {
        self.queue.lock().moved.push(session);
        self.wake.notify_one();
    }

    /// Starts the hub's timer task the first time a session enters the registry, which is
    /// always inside the runtime.
    pub(crate) fn start(self: &Arc<Self>, hub: Weak<HubInner>) {
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run(hub, Arc::clone(self)));
        }
    }

    /// Looks at every moved session and every one whose deadline has come; returns the next
    /// deadline.
    fn run_due(&self, hub: &HubInner, now: Instant) -> Option<Instant> {
        loop {
            let due = {
                let mut queue = self.queue.lock();
                // Taken whole, so a burst's buffer goes with it.
                let mut due = std::mem::take(&mut queue.moved);
                while let Some(entry) = queue.deadlines.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    if let Some(session) = entry.remove().upgrade() {
                        due.push(session);
                    }
                }
                if due.is_empty() {
                    return queue.deadlines.first_key_value().map(|(key, _)| key.0);
                }
                due
            };
            for session in &due {
                self.review(hub, session, now);
            }
        }
    }

    /// Runs what is due for one session and files it under its next deadline.
    fn review(&self, hub: &HubInner, session: &Arc<Session>, now: Instant) {
        // From here on a move queues the session again, so none is missed.
        session.timer_reviewed();
        loop {
            match session.timer_step(now, &hub.config) {
                TimerStep::Expire(expiry) => hub.expire(session, expiry),
                TimerStep::Sleep(at) => return self.file(session, Some(at)),
                TimerStep::Wait | TimerStep::Exit => return self.file(session, None),
            }
        }
    }

    /// Files `session` under `at`, or nowhere. Only the timer task files, so the session's
    /// key and the map agree; the session's lock is never taken under the queue's.
    fn file(&self, session: &Arc<Session>, at: Option<Instant>) {
        let key = at.map(|at| (at, self.next_seq.fetch_add(1, Ordering::Relaxed)));
        let old = session.replace_timer_key(key);
        let mut queue = self.queue.lock();
        if let Some(old) = old {
            queue.deadlines.remove(&old);
        }
        if let Some(key) = key {
            queue.deadlines.insert(key, Arc::downgrade(session));
        }
    }

    /// How many sessions have a deadline filed.
    #[cfg(test)]
    fn filed(&self) -> usize {
        self.queue.lock().deadlines.len()
    }
}

/// The hub's timer task: sleeps until the next deadline or until sessions are queued.
async fn run(hub: Weak<HubInner>, timers: Arc<Timers>) {
    loop {
        let next = {
            let Some(inner) = hub.upgrade() else { return };
            timers.run_due(&inner, Instant::now())
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = sleep_until(at) => {}
                    () = timers.wake.notified() => {}
                }
            }
            None => timers.wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{AttachMode, ConnectInfo, Hub, HubConfig};
    use ferrio_protocol::TransportKind;

    fn info() -> ConnectInfo {
        ConnectInfo {
            headers: vec![],
            address: ([127, 0, 0, 1], 1).into(),
            query: vec![],
            secure: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_session_is_filed_once_and_leaves_when_it_ends() {
        let hub = Hub::new(HubConfig::default()).expect("hub");
        let mut sids = Vec::new();
        for _ in 0..3 {
            sids.push(hub.handshake(info()).await.expect("handshake").sid);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(hub.inner_timers().filed(), 3, "handshake expiry");
        let poll = hub
            .attach(&sids[0], TransportKind::XhrPolling, AttachMode::Poll)
            .expect("attach");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            hub.inner_timers().filed(),
            2,
            "a waiting poll has no deadline"
        );
        drop(poll);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(hub.inner_timers().filed(), 3, "the close timeout runs");
        hub.disconnect(&sids[1]);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(hub.inner_timers().filed(), 2);
        tokio::time::sleep(HubConfig::default().close_timeout * 2).await;
        tokio::time::sleep(HubConfig::default().handshake_expiry * 2).await;
        assert_eq!(hub.inner_timers().filed(), 0, "every timer ran out");
        assert_eq!(hub.session_count(), 0);
    }
}
