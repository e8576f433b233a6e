//! `idle`: N sessions held open, heartbeats answered; the server's memory per session and
//! its CPU time to open a session and to keep one alive. With `--admin` (ferrio), also the
//! heap the sessions take as the server's allocator counts it, which is free of the page
//! and allocator overheads RSS carries.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Common, Meter, close_all, joined, open_sessions, positive, rss_bytes_per, seconds};
use crate::admin;
use crate::client::{Ctx, Session, Transport, excerpt};
use crate::error::{Error, Result};
use crate::net::check_loopback;
use crate::probe::{Probe, per_unit};
use crate::stats::{round1, round3};

/// Flags of `idle`.
#[derive(Debug, Clone, Args)]
pub(crate) struct IdleArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Sessions to hold open.
    #[arg(long, default_value_t = 1000)]
    pub(crate) sessions: usize,
    /// Transport of every session.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub(crate) transport: Transport,
    /// Seconds to hold them once all are open (make it longer than the server's heartbeat
    /// interval to see heartbeats).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) hold: f64,
    /// Sessions opened at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// The server's admin listener (ferrio), to read the heap it has allocated
    /// (`ferrio_allocator_bytes`) before the sessions open and while they are held.
    #[arg(long)]
    pub(crate) admin: Option<SocketAddr>,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &IdleArgs) -> Result<Value> {
    positive("sessions", args.sessions)?;
    let hold = seconds("hold", args.hold)?;
    let count = args.sessions as u64;
    if let Some(admin) = args.admin {
        check_loopback(admin, "--admin")?;
    }
    let heap_before = allocated(&ctx, args.admin).await?;
    let (stop, stopped) = watch::channel(false);

    let opening = Meter::start(probe)?;
    let holder_ctx = Arc::clone(&ctx);
    let holders: Vec<JoinHandle<Result<Session>>> = open_sessions(
        &ctx,
        args.sessions,
        args.concurrency,
        args.transport,
        move |_, session| tokio::spawn(keep(Arc::clone(&holder_ctx), session, stopped.clone())),
    )
    .await?;
    let opened = opening.stop()?;

    if Instant::now() + hold > ctx.deadline {
        return Err(Error::Setup(
            "--hold does not fit in what is left of --timeout".to_owned(),
        ));
    }
    let holding = Meter::start(probe)?;
    tokio::time::sleep(hold).await;
    let held = holding.stop()?;
    let heap_held = allocated(&ctx, args.admin).await?;
    let _ = stop.send(true);

    let mut sessions = Vec::with_capacity(holders.len());
    for holder in holders {
        sessions.push(joined(holder.await)?);
    }
    let heartbeats: u64 = sessions.iter().map(Session::heartbeats).sum();
    let reconnects: u64 = sessions.iter().map(Session::reconnects).sum();
    close_all(sessions).await;

    let rss_per_session = rss_bytes_per(opened.before, held.after, count);
    let heap_per_session = heap_before
        .zip(heap_held)
        .map(|(before, held)| (held as f64 - before as f64) / count as f64);
    let cpu_open = per_unit(opened.cpu_us, count);
    let session_seconds = count as f64 * held.elapsed.as_secs_f64();
    let cpu_idle = held
        .cpu_us
        .filter(|_| session_seconds > 0.0)
        .map(|us| us / session_seconds);
    Ok(json!({
        "transport": args.transport.name(),
        "params": {
            "sessions": args.sessions,
            "hold_s": args.hold,
            "concurrency": args.concurrency,
        },
        "metrics": {
            "rss_bytes_per_session": rss_per_session.map(round1),
            "heap_bytes_per_session": heap_per_session.map(round1),
            "cpu_us_per_session_open": cpu_open.map(round3),
            "cpu_us_per_session_second_idle": cpu_idle.map(round3),
            "sessions_opened_per_s": round1(opened.rate(count)),
        },
        "heartbeats_answered": heartbeats,
        "http_reconnects": reconnects,
        "connections": ctx.net.connects(),
        "open": opened.to_json(),
        "hold": held.to_json(),
    }))
}

/// The bytes the server's allocator has handed out, when an admin listener is given.
async fn allocated(ctx: &Ctx, admin: Option<SocketAddr>) -> Result<Option<u64>> {
    let Some(admin) = admin else {
        return Ok(None);
    };
    let allocator = admin::scrape(ctx, admin)
        .await?
        .by_label("ferrio_allocator_bytes", "kind")?;
    match allocator.get("allocated") {
        Some(bytes) => Ok(Some(*bytes)),
        None => Err(Error::protocol(
            "/metrics has no ferrio_allocator_bytes{kind=\"allocated\"}",
        )),
    }
}

/// Holds one session until told to stop: heartbeats are answered inside `recv`; anything
/// else the server sends an idle session is an error.
async fn keep(
    ctx: Arc<Ctx>,
    mut session: Session,
    mut stop: watch::Receiver<bool>,
) -> Result<Session> {
    let outcome = tokio::select! {
        _ = stop.changed() => None,
        packet = ctx.until(ctx.deadline, "holding an idle session", session.recv()) => Some(packet),
    };
    match outcome {
        None => Ok(session),
        Some(packet) => {
            let packet = packet?;
            Err(Error::protocol(format!(
                "idle session {} got {}",
                session.sid(),
                excerpt(&packet.encode())
            )))
        }
    }
}
