//! The gateway as a service: every request under the resource (docs/protocol.md §1.2) goes to
//! the handshake, a transport or the client script; every other request goes to the host
//! application's service.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_cluster::link::{self, CLIENT_HEADER, HOPS_HEADER, LinkBody, MAX_HOPS, SECURE_HEADER};
use ferrio_cluster::{Node, Route as ClusterRoute, tunnel};
use ferrio_htmlfile::HtmlfileWire;
use ferrio_hub::Hub;
use ferrio_jsonp_polling::JsonpWire;
use ferrio_protocol::{Route, StaticAsset, TransportKind};
use ferrio_transport::{Body, PostLimits, TransportError, TransportRequest, Unconfirmed, empty};
use ferrio_xhr_multipart::MultipartWire;
use ferrio_xhr_polling::XhrWire;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use tracing::{debug, warn};

use crate::config::{AppKind, ServerConfig, ServerConfigError};
use crate::handshake;
use crate::pages::{ASSETS, DefaultPages, not_found, serve_file, serve_flash_movie, text};
use crate::static_files::{Asset, EMBEDDED_FLASH_MOVIE, FLASH_MOVIE_MISSING, FlashMovie};

/// How a client reached the gateway: the request extension the gateway reads the client's
/// address and the connection's security from.
///
/// [`Server`](crate::Server) inserts it into every request it serves. A program that runs its
/// own HTTP server inserts it itself, from its accept loop (`hyper`) or from axum's
/// `ConnectInfo<SocketAddr>` (see `examples/axum.rs`); behind a proxy it may put the address
/// the proxy reports instead. A request without it is served as coming from `0.0.0.0:0` over
/// plain HTTP, and the gateway logs one warning: handshakes then see no address, and a
/// per-address handshake limit counts every such client as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address: the handshake data's `address` and the key of per-address
    /// handshake limits.
    pub peer: SocketAddr,
    /// Whether the client's connection is TLS, as the client sees it: draft-76 WebSocket
    /// answers name `wss:` or `ws:`, and the handshake data records it.
    pub secure: bool,
}

impl ConnectionInfo {
    /// What a request without the extension is taken for.
    const UNKNOWN: ConnectionInfo = ConnectionInfo {
        peer: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        secure: false,
    };
}

/// The future of a gateway's response.
type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

/// The Socket.IO 0.9 gateway as an HTTP service: a `hyper` [`Service`](hyper::service::Service)
/// and a [`tower::Service`], for any request body of `Bytes` whose error is a
/// `std::error::Error`.
///
/// It answers every path under its resource (`/socket.io` by default): handshakes, the six
/// transports (WebSocket upgrades included, through hyper's `OnUpgrade` request extension),
/// the client script, the Flash movie of flashsocket (while that transport is on),
/// `?disconnect`, and the welcome and unsupported-protocol answers. Every other request goes
/// to its fallback `F`: [`DefaultPages`] (the chat page and `404`s, as the `ferrio` binary
/// answers) unless [`Gateway::fallback`] gives another. Responses are
/// `Either::Left` with the gateway's own body or `Either::Right` with the fallback's.
///
/// The gateway reads the whole request path, so it must see it unstripped: mount it on the
/// resource's paths (axum's `route_service`), not under a prefix that is cut off (axum's
/// `nest_service`). It reads the client's address from the [`ConnectionInfo`] extension.
///
/// Cloning is cheap: clones share the hub and the configuration. The `Gateway` alone serves
/// requests; [`Server`](crate::Server) adds what belongs to a process (TLS, the admin
/// listener, the Flash policy port, webhooks, the drain and shutdown sequence). A program that
/// serves a gateway itself starts its shutdown with
/// [`Hub::shutdown`](ferrio_hub::Hub::shutdown), which answers waiting polls and has streams
/// write their queue and close, and keeps serving until
/// [`Hub::flushed`](ferrio_hub::Hub::flushed) so that pollers get theirs.
///
/// ```
/// use ferrio_server::{AppKind, Gateway, ServerConfig, apps};
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::service::service_fn;
/// use hyper::{Request, Response};
///
/// # fn main() -> Result<(), ferrio_server::ServerConfigError> {
/// // The host application answers everything outside /socket.io.
/// let host = service_fn(|_request: Request<hyper::body::Incoming>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
/// });
/// let gateway = Gateway::new(ServerConfig::default())?.fallback(host);
/// apps::install(AppKind::Chat, gateway.hub());
/// assert!(gateway.owns("/socket.io/1/"));
/// assert!(!gateway.owns("/api/hello"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway<F = DefaultPages> {
    shared: Arc<Shared>,
    fallback: F,
}

