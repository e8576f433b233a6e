//! RFC 6455 (and hybi-07/08) spoken byte by byte: frames encoded and parsed exactly as they
//! are on the wire ([`encode_frame`], [`parse_frame`], [`Frame`]), a hand-written upgrade
//! ([`raw_upgrade`], [`RawUpgrade`]) and the connection after it ([`RawWs`]).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::http::{header_value, parsed_until_closed, read_parsed, read_response_head};
use crate::{TestServer, request_head, ws_path};

/// The `Sec-WebSocket-Key` of RFC 6455's example, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub const SAMPLE_WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The mask every frame written by [`RawWs`] uses.
pub const SAMPLE_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// How long the answer to a hand-written upgrade may take.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(5);

/// WebSocket opcodes (RFC 6455 §5.2).
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// Which of the three payload length encodings a frame header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthForm {
    /// The length fits the 7 bits of the second byte (0–125).
    Short,
    /// `126` followed by a 16-bit length.
    Extended16,
    /// `127` followed by a 64-bit length.
    Extended64,
}

/// One WebSocket frame as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The three reserved bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// Whether the frame was masked (the payload here is unmasked).
    pub masked: bool,
    /// The length encoding of the header.
    pub length_form: LengthForm,
    /// The header bytes exactly as received (first byte, length bytes, mask key).
    pub header: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// `bytes` XORed with the masking key, as RFC 6455 §5.3 masks and unmasks payloads.
fn apply_mask(bytes: &[u8], key: [u8; 4]) -> impl Iterator<Item = u8> + '_ {
    bytes
        .iter()
        .enumerate()
        .map(move |(i, byte)| byte ^ key[i % 4])
}

/// Encodes one FIN frame; masked when `mask` is given (client frames must be), with the
/// shortest length form that fits.
pub fn encode_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    encode_frame_with(0x80, opcode, payload, mask)
}

/// Encodes one frame whose first byte carries `flags` (FIN `0x80`, RSV1–3 `0x70`) besides the
/// opcode; otherwise as [`encode_frame`]. For fragments and deliberately broken frames.
pub fn encode_frame_with(flags: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push((flags & 0xf0) | (opcode & 0x0f));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(apply_mask(payload, key));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Parses the frame at the start of `buf`; `None` while it is incomplete. Returns the frame
/// and how many bytes it took.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&first, rest) = buf.split_first()?;
    let (&second, _) = rest.split_first()?;
    let masked = second & 0x80 != 0;
    let (length_form, length, mut at) = match second & 0x7f {
        126 => (
            LengthForm::Extended16,
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (
            LengthForm::Extended64,
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?),
            10,
        ),
        short => (LengthForm::Short, u64::from(short), 2),
    };
    let key: Option<[u8; 4]> = if masked {
        let key = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let length = usize::try_from(length).ok()?;
    let end = at.checked_add(length)?;
    let raw = buf.get(at..end)?;
    let payload = match key {
        Some(key) => apply_mask(raw, key).collect(),
        None => raw.to_vec(),
    };
    let frame = Frame {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x07,
        opcode: first & 0x0f,
        masked,
        length_form,
        header: buf[..at].to_vec(),
        payload,
    };
    Some((frame, end))
}

// ---------------------------------------------------------------------------------------------
// The upgrade.

/// The outcome of a hand-made WebSocket upgrade request: the response head, and the
/// connection as a `W` (an RFC 6455 [`RawWs`] or a draft-76 [`HixieWs`](crate::HixieWs)).
#[derive(Debug)]
pub struct RawUpgrade<W = RawWs> {
    /// The response status.
    pub status: u16,
    /// The response head as text (status line and headers).
    pub head: String,
    /// Response headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The connection, positioned after the response head.
    pub ws: W,
}

impl<W> RawUpgrade<W> {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The status line, exactly as received.
    pub fn status_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or_default()
    }
}

