//! The accept loop, per-connection HTTP/1.1 service, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::Hub;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::apps;
use crate::config::{ServerConfig, ServerConfigError};
use crate::router::Router;
use crate::static_files::Assets;

/// A gateway ready to serve: its hub is reachable so an embedding program can install its own
/// handlers before [`Server::serve`].
#[derive(Debug)]
pub struct Server {
    router: Arc<Router>,
}

impl Server {
    /// Builds the gateway, with no application installed.
    pub fn new(config: ServerConfig) -> Result<Self, ServerConfigError> {
        config.validate()?;
        let hub = Hub::new(config.hub.clone())?;
        Ok(Server {
            router: Arc::new(Router {
                hub,
                config: Arc::new(config),
                assets: Assets::embedded(),
            }),
        })
    }

    /// The hub, to register namespaces and handlers.
    pub fn hub(&self) -> &Hub {
        &self.router.hub
    }

    /// Serves connections from `listener` until `shutdown` resolves; then refuses new
    /// handshakes, ends every session so clients reconnect elsewhere, and waits up to the
    /// configured grace period for open requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        // Every connection task holds a receiver: the sender learns when all are gone.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut builder = http1::Builder::new();
        builder.keep_alive(true).max_buf_size(64 * 1024);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let router = Arc::clone(&self.router);
                        let service = service_fn(move |request| {
                            let router = Arc::clone(&router);
                            async move { Ok::<_, Infallible>(router.handle(request, peer).await) }
                        });
                        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
                        let mut stopped = stopped.clone();
                        tokio::spawn(async move {
                            tokio::pin!(connection);
                            let result = tokio::select! {
                                result = connection.as_mut() => result,
                                _ = async { stopped.wait_for(|stop| *stop).await.map(|_| ()) } => {
                                    // Finish the request in flight, then close.
                                    connection.as_mut().graceful_shutdown();
                                    connection.await
                                }
                            };
                            if let Err(error) = result {
                                debug!(%peer, %error, "connection ended with an error");
                            }
                        });
                    }
                    Err(error) => {
                        // Out of descriptors or similar: back off briefly instead of spinning.
                        warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        info!("shutting down: refusing handshakes and ending sessions");
        self.router.hub.shutdown();
        let _ = stop.send(true);
        drop(stopped);
        tokio::select! {
            () = stop.closed() => info!("all connections closed"),
            () = tokio::time::sleep(self.router.config.shutdown_grace) => warn!("shutdown grace period over; closing remaining connections"),
        }
        Ok(())
    }
}

/// Runs the gateway with the built-in application `config.app` on `listener` until
/// `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = config.app;
    let server = Server::new(config)?;
    apps::install(app, server.hub());
    server.serve(listener, shutdown).await?;
    Ok(())
}
