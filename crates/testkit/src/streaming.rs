//! Helpers for the script-shaped and streaming HTTP transports (docs/protocol.md §5.3, §5.5, §5.6):
//! a raw HTTP/1.1 response read chunk by chunk as it arrives ([`StreamingResponse`]), a
//! `multipart/x-mixed-replace` reader on top of it ([`MultipartStream`]), decoders for
//! htmlfile chunks and jsonp-polling answers, the form encoding of jsonp-polling POSTs, and an
//! ES3 parse of JavaScript by acorn under Node ([`es3_string_literals`]).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::TestServer;

/// How long the response head of a streaming GET may take.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The htmlfile URL of `sid`.
pub fn htmlfile_path(sid: &str) -> String {
    format!("/socket.io/1/htmlfile/{sid}?t=3")
}

/// The xhr-multipart URL of `sid`.
pub fn multipart_path(sid: &str) -> String {
    format!("/socket.io/1/xhr-multipart/{sid}?t=4")
}

/// The jsonp-polling URL of `sid` with the callback index query `i={index}`.
pub fn jsonp_path(sid: &str, index: &str) -> String {
    format!("/socket.io/1/jsonp-polling/{sid}?t=5&i={index}")
}

/// What came next on a [`StreamingResponse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// One chunk of a chunked body, de-chunked; for a body with a `Content-Length`, the bytes
    /// of it that arrived.
    Chunk(Vec<u8>),
    /// The body ended as HTTP says it should: the zero-size chunk, or `Content-Length` bytes.
    End,
    /// The connection closed before the body ended.
    Closed,
    /// Nothing complete arrived within the timeout.
    TimedOut,
    /// The body is not valid chunked coding; what was left in the buffer.
    Malformed(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

/// A response read over raw TCP as it arrives: the head at once, then the body chunk by chunk
/// with a timeout on every read. Dropping it closes the connection (the client going away).
#[derive(Debug)]
pub struct StreamingResponse {
    /// The status code; 0 when the server closed or stalled before a complete head.
    pub status: u16,
    /// The response head as text (status line and headers).
    pub head: String,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    stream: TcpStream,
    buffer: Vec<u8>,
    framing: Framing,
    finished: bool,
}

impl StreamingResponse {
    /// Sends `GET {path}` with `headers` on a fresh connection and reads the response head.
    pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        Self::read_head(stream).await
    }

    /// Writes `request` exactly as given (a whole request: head, and body if any) on a fresh
    /// connection and reads the response head. For requests the other constructors cannot
    /// express, such as HTTP/1.0 ones.
    pub async fn send_raw(addr: SocketAddr, request: &[u8]) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
        stream.write_all(request).await.expect("write request");
        Self::read_head(stream).await
    }

    async fn read_head(mut stream: TcpStream) -> Self {
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(at) = find(&buffer, b"\r\n\r\n") {
                break Some(at);
            }
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
                _ => break None,
            }
        };
        let Some(head_end) = head_end else {
            return StreamingResponse {
                status: 0,
                head: String::from_utf8_lossy(&buffer).into_owned(),
                headers: Vec::new(),
                stream,
                buffer: Vec::new(),
                framing: Framing::UntilClose,
                finished: true,
            };
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let rest = buffer.split_off(head_end + 4);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let value = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let framing = if value("transfer-encoding")
            .is_some_and(|coding| coding.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(length) = value("content-length").and_then(|v| v.parse().ok()) {
            Framing::Length(length)
        } else {
            Framing::UntilClose
        };
        StreamingResponse {
            status,
            head,
            headers,
            stream,
            buffer: rest,
            framing,
            finished: false,
        }
    }

    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the body uses chunked transfer coding.
    pub fn is_chunked(&self) -> bool {
        self.framing == Framing::Chunked
    }

    /// Waits up to `timeout` for the next chunk or the end of the body.
    pub async fn next_event(&mut self, timeout: Duration) -> StreamEvent {
        let deadline = Instant::now() + timeout;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if self.finished {
                return StreamEvent::End;
            }
            if let Some(event) = self.parse() {
                return event;
            }
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buffer.extend_from_slice(&chunk[..n]),
                Ok(_) if self.framing == Framing::UntilClose => {
                    self.finished = true;
                    return StreamEvent::End;
                }
                Ok(_) => return StreamEvent::Closed,
                Err(_) => return StreamEvent::TimedOut,
            }
        }
    }

    /// The next chunk within `timeout`; `None` on anything else (end, close, timeout).
    pub async fn next_chunk(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        match self.next_event(timeout).await {
            StreamEvent::Chunk(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The next chunk within `timeout` as UTF-8 text; panics if it is not UTF-8.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let bytes = self.next_chunk(timeout).await?;
        Some(String::from_utf8(bytes).expect("chunk is UTF-8"))
    }

    /// Reads the rest of the body; `None` if it did not end properly within `timeout`.
    pub async fn rest(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut body = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left).await {
                StreamEvent::Chunk(bytes) => body.extend_from_slice(&bytes),
                StreamEvent::End => return Some(body),
                _ => return None,
            }
        }
    }

    /// Whether the server closed the TCP connection within `timeout` (anything still buffered
    /// or arriving meanwhile is discarded).
    pub async fn closed_within(&mut self, timeout: Duration) -> bool {
        self.buffer.clear();
        read_until_eof(&mut self.stream, timeout).await
    }

    /// Parses one event out of the buffer, if a complete one is there.
    fn parse(&mut self) -> Option<StreamEvent> {
        match self.framing {
            Framing::Length(0) => {
                self.finished = true;
                Some(StreamEvent::End)
            }
            Framing::Length(left) => {
                if self.buffer.is_empty() {
                    return None;
                }
                let take = left.min(self.buffer.len());
                let bytes: Vec<u8> = self.buffer.drain(..take).collect();
                self.framing = Framing::Length(left - take);
                Some(StreamEvent::Chunk(bytes))
            }
            Framing::UntilClose => (!self.buffer.is_empty())
                .then(|| StreamEvent::Chunk(std::mem::take(&mut self.buffer))),
            Framing::Chunked => {
                let line_end = find(&self.buffer, b"\r\n")?;
                let line = String::from_utf8_lossy(&self.buffer[..line_end]).into_owned();
                let size_text = line.split(';').next().unwrap_or_default().trim();
                let Ok(size) = usize::from_str_radix(size_text, 16) else {
                    self.finished = true;
                    return Some(StreamEvent::Malformed(std::mem::take(&mut self.buffer)));
                };
                if size == 0 {
                    // The last chunk, then (no) trailers and the final CRLF.
                    let trailer_end = find(&self.buffer[line_end..], b"\r\n\r\n")?;
                    self.buffer.drain(..line_end + trailer_end + 4);
                    self.finished = true;
                    return Some(StreamEvent::End);
                }
                let data_start = line_end + 2;
                let data_end = data_start + size;
                if self.buffer.len() < data_end + 2 {
                    return None;
                }
                if &self.buffer[data_end..data_end + 2] != b"\r\n" {
                    self.finished = true;
                    return Some(StreamEvent::Malformed(std::mem::take(&mut self.buffer)));
                }
                let data = self.buffer[data_start..data_end].to_vec();
                self.buffer.drain(..data_end + 2);
                Some(StreamEvent::Chunk(data))
            }
        }
    }
}

