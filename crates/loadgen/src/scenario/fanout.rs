//! `fanout`: N receivers and one sender on the chat app. The sender emits `toServer` with
//! `{nome: "s", msg: "SEQ:MICROS:PAD"}`, keeping at most `--window` messages in flight (it
//! counts its own `toClient` echo as delivered); every receiver must get `toClient`
//! `"s:SEQ:MICROS:PAD"` for each SEQ exactly once and in order. Reported: deliveries per
//! second and the end-to-end latency from the timestamp in the text. With `--binary N`, each
//! line also carries N bytes of binary data, which every receiver must get back whole.
//!
//! With several generations (`--protocol 0.9,eio3,eio4`), receiver i speaks the i-th in turn
//! and the sender the first: a mixed room.
//!
//! Over several servers (the nodes of a cluster), receiver i opens on server i mod n and the
//! sender on the first; each node's receivers are also reported on their own. With
//! `--pause-pid`, one node other than the sender's is stopped (`SIGSTOP`) once `--pause-after`
//! messages are sent and resumed (`SIGCONT`) `--pause-ms` later: its receivers must still get
//! every message once and in order, and the catch-up time (from `SIGCONT` until the last of
//! them has the last message) is reported.
//!
//! With `--proxy-pid` (a balancer every client connects through, such as nginx), that process's
//! CPU over the same phase is reported on its own, beside the server's rather than in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;
use ferrio_protocol::Packet;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{Common, Meter, Phase, close_all, joined, open_sessions, positive};
use crate::chat;
use crate::client::{Ctx, Session, Transport};
use crate::error::{Error, Result};
use crate::probe::{Probe, per_unit};
use crate::signal::Stopped;
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
    /// Bytes of binary data each line also carries (0: none), an attachment for a modern
    /// receiver.
    #[arg(long, default_value_t = 0)]
    pub(crate) binary: usize,
    /// Transport of the sender and the receivers.
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub(crate) transport: Transport,
    /// Receivers opened at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Pid of a node to stop (SIGSTOP) during the run and resume (SIGCONT) --pause-ms later:
    /// the node at --pause-server in the --server list.
    #[arg(long, requires = "pause_server")]
    pub(crate) pause_pid: Option<u32>,
    /// Index in --server (from 0) of the node --pause-pid names; not 0, the sender's node.
    #[arg(long, requires = "pause_pid")]
    pub(crate) pause_server: Option<usize>,
    /// Messages sent before the node is stopped.
    #[arg(long, default_value_t = 0)]
    pub(crate) pause_after: u64,
    /// Milliseconds the node stays stopped.
    #[arg(long, default_value_t = 3000)]
    pub(crate) pause_ms: u64,
    /// Pid of a proxy the clients connect through (one process, such as nginx with
    /// master_process off): its CPU over the deliveries is reported apart from the server's.
    #[arg(long)]
    pub(crate) proxy_pid: Option<u32>,
}

/// The node to stop during the run, checked against the servers.
#[derive(Debug, Clone, Copy)]
struct PausePlan {
    pid: u32,
    node: usize,
    after: u64,
    duration: Duration,
}

impl PausePlan {
    /// The plan the flags describe, if any.
    fn from_args(args: &FanoutArgs, servers: usize) -> Result<Option<PausePlan>> {
        let (Some(pid), Some(node)) = (args.pause_pid, args.pause_server) else {
            return Ok(None);
        };
        if node == 0 || node >= servers {
            return Err(Error::Setup(format!(
                "--pause-server {node} must name one of the --server list other than the \
                 first (the sender's): 1 to {}",
                servers.saturating_sub(1)
            )));
        }
        if args.pause_after >= args.messages {
            return Err(Error::Setup(
                "--pause-after must be below --messages (the node is stopped before a message \
                 is sent)"
                    .to_owned(),
            ));
        }
        Ok(Some(PausePlan {
            pid,
            node,
            after: args.pause_after,
            duration: Duration::from_millis(args.pause_ms),
        }))
    }
}

/// What happened to the stopped node, in microseconds of the run.
#[derive(Debug, Clone, Copy)]
struct Paused {
    stopped_at: u64,
    resumed_at: u64,
    /// Messages the sender had sent when the node was stopped, and when it was resumed.
    sent_at_stop: u64,
    sent_at_resume: u64,
}

