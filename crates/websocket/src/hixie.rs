//! WebSocket draft 76 ("hixie-76"), spoken by old Safari and iOS 4–5, early Chrome and Opera,
//! and the Flash WebSocket polyfill (docs/protocol.md §5.2). Pure functions over bytes: the
//! handshake digest and the `0x00 text 0xFF` framing, parsed as bytes (never as decoded text, which
//! the reference got wrong, docs/protocol.md §8 #21).

use ferrio_hub::Encoded;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::pump::{Ended, Failure, PacketSocket};
use crate::reader::{FrameParser, FrameReader, Message, OnMessage, Parsed, Stop};
use crate::rfc6455::WsLimits;
use crate::writer::{FrameWriter, Framing};

/// The number a `Sec-WebSocket-Key1/2` header stands for: all its decimal digits as one
/// number, divided by its count of spaces. `None` when the key has no space, the number is
/// not divisible by it, or it does not fit 32 bits.
pub(crate) fn key_number(key: &str) -> Option<u32> {
    let spaces = key.bytes().filter(|&b| b == b' ').count() as u64;
    if spaces == 0 {
        return None;
    }
    let mut number: u64 = 0;
    for digit in key.bytes().filter(u8::is_ascii_digit) {
        number = number
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        if number > u64::from(u32::MAX) * spaces {
            return None;
        }
    }
    if !number.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(number / spaces).ok()
}

/// The 16 bytes the server answers a draft-76 handshake with: MD5 over both key numbers as
/// 32-bit big-endian integers, then the 8 bytes of key3.
pub(crate) fn challenge_response(key1: &str, key2: &str, key3: &[u8; 8]) -> Option<[u8; 16]> {
    let mut hasher = Md5::new();
    hasher.update(key_number(key1)?.to_be_bytes());
    hasher.update(key_number(key2)?.to_be_bytes());
    hasher.update(key3);
    Some(hasher.finalize().into())
}

/// Text frames: `0x00`, the UTF-8 text, `0xFF`.
const TEXT_FRAMING: Framing = Framing {
    header: |_, _, out| out.push(0x00),
    trailer: &[0xFF],
};

/// The closing handshake, `0xFF 0x00`.
pub(crate) const CLOSE_FRAME: [u8; 2] = [0xFF, 0x00];

/// Why a draft-76 byte stream is unusable; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HixieError {
    /// A frame type other than `0x00` (text) or `0xFF 0x00` (close).
    #[error("unexpected frame type byte {0:#04x}")]
    FrameType(u8),
    /// A message longer than the per-message limit.
    #[error("message over the {0}-byte limit")]
    TooLong(usize),
    /// A message that is not UTF-8.
    #[error("message is not UTF-8")]
    NotUtf8,
}

/// Splits a draft-76 byte stream into frames.
#[derive(Debug)]
pub(crate) struct HixieParser {
    max_message_bytes: usize,
    /// How far the current frame has been scanned for its `0xFF`, so no byte is scanned twice.
    scanned: usize,
}

impl HixieParser {
    pub(crate) fn new(max_message_bytes: usize) -> Self {
        HixieParser {
            max_message_bytes,
            scanned: 0,
        }
    }

    fn fail(error: HixieError) -> Parsed {
        let failure = match error {
            HixieError::TooLong(limit) => Failure::TooBig(limit),
            HixieError::NotUtf8 => Failure::NotUtf8,
            HixieError::FrameType(_) => Failure::Protocol(error.to_string()),
        };
        Parsed::End(Ended::Failed(failure))
    }
}

