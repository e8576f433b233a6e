//! `handshake`: W workers, each on one keep-alive connection, asking for sessions one after the
//! other (docs/protocol.md §2.1); with `--websocket`, each handshake is followed by a WebSocket
//! that is opened, waits for `1::` and is closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Common, Meter, joined, positive};
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};
use crate::probe::{Probe, per_unit};
use crate::stats::{Latencies, round1, round3};

/// Flags of `handshake`.
#[derive(Debug, Clone, Args)]
pub(crate) struct HandshakeArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Concurrent workers, each with its own keep-alive connection.
    #[arg(long, default_value_t = 8)]
    pub(crate) workers: usize,
    /// Handshakes in all.
    #[arg(long, default_value_t = 2000)]
    pub(crate) count: u64,
    /// Also open a WebSocket for each session, wait for `1::` and close it.
    #[arg(long)]
    pub(crate) websocket: bool,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &HandshakeArgs) -> Result<Value> {
    positive("workers", args.workers)?;
    if args.count == 0 {
        return Err(Error::Setup("--count must be at least 1".to_owned()));
    }
    let next = Arc::new(AtomicU64::new(0));
    let meter = Meter::start(probe)?;
    let mut workers = JoinSet::new();
    for _ in 0..args.workers {
        let ctx = Arc::clone(&ctx);
        let next = Arc::clone(&next);
        let (count, websocket) = (args.count, args.websocket);
        workers.spawn(async move {
            let mut http = ctx.http().await?;
            let mut latencies = Latencies::default();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let started = Instant::now();
                let handshake = ctx.handshake(&mut http).await?;
                if websocket {
                    let session = Session::attach(&ctx, Transport::Websocket, handshake).await?;
                    latencies.push(micros_since(started));
                    session.close().await;
                } else {
                    latencies.push(micros_since(started));
                }
            }
            Ok((latencies, http.reconnects()))
        });
    }
    let mut latencies = Latencies::default();
    let mut reconnects = 0;
    while let Some(result) = workers.join_next().await {
        let (worker_latencies, worker_reconnects) = joined(result)?;
        latencies.merge(worker_latencies);
        reconnects += worker_reconnects;
    }
    let phase = meter.stop()?;

    let handshakes = latencies.len() as u64;
    let latency = latencies.summary();
    Ok(json!({
        "transport": if args.websocket { "websocket" } else { "none" },
        "params": {
            "workers": args.workers,
            "count": args.count,
            "websocket": args.websocket,
        },
        "metrics": {
            "handshakes_per_s": round1(phase.rate(handshakes)),
            "latency_p50_us": latency.p50,
            "latency_p99_us": latency.p99,
            "latency_max_us": latency.max,
            "cpu_us_per_handshake": per_unit(phase.cpu_us, handshakes).map(round3),
        },
        "handshakes": handshakes,
        "latency": latency.to_json(),
        "latency_covers": if args.websocket { "handshake through 1:: on the websocket" } else { "the handshake request" },
        "http_reconnects": reconnects,
        "connections": ctx.net.connects(),
        "run": phase.to_json(),
    }))
}

fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}