async fn read_until_eof(stream: &mut TcpStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl TestServer {
    /// Opens a streaming GET of `path` on a fresh connection.
    pub async fn open_stream(&self, path: &str) -> StreamingResponse {
        StreamingResponse::get(self.addr, path, &[]).await
    }

    /// Opens a streaming GET of `path` with extra request headers.
    pub async fn open_stream_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> StreamingResponse {
        StreamingResponse::get(self.addr, path, headers).await
    }

    /// A handshake followed by an htmlfile GET of its session. Checks the status, the
    /// 256-byte prelude chunk and the `<script>_("1::");</script>` chunk after it.
    pub async fn connected_htmlfile(&self) -> (String, StreamingResponse) {
        let sid = self.handshake().await;
        let mut stream = self.open_stream(&htmlfile_path(&sid)).await;
        assert_eq!(stream.status, 200, "htmlfile GET: {}", stream.head);
        let prelude = stream
            .next_text(Duration::from_secs(2))
            .await
            .expect("htmlfile prelude");
        assert!(
            prelude.starts_with("<html><body><script>") && prelude.len() >= 256,
            "prelude {prelude:?}"
        );
        assert_eq!(
            stream.next_text(Duration::from_secs(2)).await.as_deref(),
            Some(r#"<script>_("1::");</script>"#)
        );
        (sid, stream)
    }

    /// A handshake followed by an xhr-multipart GET of its session, whose first part must be
    /// `1::`.
    pub async fn connected_multipart(&self) -> (String, MultipartStream) {
        let sid = self.handshake().await;
        let mut stream = MultipartStream::new(self.open_stream(&multipart_path(&sid)).await);
        assert_eq!(
            stream.next_part(Duration::from_secs(2)).await,
            MultipartEvent::part("1::")
        );
        (sid, stream)
    }

    /// POSTs `body` raw (one packet or a framed payload, as xhr-polling does) to `path` and
    /// checks the answer is `200` / `1`.
    pub async fn post_packets_to(&self, path: &str, body: &str) {
        let response = self.post(path, body).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "1"),
            "POST {body:?} to {path}"
        );
    }

    /// The answered-heartbeats scenario of a streaming transport under
    /// [`short_timers`](crate::short_timers): for 9 s (past interval + timeout, which would end
    /// an unanswered stream) every heartbeat is answered by POSTing `2::` to `path`, and there
    /// must be at least two; then `echo` is POSTed and must come back (heartbeats met on the
    /// way are answered), and `sid` must not have been disconnected.
    ///
    /// `next_heartbeat` checks what comes next within its timeout: `true` for a heartbeat,
    /// `false` when nothing came, and a panic for anything else. `next_packet` returns the
    /// next packet within its timeout and panics when there is none.
    #[allow(clippy::too_many_arguments)]
    pub async fn assert_answered_heartbeats_keep_stream_open<S>(
        &self,
        sid: &str,
        path: &str,
        stream: &mut S,
        echo: &str,
        wait: Duration,
        mut next_heartbeat: impl AsyncFnMut(&mut S, Duration) -> bool,
        mut next_packet: impl AsyncFnMut(&mut S, Duration) -> String,
    ) {
        let until = Instant::now() + Duration::from_secs(9);
        let mut heartbeats = 0;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || !next_heartbeat(stream, left).await {
                break;
            }
            heartbeats += 1;
            self.post_packets_to(path, "2::").await;
        }
        assert!(heartbeats >= 2, "only {heartbeats} heartbeats in 9 s");
        self.post_packets_to(path, echo).await;
        loop {
            let packet = next_packet(stream, wait).await;
            if packet == "2::" {
                self.post_packets_to(path, "2::").await;
                continue;
            }
            assert_eq!(packet, echo);
            break;
        }
        assert!(
            !crate::any_disconnect_of(&self.log, sid),
            "{:?}",
            self.log.entries()
        );
    }

    /// POSTs `payload` to the jsonp-polling URL of `sid` as the 0.9 client does (a form field
    /// `d` holding the payload as a JSON string) and checks the answer is `200` / `1`.
    pub async fn post_jsonp(&self, sid: &str, payload: &str) {
        let response = self
            .request(
                http::Method::POST,
                &jsonp_path(sid, "1"),
                &[("content-type", "application/x-www-form-urlencoded")],
                jsonp_form(payload),
            )
            .await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (200, "1"),
            "jsonp POST of {payload:?}"
        );
    }
}

