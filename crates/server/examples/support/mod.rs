//! What the embedding examples share, after the `ferrio` binary's habits: logging to stderr,
//! the port argument, and the line that says where they listen.

use std::io::Write as _;
use std::time::Duration;

use ferrio_hub::Hub;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// How long a shutdown waits for the sessions' queues to go out, then for open connections.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Logs to stderr at `info`, or as `RUST_LOG` says; stdout carries only the listening line.
pub(crate) fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The port to listen on: the first argument, 3000 without one, 0 for any free port.
pub(crate) fn port_argument() -> Result<u16, String> {
    match std::env::args().nth(1) {
        None => Ok(3000),
        Some(text) => text
            .parse()
            .map_err(|_| format!("the port must be a number from 0 to 65535, not {text:?}")),
    }
}

/// Binds `127.0.0.1:port` and prints `ferrio listening on http://ADDR`, the line scripts and
/// tests read the port from, as the `ferrio` binary does.
pub(crate) async fn listen(port: u16) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ferrio listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    Ok(listener)
}

/// Ends the gateway's sessions without losing what was accepted for them: new client packets
/// are refused at once, then each session ends when its transport has taken its queue (a
/// poller's next GET gets it, then `503`), within [`SHUTDOWN_GRACE`]; what is left then is
/// ended and counted. The server must keep accepting and serving until this returns.
pub(crate) async fn end_sessions(hub: &Hub) {
    hub.shutdown();
    if tokio::time::timeout(SHUTDOWN_GRACE, hub.flushed())
        .await
        .is_err()
    {
        let undelivered = hub.abandon();
        tracing::warn!(?undelivered, "shutdown grace period over");
    }
}
