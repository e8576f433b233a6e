//! The script-shaped and streaming HTTP transports (docs/protocol.md §5.3, §5.5, §5.6): a raw
//! HTTP/1.1 response read chunk by chunk as it arrives ([`StreamingResponse`]), a
//! `multipart/x-mixed-replace` reader on top of it ([`MultipartStream`]), decoders for
//! htmlfile chunks and jsonp-polling answers, and the form encoding of jsonp-polling POSTs.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::http::{ReadOutcome, find, header_value, read_response_head, read_some};
use crate::{
    TestServer, htmlfile_path, jsonp_path, multipart_path, read_until_closed, request_head,
};

/// How long the response head of a streaming GET may take.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

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
        let host = addr.to_string();
        let mut all = vec![("Host", host.as_str())];
        all.extend_from_slice(headers);
        Self::send_raw(addr, request_head("GET", path, &all).as_bytes()).await
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
        let head = match read_response_head(&mut stream, HEAD_TIMEOUT).await {
            Ok(head) => head,
            Err(partial) => {
                return StreamingResponse {
                    status: 0,
                    head: String::from_utf8_lossy(&partial).into_owned(),
                    headers: Vec::new(),
                    stream,
                    buffer: Vec::new(),
                    framing: Framing::UntilClose,
                    finished: true,
                };
            }
        };
        let value = |name: &str| header_value(&head.headers, name);
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
            status: head.status,
            head: head.head,
            headers: head.headers,
            stream,
            buffer: head.rest,
            framing,
            finished: false,
        }
    }
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
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
            match read_some(&mut self.stream, &mut chunk, deadline).await {
                ReadOutcome::Bytes(n) => self.buffer.extend_from_slice(&chunk[..n]),
                ReadOutcome::Closed if self.framing == Framing::UntilClose => {
                    self.finished = true;
                    return StreamEvent::End;
                }
                ReadOutcome::Closed => return StreamEvent::Closed,
                ReadOutcome::TimedOut => return StreamEvent::TimedOut,
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
        read_until_closed(&mut self.stream, timeout).await.is_some()
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

/// `application/x-www-form-urlencoded` encoding of one value as browsers write it: space as
/// `+`, every byte but `*-._` and ASCII alphanumerics as `%XX`.
pub fn form_urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
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