/// What every clone of a gateway shares.
#[derive(Debug)]
struct Shared {
    hub: Hub,
    config: ServerConfig,
    /// Whether the missing [`ConnectionInfo`] has been reported: once is enough to find the
    /// cause, every request would flood the log.
    reported_unknown_peer: AtomicBool,
    /// This node's membership of a cluster, once joined: requests for sessions another node
    /// serves are forwarded there.
    cluster: OnceLock<Arc<Node>>,
}

impl Gateway {
    /// Builds a gateway and its hub, with no application installed and [`DefaultPages`] as
    /// its fallback. Of `config` it uses the hub settings, the resource, and the POST and
    /// WebSocket limits; the rest is [`Server`](crate::Server)'s.
    pub fn new(config: ServerConfig) -> Result<Self, ServerConfigError> {
        config.validate()?;
        Self::from_validated(config)
    }

    /// [`Gateway::new`] for a configuration already validated.
    pub(crate) fn from_validated(config: ServerConfig) -> Result<Self, ServerConfigError> {
        let hub = Hub::new(config.hub.clone())?;
        if config.hub.enables(TransportKind::Flashsocket) && EMBEDDED_FLASH_MOVIE.is_none() {
            warn!(
                "flashsocket is on, but {FLASH_MOVIE_MISSING}; until then the movie's paths \
                 answer 404 and Flash clients fall back to their next transport after their \
                 connect timeout"
            );
        }
        Ok(Gateway {
            shared: Arc::new(Shared {
                hub,
                config,
                reported_unknown_peer: AtomicBool::new(false),
                cluster: OnceLock::new(),
            }),
            fallback: DefaultPages,
        })
    }
}

impl<F> Gateway<F> {
    /// The hub, to register namespaces and handlers.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The resource the gateway answers under, like `/socket.io`.
    pub fn resource(&self) -> &str {
        &self.shared.config.resource
    }

    /// Whether the gateway answers `path` itself rather than handing it to its fallback.
    pub fn owns(&self, path: &str) -> bool {
        !Route::parse(self.resource(), path, None).is_foreign()
    }

    /// The same gateway, handing the requests it does not own to `fallback`: the host
    /// application's own service.
    pub fn fallback<G>(self, fallback: G) -> Gateway<G> {
        Gateway {
            shared: self.shared,
            fallback,
        }
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Makes the gateway one node of `node`'s cluster: requests for sessions another node
    /// serves are forwarded there, and the requests other nodes forward here are served.
    pub(crate) fn join(&self, node: &Arc<Node>) {
        if self.shared.cluster.set(Arc::clone(node)).is_err() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        node.serve_link(
            &self.shared.hub,
            Arc::new(move |request| {
                let shared = Arc::clone(&shared);
                Box::pin(async move { shared.serve_forwarded(request).await })
            }),
        );
    }

    /// The gateway's own answer to a request `route` took, boxed as both services return it.
    fn own_response<B, FB, E>(
        &self,
        answer: Answer,
        request: Request<B>,
    ) -> ResponseFuture<Response<Either<Body, FB>>, E>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { Ok(shared.respond(answer, request).await.map(Either::Left)) })
    }
}

/// Where `--app suite` serves the bare Engine.IO echo of the official Engine.IO test suite.
const ENGINE_ECHO_PATH: &str = "/engine.io/";

/// What a request under the resource gets: an answer at once, or a transport's.
enum Answer {
    Now(Response<Body>),
    Transport {
        kind: TransportKind,
        sid: String,
    },
    Disconnect {
        sid: String,
    },
    /// A request of a modern client (Engine.IO), its query read.
    Engine(ferrio_eio::Query),
    /// A 0.9 handshake, which may wait on an asynchronous authorization hook.
    Handshake,
}

/// How a forwarded request is answered on this node when its session's node cannot be
/// reached: as by its transport, for a session this node does not know.
enum Local {
    /// A 0.9 transport's answer.
    Transport,
    /// Engine.IO's, for the request's query.
    Engine(ferrio_eio::Query),
}

