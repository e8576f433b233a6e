//! RFC 6455 (and the hybi-07/08 drafts, which frame the same way). Frame headers are parsed
//! and written by tungstenite; the buffering is ours, so that an idle connection holds no
//! read or write buffer (tungstenite keeps its read buffer for the life of a connection).

use std::io::Cursor;
use std::time::Duration;

use ferrio_hub::Encoded;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::pump::{Ended, Failure, PacketSocket};
use crate::reader::{FrameParser, FrameReader, OnText, Parsed, Stop};
use crate::writer::{FrameWriter, Framing};

/// Per-connection WebSocket limits.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// The largest message a client may send, in bytes (per message, not per connection,
    /// docs/protocol.md §8 #12); a larger one closes the connection (RFC 6455: code 1009).
    /// Default 1 MiB.
    pub max_message_bytes: usize,
    /// How long a client may take to send a message once its first byte has arrived; past it
    /// the connection is closed (RFC 6455: code 1008) and the session ends as `read timeout`,
    /// so a half-sent message cannot keep its buffer. Default 30 s.
    pub message_timeout: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_message_bytes: 1024 * 1024,
            message_timeout: Duration::from_secs(30),
        }
    }
}

/// The longest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// An RFC 6455 connection after its `101`.
#[derive(Debug)]
pub(crate) struct Rfc6455<S> {
    io: S,
    reader: FrameReader,
    parser: Rfc6455Parser,
    writer: FrameWriter,
}

