//! What the `ferrio` binary answers outside the resource: the chat page and `404`s. This is
//! the gateway's default fallback; an embedding program replaces it with its own service.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_hub::LogGate;
use ferrio_transport::{Body, TransportError, full};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tracing::warn;

use crate::static_files::{Asset, Assets, FLASH_MOVIE_MISSING};

/// The embedded files, hashed once per process rather than once per gateway.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::embedded);

/// Requests for a Flash movie the binary lacks: a client can repeat them at will.
static MISSING_FLASH_MOVIE: LogGate = LogGate::new();

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

/// A file of the Flash movie, flashsocket being on: served as [`serve_file`] serves it, or,
/// when the binary was built without the movie (`file` is `None`), `404` with a body that
/// says so and how to mend it, logged by sample.
pub(crate) fn serve_flash_movie<B>(request: &Request<B>, file: Option<&Asset>) -> Response<Body> {
    if let Some(file) = file {
        return serve_file(request, file);
    }
    if let Some(suppressed) = MISSING_FLASH_MOVIE.admit() {
        warn!(
            suppressed,
            path = request.uri().path(),
            "Flash movie requested: {FLASH_MOVIE_MISSING}"
        );
    }
    text(
        StatusCode::NOT_FOUND,
        FLASH_MOVIE_MISSING,
        Some("text/plain; charset=UTF-8"),
    )
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

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn request(method: Method) -> Request<()> {
        Request::builder()
            .method(method)
            .uri("/socket.io/static/flashsocket/WebSocketMain.swf")
            .body(())
            .unwrap()
    }

    #[tokio::test]
    async fn a_binary_without_the_flash_movie_answers_404_saying_how_to_install_it() {
        for method in [Method::GET, Method::HEAD, Method::POST] {
            let response = serve_flash_movie(&request(method.clone()), None);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method}");
            assert_eq!(
                response.headers()[CONTENT_TYPE],
                "text/plain; charset=UTF-8"
            );
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(
                body.contains("without the Flash movie")
                    && body.contains("static/flashsocket/install.sh"),
                "{body}"
            );
        }
    }
}
