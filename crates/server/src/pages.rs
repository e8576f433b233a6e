//! What the `ferrio` binary answers outside the resource: the chat page and `404`s. This is
//! the gateway's default fallback; an embedding program replaces it with its own service.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_transport::{Body, TransportError, full};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::static_files::{Asset, Assets};

/// The embedded files, hashed once per process rather than once per gateway.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::embedded);

/// The pages of the `ferrio` binary outside the resource: the chat demo at `/` and
/// `/index.html` (`GET`/`HEAD`, with `ETag` revalidation), `405` for other methods there, and
/// `404 Not Found` for every other path.
///
/// It is the fallback of a [`Gateway`](crate::Gateway) unless another is given, and a service
/// of its own (hyper's and tower's) for programs that route the gateway themselves and still
/// want the demo page.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPages;

impl DefaultPages {
    /// The answer to `request`.
    pub fn answer<B>(&self, request: &Request<B>) -> Response<Body> {
        match request.uri().path() {
            "/" | "/index.html" => serve_file(request, &ASSETS.index),
            _ => not_found(),
        }
    }
}

impl<B> hyper::service::Service<Request<B>> for DefaultPages {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        ready(Ok(self.answer(&request)))
    }
}

impl<B> tower::Service<Request<B>> for DefaultPages {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.answer(&request)))
    }
}

/// An embedded file for `GET` and `HEAD`; `405` for any other method.
pub(crate) fn serve_file<B>(request: &Request<B>, asset: &Asset) -> Response<Body> {
    match *request.method() {
        Method::GET | Method::HEAD => asset.serve(request.method(), request.headers()),
        _ => TransportError::MethodNotAllowed.into_response(),
    }
}

/// `404 Not Found` as plain text.
pub(crate) fn not_found() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "Not Found",
        Some("text/plain; charset=UTF-8"),
    )
}

/// A fixed text answer, with a `Content-Type` when one is given.
pub(crate) fn text(
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
