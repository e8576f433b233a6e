//! `fanout`: N receivers and one sender on the chat app. The sender emits `toServer` with
//! `{nome: "s", msg: "SEQ:MICROS:PAD"}`, keeping at most `--window` messages in flight (it
//! counts its own `toClient` echo as delivered); every receiver must get `toClient`
//! `"s:SEQ:MICROS:PAD"` for each SEQ exactly once and in order. Reported: deliveries per
//! second and the end-to-end latency from the timestamp in the text.

use std::sync::Arc;

use clap::Args;
use ferrio_protocol::Packet;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{Common, Meter, close_all, joined, open_sessions, positive};
use crate::chat;
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};
use crate::probe::{Probe, per_unit};
use crate::stats::{Latencies, round1, round3};

/// The `nome` of the sender; receivers check it.
const SENDER: &str = "s";

/// Flags of `fanout`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FanoutArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Receiving sessions.
    #[arg(long, default_value_t = 100)]
    pub(crate) receivers: usize,
    /// Messages the sender emits.
    #[arg(long, default_value_t = 1000)]
    pub(crate) messages: u64,
    /// Most messages in flight (sent but not yet echoed back to the sender).
    #[arg(long, default_value_t = 16)]
    pub(crate) window: u64,
    /// Padding characters added to each message text.
    #[arg(long, default_value_t = 32)]
    pub(crate) payload: usize,
    /// Transport of the sender and the receivers.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub(crate) transport: Transport,
    /// Receivers opened at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
}

/// What one receiver saw.
#[derive(Debug)]
struct Received {
    session: Session,
    latencies: Latencies,
    last_at: u64,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: Probe, args: &FanoutArgs) -> Result<Value> {
    positive("receivers", args.receivers)?;
    if args.messages == 0 || args.window == 0 {
        return Err(Error::Setup(
            "--messages and --window must be at least 1".to_owned(),
        ));
    }
    let messages = args.messages;
    let receiver_ctx = Arc::clone(&ctx);
    let receivers: Vec<JoinHandle<Result<Received>>> = open_sessions(
        &ctx,
        args.receivers,
        args.concurrency,
        args.transport,
        move |_, session| tokio::spawn(receive(Arc::clone(&receiver_ctx), session, messages)),
    )
    .await?;
    let mut http = ctx.http().await?;
    let mut sender = Session::open(&ctx, args.transport, &mut http).await?;
    drop(http);

    let pad = "x".repeat(args.payload);
    let meter = Meter::start(probe)?;
    let first_sent_at = ctx.micros();
    let (mut sent, mut echoed) = (0u64, 0u64);
    while echoed < messages {
        while sent < messages && sent - echoed < args.window {
            let said = chat::say(SENDER, sent, ctx.micros(), &pad);
            ctx.within("sending", sender.send(&said)).await?;
            sent += 1;
        }
        let packet = ctx
            .within("waiting for the sender's own toClient", sender.recv())
            .await?;
        let (seq, _) = parse_to_client(&packet)?;
        check_order(sender.sid(), echoed, seq)?;
        echoed += 1;
    }

    let mut latencies = Latencies::default();
    let mut last_at = first_sent_at;
    let mut sessions = vec![sender];
    for receiver in receivers {
        let received = joined(receiver.await)?;
        latencies.merge(received.latencies);
        last_at = last_at.max(received.last_at);
        sessions.push(received.session);
    }
    let phase = meter.stop()?;
    close_all(sessions).await;

    let deliveries = args.receivers as u64 * messages;
    let delivery_s = (last_at - first_sent_at) as f64 / 1e6;
    let latency = latencies.summary();
    Ok(json!({
        "transport": args.transport.name(),
        "params": {
            "receivers": args.receivers,
            "messages": messages,
            "window": args.window,
            "payload": args.payload,
        },
        "metrics": {
            "deliveries_per_s": if delivery_s > 0.0 { round1(deliveries as f64 / delivery_s) } else { 0.0 },
            "latency_p50_us": latency.p50,
            "latency_p99_us": latency.p99,
            "latency_max_us": latency.max,
            "cpu_us_per_delivery": per_unit(phase.cpu_us, deliveries).map(round3),
        },
        "deliveries": deliveries,
        "latency": latency.to_json(),
        "connections": ctx.net.connects(),
        "run": phase.to_json(),
    }))
}

/// One receiver: every message once, in order, then done.
async fn receive(ctx: Arc<Ctx>, mut session: Session, messages: u64) -> Result<Received> {
    let mut latencies = Latencies::with_capacity(usize::try_from(messages).unwrap_or(0));
    let mut last_at = 0;
    for expected in 0..messages {
        // The first message waits for every receiver and the sender to open.
        let packet = if expected == 0 {
            ctx.until(
                ctx.deadline,
                "waiting for the first broadcast",
                session.recv(),
            )
            .await?
        } else {
            ctx.within("waiting for a broadcast", session.recv())
                .await?
        };
        let (seq, sent_at) = parse_to_client(&packet)?;
        check_order(session.sid(), expected, seq)?;
        last_at = ctx.micros();
        latencies.push(last_at.saturating_sub(sent_at));
    }
    Ok(Received {
        session,
        latencies,
        last_at,
    })
}

/// Fails unless `seq` is the one expected next.
fn check_order(sid: &str, expected: u64, seq: u64) -> Result<()> {
    if seq == expected {
        return Ok(());
    }
    let what = if seq < expected {
        "a duplicate"
    } else {
        "a gap (loss or reordering)"
    };
    Err(Error::Ordering(format!(
        "session {sid} expected message {expected} and got {seq}: {what}"
    )))
}

/// `(SEQ, MICROS)` of a `toClient` event carrying `"s:SEQ:MICROS:PAD"`.
fn parse_to_client(packet: &Packet) -> Result<(u64, u64)> {
    let line = chat::heard(packet)?;
    if line.nome != SENDER {
        return Err(Error::protocol(format!(
            "expected a line of {SENDER}, got one of {}",
            line.nome
        )));
    }
    Ok((line.seq, line.micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_protocol::decode;

    #[test]
    fn only_the_sender_s_lines_count() {
        let packet = decode(r#"5:::{"name":"toClient","args":["s:12:3456:xx"]}"#).expect("valid");
        assert_eq!(parse_to_client(&packet).expect("a toClient"), (12, 3456));
        let packet = decode(r#"5:::{"name":"toClient","args":["t:1:2:x"]}"#).expect("valid");
        assert!(parse_to_client(&packet).is_err());
    }

    #[test]
    fn order_checks_name_duplicates_and_gaps() {
        assert!(check_order("a", 3, 3).is_ok());
        let duplicate = check_order("a", 3, 2).expect_err("duplicate");
        assert!(duplicate.to_string().contains("duplicate"));
        let gap = check_order("a", 3, 5).expect_err("gap");
        assert!(gap.to_string().contains("gap"));
    }
}
