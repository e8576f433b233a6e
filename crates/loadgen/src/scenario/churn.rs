//! `churn`: xhr-polling sessions opened (handshake, then the first GET, which must bring
//! `1::`) and abandoned in the middle of their second poll: the request is written, then the
//! connection is dropped. After the close timeout has passed the server should have let go of
//! them all; reported: its RSS and CPU time per session and, with `--admin`, its
//! `ferrio_sessions` gauge before, after opening, and after the wait (or, with `--stats-path`,
//! the count a peer serves there).
//!
//! A modern session (`--protocol eio4`) is opened as its client opens it (the polling
//! handshake, the `CONNECT` POST, the GET that answers it) and abandoned in its next GET; the
//! server lets go of it when its ping goes unanswered, so the default wait is the ping interval
//! and timeout its open packet announces, plus 2 s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;
use ferrio_protocol::unframe;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Common, Meter, joined, positive, rss_bytes_per, seconds};
use crate::admin;
use crate::client::{Ctx, excerpt};
use crate::error::{Error, Result};
use crate::http::HttpConn;
use crate::http::TEXT_PLAIN;
use crate::modern;
use crate::net::check_loopback;
use crate::probe::{Probe, per_unit};
use crate::stats::{round1, round3};

/// Flags of `churn`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ChurnArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Sessions to open and abandon.
    #[arg(long, default_value_t = 1000)]
    pub(crate) sessions: u64,
    /// Sessions in progress at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Milliseconds between writing the second poll and dropping the connection.
    #[arg(long, default_value_t = 50)]
    pub(crate) abandon_after_ms: u64,
    /// The server's admin listener (ferrio), to read `ferrio_sessions` from /metrics.
    #[arg(long, conflicts_with = "stats_path")]
    pub(crate) admin: Option<SocketAddr>,
    /// A path on the server answered with its number of live sessions as plain text (the
    /// peers' `/stats`), read where --admin would be.
    #[arg(long)]
    pub(crate) stats_path: Option<String>,
    /// The server's polling duration in seconds (for the default --wait).
    #[arg(long, default_value_t = 20.0)]
    pub(crate) polling_duration: f64,
    /// Seconds to wait after the last session was abandoned [default: the close timeout the
    /// handshake announces + --polling-duration + 2].
    #[arg(long)]
    pub(crate) wait: Option<f64>,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &ChurnArgs) -> Result<Value> {
    positive("concurrency", args.concurrency)?;
    if args.sessions == 0 {
        return Err(Error::Setup("--sessions must be at least 1".to_owned()));
    }
    if let Some(admin) = args.admin {
        check_loopback(admin, "--admin")?;
    }
    let modern = ctx.protocol_of(0).revision();
    if modern.is_some_and(|revision| revision != ferrio_eio::Revision::V4) {
        return Err(Error::Setup(
            "churn polls, which the loadgen speaks in Engine.IO 4 only: --protocol 0.9 or eio4"
                .to_owned(),
        ));
    }
    // An Engine.IO session has no polling duration to wait out: its held GET is simply lost.
    let polling = match modern {
        Some(_) => Duration::ZERO,
        None => seconds("polling-duration", args.polling_duration)?,
    };
    let explicit_wait = args.wait.map(|wait| seconds("wait", wait)).transpose()?;
    let abandon_after = Duration::from_millis(args.abandon_after_ms);

    let admin_before = live_sessions(&ctx, args).await?;
    let next = Arc::new(AtomicU64::new(0));
    let close_timeout = Arc::new(AtomicU64::new(0));
    let opening = Meter::start(probe)?;
    let mut workers = JoinSet::new();
    for _ in 0..args.concurrency {
        let ctx = Arc::clone(&ctx);
        let next = Arc::clone(&next);
        let close_timeout = Arc::clone(&close_timeout);
        let count = args.sessions;
        workers.spawn(async move {
            // Connections are dropped by their own tasks, so the workers' pace is the server's.
            let mut abandoned = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let (announced, http) = match modern {
                    Some(_) => abandon_modern(&ctx).await?,
                    None => abandon_one(&ctx).await?,
                };
                close_timeout.fetch_max(announced, Ordering::Relaxed);
                abandoned.push(tokio::spawn(async move {
                    tokio::time::sleep(abandon_after).await;
                    drop(http);
                }));
            }
            Ok(abandoned)
        });
    }
    let mut abandoned = Vec::new();
    while let Some(result) = workers.join_next().await {
        abandoned.extend(joined(result)?);
    }
    let open_elapsed = opening.stop()?.elapsed;
    for dropper in abandoned {
        dropper
            .await
            .map_err(|error| Error::Setup(format!("a dropper task failed: {error}")))?;
    }
    let opened = opening.stop()?;
    let admin_opened = live_sessions(&ctx, args).await?;

    let close_timeout = close_timeout.load(Ordering::Relaxed);
    let wait = explicit_wait
        .unwrap_or_else(|| Duration::from_secs(close_timeout) + polling + Duration::from_secs(2));
    if Instant::now() + wait > ctx.deadline {
        return Err(Error::Setup(format!(
            "waiting {wait:?} for the close timeout does not fit in what is left of --timeout"
        )));
    }
    tokio::time::sleep(wait).await;
    let settled = opening.stop()?;
    let admin_settled = live_sessions(&ctx, args).await?;

    let count = args.sessions;
    let mut report = json!({
        "transport": if modern.is_some() { "polling" } else { "xhr-polling" },
        "params": {
            "sessions": count,
            "concurrency": args.concurrency,
            "abandon_after_ms": args.abandon_after_ms,
            "wait_s": round3(wait.as_secs_f64()),
            "close_timeout_s": close_timeout,
            "protocol": ctx.protocol_of(0).name(),
        },
        "metrics": {
            "sessions_opened_per_s": round1(count as f64 / open_elapsed.as_secs_f64().max(1e-6)),
            "cpu_us_per_session": per_unit(settled.cpu_us, count).map(round3),
            "rss_bytes_per_session_open": rss_bytes_per(opened.before, opened.after, count).map(round1),
            "rss_bytes_per_session_left": rss_bytes_per(settled.before, settled.after, count).map(round1),
        },
        "server_rss_kb": {
            "before": opened.before.map(|s| s.rss_kb),
            "opened": opened.after.map(|s| s.rss_kb),
            "settled": settled.after.map(|s| s.rss_kb),
        },
        "connections": ctx.net.connects(),
        "open": opened.to_json(),
        "total": settled.to_json(),
    });
    if let (Some(before), Some(opened), Some(settled), Value::Object(fields)) =
        (admin_before, admin_opened, admin_settled, &mut report)
    {
        fields.insert(
            "server_sessions".to_owned(),
            json!({ "before": before, "opened": opened, "settled": settled }),
        );
        if let Some(Value::Object(metrics)) = fields.get_mut("metrics") {
            metrics.insert(
                "sessions_left".to_owned(),
                json!(settled.saturating_sub(before)),
            );
        }
    }
    Ok(report)
}

