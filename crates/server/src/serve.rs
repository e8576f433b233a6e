//! The accept loop, per-connection HTTP/1.1 service, the Flash policy responder, and graceful
//! shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::Hub;
use ferrio_protocol::TransportKind;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::apps;
use crate::config::{ServerConfig, ServerConfigError};
use crate::flash_policy;
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

    fn flash_enabled(&self) -> bool {
        self.router.config.hub.enables(TransportKind::Flashsocket)
    }

    /// Serves connections from `listener` until `shutdown` resolves; then refuses new
    /// handshakes, ends every session so clients reconnect elsewhere, and waits up to the
    /// configured grace period for open requests. With flashsocket enabled, the Flash policy
    /// responder also listens on the configured port of the same address.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let mut policy_listener = None;
        if let (true, Some(port)) = (self.flash_enabled(), self.router.config.flash_policy_port) {
            let ip = listener.local_addr()?.ip();
            match TcpListener::bind((ip, port)).await {
                Ok(bound) => policy_listener = Some(bound),
                // Flash can still read the policy inline on the main port.
                Err(error) => warn!(%ip, port, %error, "flash policy port unavailable"),
            }
        }
        self.serve_with(listener, policy_listener, shutdown).await
    }

    /// [`Server::serve`] with the Flash policy responder on a listener of the caller's (tests
    /// bind port 0). `policy_listener` is ignored unless flashsocket is enabled.
    pub async fn serve_with(
        self,
        listener: TcpListener,
        policy_listener: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let policy = self
            .flash_enabled()
            .then(|| flash_policy::policy_document(&self.router.config.hub.origins));
        let policy_task = match (&policy, policy_listener) {
            (Some(policy), Some(policy_listener)) => Some(tokio::spawn(
                flash_policy::serve_policy_port(policy_listener, Arc::clone(policy)),
            )),
            _ => None,
        };
        // Every connection task holds a receiver: the sender learns when all are gone.
        let (stop, stopped) = watch::channel(false);
        let mut builder = http1::Builder::new();
        // Title-Case header names, as old browsers and the Flash WebSocket client expect them.
        builder
            .keep_alive(true)
            .max_buf_size(64 * 1024)
            .title_case_headers(true);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let connection = Connection {
                            router: Arc::clone(&self.router),
                            builder: builder.clone(),
                            stopped: stopped.clone(),
                            policy: policy.clone(),
                        };
                        tokio::spawn(connection.run(stream, peer));
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
        if let Some(task) = policy_task {
            task.abort();
        }
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

/// One accepted TCP connection.
struct Connection {
    router: Arc<Router>,
    builder: http1::Builder,
    stopped: watch::Receiver<bool>,
    policy: Option<Arc<[u8]>>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        if let Some(policy) = &self.policy
            && flash_policy::is_policy_request(&stream).await
        {
            debug!(%peer, "flash policy request on the main port");
            flash_policy::answer(stream, policy).await;
            return;
        }
        let _ = stream.set_nodelay(true);
        let router = Arc::clone(&self.router);
        let service = service_fn(move |request| {
            let router = Arc::clone(&router);
            async move { Ok::<_, Infallible>(router.handle(request, peer).await) }
        });
        let connection = self
            .builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let stopped = &mut self.stopped;
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
