//! The HTTP side of the tests: a one-request-per-connection client that shows every header
//! ([`request`], [`HttpResponse`]), hand-written request heads and chunked bodies for what
//! hyper would not send, the reads of raw connections with a deadline (until closed, for a
//! while, at least so many bytes, one parsed item at a time), response heads read off raw
//! connections, and CORS preflights.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::TestServer;

/// How long one request on an already connected stream, a TLS handshake or an admin request
/// may take before the test fails.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How much one read of a raw connection asks for.
const READ_CHUNK: usize = 64 * 1024;

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The body parsed as JSON; panics, showing the body, when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.text()))
    }
}

/// The first header named `name` among `headers` (names lower-case, in order).
pub(crate) fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Sends one request to `addr` on a fresh connection and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse {
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    exchange(stream, &addr.to_string(), method, path, headers, body).await
}

/// Sends one request over an already connected `io` (TLS or plain, bound to a chosen local
/// address…) and reads the whole response; fails the test after five seconds.
pub async fn request_on<I>(
    io: I,
    host: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = exchange(io, host, method, path, headers, body);
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("request {path} timed out"))
}

/// Sends one request over an already connected `io` and reads the whole response, with no
/// time limit of its own.
async fn exchange<I>(
    io: I,
    host: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("http handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body.into())).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    let body = response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Every header as a `(name, value)` pair of strings, values decoded lossily.
pub(crate) fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Requests written by hand.

/// The head of an HTTP/1.1 request exactly as given: the request line, `Name: value` for each
/// of `headers` in order (nothing added, not even `Host`), then the blank line.
pub fn request_head(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// One chunk of a chunked body: the size in hex, CRLF, `data`, CRLF.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
}

/// The zero-size chunk that ends a chunked body (with no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The status line of a raw HTTP response (lossy), without its CRLF.
pub fn status_line(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.split("\r\n").next().unwrap_or_default().to_owned()
}

/// The status code of a status line such as `HTTP/1.1 200 OK`; 0 when there is none.
pub fn status_code(status_line: &str) -> u16 {
    status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Reading raw connections.

/// What one read of a raw connection gave before its deadline.
pub(crate) enum ReadOutcome {
    /// This many bytes, now at the start of the chunk.
    Bytes(usize),
    /// The peer closed the connection (or it failed).
    Closed,
    /// Nothing came before the deadline.
    TimedOut,
}

/// One read of `stream` into `chunk`, given up at `deadline`.
pub(crate) async fn read_some<S>(stream: &mut S, chunk: &mut [u8], deadline: Instant) -> ReadOutcome
where
    S: AsyncRead + Unpin,
{
    match tokio::time::timeout_at(deadline, stream.read(chunk)).await {
        Ok(Ok(0) | Err(_)) => ReadOutcome::Closed,
        Ok(Ok(n)) => ReadOutcome::Bytes(n),
        Err(_) => ReadOutcome::TimedOut,
    }
}

/// Writes `bytes` and reads what comes back until the peer closes or `timeout` passes.
pub async fn raw_exchange(stream: &mut TcpStream, bytes: &[u8], timeout: Duration) -> Vec<u8> {
    stream.write_all(bytes).await.expect("write");
    read_for(stream, timeout).await
}

/// Reads from `stream` until it closes or `timeout` passes.
pub async fn read_for<S>(stream: &mut S, timeout: Duration) -> Vec<u8>
where
    S: AsyncRead + Unpin,
{
    let mut out = Vec::new();
    read_until_closed_into(stream, &mut out, timeout).await;
    out
}

/// Reads from `stream` until it closes; `None` if it is still open after `timeout`.
pub async fn read_until_closed<S>(stream: &mut S, timeout: Duration) -> Option<Vec<u8>>
where
    S: AsyncRead + Unpin,
{
    let mut out = Vec::new();
    read_until_closed_into(stream, &mut out, timeout)
        .await
        .then_some(out)
}

/// Appends what `stream` gives to `out` until it closes (`true`) or `timeout` passes (`false`).
async fn read_until_closed_into<S>(stream: &mut S, out: &mut Vec<u8>, timeout: Duration) -> bool
where
    S: AsyncRead + Unpin,
{
    let deadline = Instant::now() + timeout;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        match read_some(stream, &mut chunk, deadline).await {
            ReadOutcome::Bytes(n) => out.extend_from_slice(&chunk[..n]),
            ReadOutcome::Closed => return true,
            ReadOutcome::TimedOut => return false,
        }
    }
}

/// Reads from `stream` until `out` holds at least `len` bytes (`true`), or the connection ends
/// or `timeout` passes first (`false`).
pub async fn read_at_least<S>(
    stream: &mut S,
    out: &mut Vec<u8>,
    len: usize,
    timeout: Duration,
) -> bool
where
    S: AsyncRead + Unpin,
{
    let deadline = Instant::now() + timeout;
    let mut chunk = vec![0u8; READ_CHUNK];
    while out.len() < len {
        match read_some(stream, &mut chunk, deadline).await {
            ReadOutcome::Bytes(n) => out.extend_from_slice(&chunk[..n]),
            ReadOutcome::Closed | ReadOutcome::TimedOut => return false,
        }
    }
    true
}

/// Reads from `stream` into `buffer` until `parse` finds a complete item at its start (returned
/// with how many bytes it took, which are consumed); `None` when the connection ends or
/// `timeout` passes first.
pub(crate) async fn read_parsed<S, T>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    timeout: Duration,
    parse: impl Fn(&[u8]) -> Option<(T, usize)>,
) -> Option<T>
where
    S: AsyncRead + Unpin,
{
    let deadline = Instant::now() + timeout;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        if let Some((item, used)) = parse(buffer) {
            buffer.drain(..used);
            return Some(item);
        }
        match read_some(stream, &mut chunk, deadline).await {
            ReadOutcome::Bytes(n) => buffer.extend_from_slice(&chunk[..n]),
            ReadOutcome::Closed | ReadOutcome::TimedOut => return None,
        }
    }
}

