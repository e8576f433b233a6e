//! Request heads read and response heads written, free of I/O.

use std::cell::RefCell;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};

/// The most header lines a request may have; more is answered `431`, as hyper does.
pub const MAX_HEADERS: usize = 100;

/// What the bytes at the start of a connection's buffer hold.
#[derive(Debug)]
pub enum Parsed {
    /// The head is not complete yet.
    Partial,
    /// A request the lean connection serves; boxed, as it is far larger than the rest.
    Lean(Box<LeanRequest>),
    /// A well-formed request the lean connection leaves to hyper: an upgrade, a chunked or
    /// large body, an `Expect`, `HEAD`, or another HTTP version than 1.1.
    HandOff,
    /// More header lines than [`MAX_HEADERS`]: `431`.
    TooManyHeaders,
    /// Not an HTTP request: `400`.
    Malformed,
}

/// A request head the lean connection serves, with how its body is framed.
#[derive(Debug)]
pub struct LeanRequest {
    /// The request, without its body.
    pub request: Request<()>,
    /// Where the head ends in the buffer: the body starts there.
    pub head_len: usize,
    /// The body's length, from `Content-Length` (0 without one).
    pub body_len: usize,
    /// Whether the client asked to close the connection after this request.
    pub close: bool,
}

/// Parses the request head at the start of `buf`. Requests with a body longer than
/// `max_body` are handed to hyper, which streams them to the service instead of buffering.
pub fn parse_request(buf: &[u8], max_body: usize) -> Parsed {
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut lines);
    let head_len = match head.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooManyHeaders,
        Err(_) => return Parsed::Malformed,
    };
    let (Some(method), Some(path), Some(minor)) = (head.method, head.path, head.version) else {
        return Parsed::Malformed;
    };
    if minor != 1 || method == "HEAD" || method == "CONNECT" {
        return Parsed::HandOff;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Malformed;
    };
    let Ok(uri) = Uri::try_from(path) else {
        return Parsed::Malformed;
    };
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    let mut body_len: Option<usize> = None;
    let mut close = false;
    for line in head.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(line.name.as_bytes()) else {
            return Parsed::Malformed;
        };
        let Ok(value) = HeaderValue::from_bytes(line.value) else {
            return Parsed::Malformed;
        };
        if name == CONTENT_LENGTH {
            let Some(length) = decimal(line.value) else {
                return Parsed::Malformed;
            };
            // Repeated lengths must agree (RFC 9112 §6.3): anything else smuggles a request.
            if body_len.is_some_and(|earlier| earlier != length) {
                return Parsed::Malformed;
            }
            body_len = Some(length);
        } else if name == TRANSFER_ENCODING
            || name == http::header::UPGRADE
            || name == http::header::EXPECT
        {
            return Parsed::HandOff;
        } else if name == CONNECTION {
            for token in line.value.split(|&byte| byte == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return Parsed::HandOff;
                }
            }
        }
        headers.append(name, value);
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > max_body {
        return Parsed::HandOff;
    }
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Parsed::Lean(Box::new(LeanRequest {
        request,
        head_len,
        body_len,
        close,
    }))
}

/// A `Content-Length`: ASCII digits only, as RFC 9110 §8.6 has it (no sign, no spaces).
fn decimal(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// How a response's body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body may follow the head (`1xx`, `204`, `304`).
    None,
    /// Exactly this many bytes follow.
    Length(u64),
    /// Chunked transfer coding: a body whose length is not known when the head is written.
    Chunked,
}

/// Writes the head of a response to `out`: the status line, the headers with their names in
/// Title-Case (as old browsers and Flash expect them), and those the head needs and lacks:
/// `Date`, the body's framing (`Content-Length` when `known_length` gives it, chunked
/// otherwise), and `Connection: close` when the connection ends after it.
pub fn encode_response_head(
    status: StatusCode,
    headers: &HeaderMap,
    known_length: Option<u64>,
    close: bool,
    out: &mut Vec<u8>,
) -> Framing {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        put_title_case(out, name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let framing = if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::None
    } else if headers.contains_key(TRANSFER_ENCODING) {
        Framing::Chunked
    } else if let Some(length) = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| decimal(value.as_bytes()))
    {
        Framing::Length(length as u64)
    } else if let Some(length) = known_length {
        let _ = write!(out, "Content-Length: {length}\r\n");
        Framing::Length(length)
    } else {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        Framing::Chunked
    };
    if !headers.contains_key(DATE) {
        out.extend_from_slice(b"Date: ");
        put_date(out);
        out.extend_from_slice(b"\r\n");
    }
    if close && !headers.contains_key(CONNECTION) {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    framing
}