impl Shared {
    /// What the gateway answers `request`, or `None` when the path is not under the resource.
    /// Everything but the transports is answered here and now.
    fn route<B>(&self, request: &Request<B>) -> Option<Answer> {
        let route = Route::parse(
            &self.config.resource,
            request.uri().path(),
            request.uri().query(),
        );
        let answer = match route {
            Route::Foreign if self.serves_engine_echo(request.uri().path()) => {
                self.engine_answer(request)
            }
            Route::Foreign => {
                debug!(path = request.uri().path(), "request for the fallback");
                return None;
            }
            // Modern clients use the resource itself, their query naming the Engine.IO
            // revision and the transport; a bare one is still 0.9's welcome.
            Route::Welcome if is_engine_request(request.uri().query()) => {
                self.engine_answer(request)
            }
            Route::Welcome => Answer::Now(text(StatusCode::OK, "Welcome to socket.io.", None)),
            Route::Static(StaticAsset::ClientScript) => {
                Answer::Now(serve_file(request, &ASSETS.client))
            }
            Route::Static(StaticAsset::FlashMain) => {
                Answer::Now(self.flash_movie(request, |movie| &movie.main))
            }
            Route::Static(StaticAsset::FlashInsecure) => {
                Answer::Now(self.flash_movie(request, |movie| &movie.insecure))
            }
            Route::UnsupportedProtocol => Answer::Now(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Protocol version not supported.",
                None,
            )),
            Route::Handshake => Answer::Handshake,
            Route::ForcedDisconnect { sid } => {
                if let Some(refusal) = self.foreign_origin(request, None) {
                    return Some(Answer::Now(refusal));
                }
                Answer::Disconnect {
                    sid: sid.to_owned(),
                }
            }
            Route::UnknownTransport { name, sid } => {
                debug!(transport = name, sid, "unknown transport requested");
                Answer::Now(TransportError::UnknownTransport.into_response())
            }
            // The one check of whether a transport is enabled: before any method of the
            // request, POSTs and preflights included, reaches the hub.
            Route::Transport { transport, .. } if !self.hub.config().enables(transport) => {
                Answer::Now(TransportError::TransportDisabled.into_response())
            }
            // The one origin check of every request on a session: every method of every
            // transport, before the transport sees it.
            Route::Transport { transport, sid } => {
                match self.foreign_origin(request, Some(transport)) {
                    Some(refusal) => Answer::Now(refusal),
                    None => Answer::Transport {
                        kind: transport,
                        sid: sid.to_owned(),
                    },
                }
            }
        };
        Some(answer)
    }

    /// The file `build` picks of the Flash movie while flashsocket is on; `404`, as any
    /// unknown path, while it is off, so a gateway without the transport offers nothing of it.
    fn flash_movie<B>(
        &self,
        request: &Request<B>,
        build: fn(&FlashMovie<Asset>) -> &Asset,
    ) -> Response<Body> {
        if !self.hub.config().enables(TransportKind::Flashsocket) {
            return not_found();
        }
        serve_flash_movie(request, ASSETS.flash_movie.as_ref().map(build))
    }

    /// What a modern client's request gets: its query read, the origin checked, the
    /// transport's answer to come; or the reference's error.
    fn engine_answer<B>(&self, request: &Request<B>) -> Answer {
        match ferrio_eio::parse_query(request.uri().query().unwrap_or_default()) {
            Ok(query) if self.serves_engine_transport(query.transport) => {
                match self.foreign_origin(request, None) {
                    Some(refusal) => Answer::Now(refusal),
                    None => Answer::Engine(query),
                }
            }
            // A transport turned off: the client is told so as the reference tells it of an
            // unknown transport.
            Ok(_) => Answer::Now(ferrio_eio_polling::engine_error(
                ferrio_eio::ErrorCode::TransportUnknown,
            )),
            Err(error) => {
                debug!(%error, "Engine.IO request refused");
                Answer::Now(ferrio_eio_polling::engine_error(error.error_code()))
            }
        }
    }

    /// Whether `path` is the bare Engine.IO echo of `--app suite` (the official Engine.IO
    /// test suite's fixture).
    fn serves_engine_echo(&self, path: &str) -> bool {
        self.config.app == AppKind::Suite && path == ENGINE_ECHO_PATH
    }

    /// Whether Engine.IO `transport` is on: polling always, the WebSocket when the 0.9
    /// `websocket` transport is.
    fn serves_engine_transport(&self, transport: ferrio_eio::TransportName) -> bool {
        match transport {
            ferrio_eio::TransportName::Polling => true,
            ferrio_eio::TransportName::Websocket => {
                self.hub.config().enables(TransportKind::Websocket)
            }
        }
    }

    /// The `403` for a request on a session whose page origin is outside the `origins` list
    /// (docs/protocol.md §2.6), or `None` to serve it.
    fn foreign_origin<B>(
        &self,
        request: &Request<B>,
        transport: Option<TransportKind>,
    ) -> Option<Response<Body>> {
        ferrio_transport::refuse_foreign_origin(
            &self.hub.config().origins,
            self.hub.counters(),
            transport,
            self.connection_info(request).peer,
            request.headers(),
        )
    }

    /// Completes `answer`: a transport's is awaited.
    async fn respond<B>(&self, answer: Answer, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let connection = self.connection_info(&request);
        let path = request.uri().path().to_owned();
        // The cluster's steps are boxed: this future is what a held poll keeps for as long as
        // it waits, and inline they would make every poll, clustered or not, as large as
        // the largest of them.
        let response = match answer {
            Answer::Now(response) => response,
            // Boxed for the same reason: a handshake waits only on its authorization hook.
            Answer::Handshake => Box::pin(handshake::serve(&self.hub, request, connection)).await,
            Answer::Transport { kind, sid } => match self.elsewhere(&sid, hops(&request)).await {
                Some((node, peer)) => {
                    let here = Local::Transport;
                    Box::pin(self.forward(&node, &peer, request, connection, kind, &sid, here))
                        .await
                }
                None => self.transport(kind, &sid, request, connection.secure).await,
            },
            Answer::Engine(query) => {
                let elsewhere = match &query.sid {
                    Some(sid) => self.elsewhere(sid, hops(&request)).await,
                    None => None,
                };
                match (elsewhere, query.sid.clone()) {
                    (Some((node, peer)), Some(sid)) => {
                        let kind = match query.transport {
                            ferrio_eio::TransportName::Websocket => TransportKind::Websocket,
                            _ => TransportKind::XhrPolling,
                        };
                        let here = Local::Engine(query);
                        Box::pin(self.forward(&node, &peer, request, connection, kind, &sid, here))
                            .await
                    }
                    _ => self.engine(query, request, connection).await,
                }
            }
            Answer::Disconnect { sid } => {
                let elsewhere = self.elsewhere(&sid, hops(&request)).await;
                match elsewhere {
                    Some((node, peer)) => {
                        let kind = TransportKind::XhrPolling;
                        let here = Local::Transport;
                        Box::pin(self.forward(&node, &peer, request, connection, kind, &sid, here))
                            .await
                    }
                    None => {
                        debug!(sid, "forced disconnect requested");
                        self.hub.disconnect(&sid);
                        Response::new(empty())
                    }
                }
            }
        };
        debug!(peer = %connection.peer, path, status = response.status().as_u16(), "request served");
        response
    }

    /// [`Shared::served_elsewhere`] for a request that has crossed `hops` nodes, in a box of
    /// its own and only when this node is clustered: a single node pays neither the lookup
    /// nor its size.
    async fn elsewhere(&self, sid: &str, hops: u32) -> Option<(Arc<Node>, String)> {
        self.cluster.get()?;
        Box::pin(self.served_elsewhere(sid, hops)).await
    }

    /// The node that serves session `sid` and the cluster to reach it by, when this node is
    /// clustered, does not hold the session and cannot take it over, and the request (which
    /// has crossed `hops` nodes) may cross one more. Every kind of request is relayed,
    /// WebSocket and Flash socket upgrades included.
    async fn served_elsewhere(&self, sid: &str, hops: u32) -> Option<(Arc<Node>, String)> {
        let node = self.cluster.get()?;
        if self.hub.holds(sid) || hops >= MAX_HOPS {
            return None;
        }
        match node.route(&self.hub, sid).await {
            ClusterRoute::Forward(peer) => Some((Arc::clone(node), peer)),
            _ => None,
        }
    }

    /// Forwards `request` to node `peer`, which serves its session, and relays the answer as
    /// it streams; an upgrade is relayed through a tunnel (`ferrio_cluster::tunnel`), its
    /// bytes copied both ways. When the peer cannot be reached the request is answered here,
    /// as for an unknown session: its client handshakes again on a live node.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request and everything already resolved about it, passed on once"
    )]
    async fn forward<B>(
        &self,
        node: &Node,
        peer: &str,
        request: Request<B>,
        connection: ConnectionInfo,
        kind: TransportKind,
        sid: &str,
        here: Local,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let socket = matches!(kind, TransportKind::Websocket | TransportKind::Flashsocket);
        if socket && tunnel::upgrade_token(request.headers()).is_some() {
            return self
                .forward_upgrade(node, peer, request, connection, kind, sid, here)
                .await;
        }
        let hops = hops(&request) + 1;
        let (parts, body) = request.into_parts();
        let mut retry = Request::new(empty());
        *retry.method_mut() = parts.method.clone();
        *retry.uri_mut() = parts.uri.clone();
        *retry.headers_mut() = parts.headers.clone();
        retry.extensions_mut().insert(connection);
        // A GET has no body of its own: its request body carries the receipts back instead.
        let (body, receipts) = if parts.method == Method::GET {
            let (body, receipts) = link::receipt_body();
            (body, Some(receipts))
        } else {
            let body = body
                .map_err(|error| Box::new(error) as link::BoxError)
                .boxed_unsync();
            (body, None)
        };
        let mut forwarded = Request::from_parts(parts, body);
        link_headers(forwarded.headers_mut(), connection, hops);
        let label = match &here {
            Local::Transport => kind.name(),
            Local::Engine(query) => query.transport.as_str(),
        };
        match node.forward(peer, label, forwarded).await {
            Ok(response) => node.relay(response, receipts).map(BodyExt::boxed_unsync),
            Err(error) => {
                debug!(sid, node = peer, %error, "forwarding failed; the session is answered as unknown");
                match here {
                    Local::Transport => self.transport(kind, sid, retry, connection.secure).await,
                    Local::Engine(query) => self.engine(query, retry, connection).await,
                }
            }
        }
    }

    /// Serves a modern client's request here: Engine.IO long-polling or WebSocket.
    async fn engine<B>(
        &self,
        query: ferrio_eio::Query,
        request: Request<B>,
        connection: ConnectionInfo,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let engine = &self.hub.config().engine;
        let echo = self.serves_engine_echo(request.uri().path());
        if query.transport == ferrio_eio::TransportName::Websocket {
            let socket = ferrio_websocket::EngineSocketRequest {
                hub: &self.hub,
                revision: query.revision,
                sid: query.sid.as_deref(),
                limits: ferrio_websocket::WsLimits {
                    max_message_bytes: engine.max_payload,
                    ..self.config.websocket
                },
                upgrade_timeout: engine.upgrade_timeout,
                echo,
            };
            // Boxed: the upgrade's handshake may wait on the authorization hook, and inline it
            // would size every held poll by it.
            return Box::pin(ferrio_websocket::engine_upgrade(
                socket,
                request,
                |request| {
                    handshake::connect_info(request.headers(), request.uri().query(), connection)
                },
            ))
            .await;
        }
        let limits = PostLimits {
            max_body_bytes: engine.max_payload,
            ..self.config.post
        };
        let polling = ferrio_eio_polling::PollingRequest {
            hub: &self.hub,
            revision: query.revision,
            jsonp: query.jsonp,
            sid: query.sid.as_deref(),
            limits,
            websocket_enabled: self.serves_engine_transport(ferrio_eio::TransportName::Websocket),
            echo,
        };
        ferrio_eio_polling::serve(polling, request, |parts| {
            handshake::connect_info(&parts.headers, parts.uri.query(), connection)
        })
        .await
    }

    /// [`Shared::forward`] for a WebSocket or Flash socket upgrade: the client's request,
    /// untouched, is answered here when the peer cannot be reached.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request and everything already resolved about it, passed on once"
    )]
    async fn forward_upgrade<B>(
        &self,
        node: &Node,
        peer: &str,
        mut request: Request<B>,
        connection: ConnectionInfo,
        kind: TransportKind,
        sid: &str,
        here: Local,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let mut upgrade = Request::new(link::empty());
        *upgrade.uri_mut() = request.uri().clone();
        *upgrade.headers_mut() = request.headers().clone();
        link_headers(upgrade.headers_mut(), connection, hops(&request) + 1);
        let write_timeout = self.config.connections.write_timeout;
        // Once this node's own sessions are done in a shutdown, the sockets it relays for
        // other nodes are cut too: their clients reconnect to a node that stays.
        let hub = self.hub.clone();
        let stop = async move { hub.flushed().await };
        let relayed = tunnel::forward_upgrade(
            node,
            peer,
            kind.name(),
            &mut request,
            upgrade,
            write_timeout,
            stop,
        )
        .await;
        match relayed {
            Ok(response) => response,
            Err(error) => {
                debug!(sid, node = peer, %error, "relaying the upgrade failed; the session is answered as unknown");
                match here {
                    Local::Transport => self.transport(kind, sid, request, connection.secure).await,
                    Local::Engine(query) => self.engine(query, request, connection).await,
                }
            }
        }
    }

    /// Serves a request another node of the cluster forwarded here. A GET's request body
    /// carries the forwarding node's receipts: the batches its answer carries stay held
    /// until they are covered, and go back to the session if they are not. An upgrade relayed
    /// as an extended `CONNECT` is served as the client's own, its `101` answered as the `200`
    /// that opens the tunnel.
    async fn serve_forwarded(&self, mut request: Request<Incoming>) -> Response<LinkBody> {
        let tunneled = tunnel::restore_upgrade(&mut request);
        let peer = request
            .headers()
            .get(CLIENT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or(ConnectionInfo::UNKNOWN.peer);
        let secure = request
            .headers()
            .get(SECURE_HEADER)
            .is_some_and(|value| value == "1");
        request
            .extensions_mut()
            .insert(ConnectionInfo { peer, secure });
        let mut response = if request.method() == Method::GET && !tunneled {
            let unconfirmed = Unconfirmed::default();
            request.extensions_mut().insert(unconfirmed.clone());
            let (parts, receipts) = request.into_parts();
            let request = Request::from_parts(parts, http_body_util::Empty::<Bytes>::new());
            let (response, sid) = self.serve_routed(request).await;
            match (sid, self.cluster.get()) {
                (Some(sid), Some(node)) => {
                    let node = Arc::clone(node);
                    let hub = self.hub.clone();
                    tokio::spawn(async move {
                        link::read_receipts(receipts, |offset| unconfirmed.confirm(offset)).await;
                        node.requeue(&hub, &sid, unconfirmed.close());
                    });
                }
                _ => drop(unconfirmed.close()),
            }
            response
        } else {
            self.serve_routed(request).await.0
        };
        if tunneled {
            tunnel::accept_upgrade(&mut response);
        }
        response.map(|body| body.map_err(|never| match never {}).boxed_unsync())
    }

    /// Routes and answers `request`; with the session id when it was one of a session's
    /// transport requests.
    async fn serve_routed<B>(&self, request: Request<B>) -> (Response<Body>, Option<String>)
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match self.route(&request) {
            Some(answer) => {
                let sid = match &answer {
                    Answer::Transport { sid, .. } => Some(sid.clone()),
                    Answer::Engine(query) => query.sid.clone(),
                    _ => None,
                };
                (self.respond(answer, request).await, sid)
            }
            None => (not_found(), None),
        }
    }

    fn connection_info<B>(&self, request: &Request<B>) -> ConnectionInfo {
        if let Some(info) = request.extensions().get::<ConnectionInfo>() {
            return *info;
        }
        if !self.reported_unknown_peer.swap(true, Ordering::Relaxed) {
            warn!(
                "requests reach the gateway without a ConnectionInfo extension: they are served \
                 as coming from 0.0.0.0:0 over plain HTTP"
            );
        }
        ConnectionInfo::UNKNOWN
    }

    async fn transport<B>(
        &self,
        kind: TransportKind,
        sid: &str,
        request: Request<B>,
        secure: bool,
    ) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let ctx = TransportRequest {
            hub: &self.hub,
            sid,
            kind,
            limits: self.config.post,
        };
        match kind {
            TransportKind::Websocket | TransportKind::Flashsocket => {
                // Drain nothing: an upgrade request has no body worth reading.
                let request = request.map(|body| body.boxed_unsync());
                ferrio_websocket::upgrade(
                    &self.hub,
                    sid,
                    request,
                    kind,
                    self.config.websocket,
                    secure,
                )
            }
            TransportKind::XhrPolling => ferrio_transport::serve(ctx, request, XhrWire).await,
            TransportKind::JsonpPolling => {
                let wire = JsonpWire::for_request(&request);
                ferrio_transport::serve(ctx, request, wire).await
            }
            TransportKind::Htmlfile => {
                ferrio_transport::serve_stream(ctx, request, HtmlfileWire).await
            }
            TransportKind::XhrMultipart => {
                ferrio_transport::serve_stream(ctx, request, MultipartWire::new()).await
            }
        }
    }
}

