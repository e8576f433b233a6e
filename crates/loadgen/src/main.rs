//! `ferrio-loadgen`: load for Socket.IO servers (ferrio, or for comparison socket.io 0.9.19 and
//! 4.8 on Node and socketioxide), speaking protocol 1 over websocket, xhr-polling and
//! jsonp-polling, and with `--protocol eio4` (or `eio3`) the modern generations over websocket,
//! Engine.IO polling and the upgrade from one to the other.
//!
//! Each scenario prints ONE JSON line on stdout and exits 0, or prints a line with
//! `"ok": false` and the error, and exits 1, on any protocol error, lost, duplicated or
//! reordered message, or timeout. Usage errors exit 2. Traffic only goes to IPv4 loopback.
//!
//! Scenarios: `idle`, `fanout`, `echo`, `handshake`, `churn`, `soak` (see `--help` of each).
//! With `--server-pid`, each reports the server's CPU time (utime + stime from /proc) per unit
//! of work and its resident memory; `soak` also judges whether the memory came back.
//! `idle`, `fanout`, `echo` and `handshake` also spread their sessions over several servers
//! (the nodes of a cluster), and several pids (every node and their Redis) are probed as one
//! server; `echo` and `handshake` can also spread the requests of one session (`--route`).

mod admin;
mod chat;
mod client;
mod error;
mod http;
mod modern;
mod net;
mod probe;
mod route;
mod scenario;
mod signal;
mod stats;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::client::Ctx;
use crate::error::{Error, Result};
use crate::net::{Net, check_loopback};
use crate::probe::Probe;
use crate::route::Route;
use crate::scenario::churn::ChurnArgs;
use crate::scenario::echo::EchoArgs;
use crate::scenario::fanout::FanoutArgs;
use crate::scenario::handshake::HandshakeArgs;
use crate::scenario::idle::IdleArgs;
use crate::scenario::soak::SoakArgs;
use crate::scenario::{Common, seconds};

