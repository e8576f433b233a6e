//! Hostile clients from the hardening list, sent in beside the churn so the defences work
//! while sessions come and go. Each must be cut off by the server within `--hostile-hold`
//! seconds; one that is not fails the run.
//!
//! - `slowloris`: a handshake request whose headers never end, a header line a second
//!   (the header read timeout);
//! - `stalled-body`: on a session of its own, a POST announcing 64 KiB and sending 1 KiB (the
//!   body read timeout, `408`);
//! - `deaf-websocket`: a websocket that never reads a byte (the heartbeat or write timeout;
//!   seen closed only once the close reaches it);
//! - `flooder`: a websocket saying lines as fast as it can while reading what comes back, as
//!   an attacker keeping its own outbox empty would (the inbound budget: `7:::0`, then `0::`).
//!   Its lines reach everyone until it is cut, so the healthy members hear them too; the
//!   ledger allows gaps in them (lines over the budget are not processed) but not
//!   disagreement between members.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::ValueEnum;
use ferrio_protocol::PacketBody;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, Interest};
use tokio::time::{Instant, MissedTickBehavior};

use super::ledger::{Ledger, Said};
use crate::chat;
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};
use crate::stats::round3;

/// Bytes a stalled body announces.
const STALLED_DECLARED: usize = 64 * 1024;
/// Bytes a stalled body sends before it stalls.
const STALLED_SENT: usize = 1024;

/// The hostile clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Kind {
    /// Headers that never end.
    Slowloris,
    /// A POST body that stops.
    StalledBody,
    /// A websocket that never reads.
    DeafWebsocket,
    /// A websocket that says lines as fast as it can.
    Flooder,
}

impl Kind {
    /// Every kind, in the order a wave sends them.
    pub(crate) const ALL: [Kind; 4] = [
        Kind::Slowloris,
        Kind::StalledBody,
        Kind::DeafWebsocket,
        Kind::Flooder,
    ];

    /// The name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Slowloris => "slowloris",
            Kind::StalledBody => "stalled-body",
            Kind::DeafWebsocket => "deaf-websocket",
            Kind::Flooder => "flooder",
        }
    }
}

/// How one hostile client ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Which kind it was.
    pub(crate) kind: Kind,
    /// Whether the server cut it off within the hold.
    pub(crate) cut: bool,
    /// Seconds from its start to the cut (or to the end of the hold).
    pub(crate) seconds: f64,
    /// How the server cut it off, or what it did instead.
    pub(crate) how: String,
    /// Lines a flooder said (queued for writing).
    pub(crate) said: u64,
}

impl Outcome {
    fn new(kind: Kind, cut: bool, started: Instant, how: impl Into<String>) -> Self {
        Outcome {
            kind,
            cut,
            seconds: round3(started.elapsed().as_secs_f64()),
            how: how.into(),
            said: 0,
        }
    }
}

/// Runs one hostile client of `kind`, numbered `number` in the run.
pub(crate) async fn run(
    ctx: Arc<Ctx>,
    kind: Kind,
    number: u64,
    hold: Duration,
    ledger: Arc<Ledger>,
) -> Result<Outcome> {
    let outcome = match kind {
        Kind::Slowloris => slowloris(&ctx, hold).await,
        Kind::StalledBody => stalled_body(&ctx, hold).await,
        Kind::DeafWebsocket => deaf_websocket(&ctx, hold).await,
        Kind::Flooder => flooder(&ctx, number, hold, &ledger).await,
    };
    outcome.map_err(|error| Error::Setup(format!("{} {number}: {error}", kind.name())))
}

async fn slowloris(ctx: &Ctx, hold: Duration) -> Result<Outcome> {
    let started = Instant::now();
    let mut stream = ctx.net.connect(ctx.server).await?;
    let (mut reader, mut writer) = stream.split();
    let head = format!(
        "GET {}/1/?t=slowloris HTTP/1.1\r\nHost: {}\r\n",
        ctx.resource, ctx.server
    );
    writer
        .write_all(head.as_bytes())
        .await
        .map_err(Error::io("writing a request line"))?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut buffer = [0u8; 1024];
    let mut answered = false;
    let mut lines = 0u64;
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    let how = if answered {
                        "answered, then closed"
                    } else {
                        "closed without an answer"
                    };
                    return Ok(Outcome::new(Kind::Slowloris, true, started, how));
                }
                Ok(_) => answered = true,
            },
            _ = tick.tick() => {
                if started.elapsed() >= hold {
                    return Ok(Outcome::new(
                        Kind::Slowloris,
                        false,
                        started,
                        format!("still open after {lines} header lines"),
                    ));
                }
                lines += 1;
                let line = format!("X-Slow-{lines}: 1\r\n");
                if writer.write_all(line.as_bytes()).await.is_err() {
                    return Ok(Outcome::new(Kind::Slowloris, true, started, "a write failed"));
                }
            }
        }
    }
}

