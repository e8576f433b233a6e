//! The heartbeat timelines every streaming transport must keep under
//! [`short_timers`](crate::short_timers) (docs/protocol.md §4.3): an unanswered heartbeat ends
//! the connection on time, answered ones keep it open.

use std::time::Duration;

use tokio::time::Instant;

use crate::{TestServer, any_disconnect_of};

/// The unanswered-heartbeat timeline under [`short_timers`](crate::short_timers) (interval
/// 3 s, timeout 5 s), timed from the call: `expect_heartbeat` must check that a heartbeat
/// (`2::`) comes within the timeout it is given (5 s), and it must come 2.5–4 s in;
/// `expect_end` must wait for the end of the connection within the timeout it is given (7 s),
/// and the end must come 7.5–9.5 s in. Returns what `expect_end` returned.
pub async fn assert_unanswered_heartbeat_timeline<S, T>(
    stream: &mut S,
    expect_heartbeat: impl AsyncFnOnce(&mut S, Duration),
    expect_end: impl AsyncFnOnce(&mut S, Duration) -> T,
) -> T {
    let opened = std::time::Instant::now();
    expect_heartbeat(stream, Duration::from_secs(5)).await;
    let heartbeat_at = opened.elapsed();
    assert!(
        heartbeat_at >= Duration::from_millis(2500) && heartbeat_at <= Duration::from_secs(4),
        "heartbeat after {heartbeat_at:?}, interval is 3 s"
    );
    let end = expect_end(stream, Duration::from_secs(7)).await;
    let ended_at = opened.elapsed();
    assert!(
        ended_at >= Duration::from_millis(7500) && ended_at <= Duration::from_millis(9500),
        "ended after {ended_at:?}, interval + timeout is 8 s"
    );
    end
}

impl TestServer {
    /// The answered-heartbeats scenario of a streaming transport under
    /// [`short_timers`](crate::short_timers): for 9 s (past interval + timeout, which would end
    /// an unanswered stream) every heartbeat is answered by POSTing `2::` to `path`, and there
    /// must be at least two; then `echo` is POSTed and must come back (heartbeats met on the
    /// way are answered), and `sid` must not have been disconnected.
    ///
    /// `next_heartbeat` checks what comes next within its timeout: `true` for a heartbeat,
    /// `false` when nothing came, and a panic for anything else. `next_packets` returns the
    /// packets of the next write within its timeout (a heartbeat and the echo queued together
    /// arrive framed in one write) and panics when there is none.
    #[allow(clippy::too_many_arguments)]
    pub async fn assert_answered_heartbeats_keep_stream_open<S>(
        &self,
        sid: &str,
        path: &str,
        stream: &mut S,
        echo: &str,
        wait: Duration,
        mut next_heartbeat: impl AsyncFnMut(&mut S, Duration) -> bool,
        mut next_packets: impl AsyncFnMut(&mut S, Duration) -> Vec<String>,
    ) {
        let until = Instant::now() + Duration::from_secs(9);
        let mut heartbeats = 0;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || !next_heartbeat(stream, left).await {
                break;
            }
            heartbeats += 1;
            self.post_packets_to(path, "2::").await;
        }
        assert!(heartbeats >= 2, "only {heartbeats} heartbeats in 9 s");
        self.post_packets_to(path, echo).await;
        'echoed: loop {
            for packet in next_packets(stream, wait).await {
                if packet == "2::" {
                    self.post_packets_to(path, "2::").await;
                    continue;
                }
                assert_eq!(packet, echo);
                break 'echoed;
            }
        }
        assert!(
            !any_disconnect_of(&self.log, sid),
            "{:?}",
            self.log.entries()
        );
    }
}
