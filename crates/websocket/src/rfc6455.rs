//! RFC 6455 (and the hybi-07/08 drafts, which frame the same way). Frame headers are parsed
//! and written by tungstenite; the buffering is ours, so that an idle connection holds no
//! read or write buffer (tungstenite keeps its read buffer for the life of a connection).

use std::io::Cursor;
use std::time::Duration;

use ferrio_eio::Revision;
use ferrio_hub::Encoded;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::pump::{Ended, Failure, PacketSocket};
use crate::reader::{FrameParser, FrameReader, Message, OnMessage, Parsed, Stop};
use crate::writer::{FrameWriter, Framing, Payload};

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

/// An outbox packet as an Engine.IO message of `revision`: text as it is; binary data in a
/// binary frame, with the type byte that marks it in the outbox in revision 3 and without it
/// in revision 4.
struct EngineMessage<'a> {
    packet: &'a Encoded,
    revision: Revision,
}

impl Payload for EngineMessage<'_> {
    fn payload(&self) -> &[u8] {
        let bytes = self.packet.bytes();
        match (self.packet.is_binary(), self.revision) {
            (true, Revision::V4) => bytes.get(1..).unwrap_or_default(),
            _ => bytes,
        }
    }

    fn is_binary(&self) -> bool {
        self.packet.is_binary()
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
    /// Reads until the peer's side ends or a ping is owed its pong, handing each message to
    /// `on_message`. Cancel-safe, as [`FrameReader::read`].
    pub(crate) async fn read(&mut self, on_message: &mut OnMessage<'_>) -> Stop {
        self.reader
            .read(&mut self.io, &mut self.parser, on_message)
            .await
    }

    /// Writes `messages`, each as one message of its own in a text or binary frame, in as
    /// few writes as their size allows.
    pub(crate) async fn write_messages<P: Payload>(
        &mut self,
        messages: &[P],
    ) -> std::io::Result<()> {
        self.writer.write(&mut self.io, messages, &FRAMING).await
    }

    /// Writes the pongs owed to the peer. Cancel-safe: a reply leaves the queue only as far
    /// as it was written.
    pub(crate) async fn write_replies(&mut self) -> std::io::Result<()> {
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
        self.write_messages(packets).await
    }

    async fn send_engine(
        &mut self,
        packets: &[Encoded],
        revision: Revision,
    ) -> std::io::Result<()> {
        self.write_replies().await?;
        // A packet and its attachments go out in one write, not one per kind of frame.
        let messages: Vec<EngineMessage<'_>> = packets
            .iter()
            .map(|packet| EngineMessage { packet, revision })
            .collect();
        self.write_messages(&messages).await
    }

    async fn receive(&mut self, on_message: &mut OnMessage<'_>) -> Ended {
        loop {
            if let Err(error) = self.write_replies().await {
                return Ended::Failed(Failure::Io(error));
            }
            // A ping pauses reading, so its pong goes out before anything read after it.
            match self.read(on_message).await {
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

/// Server data frames: an unmasked, final header, text or binary; nothing after the payload.
const FRAMING: Framing = Framing {
    header: |binary, length, out| {
        let data = if binary { Data::Binary } else { Data::Text };
        data_header(data, length, out);
    },
    trailer: &[],
};

/// Appends the header of one unmasked, final server data frame of `length` bytes.
fn data_header(data: Data, length: usize, out: &mut Vec<u8>) {
    let header = FrameHeader {
        opcode: OpCode::Data(data),
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

/// The kind of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageKind {
    Text,
    Binary,
}

/// A message whose final frame has not arrived.
#[derive(Debug)]
struct Fragmented {
    kind: MessageKind,
    /// The payload so far.
    payload: Vec<u8>,
}

/// The UTF-8 check of a text message that arrives in pieces, so that one that cannot be
/// UTF-8 fails at the piece that breaks it (RFC 6455 §8.1), not at its end. std checks
/// each piece; only a character cut at a piece's end is kept, to be completed by the next.
#[derive(Debug, Default, Clone, Copy)]
struct Utf8Stream {
    cut: [u8; 4],
    cut_len: usize,
}

impl Utf8Stream {
    /// Checks the next piece of the message; `false` when the message can no longer be
    /// UTF-8, whatever follows.
    fn feed(&mut self, mut piece: &[u8]) -> bool {
        // Completes the cut character a byte at a time: it needs three more at most.
        while self.cut_len > 0 {
            let Some((&byte, rest)) = piece.split_first() else {
                return true;
            };
            self.cut[self.cut_len] = byte;
            self.cut_len += 1;
            piece = rest;
            match std::str::from_utf8(&self.cut[..self.cut_len]) {
                Ok(_) => self.cut_len = 0,
                Err(error) if error.error_len().is_none() && self.cut_len < 4 => {}
                Err(_) => return false,
            }
        }
        match std::str::from_utf8(piece) {
            Ok(_) => true,
            Err(error) if error.error_len().is_none() => {
                let cut = &piece[error.valid_up_to()..];
                self.cut[..cut.len()].copy_from_slice(cut);
                self.cut_len = cut.len();
                true
            }
            Err(_) => false,
        }
    }
}

/// What the client sends, frame by frame (RFC 6455 §5).
#[derive(Debug)]
pub(crate) struct Rfc6455Parser {
    max_message_bytes: usize,
    fragmented: Option<Fragmented>,
    /// How many payload bytes of the frame at the front, while it is incomplete, have been
    /// unmasked in place (and checked, for text) already.
    unmasked: usize,
    /// The UTF-8 check of the text message in progress, over the bytes unmasked so far.
    utf8: Utf8Stream,
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
            unmasked: 0,
            utf8: Utf8Stream::default(),
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

    /// Checks what a frame's header alone says, before its payload arrives: a frame that
    /// breaks the protocol, or announces more than the limit, fails at once and costs
    /// nothing. Returns what the frame is and its mask.
    fn check_header(&self, header: &FrameHeader, length: u64) -> Result<(Frame, [u8; 4]), Parsed> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(Self::fail("reserved bits set without an extension"));
        }
        let Some(mask) = header.mask else {
            return Err(Self::fail("unmasked frame from the client"));
        };
        let frame = match (header.opcode, &self.fragmented) {
            (OpCode::Control(Control::Reserved(code)) | OpCode::Data(Data::Reserved(code)), _) => {
                return Err(Self::fail(format!("opcode {code}")));
            }
            (OpCode::Control(control), _) => {
                if !header.is_final || length > MAX_CONTROL_PAYLOAD {
                    return Err(Self::fail("fragmented or oversized control frame"));
                }
                return Ok((Frame::Control(control), mask));
            }
            (OpCode::Data(Data::Continue), None) => {
                return Err(Self::fail("a continuation without a message"));
            }
            (OpCode::Data(Data::Text | Data::Binary), Some(_)) => {
                return Err(Self::fail("a new message inside a fragmented one"));
            }
            (OpCode::Data(Data::Continue), Some(_)) => Frame::Continue,
            (OpCode::Data(Data::Binary), None) => Frame::Start(MessageKind::Binary),
            (OpCode::Data(Data::Text), None) => Frame::Start(MessageKind::Text),
        };
        // A continuation counts with the fragments before it; a control frame between them
        // does not.
        let so_far = self
            .fragmented
            .as_ref()
            .map_or(0, |fragmented| fragmented.payload.len() as u64);
        if length.saturating_add(so_far) > self.max_message_bytes as u64 {
            return Err(self.too_long());
        }
        Ok((frame, mask))
    }

    /// Handles a control frame's unmasked payload.
    fn control(&mut self, control: Control, payload: &[u8], end: usize) -> Parsed {
        match control {
            Control::Ping => {
                server_frame(OpCode::Control(Control::Pong), payload, &mut self.replies);
                Parsed::Pause(end)
            }
            Control::Pong => Parsed::Frame(end),
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
                Parsed::End(Ended::Close)
            }
            Control::Reserved(code) => Self::fail(format!("opcode {code}")),
        }
    }

    /// Handles a whole data frame's unmasked payload: a whole message is handed on where it
    /// lies, a fragment is kept until its message completes. `None` when all is well.
    fn data(
        &mut self,
        frame: Frame,
        is_final: bool,
        payload: &[u8],
        on_message: &mut OnMessage<'_>,
    ) -> Option<Parsed> {
        let mut fragmented = match (frame, self.fragmented.take()) {
            (Frame::Start(kind), _) if is_final => return deliver(kind, payload, on_message),
            (Frame::Start(kind), _) => Fragmented {
                kind,
                payload: Vec::new(),
            },
            (_, Some(fragmented)) => fragmented,
            // Refused by the header's check.
            (_, None) => return Some(Self::fail("a continuation without a message")),
        };
        fragmented.payload.extend_from_slice(payload);
        if is_final {
            return deliver(fragmented.kind, &fragmented.payload, on_message);
        }
        self.fragmented = Some(fragmented);
        None
    }

    /// Whether the payload of `frame` goes through the message's UTF-8 check as it arrives:
    /// every piece of a text message, unless the frame is the whole message and arrived
    /// whole, which is checked once when it is handed on.
    fn streams_utf8(&self, frame: Frame, is_final: bool, whole: bool) -> bool {
        match frame {
            Frame::Start(kind) => kind == MessageKind::Text && !(is_final && whole),
            Frame::Continue => self
                .fragmented
                .as_ref()
                .is_some_and(|fragmented| fragmented.kind == MessageKind::Text),
            Frame::Control(_) => false,
        }
    }
}

/// What a frame is, once its header has passed the checks.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Control(Control),
    /// The first frame of a message, maybe its only one.
    Start(MessageKind),
    Continue,
}

/// Hands a complete message on; a text message must be UTF-8.
fn deliver(kind: MessageKind, payload: &[u8], on_message: &mut OnMessage<'_>) -> Option<Parsed> {
    match kind {
        MessageKind::Binary => on_message(Message::Binary(payload)),
        MessageKind::Text => match std::str::from_utf8(payload) {
            Ok(text) => on_message(Message::Text(text)),
            Err(_) => return Some(Rfc6455Parser::not_utf8()),
        },
    }
    None
}

impl FrameParser for Rfc6455Parser {
    fn in_message(&self) -> bool {
        self.fragmented.is_some()
    }

    fn parse(&mut self, bytes: &mut [u8], on_message: &mut OnMessage<'_>) -> Parsed {
        let mut cursor = Cursor::new(&*bytes);
        let (header, length) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Parsed::Incomplete,
            Err(error) => return Self::fail(error.to_string()),
        };
        let (frame, mask) = match self.check_header(&header, length) {
            Ok(checked) => checked,
            Err(failed) => return failed,
        };
        let start = cursor.position() as usize;
        // Within the message limit, so within memory.
        let end = start + length as usize;
        let arrived = end.min(bytes.len());
        let whole = arrived == end;
        if matches!(frame, Frame::Start(_)) && self.unmasked == 0 {
            self.utf8 = Utf8Stream::default();
        }
        // What has arrived of the payload is unmasked in place as it arrives, and text
        // checked, so that a frame that breaks UTF-8 fails before the rest of it comes.
        let payload = &mut bytes[start..arrived];
        for (i, byte) in payload.iter_mut().enumerate().skip(self.unmasked) {
            *byte ^= mask[i & 3];
        }
        if self.streams_utf8(frame, header.is_final, whole)
            && !self.utf8.feed(&payload[self.unmasked..])
        {
            return Self::not_utf8();
        }
        if !whole {
            self.unmasked = payload.len();
            return Parsed::Incomplete;
        }
        self.unmasked = 0;
        let payload = &*payload;
        match frame {
            Frame::Control(control) => self.control(control, payload, end),
            _ => match self.data(frame, header.is_final, payload, on_message) {
                Some(failed) => failed,
                None => Parsed::Frame(end),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

    /// One masked client frame.
    pub(crate) fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
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
            let parsed = parser.parse(&mut bytes[used..], &mut |message| {
                texts.push(match message {
                    Message::Text(text) => text.to_owned(),
                    Message::Binary(bytes) => format!("binary {bytes:?}"),
                })
            });
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

    /// Parses `stream` as the reader hands it over when it arrives `piece` bytes at a time:
    /// what is left unparsed is kept as the parser rewrote it, and parsed again with the next
    /// piece. The messages delivered, how parsing ended and how many bytes had arrived then.
    fn parse_in_pieces(stream: &[u8], piece: usize) -> (Vec<String>, Option<String>, usize) {
        let mut parser = Rfc6455Parser::new(1024);
        let mut kept = Vec::new();
        let mut messages = Vec::new();
        for (index, chunk) in stream.chunks(piece).enumerate() {
            kept.extend_from_slice(chunk);
            loop {
                let parsed = parser.parse(&mut kept, &mut |message| {
                    messages.push(match message {
                        Message::Text(text) => text.to_owned(),
                        Message::Binary(bytes) => format!("binary {bytes:?}"),
                    })
                });
                match parsed {
                    Parsed::Frame(length) | Parsed::Pause(length) => drop(kept.drain(..length)),
                    Parsed::Incomplete => break,
                    Parsed::End(ended) => {
                        let arrived = (index * piece + chunk.len()).min(stream.len());
                        return (messages, Some(format!("{ended:?}")), arrived);
                    }
                }
            }
        }
        (messages, None, stream.len())
    }

    #[test]
    fn frames_arriving_in_pieces_are_unmasked_once_and_checked_as_they_come() {
        let text = "héllo wörld ✓ 𝄞";
        let mut stream = client_frame(0x81, text.as_bytes());
        // "aé" with the é cut between two fragments, a ping between them.
        stream.extend(client_frame(0x01, &"aé".as_bytes()[..2]));
        stream.extend(client_frame(0x89, b"p"));
        stream.extend(client_frame(0x80, &"aé".as_bytes()[2..]));
        stream.extend(client_frame(0x82, &[0, 1, 255]));
        for piece in 1..=stream.len() {
            let (messages, ended, _) = parse_in_pieces(&stream, piece);
            assert_eq!(
                messages,
                [text, "aé", "binary [0, 1, 255]"],
                "{piece}-byte pieces"
            );
            assert_eq!(ended, None, "{piece}-byte pieces");
        }
    }

    #[test]
    fn text_that_cannot_be_utf8_fails_at_the_byte_that_breaks_it() {
        // 0xF4 0x90 would be past U+10FFFF: the 0x90 breaks it, before the frame ends.
        let payload = ["κόσμε".as_bytes(), &[0xF4, 0x90, 0x80, 0x80], b"edited"].concat();
        let header = 2 + MASK.len();
        let breaking = header + "κόσμε".len() + 2;
        let (messages, ended, arrived) = parse_in_pieces(&client_frame(0x81, &payload), 1);
        assert!(messages.is_empty());
        assert_eq!(
            (ended.as_deref(), arrived),
            (Some("Failed(NotUtf8)"), breaking)
        );

        // The same, the character cut between two fragments: the second one's first byte
        // fails the message, the final fragment is never waited for.
        let cut = "κόσμε".len() + 1;
        let mut stream = client_frame(0x01, &payload[..cut]);
        let first = stream.len();
        stream.extend(client_frame(0x00, &payload[cut..]));
        stream.extend(client_frame(0x80, b""));
        let (messages, ended, arrived) = parse_in_pieces(&stream, 1);
        assert!(messages.is_empty());
        assert_eq!(
            (ended.as_deref(), arrived),
            (Some("Failed(NotUtf8)"), first + header + 1)
        );
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
    fn binary_messages_are_handed_on_as_bytes() {
        let mut parser = Rfc6455Parser::new(1024);
        let mut stream = client_frame(0x02, b"\xFF\xFE");
        stream.extend(client_frame(0x80, b"\x00"));
        stream.extend(client_frame(0x82, b""));
        stream.extend(client_frame(0x81, b"3:::a"));
        let (texts, steps) = parse_all(&mut parser, &stream);
        assert_eq!(texts, ["binary [255, 254, 0]", "binary []", "3:::a"]);
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
