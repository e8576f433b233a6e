//! ferrio inside an axum 0.8 application: the application's own routes, the gateway under
//! `/socket.io` running the chat of the `ferrio` binary, and the chat page at `/`.
//!
//! Run with `cargo run -p ferrio-server --example axum [PORT]` (default 3000), then open
//! http://127.0.0.1:3000/ in two windows, or ask http://127.0.0.1:3000/api/hello.

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use ferrio_server::{AppKind, ConnectionInfo, DefaultPages, Gateway, ServerConfig, apps};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    support::init_logging();
    let port = support::port_argument()?;
    let gateway = Gateway::new(ServerConfig::default())?;
    apps::install(AppKind::Chat, gateway.hub());

    // The gateway routes on the whole path (`/socket.io/1/xhr-polling/<sid>`), so it is
    // mounted with `route_service`, which hands it the request untouched. `nest_service` would
    // strip `/socket.io` and the gateway would take every request for someone else's. A
    // wildcard never matches an empty rest, so the resource itself, with and without its
    // trailing slash, gets a route of its own (the gateway answers it with its welcome).
    let resource = gateway.resource().to_owned();
    let app = Router::new()
        .route("/api/hello", get(|| async { "hello from axum" }))
        .route_service(&resource, gateway.clone())
        .route_service(&format!("{resource}/"), gateway.clone())
        .route_service(&format!("{resource}/{{*rest}}"), gateway.clone())
        // The chat page at `/`, and the same `404` as the `ferrio` binary elsewhere.
        .fallback_service(DefaultPages)
        .layer(middleware::from_fn(connection_info));

    let listener = support::listen(port).await?;
    let hub = gateway.hub().clone();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        ferrio_server::shutdown_signal().await;
        // axum keeps serving until this future ends: the sessions' queues go out first.
        support::end_sessions(&hub).await;
    })
    .await?;
    Ok(())
}

/// Gives the gateway the client's address, which axum knows as `ConnectInfo`. Plain HTTP
/// here; behind a TLS-terminating proxy, `secure` is what the client sees.
async fn connection_info(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(ConnectionInfo {
        peer,
        secure: false,
    });
    next.run(request).await
}