/// Reads the answer to an upgrade request already written to `stream`; the connection and
/// the bytes read past the head become the `W` that `wrap` makes of them. A server that closed
/// or stalled without a complete head gives status 0 and what it sent as the head.
pub(crate) async fn read_upgrade<W>(
    mut stream: TcpStream,
    wrap: impl FnOnce(TcpStream, Vec<u8>) -> W,
) -> RawUpgrade<W> {
    match read_response_head(&mut stream, UPGRADE_TIMEOUT).await {
        Ok(head) => RawUpgrade {
            status: head.status,
            head: head.head,
            headers: head.headers,
            ws: wrap(stream, head.rest),
        },
        Err(partial) => RawUpgrade {
            status: 0,
            head: String::from_utf8_lossy(&partial).into_owned(),
            headers: Vec::new(),
            ws: wrap(stream, Vec::new()),
        },
    }
}

/// Upgrades `path` by hand: writes an RFC 6455 request with [`SAMPLE_WS_KEY`], version 13
/// and `headers`, and reads the response head (the connection stays usable whatever the
/// status). `status` is 0 when the server closed without answering.
pub async fn raw_upgrade(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawUpgrade {
    raw_upgrade_version(addr, path, "13", headers).await
}

/// [`raw_upgrade`] with `Sec-WebSocket-Version: {version}` (`8` and `7` are the hybi drafts,
/// which read the origin from `Sec-WebSocket-Origin`).
pub async fn raw_upgrade_version(
    addr: SocketAddr,
    path: &str,
    version: &str,
    headers: &[(&str, &str)],
) -> RawUpgrade {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    let host = addr.to_string();
    let mut all = vec![
        ("Host", host.as_str()),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", SAMPLE_WS_KEY),
        ("Sec-WebSocket-Version", version),
    ];
    all.extend_from_slice(headers);
    stream
        .write_all(request_head("GET", path, &all).as_bytes())
        .await
        .expect("write upgrade request");
    read_upgrade(stream, |stream, buffer| RawWs { stream, buffer }).await
}

// ---------------------------------------------------------------------------------------------
// The connection.

/// A WebSocket connection spoken byte by byte: masked frames out, raw frames in.
#[derive(Debug)]
pub struct RawWs {
    /// The TCP connection.
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawWs {
    /// Writes `bytes` as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("websocket write");
    }

    /// Writes one masked FIN frame.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let frame = encode_frame(opcode, payload, Some(SAMPLE_MASK));
        self.write_raw(&frame).await;
    }

    /// Writes one masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(opcode::TEXT, text.as_bytes()).await;
    }

    /// Reads the next frame; `None` when the connection ends or `timeout` passes first.
    pub async fn read_frame(&mut self, timeout: Duration) -> Option<Frame> {
        read_parsed(&mut self.stream, &mut self.buffer, timeout, parse_frame).await
    }

    /// Reads the next text frame, skipping pings and pongs; `None` on a close frame, the end of
    /// the connection, another kind of frame, or when `timeout` passes first.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.read_frame(left).await?;
            match frame.opcode {
                opcode::TEXT => return Some(frame.text()),
                opcode::PING | opcode::PONG => {}
                _ => return None,
            }
        }
    }

    /// Reads until the server closes the TCP connection; returns the frames that came before
    /// the end, or `None` if the connection is still open after `timeout`.
    pub async fn frames_until_closed(&mut self, timeout: Duration) -> Option<Vec<Frame>> {
        parsed_until_closed(&mut self.stream, &mut self.buffer, timeout, parse_frame).await
    }
}

impl TestServer {
    /// A handshake followed by a raw WebSocket upgrade of its session; the first frame must
    /// be `1::`.
    pub async fn connected_raw_websocket(&self) -> (String, RawWs) {
        self.connected_raw_websocket_version("13").await
    }

    /// [`TestServer::connected_raw_websocket`] with `Sec-WebSocket-Version: {version}`.
    pub async fn connected_raw_websocket_version(&self, version: &str) -> (String, RawWs) {
        let sid = self.handshake().await;
        let upgrade = raw_upgrade_version(self.addr, &ws_path(&sid), version, &[]).await;
        assert_eq!(upgrade.status, 101, "upgrade refused: {}", upgrade.head);
        let mut ws = upgrade.ws;
        assert_eq!(
            ws.next_text(Duration::from_secs(2)).await.as_deref(),
            Some("1::")
        );
        (sid, ws)
    }
}