/// The payload text of an htmlfile chunk `<script>_("…");</script>`: the literal, decoded as
/// JSON. `None` when the chunk has another shape.
pub fn htmlfile_payload(chunk: &str) -> Option<String> {
    let literal = chunk
        .strip_prefix("<script>_(")?
        .strip_suffix(");</script>")?;
    serde_json::from_str(literal).ok()
}

/// The callback index and the payload text of a jsonp-polling answer `io.j[k]("…");`, the
/// literal decoded as JSON. `None` when the body has another shape.
pub fn jsonp_payload(body: &str) -> Option<(u32, String)> {
    let (index, rest) = body.strip_prefix("io.j[")?.split_once("](")?;
    let literal = rest.strip_suffix(");")?;
    Some((index.parse().ok()?, serde_json::from_str(literal).ok()?))
}

/// The body of a jsonp-polling POST for `payload`: `d=` and the payload as a JSON string
/// (`JSON.stringify` in the 0.9 client), form-urlencoded as browsers do.
pub fn jsonp_form(payload: &str) -> String {
    let json = serde_json::to_string(payload).expect("a string serializes");
    format!("d={}", form_urlencode(&json))
}

/// `application/x-www-form-urlencoded` encoding of one value: space as `+`, every byte but
/// `*-._` and ASCII alphanumerics as `%XX`.
pub fn form_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'*' | b'-' | b'.' | b'_' => out.push(byte as char),
            _ if byte.is_ascii_alphanumeric() => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Where acorn lives: `tests/node_modules/acorn` of this workspace.