/// Load generator for Socket.IO servers: 0.9 (protocol 1), and Engine.IO 3/4.
#[derive(Debug, Parser)]
#[command(name = "ferrio-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// N sessions held open with heartbeats answered: server memory per session.
    Idle(IdleArgs),
    /// One sender emitting `toServer` (chat app) to N receivers: deliveries/s and latency.
    Fanout(FanoutArgs),
    /// N clients doing sequential data-ack round trips: round trips/s and latency.
    Echo(EchoArgs),
    /// Handshakes/s on keep-alive connections, optionally with a websocket open/close each.
    Handshake(HandshakeArgs),
    /// xhr-polling sessions opened and abandoned mid-poll; the server after the close timeout.
    Churn(ChurnArgs),
    /// Minutes of mixed transports chatting while others come and go (and, optionally, hostile
    /// clients): no line lost, no healthy client cut off, the server's memory back near its
    /// baseline.
    Soak(SoakArgs),
    /// Prints a TCP port that is free on 127.0.0.1 right now (for scripts).
    FreePort,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Idle(_) => "idle",
            Command::Fanout(_) => "fanout",
            Command::Echo(_) => "echo",
            Command::Handshake(_) => "handshake",
            Command::Churn(_) => "churn",
            Command::Soak(_) => "soak",
            Command::FreePort => "free-port",
        }
    }

    /// Whether the scenario spreads its sessions over several `--server`s.
    fn spreads(&self) -> bool {
        matches!(
            self,
            Command::Idle(_) | Command::Fanout(_) | Command::Echo(_) | Command::Handshake(_)
        )
    }

    /// How the scenario spreads the requests of one session over the servers.
    fn route(&self) -> Route {
        match self {
            Command::Echo(args) => args.route,
            Command::Handshake(args) => args.route,
            _ => Route::Owner,
        }
    }

    fn common(&self) -> Option<&Common> {
        match self {
            Command::Idle(args) => Some(&args.common),
            Command::Fanout(args) => Some(&args.common),
            Command::Echo(args) => Some(&args.common),
            Command::Handshake(args) => Some(&args.common),
            Command::Churn(args) => Some(&args.common),
            Command::Soak(args) => Some(&args.common),
            Command::FreePort => None,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(common) = cli.command.common() else {
        return free_port();
    };
    let name = cli.command.name();
    let outcome = run(&cli.command, common).await;
    let mut line = Map::new();
    line.insert("scenario".into(), json!(name));
    line.insert("label".into(), json!(common.label));
    line.insert("server".into(), json!(servers_text(&common.server)));
    let protocols: Vec<&str> = common.protocol.iter().map(|p| p.name()).collect();
    line.insert("protocol".into(), json!(protocols.join(",")));
    let code = match outcome {
        Ok((probe, fields)) => {
            line.insert("ok".into(), json!(true));
            line.insert("process".into(), probe.describe());
            if let Value::Object(fields) = fields {
                line.extend(fields);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ferrio-loadgen {name}: {error}");
            line.insert("ok".into(), json!(false));
            line.insert(
                "error".into(),
                json!({ "kind": error.kind(), "message": error.to_string() }),
            );
            if let Some(Value::Object(fields)) = error.figures() {
                line.extend(fields.clone());
            }
            ExitCode::FAILURE
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", Value::Object(line));
    let _ = stdout.flush();
    code
}

/// The servers as given: one address, or several joined by commas.
fn servers_text(servers: &[std::net::SocketAddr]) -> String {
    servers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn run(command: &Command, common: &Common) -> Result<(Probe, Value)> {
    for &server in &common.server {
        check_loopback(server, "--server")?;
    }
    if common.server.len() > 1 && !command.spreads() {
        return Err(Error::Setup(format!(
            "{} takes one --server (only idle, fanout, echo and handshake spread over several)",
            command.name()
        )));
    }
    let route = command.route();
    let modern = common.protocol.iter().any(|p| p.revision().is_some());
    if modern && (route == Route::Rotate || matches!(command, Command::Soak(_))) {
        return Err(Error::Setup(
            "soak and --route rotate speak 0.9 only (--protocol 0.9)".to_owned(),
        ));
    }
    if common.protocol.is_empty() {
        return Err(Error::Setup("--protocol names no generation".to_owned()));
    }
    if route == Route::Rotate && common.server.len() < 2 {
        return Err(Error::Setup(
            "--route rotate needs at least two --server (the nodes of one cluster)".to_owned(),
        ));
    }
    let timeout = seconds("timeout", common.timeout)?;
    let op_timeout = seconds("op-timeout", common.op_timeout)?;
    if !common.resource.starts_with('/') {
        return Err(Error::Setup("--resource must start with /".to_owned()));
    }
    let probe = Probe::new(&common.server_pid)?;
    let now = Instant::now();
    let ctx = Arc::new(Ctx {
        net: Arc::new(Net::new(common.sources)?),
        server: common.server[0],
        servers: common.server.as_slice().into(),
        route,
        protocols: common.protocol.as_slice().into(),
        resource: common.resource.trim_end_matches('/').to_owned(),
        op_timeout,
        deadline: now + timeout,
        epoch: now,
    });
    let fields = match command {
        Command::Idle(args) => scenario::idle::run(ctx, &probe, args).await?,
        Command::Fanout(args) => scenario::fanout::run(ctx, &probe, args).await?,
        Command::Echo(args) => scenario::echo::run(ctx, &probe, args).await?,
        Command::Handshake(args) => scenario::handshake::run(ctx, &probe, args).await?,
        Command::Churn(args) => scenario::churn::run(ctx, &probe, args).await?,
        Command::Soak(args) => scenario::soak::run(ctx, probe.clone(), args).await?,
        Command::FreePort => Value::Null,
    };
    Ok((probe, fields))
}

fn free_port() -> ExitCode {
    match std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => {
            println!("{}", addr.port());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ferrio-loadgen free-port: {error}");
            ExitCode::FAILURE
        }
    }
}
