//! What every scenario shares: the common flags, opening many sessions at once, and measuring
//! the server over a phase.

pub(crate) mod churn;
pub(crate) mod echo;
pub(crate) mod fanout;
pub(crate) mod handshake;
pub(crate) mod idle;
pub(crate) mod soak;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};
use crate::http::HttpConn;
use crate::modern::Protocol;
use crate::probe::{Probe, Sample};
use crate::route::Route;
use crate::stats::round3;

/// Flags every scenario takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// The server, such as 127.0.0.1:3000 (IPv4 loopback only); for idle, fanout and echo,
    /// several (comma-separated or repeated: the nodes of a cluster), session i opening on
    /// server i mod n and the fanout's sender on the first.
    #[arg(long, required = true, value_delimiter = ',')]
    pub(crate) server: Vec<SocketAddr>,
    /// Pid of the server process, to report its CPU time and memory from /proc; several
    /// (comma-separated or repeated: every node and their Redis) are summed.
    #[arg(long, value_delimiter = ',')]
    pub(crate) server_pid: Vec<u32>,
    /// A name for the server under test, copied into the JSON line.
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// The generation each session speaks: `0.9`, `eio4` (Socket.IO 5, `socket.io-client`
    /// 3.x–4.x) or `eio3` (Socket.IO 4, `socket.io-client` 1.x–2.x; websocket only); several
    /// (comma-separated) are taken in turn, session i speaking the i-th mod their number.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "0.9")]
    pub(crate) protocol: Vec<Protocol>,
    /// Path prefix of Socket.IO requests.
    #[arg(long, default_value = "/socket.io")]
    pub(crate) resource: String,
    /// Source addresses to spread connections over: 127.0.0.2, 127.0.0.3, … (0 = let the
    /// kernel choose).
    #[arg(long, default_value_t = 4)]
    pub(crate) sources: usize,
    /// Seconds the whole scenario may take.
    #[arg(long, default_value_t = 300.0)]
    pub(crate) timeout: f64,
    /// Seconds one operation may take (a request, the wait for an expected packet); must
    /// exceed the server's polling duration for xhr-polling.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) op_timeout: f64,
}

/// Seconds from a flag, refusing negative, non-finite or absurd values.
pub(crate) fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if value.is_finite() && (0.0..=86_400.0).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Setup(format!(
            "--{flag} {value} is not a number of seconds between 0 and 86400"
        )))
    }
}

/// Fails unless `value` is at least 1.
pub(crate) fn positive(flag: &str, value: usize) -> Result<()> {
    if value == 0 {
        Err(Error::Setup(format!("--{flag} must be at least 1")))
    } else {
        Ok(())
    }
}

/// A task's outcome, with a panic reported as an error rather than propagated.
pub(crate) fn joined<T>(result: std::result::Result<Result<T>, JoinError>) -> Result<T> {
    result.map_err(|error| Error::Setup(format!("a client task failed: {error}")))?
}

/// Opens `count` sessions over `transport` with `concurrency` workers, each handshaking on
/// its own keep-alive connection (one per server), and hands each session to `on_open` as soon
/// as it is connected (so heartbeats can be answered while the others open). Session `i` opens
/// on the server [`Ctx::node_of`] names; with [`Route::Rotate`] its transport then opens on the
/// next server and its later requests go to the others (see [`Route::plan`]). Results are in
/// index order.
pub(crate) async fn open_sessions<T: Send + 'static>(
    ctx: &Arc<Ctx>,
    count: usize,
    concurrency: usize,
    transport: Transport,
    on_open: impl Fn(usize, Session) -> T + Send + Sync + 'static,
) -> Result<Vec<T>> {
    let next = Arc::new(AtomicUsize::new(0));
    let on_open = Arc::new(on_open);
    let nodes: Arc<[Arc<Ctx>]> = ctx.nodes().into();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let nodes = Arc::clone(&nodes);
        let next = Arc::clone(&next);
        let on_open = Arc::clone(&on_open);
        workers.spawn(async move {
            let mut opened = Vec::new();
            let mut http: Vec<Option<HttpConn>> = nodes.iter().map(|_| None).collect();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return Ok(opened);
                }
                let node = nodes[0].node_of(index);
                let ctx = &nodes[node];
                let conn = match &mut http[node] {
                    Some(conn) => conn,
                    slot @ None => slot.insert(ctx.http().await?),
                };
                let session = match ctx.route {
                    Route::Owner => {
                        Session::open_as(ctx, ctx.protocol_of(index), transport, conn).await?
                    }
                    Route::Rotate => {
                        let handshake = ctx.handshake(conn).await?;
                        let targets = ctx.route.plan(nodes.len(), index).addresses(&ctx.servers);
                        Session::attach_to(ctx, transport, handshake, targets).await?
                    }
                };
                opened.push((index, on_open(index, session)));
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(result) = workers.join_next().await {
        all.extend(joined(result)?);
    }
    all.sort_by_key(|(index, _)| *index);
    Ok(all.into_iter().map(|(_, item)| item).collect())
}

/// Closes sessions politely, all at once, each within a short grace.
pub(crate) async fn close_all(sessions: Vec<Session>) {
    let mut closing = JoinSet::new();
    for session in sessions {
        closing.spawn(session.close());
    }
    while closing.join_next().await.is_some() {}
}

/// The server's figures at the start and end of a phase, with its wall time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    /// Wall time of the phase.
    pub(crate) elapsed: Duration,
    /// Server figures at the start.
    pub(crate) before: Option<Sample>,
    /// Server figures at the end.
    pub(crate) after: Option<Sample>,
    /// Server CPU microseconds spent in the phase.
    pub(crate) cpu_us: Option<f64>,
}

/// Measures the server over a phase: [`Meter::start`], the work, [`Meter::stop`].
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    probe: Probe,
    started: Instant,
    before: Option<Sample>,
}

impl Meter {
    /// Samples the server now.
    pub(crate) fn start(probe: &Probe) -> Result<Meter> {
        Ok(Meter {
            probe: probe.clone(),
            started: Instant::now(),
            before: probe.sample()?,
        })
    }

    /// Samples the server again.
    pub(crate) fn stop(&self) -> Result<Phase> {
        let after = self.probe.sample()?;
        Ok(Phase {
            elapsed: self.started.elapsed(),
            before: self.before,
            after,
            cpu_us: self.probe.cpu_us(self.before, after),
        })
    }
}

impl Phase {
    /// The phase as JSON: wall seconds, server CPU seconds, RSS before and after.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "server_cpu_s": self.cpu_us.map(|us| round3(us / 1e6)),
            "server_rss_kb_before": self.before.map(|s| s.rss_kb),
            "server_rss_kb_after": self.after.map(|s| s.rss_kb),
        })
    }

    /// `count` per second of this phase.
    pub(crate) fn rate(self, count: u64) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Growth of the server's RSS between two samples, in bytes per unit.
pub(crate) fn rss_bytes_per(
    before: Option<Sample>,
    after: Option<Sample>,
    units: u64,
) -> Option<f64> {
    let (before, after) = (before?, after?);
    if units == 0 {
        return None;
    }
    let grown_kb = after.rss_kb as f64 - before.rss_kb as f64;
    Some(grown_kb * 1024.0 / units as f64)
}
