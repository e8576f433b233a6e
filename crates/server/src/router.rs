//! Routing of every request (docs/protocol.md §1.2) to the handshake, a transport, or a file.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ferrio_htmlfile::HtmlfileWire;
use ferrio_hub::Hub;
use ferrio_jsonp_polling::JsonpWire;
use ferrio_protocol::{Route, StaticAsset, TransportKind};
use ferrio_transport::{Body, TransportError, TransportRequest, empty, full};
use ferrio_xhr_multipart::MultipartWire;
use ferrio_xhr_polling::XhrWire;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tracing::debug;

use crate::config::ServerConfig;
use crate::handshake;
use crate::static_files::Assets;

/// What every connection's requests are served by.
#[derive(Debug)]
pub(crate) struct Router {
    pub(crate) hub: Hub,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) assets: Assets,
}

impl Router {
    pub(crate) async fn handle<B>(
        &self,
        request: Request<B>,
        peer: SocketAddr,
        secure: bool,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().map(str::to_owned);
        let response = match Route::parse(&self.config.resource, &path, query.as_deref()) {
            Route::Foreign => self.page(&request),
            Route::Welcome => text(StatusCode::OK, "Welcome to socket.io.", None),
            Route::Static(StaticAsset::ClientScript) => self.file(&request, &self.assets.client),
            Route::Static(StaticAsset::FlashMain | StaticAsset::FlashInsecure) => text(
                StatusCode::NOT_FOUND,
                "Not Found",
                Some("text/plain; charset=UTF-8"),
            ),
            Route::UnsupportedProtocol => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Protocol version not supported.",
                None,
            ),
            Route::Handshake => handshake::serve(&self.hub, &request, peer, secure),
            Route::ForcedDisconnect { sid } => {
                debug!(sid, "forced disconnect requested");
                self.hub.disconnect(sid);
                Response::new(empty())
            }
            Route::UnknownTransport { name, sid } => {
                debug!(transport = name, sid, "unknown transport requested");
                TransportError::UnknownTransport.into_response()
            }
            Route::Transport { transport, .. } if !self.config.hub.enables(transport) => {
                TransportError::TransportDisabled.into_response()
            }
            Route::Transport { transport, sid } => {
                let sid = sid.to_owned();
                self.transport(transport, &sid, request, secure).await
            }
        };
        debug!(%peer, path, status = response.status().as_u16(), "request served");
        response
    }

    async fn transport<B>(
        &self,
        kind: TransportKind,
        sid: &str,
        request: Request<B>,
        secure: bool,
    ) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
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

    fn page<B>(&self, request: &Request<B>) -> Response<Body> {
        match request.uri().path() {
            "/" | "/index.html" => self.file(request, &self.assets.index),
            _ => text(
                StatusCode::NOT_FOUND,
                "Not Found",
                Some("text/plain; charset=UTF-8"),
            ),
        }
    }

    fn file<B>(&self, request: &Request<B>, asset: &crate::static_files::Asset) -> Response<Body> {
        match *request.method() {
            Method::GET | Method::HEAD => asset.serve(request.method(), request.headers()),
            _ => TransportError::MethodNotAllowed.into_response(),
        }
    }
}

fn text(
    status: StatusCode,
    body: &'static str,
    content_type: Option<&'static str>,
) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}