impl FrameParser for HixieParser {
    fn parse(&mut self, bytes: &mut [u8], on_message: &mut OnMessage<'_>) -> Parsed {
        let Some(&kind) = bytes.first() else {
            return Parsed::Incomplete;
        };
        match kind {
            0x00 => {
                let start = 1 + self.scanned;
                let Some(offset) = bytes[start..].iter().position(|&b| b == 0xFF) else {
                    self.scanned = bytes.len() - 1;
                    if self.scanned > self.max_message_bytes {
                        return Self::fail(HixieError::TooLong(self.max_message_bytes));
                    }
                    return Parsed::Incomplete;
                };
                let end = start + offset;
                self.scanned = 0;
                if end - 1 > self.max_message_bytes {
                    return Self::fail(HixieError::TooLong(self.max_message_bytes));
                }
                match std::str::from_utf8(&bytes[1..end]) {
                    Ok(text) => on_message(Message::Text(text)),
                    Err(_) => return Self::fail(HixieError::NotUtf8),
                }
                Parsed::Frame(end + 1)
            }
            0xFF => match bytes.get(1) {
                None => Parsed::Incomplete,
                Some(0x00) => Parsed::End(Ended::Close),
                Some(&other) => Self::fail(HixieError::FrameType(other)),
            },
            other => Self::fail(HixieError::FrameType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drafts_own_test_vector() {
        assert_eq!(key_number("4 @1  46546xW%0l 1 5"), Some(829_309_203));
        assert_eq!(key_number("12998 5 Y3 1  .P00"), Some(259_970_620));
        assert_eq!(
            challenge_response("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U"),
            Some(*b"8jKS'y:G*Co,Wxa-")
        );
    }

    #[test]
    fn keys_without_spaces_or_not_divisible_are_refused() {
        assert_eq!(key_number("12345"), None);
        assert_eq!(key_number("1 0 1"), None);
        assert_eq!(key_number("9999999999999999999999 "), None);
    }

    /// Parses `bytes` as the reader does: whole frames from the front, until one is
    /// incomplete or the stream ends. Returns the texts, the bytes used and the end.
    fn parse_all(parser: &mut HixieParser, bytes: &[u8]) -> (Vec<String>, usize, Option<String>) {
        let mut bytes = bytes.to_vec();
        let mut texts = Vec::new();
        let mut used = 0;
        loop {
            let parsed = parser.parse(&mut bytes[used..], &mut |message| {
                if let Message::Text(text) = message {
                    texts.push(text.to_owned());
                }
            });
            match parsed {
                Parsed::Frame(length) | Parsed::Pause(length) => used += length,
                Parsed::Incomplete => return (texts, used, None),
                Parsed::End(ended) => return (texts, used, Some(format!("{ended:?}"))),
            }
        }
    }

    #[test]
    fn frames_split_across_reads() {
        let mut parser = HixieParser::new(100);
        let (texts, used, end) = parse_all(&mut parser, &[0x00, b'1', b':']);
        assert_eq!((texts.len(), used, end), (0, 0, None));
        let mut stream = vec![0x00, b'1', b':'];
        stream.extend_from_slice(&[b':', 0xFF, 0x00, b'2', b':', b':', 0xFF, 0xFF]);
        let (texts, used, end) = parse_all(&mut parser, &stream);
        assert_eq!(texts, ["1::", "2::"]);
        assert_eq!(used, 10);
        assert_eq!(end, None);
        let (texts, _, end) = parse_all(&mut parser, &[0xFF, 0x00]);
        assert!(texts.is_empty());
        assert_eq!(end.as_deref(), Some("Close"));
    }

    #[test]
    fn replacement_characters_inside_text_do_not_end_a_frame() {
        let mut parser = HixieParser::new(100);
        let mut bytes = vec![0x00];
        bytes.extend_from_slice("a\u{FFFD}b".as_bytes());
        bytes.push(0xFF);
        let (texts, used, _) = parse_all(&mut parser, &bytes);
        assert_eq!(texts, ["a\u{FFFD}b"]);
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn bad_bytes_and_long_messages_are_errors() {
        let failed = |failure: Failure| Some(format!("{:?}", Ended::Failed(failure)));
        let (_, _, end) = parse_all(&mut HixieParser::new(100), &[0x80, 0x01]);
        assert_eq!(
            end,
            failed(Failure::Protocol(HixieError::FrameType(0x80).to_string()))
        );
        let mut long = vec![0x00];
        long.extend_from_slice(&[b'x'; 20]);
        let (_, _, end) = parse_all(&mut HixieParser::new(10), &long);
        assert_eq!(end, failed(Failure::TooBig(10)));
        let (_, _, end) = parse_all(&mut HixieParser::new(10), &[0x00, 0xC3, 0xFF]);
        assert_eq!(end, failed(Failure::NotUtf8));
    }
}

/// A draft-76 connection after its handshake.
#[derive(Debug)]
pub(crate) struct Hixie76<S> {
    io: S,
    reader: FrameReader,
    parser: HixieParser,
    writer: FrameWriter,
}

impl<S> Hixie76<S> {
    pub(crate) fn new(io: S, limits: WsLimits) -> Self {
        Hixie76 {
            io,
            reader: FrameReader::new(limits.message_timeout),
            parser: HixieParser::new(limits.max_message_bytes),
            writer: FrameWriter::default(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> PacketSocket for Hixie76<S> {
    async fn send(&mut self, packets: &[Encoded]) -> std::io::Result<()> {
        self.writer
            .write(&mut self.io, packets, &TEXT_FRAMING)
            .await
    }

    async fn receive(&mut self, on_message: &mut OnMessage<'_>) -> Ended {
        loop {
            // Draft 76 has no control frames to answer, so a pause only resumes reading.
            if let Stop::Ended(ended) = self
                .reader
                .read(&mut self.io, &mut self.parser, on_message)
                .await
            {
                return ended;
            }
        }
    }

    async fn close(&mut self) {
        let _ = self.io.write_all(&CLOSE_FRAME).await;
        let _ = self.io.shutdown().await;
    }
}