impl<B, F, FB> hyper::service::Service<Request<B>> for Gateway<F>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
    F: hyper::service::Service<Request<B>, Response = Response<FB>>,
    F::Future: Send + 'static,
{
    type Response = Response<Either<Body, FB>>;
    type Error = F::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn call(&self, request: Request<B>) -> Self::Future {
        match self.shared.route(&request) {
            Some(answer) => self.own_response(answer, request),
            None => {
                let forwarded = hyper::service::Service::call(&self.fallback, request);
                Box::pin(async move { Ok(forwarded.await?.map(Either::Right)) })
            }
        }
    }
}

/// The gateway is always ready. The fallback's readiness is awaited inside the response
/// future of the requests it gets, on a clone (as axum does with its routes), so a busy host
/// application never holds up Socket.IO traffic.
impl<B, F, FB> tower::Service<Request<B>> for Gateway<F>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
    F: tower::Service<Request<B>, Response = Response<FB>> + Clone + Send + 'static,
    F::Future: Send,
{
    type Response = Response<Either<Body, FB>>;
    type Error = F::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.shared.route(&request) {
            Some(answer) => self.own_response(answer, request),
            None => {
                let mut fallback = self.fallback.clone();
                Box::pin(async move {
                    std::future::poll_fn(|cx| fallback.poll_ready(cx)).await?;
                    Ok(fallback.call(request).await?.map(Either::Right))
                })
            }
        }
    }
}

