//! `ferrio-bench-socketioxide`: the benchmark peer built on socketioxide (Engine.IO 4 /
//! Socket.IO 5, websocket and polling) serving the socket.io tutorial chat app that the
//! loadgen drives, plus `GET /stats` (connected sockets on `/`).
//!
//! Its socket.io 4 reference, in Node.js terms:
//!
//! ```js
//! socket.on('toServer', (d) => {
//!   const m = d.nome + ':' + d.msg;
//!   if (d.data !== undefined) { socket.emit('toClient', m, d.data); socket.broadcast.emit('toClient', m, d.data); }
//!   else { socket.emit('toClient', m); socket.broadcast.emit('toClient', m); }
//! });
//! socket.on('message', (m, fn) => { if (typeof fn === 'function') fn(m); });
//! ```

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use clap::Parser;
use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

/// socket.io 4's default `maxHttpBufferSize` (1e6): a polling body or a websocket message of
/// up to 1 MB, so a 16 KiB binary attachment (about 22 KB as base64 in a polling payload)
/// passes on both transports.
const MAX_PAYLOAD: usize = 1_000_000;

/// The socket.io tutorial chat app on socketioxide (benchmark peer of ferrio).
#[derive(Debug, Parser)]
#[command(name = "ferrio-bench-socketioxide", version)]
struct Args {
    /// TCP port to listen on; 0 picks a free one (printed on stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Engine.IO ping interval, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 25_000)]
    ping_interval: u64,
    /// Engine.IO ping timeout, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    ping_timeout: u64,
}

/// The argument of `toServer`: `{nome, msg}` and, optionally, a binary attachment `data`.
#[derive(Debug, Deserialize)]
struct ToServer {
    nome: String,
    msg: String,
    #[serde(default, deserialize_with = "attachment")]
    data: Option<Bytes>,
}

/// A present `data` field as a binary attachment. socketioxide's common parser resolves
/// attachment placeholders for `Bytes` but not through `Option` (its `deserialize_option`
/// hands the value to serde_json directly, which then sees the `{"_placeholder":true,...}`
/// object), so the field is read as plain `Bytes` here; `default` covers its absence.
fn attachment<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
    Bytes::deserialize(d).map(Some)
}

/// `toServer`: `toClient` with `nome:msg` (and the attachment, if any) to the sender and to
/// every other socket of the namespace.
async fn on_to_server(socket: SocketRef, Data(d): Data<ToServer>) {
    let mut m = String::with_capacity(d.nome.len() + 1 + d.msg.len());
    m.push_str(&d.nome);
    m.push(':');
    m.push_str(&d.msg);
    // A socket that is gone or whose buffer is full just misses the line, as in socket.io.
    match d.data {
        Some(data) => {
            let args = (m, data);
            let _ = socket.emit("toClient", &args);
            let _ = socket.broadcast().emit("toClient", &args).await;
        }
        None => {
            let _ = socket.emit("toClient", &m);
            let _ = socket.broadcast().emit("toClient", &m).await;
        }
    }
}

/// `message`: acks with the same argument when the client asked for an ack (a no-op otherwise).
async fn on_message(Data(text): Data<serde_json::Value>, ack: AckSender) {
    let _ = ack.send(&text);
}

async fn on_connect(socket: SocketRef) {
    socket.on("toServer", on_to_server);
    socket.on("message", on_message);
}

/// `GET /stats`: the number of sockets connected to the namespace `/`, in decimal.
async fn stats(State(io): State<SocketIo>) -> impl IntoResponse {
    let connected = io.of("/").map_or(0, |ns| ns.sockets().len());
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        connected.to_string(),
    )
}

/// Installs the SIGTERM and SIGINT handlers now; the future resolves on the first of them.
fn shutdown_signal() -> std::io::Result<impl Future<Output = std::io::Result<()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    })
}

// One thread: socketioxide runs every event handler as a task of its own, and on tokio's
// multi-threaded runtime two events of one client can run at once, one on each core, and
// broadcast out of order (the loadgen's fanout saw line 863 arrive before line 862, with one
// line in flight). A current-thread runtime runs the tasks in the order they were spawned, so
// a client's lines keep their order, as socket.io keeps them; it also spares the handlers
// cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();

    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(args.ping_interval))
        .ping_timeout(Duration::from_millis(args.ping_timeout))
        .max_payload(MAX_PAYLOAD as u64)
        .ws_max_message_size(MAX_PAYLOAD)
        .build_layer();
    io.ns("/", on_connect);

    let app = Router::new()
        .route("/stats", get(stats))
        .with_state(io)
        .layer(layer);

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await?;
    let addr = listener.local_addr()?;
    let signals = shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "socketioxide listening on http://{addr}")?;
        out.flush()?;
    }

    // On a signal, stop at once: no graceful drain of long-polls and websockets.
    tokio::select! {
        served = axum::serve(listener, app) => served,
        signalled = signals => signalled,
    }
}
