//! The server the Autobahn case set runs against (`tests/autobahn.rs`): RFC 6455 upgrades on
//! any path, each connection echoed by ferrio's own WebSocket reader and writer
//! (`ferrio_websocket::echo`). A test program, not part of the gateway. Prints
//! `ferrio listening on http://ADDR` once it listens, then serves until killed.
//!
//! By hand: `cargo run -p ferrio-tests --bin autobahn-echo -- --port 9001`, then
//! `kosoku -m fuzzingclient 127.0.0.1:9001 -o /tmp/autobahn`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use ferrio_testkit::LISTENING_PREFIX;
use ferrio_websocket::WsLimits;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// The echo's settings: where it listens and the limits of its connections.
#[derive(Debug, Parser)]
#[command(name = "autobahn-echo", about)]
struct Options {
    /// The port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The largest message a client may send, in bytes (the gateway's default is 1 MiB; the
    /// Autobahn performance cases send up to 16 MiB).
    #[arg(long, default_value_t = WsLimits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// How long a message may take from its first byte to its last, in seconds.
    #[arg(long, default_value_t = WsLimits::default().message_timeout.as_secs())]
    message_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = Options::parse();
    let limits = WsLimits {
        max_message_bytes: options.max_message_bytes,
        message_timeout: Duration::from_secs(options.message_timeout_secs),
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await?;
    println!("{LISTENING_PREFIX}{}", listener.local_addr()?);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |request| async move {
                Ok::<_, Infallible>(ferrio_websocket::echo::upgrade(request, limits))
            });
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(error) = served {
                eprintln!("{peer}: {error}");
            }
        });
    }
}
