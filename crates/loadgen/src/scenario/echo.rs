//! `echo`: N clients each doing sequential data-ack round trips: `3:ID+::TEXT` out,
//! `6:::ID+["TEXT"]` back (docs/protocol.md §3.3, §3.4), over websocket or xhr-polling.

use std::sync::Arc;

use clap::Args;
use ferrio_protocol::{Packet, PacketBody};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Common, Meter, close_all, joined, open_sessions, positive};
use crate::client::{Ctx, Session, Transport, excerpt};
use crate::error::{Error, Result};
use crate::probe::{Probe, per_unit};
use crate::route::Route;
use crate::stats::{Latencies, round1, round3};

/// Flags of `echo`.
#[derive(Debug, Clone, Args)]
pub(crate) struct EchoArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    pub(crate) clients: usize,
    /// Round trips per client, one after the other.
    #[arg(long, default_value_t = 200)]
    pub(crate) round_trips: u64,
    /// Padding characters added to each message text.
    #[arg(long, default_value_t = 32)]
    pub(crate) payload: usize,
    /// Transport of every client.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub(crate) transport: Transport,
    /// Clients opened at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Over several servers (one cluster): `owner` keeps each session on the server it opened
    /// on; `rotate` opens its transport on the next server, which takes it over, and sends
    /// every later GET and POST to the others in turn, so that each is forwarded.
    #[arg(long, value_enum, default_value_t = Route::Owner)]
    pub(crate) route: Route,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &EchoArgs) -> Result<Value> {
    positive("clients", args.clients)?;
    if args.round_trips == 0 {
        return Err(Error::Setup("--round-trips must be at least 1".to_owned()));
    }
    let sessions = open_sessions(
        &ctx,
        args.clients,
        args.concurrency,
        args.transport,
        |index, session| (index, session),
    )
    .await?;

    let meter = Meter::start(probe)?;
    let mut clients = JoinSet::new();
    for (index, session) in sessions {
        clients.spawn(client(
            Arc::clone(&ctx),
            index,
            session,
            args.round_trips,
            "x".repeat(args.payload),
        ));
    }
    let mut latencies = Latencies::default();
    let mut sessions = Vec::with_capacity(args.clients);
    while let Some(result) = clients.join_next().await {
        let (session, client_latencies) = joined(result)?;
        latencies.merge(client_latencies);
        sessions.push(session);
    }
    let phase = meter.stop()?;
    let reconnects: u64 = sessions.iter().map(Session::reconnects).sum();
    close_all(sessions).await;

    let round_trips = latencies.len() as u64;
    let latency = latencies.summary();
    Ok(json!({
        "transport": args.transport.name(),
        "params": {
            "clients": args.clients,
            "round_trips": args.round_trips,
            "payload": args.payload,
            "route": args.route.name(),
        },
        "metrics": {
            "round_trips_per_s": round1(phase.rate(round_trips)),
            "latency_p50_us": latency.p50,
            "latency_p99_us": latency.p99,
            "latency_max_us": latency.max,
            "cpu_us_per_round_trip": per_unit(phase.cpu_us, round_trips).map(round3),
        },
        "round_trips": round_trips,
        "latency": latency.to_json(),
        "http_reconnects": reconnects,
        "connections": ctx.net.connects(),
        "run": phase.to_json(),
    }))
}

/// One client's round trips, strictly one after the other.
async fn client(
    ctx: Arc<Ctx>,
    index: usize,
    mut session: Session,
    round_trips: u64,
    pad: String,
) -> Result<(Session, Latencies)> {
    let mut latencies = Latencies::with_capacity(usize::try_from(round_trips).unwrap_or(0));
    for id in 1..=round_trips {
        let text = format!("c{index}r{id}{pad}");
        let started = Instant::now();
        ctx.within(
            "sending a message",
            session.send(&format!("3:{id}+::{text}")),
        )
        .await?;
        let packet = ctx.within("waiting for an ack", session.recv()).await?;
        check_ack(&packet, id, &text)?;
        latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    Ok((session, latencies))
}

/// Fails unless `packet` is `6:::ID+["TEXT"]`.
fn check_ack(packet: &Packet, id: u64, text: &str) -> Result<()> {
    let PacketBody::Ack { acked, args } = &packet.body else {
        return Err(Error::protocol(format!(
            "expected the ack of message {id}, got {}",
            excerpt(&packet.encode())
        )));
    };
    if *acked != id {
        return Err(Error::Ordering(format!(
            "expected the ack of message {id}, got the ack of {acked}"
        )));
    }
    let expected = [Value::String(text.to_owned())];
    if !packet.endpoint.is_empty() || args.as_deref() != Some(&expected[..]) {
        return Err(Error::protocol(format!(
            "the ack of message {id} is {}, expected 6:::{id}+[{text:?}]",
            excerpt(&packet.encode())
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_protocol::decode;

    #[test]
    fn the_right_ack_passes() {
        let packet = decode(r#"6:::4+["c0r4xx"]"#).expect("valid");
        assert!(check_ack(&packet, 4, "c0r4xx").is_ok());
    }

    #[test]
    fn wrong_acks_fail() {
        let wrong_id = decode(r#"6:::3+["c0r4xx"]"#).expect("valid");
        assert!(matches!(
            check_ack(&wrong_id, 4, "c0r4xx"),
            Err(Error::Ordering(_))
        ));
        for text in [
            r#"6:::4+["other"]"#,
            "6:::4",
            r#"6::/chat:4+["c0r4xx"]"#,
            "3:::c0r4xx",
        ] {
            let packet = decode(text).expect("valid");
            assert!(
                matches!(check_ack(&packet, 4, "c0r4xx"), Err(Error::Protocol(_))),
                "{text}"
            );
        }
    }
}
