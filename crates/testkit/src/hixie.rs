//! WebSocket draft 76 ("hixie-76"), spoken by the Flash WebSocket polyfill (docs/protocol.md
//! §5.2): the handshake of the draft's own test vector ([`hixie_upgrade`], [`HIXIE_KEY1`]…),
//! its checks byte for byte ([`assert_c51_reply`]), and `0x00 … 0xFF` messages ([`HixieWs`]).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::http::{parsed_until_closed, read_at_least, read_parsed};
use crate::rfc6455::read_upgrade;
use crate::{RawUpgrade, TestServer, request_head};

/// `Sec-WebSocket-Key1` of draft 76's own test vector (C51).
pub const HIXIE_KEY1: &str = "4 @1  46546xW%0l 1 5";
/// `Sec-WebSocket-Key2` of draft 76's own test vector.
pub const HIXIE_KEY2: &str = "12998 5 Y3 1  .P00";
/// The 8 raw bytes ("key3") that follow the request head in draft 76's test vector.
pub const HIXIE_KEY3: &[u8; 8] = b"^n:ds[4U";
/// The 16 bytes the server must answer the test vector with.
pub const HIXIE_DIGEST: &[u8; 16] = b"8jKS'y:G*Co,Wxa-";

/// The headers of draft 76's test vector besides `Upgrade` and `Connection`: `Host:
/// example.com`, `Origin: http://example.com` and both keys. Tests drop or replace entries to
/// build malformed handshakes ([`hixie_headers_with`]).
pub fn hixie_sample_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "example.com"),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Key1", HIXIE_KEY1),
        ("Sec-WebSocket-Key2", HIXIE_KEY2),
    ]
}

/// [`hixie_sample_headers`] with the header `name` given `value` instead, in its place, or
/// left out when `value` is `None`.
pub fn hixie_headers_with(
    name: &str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    hixie_sample_headers()
        .into_iter()
        .filter_map(|(n, v)| match (n == name, value) {
            (false, _) => Some((n, v)),
            (true, Some(replacement)) => Some((n, replacement)),
            (true, None) => None,
        })
        .collect()
}

/// The head of a draft-76 upgrade request as the Flash client writes it: the request line,
/// `Upgrade: WebSocket`, `Connection: Upgrade`, then exactly `headers`, then the blank line.
pub fn hixie_request_head(path: &str, headers: &[(&str, &str)]) -> String {
    let mut all = vec![("Upgrade", "WebSocket"), ("Connection", "Upgrade")];
    all.extend_from_slice(headers);
    request_head("GET", path, &all)
}

/// Upgrades `path` with draft 76: writes [`hixie_request_head`] and then [`HIXIE_KEY3`] — in
/// the same write, or `key3_after` later in a write of its own — and reads the response head.
/// The 16 digest bytes are left on the connection ([`HixieWs::read_bytes`]).
pub async fn hixie_upgrade(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    key3_after: Option<Duration>,
) -> RawUpgrade<HixieWs> {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    let mut request = hixie_request_head(path, headers).into_bytes();
    match key3_after {
        None => {
            request.extend_from_slice(HIXIE_KEY3);
            stream.write_all(&request).await.expect("write upgrade");
        }
        Some(delay) => {
            stream.write_all(&request).await.expect("write upgrade");
            stream.flush().await.expect("flush");
            tokio::time::sleep(delay).await;
            stream.write_all(HIXIE_KEY3).await.expect("write key3");
        }
    }
    read_upgrade(stream, |stream, buffer| HixieWs { stream, buffer }).await
}

/// One draft-76 message as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HixieMessage {
    /// `0x00`, these bytes, `0xFF`.
    Text(Vec<u8>),
    /// The closing handshake `0xFF 0x00`.
    Close,
    /// Bytes that are neither: everything left in the buffer from the bad byte on.
    Invalid(Vec<u8>),
}