/// One session: handshake, first GET (`1::`), second GET written. Returns the close timeout
/// the handshake announced and the connection, for the caller to drop.
async fn abandon_one(ctx: &Arc<Ctx>) -> Result<(u64, HttpConn)> {
    let mut http = ctx.http().await?;
    let handshake = ctx.handshake(&mut http).await?;
    if !handshake.transports.iter().any(|t| t == "xhr-polling") {
        return Err(Error::Setup(format!(
            "the server does not offer xhr-polling (it offers {})",
            handshake.transports.join(",")
        )));
    }
    let path = format!("{}/1/xhr-polling/{}", ctx.resource, handshake.sid);
    let first = ctx
        .within("the first poll", http.get(&format!("{path}?t=1")))
        .await?;
    let packets = unframe(&first.body).map_err(|error| {
        Error::protocol(format!("bad framing ({error}) in {}", excerpt(&first.body)))
    })?;
    if first.status != 200 || packets.first() != Some(&"1::") {
        return Err(Error::protocol(format!(
            "the first poll answered {} {}, expected 1::",
            first.status,
            excerpt(&first.body)
        )));
    }
    ctx.within(
        "writing the second poll",
        http.send_get(&format!("{path}?t=2")),
    )
    .await?;
    Ok((handshake.close_timeout_secs, http))
}

/// The server's live sessions, from its admin listener or its `--stats-path`, when given.
async fn live_sessions(ctx: &Ctx, args: &ChurnArgs) -> Result<Option<u64>> {
    let Some(path) = &args.stats_path else {
        return admin::sessions(ctx, args.admin).await;
    };
    let mut http = ctx.http().await?;
    let response = ctx
        .within("reading the live sessions", http.get(path))
        .await?;
    let count = response.body.trim().parse().map_err(|_| {
        Error::protocol(format!(
            "{path} answered {} {}, not a number of sessions",
            response.status,
            excerpt(&response.body)
        ))
    })?;
    Ok(Some(count))
}

/// The polls a modern session may take to bring its `CONNECT` answer.
const CONNECT_POLLS: u32 = 3;

/// One Engine.IO 4 session: the polling handshake, `40` POSTed, the GET that brings the
/// answer (after a ping, perhaps), the next GET written. Returns the seconds after which an
/// unanswered ping ends it and the connection of that GET, for the caller to drop.
async fn abandon_modern(ctx: &Arc<Ctx>) -> Result<(u64, HttpConn)> {
    let revision = ferrio_eio::Revision::V4;
    let mut http = ctx.http().await?;
    let handshake = ctx.engine_handshake(&mut http, revision).await?;
    let path = modern::engine_path(&ctx.resource, revision, "polling", Some(&handshake.sid));
    let posted = ctx
        .within(
            "the CONNECT POST",
            http.post(&format!("{path}&t=p1"), TEXT_PLAIN, "40"),
        )
        .await?;
    if posted.status != 200 {
        return Err(Error::Http(format!(
            "the CONNECT POST answered {} {}",
            posted.status,
            excerpt(&posted.body)
        )));
    }
    // A ping may come before the CONNECT answer (socketioxide sends one as soon as it is
    // due): poll until the answer has come, a few polls at most.
    let mut polls = 0;
    loop {
        polls += 1;
        let answer = ctx
            .within("a poll", http.get(&format!("{path}&t={polls}")))
            .await?;
        let connected = answer
            .body
            .split(ferrio_eio::v4::SEPARATOR)
            .any(|record| record.starts_with("40"));
        if answer.status == 200 && connected {
            break;
        }
        if answer.status != 200 || polls == CONNECT_POLLS {
            return Err(Error::protocol(format!(
                "poll {polls} answered {} {}, and no poll brought the CONNECT answer 40",
                answer.status,
                excerpt(&answer.body)
            )));
        }
    }
    ctx.within(
        "writing the poll to abandon",
        http.send_get(&format!("{path}&t={}", polls + 1)),
    )
    .await?;
    let ping_ms = handshake.ping_interval + handshake.ping_timeout;
    Ok((ping_ms.div_ceil(1000), http))
}
