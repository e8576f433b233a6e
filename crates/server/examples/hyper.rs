//! ferrio behind a plain hyper 1 server: a hand-written accept loop whose `service_fn` sends
//! the gateway's paths to the gateway, answers the application's own route, and serves the
//! chat page at `/`. The gateway runs the chat of the `ferrio` binary.
//!
//! Run with `cargo run -p ferrio-server --example hyper [PORT]` (default 3000), then open
//! http://127.0.0.1:3000/ in two windows, or ask http://127.0.0.1:3000/api/hello.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use ferrio_server::{AppKind, ConnectionInfo, DefaultPages, Gateway, ServerConfig, apps};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// Every answer's body: the gateway's streams, the pages' files, the application's text.
type ResponseBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    support::init_logging();
    let port = support::port_argument()?;
    let gateway = Gateway::new(ServerConfig::default())?;
    apps::install(AppKind::Chat, gateway.hub());
    let listener = support::listen(port).await?;

    // Every connection task holds a receiver: the sender learns when all are gone.
    let (stop, _) = watch::channel(false);
    // The accept loop runs on while the sessions' queues go out after the signal.
    let hub = gateway.hub().clone();
    let shutdown = async move {
        ferrio_server::shutdown_signal().await;
        support::end_sessions(&hub).await;
    };
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let gateway = gateway.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            // The gateway's handshakes record the client's address.
            request.extensions_mut().insert(ConnectionInfo {
                peer,
                secure: false,
            });
            answer(gateway.clone(), request)
        });
        let mut stopped = stop.subscribe();
        tokio::spawn(async move {
            // `with_upgrades` keeps the connection's `OnUpgrade` in each request, which the
            // gateway's WebSocket transport takes over.
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                // The guard `wait_for` returns must not live across the await below.
                () = async { let _ = stopped.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                debug!(%peer, %error, "connection ended with an error");
            }
        });
    }

    drop(listener);
    stop.send_replace(true);
    if tokio::time::timeout(support::SHUTDOWN_GRACE, stop.closed())
        .await
        .is_err()
    {
        warn!("shutdown grace period over; closing remaining connections");
    }
    info!("stopped");
    Ok(())
}

/// The application's routing: the gateway's paths, then its own.
async fn answer(
    gateway: Gateway,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    if gateway.owns(request.uri().path()) {
        let response = gateway.call(request).await?;
        return Ok(response.map(|body| body.boxed_unsync()));
    }
    let response = match request.uri().path() {
        "/api/hello" => {
            let mut response = Response::new(
                Full::new(Bytes::from_static(b"hello from hyper"))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            );
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        // The chat page at `/`, and the same `404` as the `ferrio` binary elsewhere.
        _ => DefaultPages
            .answer(&request)
            .map(|body| body.map_err(|never| match never {}).boxed_unsync()),
    };
    Ok(response)
}