/// Reads from `stream` into `buffer` until the peer closes the connection, parsing complete
/// items off the start of `buffer` as they arrive; returns them, or `None` if the connection
/// is still open after `timeout`. Bytes that never made a complete item stay in `buffer`.
pub(crate) async fn parsed_until_closed<S, T>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    timeout: Duration,
    parse: impl Fn(&[u8]) -> Option<(T, usize)>,
) -> Option<Vec<T>>
where
    S: AsyncRead + Unpin,
{
    let deadline = Instant::now() + timeout;
    let mut items = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        while let Some((item, used)) = parse(buffer) {
            buffer.drain(..used);
            items.push(item);
        }
        match read_some(stream, &mut chunk, deadline).await {
            ReadOutcome::Bytes(n) => buffer.extend_from_slice(&chunk[..n]),
            ReadOutcome::Closed => return Some(items),
            ReadOutcome::TimedOut => return None,
        }
    }
}

/// A response head read off a raw connection ([`read_response_head`]).
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The status code; 0 when the status line has none.
    pub status: u16,
    /// The head as text (status line and headers, without the blank line).
    pub head: String,
    /// Headers, names lower-case, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// The bytes read past the head.
    pub rest: Vec<u8>,
}

impl ResponseHead {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// Reads a response head (up to the blank line) off `stream`, a raw connection of any kind
/// (TCP, TLS); `Err` with what was read when the connection ended or `timeout` passed before
/// a complete head.
pub async fn read_response_head<S>(
    stream: &mut S,
    timeout: Duration,
) -> Result<ResponseHead, Vec<u8>>
where
    S: AsyncRead + Unpin,
{
    let mut buffer = Vec::new();
    let head = |buffer: &[u8]| {
        find(buffer, b"\r\n\r\n")
            .map(|at| (String::from_utf8_lossy(&buffer[..at]).into_owned(), at + 4))
    };
    let Some(head) = read_parsed(stream, &mut buffer, timeout, head).await else {
        return Err(buffer);
    };
    // The head and its blank line were consumed: what is left came after them.
    let rest = buffer;
    let mut lines = head.split("\r\n");
    let status = status_code(lines.next().unwrap_or_default());
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok(ResponseHead {
        status,
        head,
        headers,
        rest,
    })
}

/// Where `needle` first starts in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

// ---------------------------------------------------------------------------------------------
// The gateway's HTTP.

impl TestServer {
    /// Sends one request on a fresh connection.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> HttpResponse {
        request(self.addr, method, path, headers, body).await
    }

    /// A GET on a fresh connection.
    pub async fn get(&self, path: &str) -> HttpResponse {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// A POST of `body` on a fresh connection.
    pub async fn post(&self, path: &str, body: &str) -> HttpResponse {
        self.request(
            Method::POST,
            path,
            &[("content-type", "text/plain;charset=UTF-8")],
            body.to_owned(),
        )
        .await
    }

    /// Starts a GET of `path` on a fresh connection in the background, for polls that must
    /// stay open while the test does something else.
    pub fn spawn_get(&self, path: &str) -> JoinHandle<HttpResponse> {
        let addr = self.addr;
        let path = path.to_owned();
        tokio::spawn(async move { request(addr, Method::GET, &path, &[], Bytes::new()).await })
    }

    /// Opens a raw TCP connection.
    pub async fn tcp(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("tcp connect")
    }

    /// POSTs `chunks` to `path` over raw TCP as a chunked body (no `Content-Length`, so a size
    /// limit can only be found while the body streams in), each chunk in a write of its own,
    /// then the last chunk; returns the raw answer read until the server closes or `timeout`
    /// passes. Writes the server refuses (it may close early) are not errors.
    pub async fn post_chunked<'a>(
        &self,
        path: &str,
        chunks: impl IntoIterator<Item = &'a [u8]>,
        timeout: Duration,
    ) -> Vec<u8> {
        let mut stream = self.tcp().await;
        let host = self.addr.to_string();
        let head = request_head(
            "POST",
            path,
            &[
                ("Host", &host),
                ("Content-Type", "text/plain"),
                ("Transfer-Encoding", "chunked"),
            ],
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        for data in chunks {
            if stream.write_all(&chunk(data)).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(LAST_CHUNK).await;
        read_for(&mut stream, timeout).await
    }

    /// Sends the CORS preflight (`OPTIONS`) a browser sends from `origin` before a `POST`
    /// with a `content-type` header to `path`.
    pub async fn post_preflight(&self, path: &str, origin: &str) -> HttpResponse {
        self.request(
            Method::OPTIONS,
            path,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await
    }
}

/// Asserts that `preflight` is a `204` with no body that allows `origin` with credentials,
/// the methods `GET` and `POST` and the one header the clients set, `Content-Type`, whatever
/// the preflight asked for.
pub fn assert_preflight_allows(preflight: &HttpResponse, origin: &str) {
    assert_eq!(preflight.status, 204);
    assert!(preflight.body.is_empty());
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(origin)
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("Content-Type")
    );
    assert_eq!(preflight.header("x-content-type-options"), Some("nosniff"));
}

/// Awaits the answer to a GET started by [`TestServer::spawn_get`]; panics when it does not
/// come within `timeout` or the task failed.
pub async fn await_answer(open: JoinHandle<HttpResponse>, timeout: Duration) -> HttpResponse {
    tokio::time::timeout(timeout, open)
        .await
        .expect("open GET answered")
        .expect("GET task")
}