impl<S> Rfc6455<S> {
    pub(crate) fn new(io: S, limits: WsLimits) -> Self {
        Rfc6455 {
            io,
            reader: FrameReader::new(limits.message_timeout),
            parser: Rfc6455Parser::new(limits.max_message_bytes),
            writer: FrameWriter::default(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Rfc6455<S> {
    /// Writes the pongs owed to the peer. Cancel-safe: a reply leaves the queue only as far
    /// as it was written.
    async fn write_replies(&mut self) -> std::io::Result<()> {
        while !self.parser.replies.is_empty() {
            let written = self.io.write(&self.parser.replies).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.parser.replies.drain(..written);
        }
        self.parser.replies = Vec::new();
        Ok(())
    }

    /// Writes a close frame with `payload` (empty, or the peer's status code) and ends the
    /// TCP connection.
    async fn write_close(&mut self, payload: &[u8]) {
        let mut frame = Vec::with_capacity(4);
        server_frame(OpCode::Control(Control::Close), payload, &mut frame);
        if self.write_replies().await.is_ok() && self.io.write_all(&frame).await.is_ok() {
            let _ = self.io.flush().await;
        }
        let _ = self.io.shutdown().await;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> PacketSocket for Rfc6455<S> {
    async fn send(&mut self, packets: &[Encoded]) -> std::io::Result<()> {
        self.write_replies().await?;
        self.writer
            .write(&mut self.io, packets, &TEXT_FRAMING)
            .await
    }

    async fn receive(&mut self, on_text: &mut OnText<'_>) -> Ended {
        loop {
            if let Err(error) = self.write_replies().await {
                return Ended::Failed(Failure::Io(error));
            }
            // A ping pauses reading, so its pong goes out before anything read after it.
            match self
                .reader
                .read(&mut self.io, &mut self.parser, on_text)
                .await
            {
                Stop::Paused => {}
                Stop::Ended(ended) => return ended,
            }
        }
    }

    async fn close(&mut self) {
        self.write_close(&[]).await;
    }

    async fn answer_close(&mut self) {
        let payload = std::mem::take(&mut self.parser.close_code);
        self.write_close(&payload).await;
    }

    async fn fail(&mut self, failure: &Failure) {
        match failure.close_code() {
            Some(code) => self.write_close(&code.to_be_bytes()).await,
            None => self.write_close(&[]).await,
        }
    }
}

/// Server text frames: an unmasked, final header; nothing after the payload.
const TEXT_FRAMING: Framing = Framing {
    header: text_header,
    trailer: &[],
};

/// Appends the header of one server text frame of `length` bytes.
fn text_header(length: usize, out: &mut Vec<u8>) {
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail.
    let _ = header.format(length as u64, out);
}

/// Whether a client may send `code` in a close frame (RFC 6455 §7.4): the defined codes
/// except those reserved for reporting (1005, 1006, 1015) and 1004, the ones registered since
/// (1012–1014), and the ranges for libraries and applications (3000–4999).
fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Appends one unmasked, final server frame.
fn server_frame(opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    let length = payload.len() as u64;
    out.reserve(header.len(length) + payload.len());
    // Writing into a Vec cannot fail.
    let _ = header.format(length, out);
    out.extend_from_slice(payload);
}

/// The kind of a fragmented message in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageKind {
    Text,
    /// Binary messages carry nothing for Socket.IO 0.9; they are read and dropped.
    Binary,
}

/// What the client sends, frame by frame (RFC 6455 §5).
#[derive(Debug)]
pub(crate) struct Rfc6455Parser {
    max_message_bytes: usize,
    /// A message whose final frame has not arrived: its kind and its payload so far.
    fragmented: Option<(MessageKind, Vec<u8>)>,
    /// Pongs owed to the peer, as frames.
    replies: Vec<u8>,
    /// The status code of the peer's close frame, echoed in the answer.
    close_code: Vec<u8>,
}

impl Rfc6455Parser {
    pub(crate) fn new(max_message_bytes: usize) -> Self {
        Rfc6455Parser {
            max_message_bytes,
            fragmented: None,
            replies: Vec::new(),
            close_code: Vec::new(),
        }
    }

    fn fail(why: impl Into<String>) -> Parsed {
        Parsed::End(Ended::Failed(Failure::Protocol(why.into())))
    }

    fn not_utf8() -> Parsed {
        Parsed::End(Ended::Failed(Failure::NotUtf8))
    }

    fn too_long(&self) -> Parsed {
        Parsed::End(Ended::Failed(Failure::TooBig(self.max_message_bytes)))
    }

    /// Completes a message: text goes to the hub if it is UTF-8.
    fn deliver(kind: MessageKind, payload: &[u8], on_text: &mut OnText<'_>) -> bool {
        match kind {
            MessageKind::Binary => true,
            MessageKind::Text => match std::str::from_utf8(payload) {
                Ok(text) => {
                    on_text(text);
                    true
                }
                Err(_) => false,
            },
        }
    }
}

impl FrameParser for Rfc6455Parser {
    fn in_message(&self) -> bool {
        self.fragmented.is_some()
    }

    fn parse(&mut self, bytes: &mut [u8], on_text: &mut OnText<'_>) -> Parsed {
        let mut cursor = Cursor::new(&*bytes);
        let (header, length) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Parsed::Incomplete,
            Err(error) => return Self::fail(error.to_string()),
        };
        let start = cursor.position() as usize;
        // Checked before the payload arrives, so a huge announced length costs nothing. A
        // continuation counts with the fragments before it; a control frame between them
        // does not.
        let so_far = match (&header.opcode, &self.fragmented) {
            (OpCode::Data(Data::Continue), Some((_, bytes))) => bytes.len() as u64,
            _ => 0,
        };
        if length.saturating_add(so_far) > self.max_message_bytes as u64 {
            return self.too_long();
        }
        let end = start + length as usize;
        if bytes.len() < end {
            return Parsed::Incomplete;
        }
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Self::fail("reserved bits set without an extension");
        }
        let Some(mask) = header.mask else {
            return Self::fail("unmasked frame from the client");
        };
        let payload = &mut bytes[start..end];
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i & 3];
        }
        let payload = &*payload;
        match header.opcode {
            OpCode::Control(control) => {
                if !header.is_final || length > MAX_CONTROL_PAYLOAD {
                    return Self::fail("fragmented or oversized control frame");
                }
                match control {
                    Control::Ping => {
                        server_frame(OpCode::Control(Control::Pong), payload, &mut self.replies);
                        return Parsed::Pause(end);
                    }
                    Control::Pong => {}
                    Control::Close => {
                        if payload.len() == 1 {
                            return Self::fail("close frame with a one-byte payload");
                        }
                        if let [high, low, reason @ ..] = payload {
                            let code = u16::from_be_bytes([*high, *low]);
                            if !is_valid_close_code(code) {
                                return Self::fail(format!("invalid close code {code}"));
                            }
                            if std::str::from_utf8(reason).is_err() {
                                return Self::not_utf8();
                            }
                            self.close_code = vec![*high, *low];
                        }
                        return Parsed::End(Ended::Close);
                    }
                    Control::Reserved(code) => return Self::fail(format!("opcode {code}")),
                }
            }
            OpCode::Data(data) => {
                let kind = match data {
                    Data::Text => Some(MessageKind::Text),
                    Data::Binary => Some(MessageKind::Binary),
                    Data::Continue => None,
                    Data::Reserved(code) => return Self::fail(format!("opcode {code}")),
                };
                match (kind, self.fragmented.take()) {
                    (Some(_), Some(_)) => {
                        return Self::fail("a new message inside a fragmented one");
                    }
                    (None, None) => return Self::fail("a continuation without a message"),
                    (Some(kind), None) if header.is_final => {
                        if !Self::deliver(kind, payload, on_text) {
                            return Self::not_utf8();
                        }
                    }
                    (Some(kind), None) => self.fragmented = Some((kind, payload.to_vec())),
                    (None, Some((kind, mut so_far))) => {
                        so_far.extend_from_slice(payload);
                        if !header.is_final {
                            self.fragmented = Some((kind, so_far));
                        } else if !Self::deliver(kind, &so_far, on_text) {
                            return Self::not_utf8();
                        }
                    }
                }
            }
        }
        Parsed::Frame(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

    /// One masked client frame.
    fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![first_byte];
        match payload.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n @ 126..=65_535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&MASK);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        frame
    }

    /// Parses `bytes` frame by frame: the texts delivered and how parsing ended.
    fn parse_all(parser: &mut Rfc6455Parser, bytes: &[u8]) -> (Vec<String>, Vec<String>) {
        let mut bytes = bytes.to_vec();
        let mut texts = Vec::new();
        let mut steps = Vec::new();
        let mut used = 0;
        while used < bytes.len() {
            let parsed = parser.parse(&mut bytes[used..], &mut |t| texts.push(t.to_owned()));
            match parsed {
                Parsed::Frame(length) => used += length,
                Parsed::Pause(length) => {
                    used += length;
                    steps.push("pause".to_owned());
                }
                Parsed::Incomplete => {
                    steps.push("incomplete".to_owned());
                    break;
                }
                Parsed::End(ended) => {
                    steps.push(format!("{ended:?}"));
                    break;
                }
            }
        }
        (texts, steps)
    }

    #[test]
    fn server_frames_use_the_shortest_length_form() {
        for (length, header) in [
            (0, vec![0x81, 0]),
            (125, vec![0x81, 125]),
            (126, vec![0x81, 126, 0, 126]),
            (65_536, vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let mut out = Vec::new();
            server_frame(OpCode::Data(Data::Text), &vec![b'x'; length], &mut out);
            assert_eq!(&out[..header.len()], header.as_slice(), "length {length}");
            assert_eq!(out.len(), header.len() + length);
        }
    }

    #[test]
    fn a_ping_between_fragments_gets_its_pong_and_the_message_completes() {
        let mut parser = Rfc6455Parser::new(1024);
        let mut stream = client_frame(0x01, b"2:");
        stream.extend(client_frame(0x89, b"hi"));
        stream.extend(client_frame(0x80, b":"));
        let (texts, steps) = parse_all(&mut parser, &stream);
        assert_eq!(texts, ["2::"]);
        assert_eq!(steps, ["pause"]);
        assert_eq!(parser.replies, [0x8A, 2, b'h', b'i']);
    }

    #[test]
    fn the_close_code_is_kept_for_the_answer() {
        let mut parser = Rfc6455Parser::new(1024);
        let (_, steps) = parse_all(&mut parser, &client_frame(0x88, &[0x03, 0xE8, b'b', b'y']));
        assert_eq!(steps, ["Close"]);
        assert_eq!(parser.close_code, [0x03, 0xE8]);
    }

    #[test]
    fn an_announced_length_over_the_limit_fails_before_its_payload_arrives() {
        let mut parser = Rfc6455Parser::new(1024);
        let header = &client_frame(0x81, &[b'x'; 2000])[..8];
        let (_, steps) = parse_all(&mut parser, header);
        assert_eq!(steps, ["Failed(TooBig(1024))"]);
    }

    #[test]
    fn fragments_count_against_the_limit_together() {
        let mut parser = Rfc6455Parser::new(10);
        let mut stream = client_frame(0x01, b"123456");
        stream.extend(client_frame(0x80, b"789012"));
        let (texts, steps) = parse_all(&mut parser, &stream);
        assert!(texts.is_empty());
        assert_eq!(steps, ["Failed(TooBig(10))"]);
    }

    #[test]
    fn protocol_violations_end_the_connection() {
        let unmasked = [0x81, 0x01, b'x'];
        let cases: [(&[u8], &str); 5] = [
            (&unmasked, "unmasked frame"),
            (
                &client_frame(0x80, b"x"),
                "a continuation without a message",
            ),
            (
                &client_frame(0x09, b""),
                "fragmented or oversized control frame",
            ),
            (&client_frame(0x81, &[0xC3]), "NotUtf8"),
            (&client_frame(0xC1, b"x"), "reserved bits"),
        ];
        for (bytes, why) in cases {
            let (texts, steps) = parse_all(&mut Rfc6455Parser::new(1024), bytes);
            assert!(texts.is_empty());
            assert!(
                steps.len() == 1 && steps[0].starts_with("Failed") && steps[0].contains(why),
                "{why}: {steps:?}"
            );
        }
    }

    #[test]
    fn a_ping_inside_a_message_near_the_limit_is_not_counted_with_it() {
        let mut parser = Rfc6455Parser::new(10);
        let mut stream = client_frame(0x01, b"12345678");
        stream.extend(client_frame(0x89, b"ping"));
        stream.extend(client_frame(0x80, b"90"));
        let (texts, steps) = parse_all(&mut parser, &stream);
        assert_eq!(texts, ["1234567890"]);
        assert_eq!(steps, ["pause"]);
    }

    #[test]
    fn binary_messages_are_read_and_dropped() {
        let mut parser = Rfc6455Parser::new(1024);
        let mut stream = client_frame(0x02, b"\xFF\xFE");
        stream.extend(client_frame(0x80, b"\x00"));
        stream.extend(client_frame(0x81, b"3:::a"));
        let (texts, steps) = parse_all(&mut parser, &stream);
        assert_eq!(texts, ["3:::a"]);
        assert!(steps.is_empty());
    }

    #[test]
    fn a_partial_frame_asks_for_more() {
        let frame = client_frame(0x81, b"5:::{}");
        for cut in 1..frame.len() {
            let (texts, steps) = parse_all(&mut Rfc6455Parser::new(1024), &frame[..cut]);
            assert!(texts.is_empty());
            assert_eq!(steps, ["incomplete"], "cut at {cut}");
        }
    }

    #[test]
    fn close_codes_a_client_may_not_send_are_protocol_errors() {
        for code in [
            0u16,
            999,
            1004,
            1005,
            1006,
            1015,
            1016,
            2999,
            5000,
            u16::MAX,
        ] {
            let mut parser = Rfc6455Parser::new(1024);
            let (_, steps) = parse_all(&mut parser, &client_frame(0x88, &code.to_be_bytes()));
            assert_eq!(
                steps,
                [format!(r#"Failed(Protocol("invalid close code {code}"))"#)],
                "{code}"
            );
        }
        for code in [1000u16, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            let mut parser = Rfc6455Parser::new(1024);
            let (_, steps) = parse_all(&mut parser, &client_frame(0x88, &code.to_be_bytes()));
            assert_eq!(steps, ["Close"], "{code}");
            assert_eq!(parser.close_code, code.to_be_bytes());
        }
        let (_, steps) = parse_all(
            &mut Rfc6455Parser::new(1024),
            &client_frame(0x88, &[0x03, 0xE8, 0xC3]),
        );
        assert_eq!(steps, ["Failed(NotUtf8)"]);
    }

    #[test]
    fn each_failure_closes_with_its_code() {
        let codes: Vec<Option<u16>> = [
            Failure::Io(std::io::ErrorKind::BrokenPipe.into()),
            Failure::Protocol("x".to_owned()),
            Failure::NotUtf8,
            Failure::Stalled(Duration::from_secs(1)),
            Failure::TooBig(1),
        ]
        .iter()
        .map(Failure::close_code)
        .collect();
        assert_eq!(
            codes,
            [None, Some(1002), Some(1007), Some(1008), Some(1009)]
        );
    }
}