async fn stalled_body(ctx: &Ctx, hold: Duration) -> Result<Outcome> {
    let started = Instant::now();
    let mut http = ctx.http().await?;
    let handshake = ctx.handshake(&mut http).await?;
    let path = format!("{}/1/xhr-polling/{}", ctx.resource, handshake.sid);
    // A session of its own, connected by its first poll, as a client that has chatted before
    // its body stalls; it polls no more, so the session ends at the close timeout.
    let first = ctx
        .within("the first poll", http.get(&format!("{path}?t=1")))
        .await?;
    if first.status != 200 {
        return Err(Error::Http(format!(
            "the first poll answered {}",
            first.status
        )));
    }
    http.send_partial_post(
        &format!("{path}?t=stalled"),
        STALLED_DECLARED,
        &"x".repeat(STALLED_SENT),
    )
    .await?;
    let outcome = match tokio::time::timeout(hold, http.response()).await {
        Ok(Ok(response)) if response.status == 408 => {
            Outcome::new(Kind::StalledBody, true, started, "408")
        }
        Ok(Ok(response)) => Outcome::new(
            Kind::StalledBody,
            false,
            started,
            format!("answered {} instead of 408", response.status),
        ),
        Ok(Err(error)) => Outcome::new(
            Kind::StalledBody,
            true,
            started,
            format!("closed without an answer ({error})"),
        ),
        Err(_) => Outcome::new(Kind::StalledBody, false, started, "no answer"),
    };
    Ok(outcome)
}

async fn deaf_websocket(ctx: &Arc<Ctx>, hold: Duration) -> Result<Outcome> {
    let started = Instant::now();
    let mut http = ctx.http().await?;
    let handshake = ctx.handshake(&mut http).await?;
    drop(http);
    let socket = ctx.websocket(&handshake.sid).await?;
    // Never read: the readiness of the socket says when the server has closed its end (a FIN
    // or a reset is seen even with unread bytes before it). A FIN the server queued behind
    // bytes that do not fit the shut window never arrives, which is why ferrio resets a
    // connection whose write it gave up.
    let stream = socket.get_ref();
    while started.elapsed() < hold {
        let ready =
            tokio::time::timeout(Duration::from_secs(1), stream.ready(Interest::READABLE)).await;
        match ready {
            Ok(Ok(ready)) if ready.is_read_closed() || ready.is_error() => {
                return Ok(Outcome::new(
                    Kind::DeafWebsocket,
                    true,
                    started,
                    "closed by the server",
                ));
            }
            Ok(Err(error)) => {
                return Ok(Outcome::new(
                    Kind::DeafWebsocket,
                    true,
                    started,
                    format!("connection failed ({error})"),
                ));
            }
            // Readable but not closed: wait a little before asking again, as readiness
            // stays set while the bytes are unread.
            Ok(Ok(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(_) => {}
        }
    }
    Ok(Outcome::new(
        Kind::DeafWebsocket,
        false,
        started,
        "still open",
    ))
}

async fn flooder(ctx: &Arc<Ctx>, number: u64, hold: Duration, ledger: &Ledger) -> Result<Outcome> {
    let started = Instant::now();
    let mut http = ctx.http().await?;
    let session = Session::open(ctx, Transport::Websocket, &mut http).await?;
    drop(http);
    let nome = format!("f{number}");
    ledger.speaker(&nome, Said::talking(true));
    let (outbound, mut inbound) = session.split();
    let said = Arc::new(AtomicU64::new(0));
    // Stopped by the reader below once the server has cut the flooder off; its writer then
    // ends on its own, with the connection.
    let producer = {
        let ctx = Arc::clone(ctx);
        let nome = nome.clone();
        let said = Arc::clone(&said);
        tokio::spawn(async move {
            loop {
                // Counted before it is queued, so that the count is never below what was
                // said, whenever the task is stopped.
                let seq = said.fetch_add(1, Ordering::Relaxed) + 1;
                if outbound
                    .send(chat::say(&nome, seq, ctx.micros(), "flood"))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        })
    };
    let mut throttled = 0u64;
    let deadline = started + hold;
    let ending = loop {
        let packet = match tokio::time::timeout_at(deadline, inbound.next_packet()).await {
            Err(_) => break None,
            Ok(Err(error)) => break Some(format!("closed ({error})")),
            Ok(Ok(packet)) => packet,
        };
        match &packet.body {
            PacketBody::Disconnect if packet.endpoint.is_empty() => {
                break Some("0::".to_owned());
            }
            PacketBody::Error { .. } => throttled += 1,
            _ => {}
        }
    };
    producer.abort();
    let _ = producer.await;
    drop(inbound);
    let said = said.load(Ordering::Relaxed);
    ledger.speaker(
        &nome,
        Said {
            at_least: 0,
            at_most: said,
            refusable: true,
        },
    );
    let mut outcome = match ending {
        Some(how) if throttled > 0 => Outcome::new(
            Kind::Flooder,
            true,
            started,
            format!("{how}, warned by an error packet first"),
        ),
        Some(how) => Outcome::new(Kind::Flooder, true, started, how),
        None => Outcome::new(
            Kind::Flooder,
            false,
            started,
            format!("still open after {throttled} error packets"),
        ),
    };
    outcome.said = said;
    Ok(outcome)
}
