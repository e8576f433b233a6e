//! The chat page and the browser client (its parts in `static/client`, joined by `build.rs` in
//! the order of `static/client/parts.txt`), compiled into the binary so a container needs no
//! files beside it. Served with `Content-Length`, an `ETag`, `304` revalidation and `HEAD`.

use bytes::Bytes;
use ferrio_transport::{Body, empty, full};
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH,
};
use http::{Method, Response, StatusCode};

/// One file held in memory.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    bytes: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

impl Asset {
    fn new(bytes: &'static [u8], content_type: &'static str) -> Self {
        let digest = sha1_smol::Sha1::from(bytes).digest().to_string();
        let etag = HeaderValue::from_str(&format!("\"{}\"", &digest[..20]))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        Asset {
            bytes: Bytes::from_static(bytes),
            content_type,
            etag,
        }
    }

    /// Answers GET or HEAD; `304` when the client's `If-None-Match` names this version.
    pub(crate) fn serve(&self, method: &Method, request: &HeaderMap) -> Response<Body> {
        let fresh = request
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',').any(|tag| {
                    tag.trim() == self.etag.to_str().unwrap_or_default() || tag.trim() == "*"
                })
            });
        let mut response = if fresh {
            let mut response = Response::new(empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let body = if method == Method::HEAD {
                empty()
            } else {
                full(self.bytes.clone())
            };
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(self.bytes.len()));
            response
        };
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(ETAG, self.etag.clone());
        // Revalidate every time: a new deploy must reach browsers at once, and a 304 is cheap.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The files the gateway serves.
#[derive(Debug, Clone)]
pub(crate) struct Assets {
    pub(crate) index: Asset,
    pub(crate) client: Asset,
}

impl Assets {
    pub(crate) fn embedded() -> Self {
        Assets {
            index: Asset::new(
                include_bytes!("../../../static/index.html"),
                "text/html; charset=UTF-8",
            ),
            client: Asset::new(
                include_bytes!(concat!(env!("OUT_DIR"), "/socket.io.js")),
                "application/javascript",
            ),
        }
    }
}