/// Makes the headers of a client's request those the link forwards: without the hop-by-hop
/// ones, with the client's address, whether its connection is TLS and the `hops` it will have
/// crossed.
fn link_headers(headers: &mut http::HeaderMap, connection: ConnectionInfo, hops: u32) {
    for hop_by_hop in [
        http::header::CONNECTION,
        http::header::HOST,
        http::header::TE,
        http::header::TRANSFER_ENCODING,
        http::header::UPGRADE,
    ] {
        headers.remove(hop_by_hop);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    if let Ok(value) = http::HeaderValue::from_str(&connection.peer.to_string()) {
        headers.insert(CLIENT_HEADER, value);
    }
    // What the client sent under the link's own names is not believed.
    headers.remove(SECURE_HEADER);
    for own in [
        tunnel::HOST_HEADER,
        tunnel::UPGRADE_HEADER,
        tunnel::REASON_HEADER,
    ] {
        headers.remove(own);
    }
    if connection.secure {
        headers.insert(SECURE_HEADER, http::HeaderValue::from_static("1"));
    }
    headers.insert(HOPS_HEADER, http::HeaderValue::from(hops));
}

/// Whether a request for the resource itself is a modern client's: its query names the
/// Engine.IO revision or a transport.
fn is_engine_request(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.starts_with("EIO=") || pair.starts_with("transport="))
    })
}

