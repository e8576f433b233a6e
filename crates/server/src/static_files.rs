//! The chat page, the browser client (its parts in `static/client`, joined by `build.rs` in
//! the order of `static/client/parts.txt`) and, when it was installed before the build, the
//! Flash movie of flashsocket (`static/flashsocket`, see `static/flashsocket/install.sh`),
//! compiled into the binary so a container needs no files beside it. Served with
//! `Content-Length`, an `ETag`, `304` revalidation and `HEAD`.

use bytes::Bytes;
use ferrio_transport::{Body, empty, full};
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH,
};
use http::{Method, Response, StatusCode};

/// The `Cache-Control` of a [`CachePolicy::Pinned`] file: kept a week before it is
/// revalidated. Its bytes change only with the version the install script pins, and then the
/// `ETag` brings the new ones within the week.
const PINNED_CACHE_CONTROL: &str = "public, max-age=604800";

/// What an asset's `Cache-Control` lets browsers and proxies do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CachePolicy {
    /// Revalidate every time: the page and the client change with each deploy and must reach
    /// browsers at once, and a `304` is cheap.
    Revalidate,
    /// Keep a week ([`PINNED_CACHE_CONTROL`]), in shared caches too: a third party's file of
    /// a pinned version, the same on every node and in every deploy. The Flash movie needs it
    /// besides: Internet Explorer 6–8 fails to hand a file it fetched over HTTPS with
    /// `no-cache` to a plugin (Microsoft KB 323308), and the Flash player gets its movie so.
    Pinned,
}

impl CachePolicy {
    fn header(self) -> HeaderValue {
        match self {
            CachePolicy::Revalidate => HeaderValue::from_static("no-cache"),
            CachePolicy::Pinned => HeaderValue::from_static(PINNED_CACHE_CONTROL),
        }
    }
}

/// One file held in memory.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    bytes: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    cache_control: HeaderValue,
}

impl Asset {
    fn new(bytes: &'static [u8], content_type: &'static str, caching: CachePolicy) -> Self {
        let digest = sha1_smol::Sha1::from(bytes).digest().to_string();
        let etag = HeaderValue::from_str(&format!("\"{}\"", &digest[..20]))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        Asset {
            bytes: Bytes::from_static(bytes),
            content_type,
            etag,
            cache_control: caching.header(),
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
        headers.insert(CACHE_CONTROL, self.cache_control.clone());
        response
    }
}

/// The Flash movie of socket.io-client 0.9.17's flashsocket transport, in its two builds.
#[derive(Debug, Clone)]
pub(crate) struct FlashMovie<File> {
    /// `WebSocketMain.swf`: for pages of the gateway's own domain.
    pub(crate) main: File,
    /// `WebSocketMainInsecure.swf`: for pages of other domains (the client picks it when
    /// `isXDomain()`); it lets any domain script the movie.
    pub(crate) insecure: File,
}

/// The movie's bytes, as `build.rs` found them in `static/flashsocket`: `None` when the
/// install script had not been run before the build.
pub(crate) const EMBEDDED_FLASH_MOVIE: Option<FlashMovie<&[u8]>> =
    include!(concat!(env!("OUT_DIR"), "/flash_movie.rs"));

/// What the log and a request for the movie say when the binary was built without it.
pub(crate) const FLASH_MOVIE_MISSING: &str = "this ferrio was built without the Flash movie of \
     flashsocket: run static/flashsocket/install.sh, then rebuild it";

/// The movie's media type, as the reference serves it and the Flash plugin is registered for.
const FLASH_CONTENT_TYPE: &str = "application/x-shockwave-flash";

/// The files the gateway serves.
#[derive(Debug, Clone)]
pub(crate) struct Assets {
    pub(crate) index: Asset,
    pub(crate) client: Asset,
    /// The Flash movie, when this binary was built with it.
    pub(crate) flash_movie: Option<FlashMovie<Asset>>,
}

impl Assets {
    pub(crate) fn embedded() -> Self {
        Assets {
            index: Asset::new(
                include_bytes!("../../../static/index.html"),
                "text/html; charset=UTF-8",
                CachePolicy::Revalidate,
            ),
            client: Asset::new(
                include_bytes!(concat!(env!("OUT_DIR"), "/socket.io.js")),
                "application/javascript",
                CachePolicy::Revalidate,
            ),
            flash_movie: EMBEDDED_FLASH_MOVIE.map(|movie| FlashMovie {
                main: Asset::new(movie.main, FLASH_CONTENT_TYPE, CachePolicy::Pinned),
                insecure: Asset::new(movie.insecure, FLASH_CONTENT_TYPE, CachePolicy::Pinned),
            }),
        }
    }
}