/// Stops the planned node now and resumes it after the planned time, in a task of its own.
fn pause(
    ctx: &Arc<Ctx>,
    plan: PausePlan,
    sent: &Arc<AtomicU64>,
) -> Result<JoinHandle<Result<Paused>>> {
    let stopped = Stopped::stop(plan.pid)?;
    let stopped_at = ctx.micros();
    let sent_at_stop = sent.load(Ordering::Relaxed);
    let (ctx, sent) = (Arc::clone(ctx), Arc::clone(sent));
    Ok(tokio::spawn(async move {
        tokio::time::sleep(plan.duration).await;
        stopped.resume()?;
        Ok(Paused {
            stopped_at,
            resumed_at: ctx.micros(),
            sent_at_stop,
            sent_at_resume: sent.load(Ordering::Relaxed),
        })
    }))
}

/// What one receiver saw.
#[derive(Debug)]
struct Received {
    session: Session,
    node: usize,
    latencies: Latencies,
    last_at: u64,
}

/// The receivers of one node, together.
#[derive(Debug, Default)]
struct NodeFigures {
    receivers: usize,
    latencies: Latencies,
    last_at: u64,
}

/// Runs the scenario.
pub(crate) async fn run(ctx: Arc<Ctx>, probe: &Probe, args: &FanoutArgs) -> Result<Value> {
    positive("receivers", args.receivers)?;
    if args.messages == 0 || args.window == 0 {
        return Err(Error::Setup(
            "--messages and --window must be at least 1".to_owned(),
        ));
    }
    let servers = ctx.servers.len();
    let plan = PausePlan::from_args(args, servers)?;
    let proxy = Probe::new(args.proxy_pid.as_slice())?;
    let messages = args.messages;
    let binary = (args.binary > 0).then_some(args.binary);
    let receiver_ctx = Arc::clone(&ctx);
    let receivers: Vec<JoinHandle<Result<Received>>> = open_sessions(
        &ctx,
        args.receivers,
        args.concurrency,
        args.transport,
        move |index, session| {
            let node = receiver_ctx.node_of(index);
            tokio::spawn(receive(
                Arc::clone(&receiver_ctx),
                session,
                node,
                messages,
                binary,
            ))
        },
    )
    .await?;
    let mut http = ctx.http().await?;
    let mut sender = Session::open(&ctx, args.transport, &mut http).await?;
    drop(http);

    let pad = "x".repeat(args.payload);
    let meter = Meter::start(probe)?;
    let proxy_meter = Meter::start(&proxy)?;
    let first_sent_at = ctx.micros();
    let (mut sent, mut echoed) = (0u64, 0u64);
    let sent_count = Arc::new(AtomicU64::new(0));
    let mut paused = None;
    while echoed < messages {
        while sent < messages && sent - echoed < args.window {
            if let Some(plan) = plan.filter(|plan| plan.after == sent && paused.is_none()) {
                paused = Some(pause(&ctx, plan, &sent_count)?);
            }
            let said = chat::say_with(SENDER, sent, ctx.micros(), &pad, binary);
            ctx.within("sending", sender.send(&said)).await?;
            sent += 1;
            sent_count.store(sent, Ordering::Relaxed);
        }
        let packet = ctx
            .within("waiting for the sender's own toClient", sender.recv())
            .await?;
        let (seq, _) = parse_to_client(&packet, binary)?;
        check_order(sender.sid(), echoed, seq)?;
        echoed += 1;
    }

    let mut nodes: Vec<NodeFigures> = (0..servers).map(|_| NodeFigures::default()).collect();
    let mut sessions = vec![sender];
    for receiver in receivers {
        let received = joined(receiver.await)?;
        let node = &mut nodes[received.node];
        node.receivers += 1;
        node.latencies.merge(received.latencies);
        node.last_at = node.last_at.max(received.last_at);
        sessions.push(received.session);
    }
    let phase = meter.stop()?;
    let proxy_phase = proxy_meter.stop()?;
    let paused = match paused {
        Some(task) => Some(joined(task.await)?),
        None => None,
    };
    close_all(sessions).await;

    let paused_node_done_at = plan.map(|plan| nodes[plan.node].last_at);
    let mut latencies = Latencies::default();
    let mut last_at = first_sent_at;
    for node in &nodes {
        latencies.merge_from(&node.latencies);
        last_at = last_at.max(node.last_at);
    }
    let deliveries = args.receivers as u64 * messages;
    let delivery_s = (last_at - first_sent_at) as f64 / 1e6;
    let latency = latencies.summary();
    let mut figures = json!({
        "transport": args.transport.name(),
        "params": {
            "receivers": args.receivers,
            "messages": messages,
            "window": args.window,
            "payload": args.payload,
            "binary": args.binary,
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
    });
    if proxy.has_pid() {
        add_proxy_figures(&mut figures, proxy_phase, deliveries);
    }
    if servers > 1 {
        figures["nodes"] = ctx
            .servers
            .iter()
            .zip(nodes)
            .map(|(server, node)| {
                let latency = node.latencies.summary();
                json!({
                    "server": server.to_string(),
                    "receivers": node.receivers,
                    "done_after_ms": round3(node.last_at.saturating_sub(first_sent_at) as f64 / 1e3),
                    "latency_p50_us": latency.p50,
                    "latency_p99_us": latency.p99,
                })
            })
            .collect();
    }
    if let (Some(plan), Some(paused), Some(node_done_at)) = (plan, paused, paused_node_done_at) {
        let catch_up_ms = round3(node_done_at.saturating_sub(paused.resumed_at) as f64 / 1e3);
        figures["metrics"]["catch_up_ms"] = json!(catch_up_ms);
        figures["pause"] = json!({
            "pid": plan.pid,
            "server": ctx.servers[plan.node].to_string(),
            "stopped_ms": round3(paused.resumed_at.saturating_sub(paused.stopped_at) as f64 / 1e3),
            "stopped_after_ms": round3(paused.stopped_at.saturating_sub(first_sent_at) as f64 / 1e3),
            "sent_before_stop": paused.sent_at_stop,
            "sent_while_stopped": paused.sent_at_resume - paused.sent_at_stop,
            "catch_up_ms": catch_up_ms,
        });
    }
    Ok(figures)
}

/// The proxy's CPU over the deliveries, beside the server's: `proxy_cpu_us_per_delivery` in
/// `metrics` and `proxy_cpu_s` in `run`.
fn add_proxy_figures(figures: &mut Value, proxy: Phase, deliveries: u64) {
    figures["metrics"]["proxy_cpu_us_per_delivery"] =
        json!(per_unit(proxy.cpu_us, deliveries).map(round3));
    figures["run"]["proxy_cpu_s"] = json!(proxy.cpu_us.map(|us| round3(us / 1e6)));
}

/// One receiver: every message once, in order, then done.
async fn receive(
    ctx: Arc<Ctx>,
    mut session: Session,
    node: usize,
    messages: u64,
    binary: Option<usize>,
) -> Result<Received> {
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
        let (seq, sent_at) = parse_to_client(&packet, binary)?;
        check_order(session.sid(), expected, seq)?;
        last_at = ctx.micros();
        latencies.push(last_at.saturating_sub(sent_at));
    }
    Ok(Received {
        session,
        node,
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

/// `(SEQ, MICROS)` of a `toClient` event carrying `"s:SEQ:MICROS:PAD"`, and `binary` bytes
/// of binary data when given.
fn parse_to_client(packet: &Packet, binary: Option<usize>) -> Result<(u64, u64)> {
    let line = chat::heard(packet)?;
    if line.nome != SENDER {
        return Err(Error::protocol(format!(
            "expected a line of {SENDER}, got one of {}",
            line.nome
        )));
    }
    if line.attached != binary {
        return Err(Error::protocol(format!(
            "line {} carries {:?} bytes of binary data, expected {binary:?}",
            line.seq, line.attached
        )));
    }
    Ok((line.seq, line.micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_protocol::decode;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: FanoutArgs,
    }

    fn args(flags: &[&str]) -> std::result::Result<FanoutArgs, clap::Error> {
        use clap::Parser as _;
        let common = ["fanout", "--server", "127.0.0.1:1", "--messages", "100"];
        Cli::try_parse_from(common.iter().chain(flags)).map(|cli| cli.args)
    }

    #[test]
    fn a_pause_names_a_node_other_than_the_sender_s_and_comes_before_the_last_message() {
        let plan = |flags: &[&str], servers| {
            PausePlan::from_args(&args(flags).expect("valid flags"), servers)
        };
        assert!(plan(&[], 3).expect("no pause").is_none());
        let pause = [
            "--pause-pid",
            "42",
            "--pause-server",
            "2",
            "--pause-after",
            "10",
        ];
        let planned = plan(&pause, 3).expect("valid").expect("a pause");
        assert_eq!(
            (planned.pid, planned.node, planned.after, planned.duration),
            (42, 2, 10, Duration::from_secs(3))
        );
        assert!(plan(&pause, 2).is_err(), "no third server");
        let first = ["--pause-pid", "42", "--pause-server", "0"];
        assert!(plan(&first, 3).is_err(), "the sender's node");
        let late = [
            "--pause-pid",
            "42",
            "--pause-server",
            "1",
            "--pause-after",
            "100",
        ];
        assert!(plan(&late, 3).is_err(), "after the last message");
        let short = [
            "--pause-pid",
            "42",
            "--pause-server",
            "1",
            "--pause-ms",
            "250",
        ];
        let planned = plan(&short, 2).expect("valid").expect("a pause");
        assert_eq!(planned.duration, Duration::from_millis(250));
        assert!(args(&["--pause-pid", "42"]).is_err(), "which node?");
        assert!(args(&["--pause-server", "1"]).is_err(), "which pid?");
    }

    #[test]
    fn servers_are_a_list() {
        let args = <Cli as clap::Parser>::try_parse_from([
            "fanout",
            "--server",
            "127.0.0.1:1,127.0.0.1:2",
            "--server",
            "127.0.0.1:3",
            "--server-pid",
            "7,8",
            "--server-pid",
            "9",
        ])
        .expect("valid flags")
        .args;
        let ports: Vec<u16> = args.common.server.iter().map(|addr| addr.port()).collect();
        assert_eq!(ports, [1, 2, 3]);
        assert_eq!(args.common.server_pid, [7, 8, 9]);
        assert!(
            <Cli as clap::Parser>::try_parse_from(["fanout"]).is_err(),
            "a server is needed"
        );
    }

    #[test]
    fn a_proxy_s_cpu_is_reported_per_delivery_beside_the_server_s() {
        let given = args(&["--proxy-pid", "77"]).expect("valid flags");
        assert_eq!(given.proxy_pid, Some(77));
        assert_eq!(args(&[]).expect("valid flags").proxy_pid, None);
        let mut figures = json!({
            "metrics": { "cpu_us_per_delivery": 4.0 },
            "run": { "server_cpu_s": 2.0 },
        });
        let proxy = Phase {
            elapsed: Duration::from_secs(1),
            before: None,
            after: None,
            cpu_us: Some(1_500_000.0),
        };
        add_proxy_figures(&mut figures, proxy, 1_000_000);
        assert_eq!(figures["metrics"]["proxy_cpu_us_per_delivery"], json!(1.5));
        assert_eq!(figures["run"]["proxy_cpu_s"], json!(1.5));
        assert_eq!(
            figures["metrics"]["cpu_us_per_delivery"],
            json!(4.0),
            "apart from the server's"
        );
        assert_eq!(figures["run"]["server_cpu_s"], json!(2.0));
    }

    #[test]
    fn a_proxy_probe_reads_the_named_process_alone() {
        let own = std::process::id();
        let given = args(&["--proxy-pid", &own.to_string()]).expect("valid flags");
        let proxy = Probe::new(given.proxy_pid.as_slice()).expect("own process readable");
        assert!(proxy.has_pid());
        assert_eq!(proxy.describe()["pid"], json!(own));
        let none = Probe::new(args(&[]).expect("valid").proxy_pid.as_slice()).expect("no pid");
        assert!(!none.has_pid(), "no proxy, no figures");
    }

    #[test]
    fn only_the_sender_s_lines_count() {
        let packet = decode(r#"5:::{"name":"toClient","args":["s:12:3456:xx"]}"#).expect("valid");
        assert_eq!(
            parse_to_client(&packet, None).expect("a toClient"),
            (12, 3456)
        );
        let packet = decode(r#"5:::{"name":"toClient","args":["t:1:2:x"]}"#).expect("valid");
        assert!(parse_to_client(&packet, None).is_err());
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