/// How many nodes `request` has crossed (0 for a client's own request).
fn hops<B>(request: &Request<B>) -> u32 {
    request
        .headers()
        .get(HOPS_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::Method;
    use http_body_util::Full;
    use parking_lot::Mutex;

    use super::*;

    /// A request as an HTTP/1.1 client sends it, `Host` included.
    fn request(method: Method, uri: &str) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::HOST, "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap()
    }

    async fn status_and_text<B>(response: Response<B>) -> (StatusCode, String)
    where
        B: HttpBody<Data = Bytes>,
        B::Error: std::fmt::Debug,
    {
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn tower_call<F, FB>(
        gateway: &mut Gateway<F>,
        request: Request<Full<Bytes>>,
    ) -> Response<Either<Body, FB>>
    where
        F: tower::Service<Request<Full<Bytes>>, Response = Response<FB>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        F::Future: Send,
    {
        std::future::poll_fn(|cx| tower::Service::poll_ready(gateway, cx))
            .await
            .unwrap();
        tower::Service::call(gateway, request).await.unwrap()
    }

    #[tokio::test]
    async fn default_pages_answer_outside_the_resource_through_tower() {
        let mut gateway = Gateway::new(ServerConfig::default()).unwrap();
        let page = tower_call(&mut gateway, request(Method::GET, "/")).await;
        assert!(matches!(page.body(), Either::Right(_)));
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[http::header::CONTENT_TYPE],
            "text/html; charset=UTF-8"
        );
        let missing = tower_call(&mut gateway, request(Method::GET, "/nothing")).await;
        assert_eq!(
            status_and_text(missing).await,
            (StatusCode::NOT_FOUND, "Not Found".to_owned())
        );
        let welcome = tower_call(&mut gateway, request(Method::GET, "/socket.io")).await;
        assert!(matches!(welcome.body(), Either::Left(_)));
        assert_eq!(
            status_and_text(welcome).await,
            (StatusCode::OK, "Welcome to socket.io.".to_owned())
        );
    }

    #[tokio::test]
    async fn a_fallback_gets_every_path_outside_the_resource_through_hyper() {
        let host = hyper::service::service_fn(|request: Request<Full<Bytes>>| async move {
            let answer = format!("host: {}", request.uri().path());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
        });
        let gateway = Gateway::new(ServerConfig::default())
            .unwrap()
            .fallback(host);
        let call = |uri: &str| hyper::service::Service::call(&gateway, request(Method::GET, uri));
        for path in ["/", "/api/hello", "/socket.iox/1/", "/x/socket.io/1/"] {
            let response = call(path).await.unwrap();
            assert!(matches!(response.body(), Either::Right(_)), "{path}");
            assert_eq!(status_and_text(response).await.1, format!("host: {path}"));
        }
        let handshake = call("/socket.io/1/?t=1").await.unwrap();
        assert!(matches!(handshake.body(), Either::Left(_)));
        let (status, body) = status_and_text(handshake).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(gateway.hub().session_count(), 1);
    }

    #[tokio::test]
    async fn the_handshake_sees_the_connection_info_extension_or_an_unknown_peer() {
        let mut gateway = Gateway::new(ServerConfig::default()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        gateway.hub().authorize({
            let seen = Arc::clone(&seen);
            move |handshake| {
                seen.lock()
                    .push((handshake.info.address, handshake.info.secure));
                ferrio_hub::Authorization::Accept
            }
        });
        let info = ConnectionInfo {
            peer: "192.0.2.7:4242".parse().unwrap(),
            secure: true,
        };
        let mut with_info = request(Method::GET, "/socket.io/1/?t=1");
        with_info.extensions_mut().insert(info);
        tower_call(&mut gateway, with_info).await;
        tower_call(&mut gateway, request(Method::GET, "/socket.io/1/?t=2")).await;
        assert_eq!(
            *seen.lock(),
            [(info.peer, true), (ConnectionInfo::UNKNOWN.peer, false)]
        );
    }

    #[tokio::test]
    async fn a_disabled_transport_is_refused_for_every_method_before_the_hub() {
        let mut config = ServerConfig::default();
        config.hub.transports = vec![TransportKind::XhrPolling];
        let mut gateway = Gateway::new(config).unwrap();
        let handshake = tower_call(&mut gateway, request(Method::GET, "/socket.io/1/")).await;
        let body = status_and_text(handshake).await.1;
        let sid = body.split(':').next().unwrap().to_owned();
        for method in [Method::GET, Method::POST, Method::OPTIONS] {
            let refused = tower_call(
                &mut gateway,
                request(method.clone(), &format!("/socket.io/1/htmlfile/{sid}")),
            )
            .await;
            assert_eq!(
                status_and_text(refused).await,
                (StatusCode::BAD_REQUEST, "transport not enabled".to_owned()),
                "{method}"
            );
            let unknown = tower_call(
                &mut gateway,
                request(method.clone(), &format!("/socket.io/1/bogus/{sid}")),
            )
            .await;
            assert_eq!(
                status_and_text(unknown).await,
                (StatusCode::BAD_REQUEST, "unknown transport".to_owned()),
                "{method}"
            );
        }
        // Nothing reached the session: its first poll still connects it.
        let poll = tower_call(
            &mut gateway,
            request(Method::GET, &format!("/socket.io/1/xhr-polling/{sid}")),
        )
        .await;
        assert_eq!(
            status_and_text(poll).await,
            (StatusCode::OK, "1::".to_owned())
        );
    }
}
