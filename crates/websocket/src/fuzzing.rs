//! Fuzz targets for the bytes a WebSocket client sends: RFC 6455 (and hybi) frames, draft-76
//! frames, and the draft-76 handshake keys. The libFuzzer targets in `crates/fuzz` and the
//! corpus replay in `tests/fuzz_corpus.rs` both call these functions.
//!
//! The framing targets run the connection types the pump runs, over an in-memory connection:
//! the reader with its per-thread buffer and split-frame tail, the parser, the pongs written
//! back and the closing handshake. The first input byte picks how many bytes each read and
//! write moves; the rest is the client's byte stream. The same stream is then read in one go,
//! and both runs must deliver the same messages, end the same way and write the same bytes.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ferrio_protocol::fuzzing::Target;
use http::HeaderMap;
use http::header::{HeaderValue, UPGRADE};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, OpCode};

use crate::hixie::{CLOSE_FRAME, Hixie76, challenge_response, key_number};
use crate::is_websocket_upgrade;
use crate::pump::{Ended, Failure, PacketSocket};
use crate::reader::Message;
use crate::rfc6455::{Rfc6455, WsLimits};

/// Every target of this crate.
pub const TARGETS: &[Target] = &[
    ("rfc6455", rfc6455),
    ("hixie76", hixie76),
    ("websocket_handshake", handshake),
];

/// The per-message limit under fuzzing: small, so that inputs of a few kilobytes reach it.
const MAX_MESSAGE_BYTES: usize = 256;

thread_local! {
    /// One runtime per thread for every input, so that timers inside the connection types work
    /// as they do in the server; the in-memory connection never waits.
    static RUNTIME: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime builds");
}

/// A client's byte stream on an RFC 6455 connection.
pub fn rfc6455(data: &[u8]) {
    let outcome = same_in_pieces_and_whole(data, |io| Rfc6455::new(io, limits()));
    check_server_frames(&outcome.written);
}

/// A client's byte stream on a draft-76 connection.
pub fn hixie76(data: &[u8]) {
    let outcome = same_in_pieces_and_whole(data, |io| Hixie76::new(io, limits()));
    // Draft 76 answers nothing but the closing handshake.
    assert!(
        outcome.written.is_empty() || outcome.written == CLOSE_FRAME,
        "{outcome:?}"
    );
}

/// The limits under fuzzing: the defaults but for a small message limit.
fn limits() -> WsLimits {
    WsLimits {
        max_message_bytes: MAX_MESSAGE_BYTES,
        ..WsLimits::default()
    }
}

/// A draft-76 handshake: the lines `Sec-WebSocket-Key1`, `Sec-WebSocket-Key2`, `Upgrade`,
/// then the 8 bytes of key3 (zero-padded when shorter).
pub fn handshake(data: &[u8]) {
    let mut fields = data.splitn(4, |&b| b == b'\n');
    let mut field = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let (key1, key2, upgrade) = (field(), field(), field());
    let mut key3 = [0u8; 8];
    let rest = fields.next().unwrap_or_default();
    let taken = rest.len().min(key3.len());
    key3[..taken].copy_from_slice(&rest[..taken]);
    for key in [&key1, &key2] {
        assert_eq!(key_number(key), expected_key_number(key), "{key:?}");
    }
    assert_eq!(
        challenge_response(&key1, &key2, &key3).is_some(),
        key_number(&key1).is_some() && key_number(&key2).is_some()
    );
    if let Ok(value) = HeaderValue::from_str(&upgrade) {
        let mut headers = HeaderMap::new();
        headers.insert(UPGRADE, value);
        let _ = is_websocket_upgrade(&headers);
    }
}

/// What a key stands for, computed another way: the digits as one wide number.
fn expected_key_number(key: &str) -> Option<u32> {
    let spaces = key.bytes().filter(|&b| b == b' ').count();
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    if spaces == 0 || digits.len() > 38 {
        return None;
    }
    let number: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let spaces = u128::try_from(spaces).ok()?;
    if !number.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(number / spaces).ok()
}

/// What one connection did with the client's bytes.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The messages handed on, in order, each with whether it is text.
    messages: Vec<(bool, Vec<u8>)>,
    /// How the client's side ended.
    ended: String,
    /// What the server wrote back.
    written: Vec<u8>,
}