/// The whole answer to a request the connection refuses before any service sees it; the
/// connection closes after it.
pub fn refusal(status: StatusCode) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_response_head(status, &HeaderMap::new(), Some(0), true, &mut out);
    out
}

/// The line that starts a chunk of `len` bytes in chunked transfer coding.
pub fn put_chunk_start(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "{len:X}\r\n");
}

/// What ends a chunk.
pub const CHUNK_END: &[u8] = b"\r\n";

/// What ends a chunked body: the last, empty chunk and no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// `content-type` as `Content-Type`: a capital at the start and after each `-`.
fn put_title_case(out: &mut Vec<u8>, name: &[u8]) {
    let mut capital = true;
    for &byte in name {
        out.push(if capital {
            byte.to_ascii_uppercase()
        } else {
            byte
        });
        capital = byte == b'-';
    }
}

thread_local! {
    /// The `Date` of the current second, formatted once a second per thread rather than for
    /// every response.
    static DATE_NOW: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Appends the current time as an HTTP date (29 bytes, RFC 9110 §5.6.7).
fn put_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    DATE_NOW.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            let formatted = httpdate::fmt_http_date(now);
            if formatted.len() == 29 {
                cached.1.copy_from_slice(formatted.as_bytes());
                cached.0 = second;
            } else {
                out.extend_from_slice(formatted.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&cached.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lean(raw: &[u8]) -> LeanRequest {
        match parse_request(raw, 1024) {
            Parsed::Lean(request) => *request,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn a_get_is_parsed_with_its_headers_and_no_body() {
        let raw =
            b"GET /socket.io/1/xhr-polling/abc?t=1 HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\n\r\nrest";
        let parsed = lean(raw);
        assert_eq!(parsed.request.method(), Method::GET);
        assert_eq!(parsed.request.uri().path(), "/socket.io/1/xhr-polling/abc");
        assert_eq!(parsed.request.uri().query(), Some("t=1"));
        assert_eq!(parsed.request.headers()["cookie"], "a=b");
        assert_eq!(parsed.head_len, raw.len() - 4);
        assert_eq!(parsed.body_len, 0);
        assert!(!parsed.close);
    }

    #[test]
    fn a_post_gives_its_body_length_and_a_close_is_seen() {
        let parsed = lean(b"POST /x HTTP/1.1\r\nContent-Length: 12\r\nConnection: Close\r\n\r\n");
        assert_eq!(parsed.body_len, 12);
        assert!(parsed.close);
    }

    /// Asserts that each of `heads` parses as `expected` says.
    fn each_parses(heads: &[&[u8]], expected: fn(&Parsed) -> bool) {
        for raw in heads {
            let parsed = parse_request(raw, 1024);
            assert!(
                expected(&parsed),
                "{parsed:?} for {:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn what_the_lean_connection_does_not_serve_goes_to_hyper() {
        each_parses(
            &[
                b"GET / HTTP/1.0\r\n\r\n",
                b"HEAD / HTTP/1.1\r\n\r\n",
                b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                b"GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
                b"POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n",
            ],
            |parsed| matches!(parsed, Parsed::HandOff),
        );
    }

    #[test]
    fn broken_heads_are_malformed_and_partial_ones_wait() {
        assert!(matches!(parse_request(b"GET / HT", 1024), Parsed::Partial));
        each_parses(
            &[
                b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
                b"\x00\x01 garbage\r\n\r\n",
            ],
            |parsed| matches!(parsed, Parsed::Malformed),
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(
            parse_request(raw.as_bytes(), 1024),
            Parsed::TooManyHeaders
        ));
    }

    #[test]
    fn response_heads_are_title_case_and_framed() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        let mut out = Vec::new();
        let framing = encode_response_head(StatusCode::OK, &headers, Some(5), false, &mut out);
        assert_eq!(framing, Framing::Length(5));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Type: text/plain\r\n"), "{text}");
        assert!(
            text.contains("\r\nAccess-Control-Allow-Origin: *\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 5\r\n"), "{text}");
        assert!(
            text.contains("\r\nDate: ") && text.contains(" GMT\r\n"),
            "{text}"
        );
        assert!(!text.contains("Connection"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");

        let mut out = Vec::new();
        let framing = encode_response_head(StatusCode::OK, &HeaderMap::new(), None, true, &mut out);
        assert_eq!(framing, Framing::Chunked);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\r\nTransfer-Encoding: chunked\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");

        let mut out = Vec::new();
        let framing = encode_response_head(
            StatusCode::NO_CONTENT,
            &HeaderMap::new(),
            Some(0),
            false,
            &mut out,
        );
        assert_eq!(framing, Framing::None);
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));
    }

    #[test]
    fn chunk_lines_are_hex() {
        let mut out = Vec::new();
        put_chunk_start(&mut out, 300);
        assert_eq!(out, b"12C\r\n");
    }
}
