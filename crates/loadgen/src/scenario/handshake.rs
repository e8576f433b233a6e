//! `handshake`: W workers, each on one keep-alive connection per server, asking for sessions one
//! after the other (docs/protocol.md §2.1); with `--websocket`, each handshake is followed by a
//! WebSocket that is opened, waits for `1::` and is closed; with `--first-get`, by the first
//! xhr-polling GET, answered `1::`, and a `0::` POST that ends the session. Handshake i goes to
//! server i mod n; with `--route rotate` its websocket or first GET goes to the next server,
//! which takes the session over from the one that minted it.
//!
//! A modern session (`--protocol eio4`, `eio3`) is opened whole as its client opens it, each
//! step counted in the latency: with `--websocket`, the WebSocket, its open packet and the
//! `CONNECT` answer; with `--first-get`, the polling handshake, the `CONNECT` POST and the GET
//! that answers it; with `--upgrade`, that and the upgrade to a WebSocket (`2probe`, `3probe`,
//! `5`). Each is then closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Common, Meter, joined, positive};
use crate::client::{Ctx, Session, Transport, excerpt};
use crate::error::{Error, Result};
use crate::http::{HttpConn, TEXT_PLAIN};
use crate::probe::{Probe, per_unit};
use crate::route::Route;
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
    #[arg(long, conflicts_with_all = ["first_get", "upgrade"])]
    pub(crate) websocket: bool,
    /// Also send each session's first xhr-polling GET, which must be answered `1::`, then end
    /// the session with a `0::` POST to the server that answered it.
    #[arg(long, conflicts_with = "upgrade")]
    pub(crate) first_get: bool,
    /// A modern session only: open it by polling, then upgrade it to a WebSocket, as
    /// `socket.io-client` does by default; then close it.
    #[arg(long)]
    pub(crate) upgrade: bool,
    /// Over several servers (one cluster): `owner` opens the websocket or sends the first GET
    /// on the server that minted the session; `rotate` on the next server, which takes the
    /// session over.
    #[arg(long, value_enum, default_value_t = Route::Owner)]
    pub(crate) route: Route,
}

/// What follows each handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Nothing,
    Websocket,
    FirstGet,
    Upgrade,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &HandshakeArgs) -> Result<Value> {
    positive("workers", args.workers)?;
    if args.count == 0 {
        return Err(Error::Setup("--count must be at least 1".to_owned()));
    }
    let then = if args.websocket {
        Then::Websocket
    } else if args.first_get {
        Then::FirstGet
    } else if args.upgrade {
        Then::Upgrade
    } else {
        Then::Nothing
    };
    let protocol = ctx.protocol_of(0);
    match (protocol.revision().is_some(), then) {
        (true, Then::Nothing) => {
            return Err(Error::Setup(
                "a modern handshake opens a session: add --websocket, --first-get or --upgrade"
                    .to_owned(),
            ));
        }
        (false, Then::Upgrade) => {
            return Err(Error::Setup(
                "--upgrade is for modern sessions (--protocol eio4 or eio3)".to_owned(),
            ));
        }
        _ => {}
    }
    let nodes: Arc<[Arc<Ctx>]> = ctx.nodes().into();
    let next = Arc::new(AtomicU64::new(0));
    let meter = Meter::start(probe)?;
    let mut workers = JoinSet::new();
    for _ in 0..args.workers {
        let nodes = Arc::clone(&nodes);
        let next = Arc::clone(&next);
        let count = args.count;
        workers.spawn(async move {
            let mut http: Vec<Option<HttpConn>> = nodes.iter().map(|_| None).collect();
            let mut latencies = Latencies::default();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let plan = nodes[0]
                    .route
                    .plan(nodes.len(), usize::try_from(index).unwrap_or(usize::MAX));
                let started = Instant::now();
                if protocol.revision().is_some() {
                    let ctx = &nodes[plan.minted];
                    let conn = connection(&mut http, ctx, plan.minted).await?;
                    let transport = match then {
                        Then::Websocket => Transport::Websocket,
                        _ => Transport::XhrPolling,
                    };
                    let mut session = Session::open_as(ctx, protocol, transport, conn).await?;
                    if then == Then::Upgrade {
                        session.upgrade(ctx).await?;
                    }
                    latencies.push(micros_since(started));
                    session.close().await;
                    continue;
                }
                let handshake = {
                    let ctx = &nodes[plan.minted];
                    let conn = connection(&mut http, ctx, plan.minted).await?;
                    ctx.handshake(conn).await?
                };
                match then {
                    Then::Nothing => latencies.push(micros_since(started)),
                    Then::Websocket => {
                        let ctx = &nodes[plan.owner];
                        let session = Session::attach_to(
                            ctx,
                            Transport::Websocket,
                            handshake,
                            plan.addresses(&ctx.servers),
                        )
                        .await?;
                        latencies.push(micros_since(started));
                        session.close().await;
                    }
                    Then::FirstGet | Then::Upgrade => {
                        let ctx = &nodes[plan.owner];
                        let conn = connection(&mut http, ctx, plan.owner).await?;
                        first_get(ctx, conn, &handshake.sid).await?;
                        latencies.push(micros_since(started));
                        leave(ctx, conn, &handshake.sid).await?;
                    }
                }
            }
            let reconnects: u64 = http.iter().flatten().map(HttpConn::reconnects).sum();
            Ok((latencies, reconnects))
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
        "transport": match then {
            Then::Nothing => "none",
            Then::Websocket => "websocket",
            Then::FirstGet if protocol.revision().is_some() => "polling",
            Then::FirstGet => "xhr-polling",
            Then::Upgrade => "polling, upgraded to websocket",
        },
        "params": {
            "workers": args.workers,
            "count": args.count,
            "websocket": args.websocket,
            "first_get": args.first_get,
            "upgrade": args.upgrade,
            "protocol": protocol.name(),
            "route": args.route.name(),
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
        "latency_covers": match then {
            _ if protocol.revision().is_some() => "the session opened whole, through the CONNECT answer (and the upgrade); its close not included",
            Then::Nothing => "the handshake request",
            Then::Websocket => "handshake through 1:: on the websocket",
            Then::FirstGet | Then::Upgrade => "handshake through 1:: on the first GET (the 0:: POST after it not included)",
        },
        "http_reconnects": reconnects,
        "connections": ctx.net.connects(),
        "run": phase.to_json(),
    }))
}

fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The worker's keep-alive connection to server `index`, opened when first needed.
async fn connection<'a>(
    http: &'a mut [Option<HttpConn>],
    ctx: &Ctx,
    index: usize,
) -> Result<&'a mut HttpConn> {
    Ok(match &mut http[index] {
        Some(conn) => conn,
        slot @ None => slot.insert(ctx.http().await?),
    })
}

/// The path of session `sid` over xhr-polling.
fn polling_path(ctx: &Ctx, sid: &str) -> String {
    format!("{}/1/xhr-polling/{sid}", ctx.resource)
}

/// The session's first GET, which must be answered `1::` at once.
async fn first_get(ctx: &Ctx, conn: &mut HttpConn, sid: &str) -> Result<()> {
    let path = format!("{}?t=1", polling_path(ctx, sid));
    let response = ctx.within("the first GET", conn.get(&path)).await?;
    check_first_get(response.status, &response.body)
}

/// Fails unless the first GET was answered `200` with `1::`.
fn check_first_get(status: u16, body: &str) -> Result<()> {
    if status != 200 {
        return Err(Error::Http(format!(
            "the first GET answered {status} {}",
            excerpt(body)
        )));
    }
    if body != "1::" {
        return Err(Error::protocol(format!(
            "the first GET answered {}, expected 1::",
            excerpt(body)
        )));
    }
    Ok(())
}

/// Ends the session with a `0::` POST.
async fn leave(ctx: &Ctx, conn: &mut HttpConn, sid: &str) -> Result<()> {
    let path = format!("{}?t=p1", polling_path(ctx, sid));
    let response = ctx
        .within("the 0:: POST", conn.post(&path, TEXT_PLAIN, "0::"))
        .await?;
    if response.status != 200 {
        return Err(Error::Http(format!(
            "the 0:: POST answered {} {}",
            response.status,
            excerpt(&response.body)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_get_must_be_a_connect() {
        assert!(check_first_get(200, "1::").is_ok());
        assert!(matches!(
            check_first_get(200, "8::"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            check_first_get(200, "7:::1+0"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(check_first_get(404, "1::"), Err(Error::Http(_))));
    }
}