fn acorn_path() -> String {
    format!(
        "{}/../../tests/node_modules/acorn",
        env!("CARGO_MANIFEST_DIR")
    )
}

const ES3_PARSE: &str = r#"
const acorn = require(process.env.ACORN);
const source = require('fs').readFileSync(0, 'utf8');
let ast;
try {
  ast = acorn.parse(source, { ecmaVersion: 3 });
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error.message) }));
  process.exit(0);
}
const strings = [];
(function walk(node) {
  if (Array.isArray(node)) { node.forEach(walk); return; }
  if (!node || typeof node !== 'object') return;
  if (node.type === 'Literal' && typeof node.value === 'string') strings.push(node.value);
  for (const key of Object.keys(node)) if (key !== 'loc') walk(node[key]);
})(ast);
process.stdout.write(JSON.stringify({ strings }));
"#;

/// Parses `source` as ES3 JavaScript with acorn under Node and returns the values of its
/// string literals in source order, as the JavaScript engine decodes them; `Err` with acorn's
/// message when it is not valid ES3. Panics — failing the test — when Node or acorn cannot
/// be run: the check must not be skipped silently.
pub fn es3_string_literals(source: &str) -> Result<Vec<String>, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("node")
        .arg("-e")
        .arg(ES3_PARSE)
        .env("ACORN", acorn_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run `node` for the ES3 check: {error}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(source.as_bytes())
        .expect("write to node");
    let output = child.wait_with_output().expect("node output");
    assert!(
        output.status.success(),
        "node/acorn failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("node printed JSON");
    if let Some(error) = reply.get("error") {
        return Err(error.as_str().unwrap_or_default().to_owned());
    }
    Ok(reply["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .map(|value| value.as_str().expect("string").to_owned())
        .collect())
}

/// What came next on a [`MultipartStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartEvent {
    /// One part: its header block (without the blank line) and its body.
    Part {
        /// The header lines of the part, CRLF-separated.
        headers: String,
        /// The body of the part, as text.
        body: String,
    },
    /// The closing delimiter `--{boundary}--`.
    CloseDelimiter,
    /// The HTTP body ended (after the close delimiter, or without one).
    End,
    /// The connection closed before the HTTP body ended.
    Closed,
    /// Nothing complete arrived within the timeout.
    TimedOut,
    /// Bytes that do not follow the multipart layout ferrio writes.
    Malformed(String),
}

impl MultipartEvent {
    /// A part as ferrio writes it: `Content-Type: text/plain; charset=UTF-8` and `body`.
    pub fn part(body: &str) -> Self {
        MultipartEvent::Part {
            headers: "Content-Type: text/plain; charset=UTF-8".to_owned(),
            body: body.to_owned(),
        }
    }
}

/// An xhr-multipart stream (docs/protocol.md §5.6) read part by part with the boundary of its
/// `Content-Type`. Strict about ferrio's layout: the opening delimiter `--{b}\r\n`, then parts
/// `headers\r\n\r\nbody\r\n--{b}\r\n`, and possibly the closing `--{b}--\r\n`.
#[derive(Debug)]
pub struct MultipartStream {
    /// The underlying response (status and headers).
    pub response: StreamingResponse,
    /// The boundary announced in `Content-Type`.
    pub boundary: String,
    buffer: Vec<u8>,
    opened: bool,
    http_ended: bool,
}

impl MultipartStream {
    /// Wraps a response that has not been read from yet. Panics when the response is not
    /// `multipart/x-mixed-replace` with a quoted boundary.
    pub fn new(response: StreamingResponse) -> Self {
        let content_type = response.header("content-type").unwrap_or_default();
        let boundary = content_type
            .strip_prefix("multipart/x-mixed-replace;boundary=\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("not a multipart stream: {}", response.head))
            .to_owned();
        MultipartStream {
            response,
            boundary,
            buffer: Vec::new(),
            opened: false,
            http_ended: false,
        }
    }

    /// Waits up to `timeout` for the next part (or the end).
    pub async fn next_part(&mut self, timeout: Duration) -> MultipartEvent {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.parse() {
                return event;
            }
            if self.http_ended {
                return if self.buffer.is_empty() {
                    MultipartEvent::End
                } else {
                    MultipartEvent::Malformed(
                        String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned(),
                    )
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.response.next_event(left).await {
                StreamEvent::Chunk(bytes) => self.buffer.extend_from_slice(&bytes),
                StreamEvent::End => self.http_ended = true,
                StreamEvent::Closed => return MultipartEvent::Closed,
                StreamEvent::TimedOut => return MultipartEvent::TimedOut,
                StreamEvent::Malformed(bytes) => {
                    return MultipartEvent::Malformed(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
    }

    fn parse(&mut self) -> Option<MultipartEvent> {
        let delimiter = format!("--{}", self.boundary);
        if !self.opened {
            let opening = format!("{delimiter}\r\n");
            if self.buffer.len() < opening.len() {
                return None;
            }
            if !self.buffer.starts_with(opening.as_bytes()) {
                return Some(self.malformed());
            }
            self.buffer.drain(..opening.len());
            self.opened = true;
        }
        let closing = format!("{delimiter}--\r\n");
        if self.buffer.starts_with(closing.as_bytes()) {
            self.buffer.drain(..closing.len());
            return Some(MultipartEvent::CloseDelimiter);
        }
        if closing.as_bytes().starts_with(&self.buffer) {
            return None;
        }
        let headers_end = find(&self.buffer, b"\r\n\r\n")?;
        let body_start = headers_end + 4;
        let next = format!("\r\n{delimiter}\r\n");
        let body_len = find(&self.buffer[body_start..], next.as_bytes())?;
        let headers = String::from_utf8_lossy(&self.buffer[..headers_end]).into_owned();
        let body = String::from_utf8(self.buffer[body_start..body_start + body_len].to_vec());
        self.buffer.drain(..body_start + body_len + next.len());
        Some(match body {
            Ok(body) => MultipartEvent::Part { headers, body },
            Err(_) => MultipartEvent::Malformed("part body is not UTF-8".to_owned()),
        })
    }

    fn malformed(&mut self) -> MultipartEvent {
        MultipartEvent::Malformed(
            String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned(),
        )
    }
}