/// Runs `data` (a piece size, then the client's bytes) in pieces and whole; both runs must
/// agree, and no message may exceed the limit.
fn same_in_pieces_and_whole<S, F>(data: &[u8], socket: F) -> Outcome
where
    S: PacketSocket,
    F: Fn(Connection) -> S,
{
    let Some((&piece, stream)) = data.split_first() else {
        return Outcome {
            messages: Vec::new(),
            ended: String::new(),
            written: Vec::new(),
        };
    };
    let piece = 1 + usize::from(piece & 0x3F);
    let in_pieces = serve(stream, piece, &socket);
    let whole = serve(stream, usize::MAX, &socket);
    assert_eq!(
        in_pieces, whole,
        "{piece}-byte pieces and whole reads differ"
    );
    for (_, bytes) in &whole.messages {
        assert!(bytes.len() <= MAX_MESSAGE_BYTES, "{} bytes", bytes.len());
    }
    whole
}

/// Reads the client's side until it ends and reacts as the pump does: a closing handshake is
/// answered, a client that broke the protocol is told why, an end of stream is left alone.
fn serve<S, F>(stream: &[u8], piece: usize, socket: &F) -> Outcome
where
    S: PacketSocket,
    F: Fn(Connection) -> S,
{
    let written = Arc::new(Mutex::new(Vec::new()));
    let mut messages = Vec::new();
    let ended = {
        let mut socket = socket(Connection {
            unread: stream.to_vec(),
            read: 0,
            piece,
            written: Arc::clone(&written),
        });
        RUNTIME.with(|runtime| {
            runtime.block_on(async {
                let ended = socket
                    .receive(&mut |message| {
                        messages.push(match message {
                            Message::Text(text) => (true, text.as_bytes().to_vec()),
                            Message::Binary(bytes) => (false, bytes.to_vec()),
                        });
                    })
                    .await;
                match &ended {
                    Ended::Close => socket.answer_close().await,
                    Ended::Failed(Failure::Io(_)) | Ended::Eof => {}
                    Ended::Failed(failure) => socket.fail(failure).await,
                }
                format!("{ended:?}")
            })
        })
    };
    let written = std::mem::take(&mut *written.lock().unwrap_or_else(PoisonError::into_inner));
    Outcome {
        messages,
        ended,
        written,
    }
}

/// Everything an RFC 6455 server writes in answer to a client: final, unmasked control frames
/// (pongs, then at most one close as the last frame), each within the control frame limit,
/// a close carrying no code or one a peer may receive (RFC 6455 §7.4).
fn check_server_frames(written: &[u8]) {
    let mut rest = written;
    while !rest.is_empty() {
        let mut cursor = io::Cursor::new(rest);
        let Ok(Some((header, length))) = FrameHeader::parse(&mut cursor) else {
            panic!("the server wrote a broken frame: {written:02x?}");
        };
        let start = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| start.checked_add(length))
            .filter(|&end| end <= rest.len());
        let Some(end) = end else {
            panic!("the server wrote a truncated frame: {written:02x?}");
        };
        assert!(header.is_final && header.mask.is_none(), "{header:?}");
        assert!(length <= 125, "control frame of {length} bytes");
        match header.opcode {
            OpCode::Control(Control::Pong) => {}
            OpCode::Control(Control::Close) => {
                assert_eq!(end, rest.len(), "frames after the close: {written:02x?}");
                match rest[start..end] {
                    [] => {}
                    [high, low, ..] => {
                        let code = u16::from_be_bytes([high, low]);
                        assert!(
                            matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                            "the server closed with code {code}"
                        );
                    }
                    [_] => panic!("a close frame with a one-byte payload"),
                }
            }
            other => panic!("the server wrote a {other:?} frame in answer"),
        }
        rest = &rest[end..];
    }
}

/// A client connection in memory: reads give the client's bytes `piece` at a time, writes are
/// kept, `piece` bytes at a time, so partial writes happen too. Nothing ever waits.
#[derive(Debug)]
struct Connection {
    unread: Vec<u8>,
    read: usize,
    piece: usize,
    written: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let unread = &this.unread[this.read..];
        let taken = unread.len().min(this.piece).min(buf.remaining());
        buf.put_slice(&unread[..taken]);
        this.read += taken;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let taken = buf.len().min(self.piece);
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(&buf[..taken]);
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