impl HixieMessage {
    /// The text of a text message (lossy), `None` for anything else.
    pub fn text(&self) -> Option<String> {
        match self {
            HixieMessage::Text(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

/// Encodes one draft-76 text message: `0x00`, the bytes, `0xFF`.
pub fn hixie_text(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(0x00);
    out.extend_from_slice(bytes);
    out.push(0xFF);
    out
}

/// Parses the draft-76 message at the start of `buf`; `None` while it is incomplete. Returns
/// the message and how many bytes it took.
pub fn parse_hixie(buf: &[u8]) -> Option<(HixieMessage, usize)> {
    match *buf.first()? {
        0x00 => {
            let end = buf.iter().position(|&b| b == 0xFF)?;
            Some((HixieMessage::Text(buf[1..end].to_vec()), end + 1))
        }
        0xFF => match *buf.get(1)? {
            0x00 => Some((HixieMessage::Close, 2)),
            _ => Some((HixieMessage::Invalid(buf.to_vec()), buf.len())),
        },
        _ => Some((HixieMessage::Invalid(buf.to_vec()), buf.len())),
    }
}

/// A draft-76 connection spoken byte by byte.
#[derive(Debug)]
pub struct HixieWs {
    /// The TCP connection.
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

impl HixieWs {
    /// Writes `bytes` as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("hixie write");
    }

    /// Writes one text message.
    pub async fn send_text(&mut self, text: &str) {
        self.write_raw(&hixie_text(text.as_bytes())).await;
    }

    /// Reads exactly `len` raw bytes (the digest after the head, say); `None` when the
    /// connection ends or `timeout` passes first.
    pub async fn read_bytes(&mut self, len: usize, timeout: Duration) -> Option<Vec<u8>> {
        if !read_at_least(&mut self.stream, &mut self.buffer, len, timeout).await {
            return None;
        }
        Some(self.buffer.drain(..len).collect())
    }

    /// Reads the 16 digest bytes and checks they answer [`HIXIE_KEY1`]/[`HIXIE_KEY2`]/
    /// [`HIXIE_KEY3`].
    pub async fn expect_sample_digest(&mut self) {
        let digest = self.read_bytes(16, Duration::from_secs(2)).await;
        assert_eq!(
            digest.as_deref(),
            Some(&HIXIE_DIGEST[..]),
            "draft-76 digest"
        );
    }

    /// Reads the next message; `None` when the connection ends or `timeout` passes first.
    pub async fn read_message(&mut self, timeout: Duration) -> Option<HixieMessage> {
        read_parsed(&mut self.stream, &mut self.buffer, timeout, parse_hixie).await
    }

    /// Reads the next text message as text (lossy); `None` on anything else, the end of the
    /// connection, or when `timeout` passes first.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        self.read_message(timeout).await?.text()
    }

    /// Reads until the server closes the TCP connection; returns the messages that came
    /// before the end (an unfinished one as [`HixieMessage::Invalid`]), or `None` if the
    /// connection is still open after `timeout`.
    pub async fn messages_until_closed(&mut self, timeout: Duration) -> Option<Vec<HixieMessage>> {
        let mut messages =
            parsed_until_closed(&mut self.stream, &mut self.buffer, timeout, parse_hixie).await?;
        if !self.buffer.is_empty() {
            messages.push(HixieMessage::Invalid(std::mem::take(&mut self.buffer)));
        }
        Some(messages)
    }
}

impl TestServer {
    /// A handshake followed by a draft-76 upgrade of its session on `/socket.io/1/{transport}/`
    /// (`websocket` or `flashsocket`) with the sample keys; the digest must be right and the
    /// first message `1::`.
    pub async fn connected_hixie(&self, transport: &str) -> (String, HixieWs) {
        let sid = self.handshake().await;
        let path = format!("/socket.io/1/{transport}/{sid}");
        let upgrade = hixie_upgrade(self.addr, &path, &hixie_sample_headers(), None).await;
        assert_eq!(upgrade.status, 101, "upgrade refused: {}", upgrade.head);
        let mut ws = upgrade.ws;
        ws.expect_sample_digest().await;
        assert_eq!(
            ws.next_text(Duration::from_secs(2)).await.as_deref(),
            Some("1::")
        );
        (sid, ws)
    }
}

/// Checks the answer to a draft-76 upgrade of `path` with [`hixie_sample_headers`] byte for
/// byte where C51 fixes it: the status line `HTTP/1.1 101 WebSocket Protocol Handshake`,
/// `Upgrade`/`Connection`, `Sec-WebSocket-Origin: http://example.com`,
/// `Sec-WebSocket-Location: ws://example.com{path}`, header lines the Flash client can parse
/// (`Name: value`), then exactly the 16 bytes `8jKS'y:G*Co,Wxa-` and `00 31 3A 3A FF`.
/// Returns the connection, positioned after the `1::` message.
pub async fn assert_c51_reply(upgrade: RawUpgrade<HixieWs>, path: &str) -> HixieWs {
    assert_eq!(
        upgrade.status_line(),
        "HTTP/1.1 101 WebSocket Protocol Handshake",
        "{}",
        upgrade.head
    );
    for line in upgrade.head.split("\r\n").skip(1) {
        let parsed = line
            .split_once(": ")
            .filter(|(name, _)| !name.is_empty() && !name.contains(char::is_whitespace));
        assert!(
            parsed.is_some(),
            "header line {line:?} is not `Name: value`"
        );
    }
    assert_eq!(
        upgrade.header("upgrade"),
        Some("WebSocket"),
        "{}",
        upgrade.head
    );
    assert_eq!(
        upgrade.header("connection"),
        Some("Upgrade"),
        "{}",
        upgrade.head
    );
    assert_eq!(
        upgrade.header("sec-websocket-origin"),
        Some("http://example.com"),
        "{}",
        upgrade.head
    );
    let location = format!("ws://example.com{path}");
    assert_eq!(
        upgrade.header("sec-websocket-location"),
        Some(location.as_str()),
        "{}",
        upgrade.head
    );
    for absent in [
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "transfer-encoding",
    ] {
        assert_eq!(upgrade.header(absent), None, "{}", upgrade.head);
    }
    let mut ws = upgrade.ws;
    let mut expected = HIXIE_DIGEST.to_vec();
    expected.extend_from_slice(&[0x00, 0x31, 0x3A, 0x3A, 0xFF]);
    assert_eq!(
        ws.read_bytes(expected.len(), Duration::from_secs(2)).await,
        Some(expected),
        "the digest, then `1::`"
    );
    ws
}
