//! WebSocket draft 76 ("hixie-76"), spoken by old Safari and iOS 4–5, early Chrome and Opera,
//! and the Flash WebSocket polyfill (spec §5.2). Pure functions over bytes: the handshake
//! digest and the `0x00 text 0xFF` framing, parsed as bytes (never as decoded text, which the
//! reference got wrong, spec §8 #21).

use ferrio_hub::Encoded;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::pump::{Incoming, PacketSocket};

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

/// Appends one text frame: `0x00`, the UTF-8 text, `0xFF`.
pub(crate) fn encode_text(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(0x00);
    out.extend_from_slice(text);
    out.push(0xFF);
}

/// The closing handshake, `0xFF 0x00`.
pub(crate) const CLOSE_FRAME: [u8; 2] = [0xFF, 0x00];

/// What the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HixieFrame {
    /// A complete text message.
    Text(String),
    /// The peer's closing handshake.
    Close,
}

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

/// Splits a draft-76 byte stream into frames; feed it bytes as they arrive.
#[derive(Debug, Default)]
pub(crate) struct HixieDecoder {
    buffer: Vec<u8>,
    /// How far the current frame has been scanned for its `0xFF`, so no byte is scanned twice.
    scanned: usize,
}

impl HixieDecoder {
    /// Adds received bytes.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub(crate) fn next_frame(
        &mut self,
        max_message_bytes: usize,
    ) -> Result<Option<HixieFrame>, HixieError> {
        let Some(&kind) = self.buffer.first() else {
            return Ok(None);
        };
        match kind {
            0x00 => {
                let start = 1 + self.scanned;
                match self.buffer[start..].iter().position(|&b| b == 0xFF) {
                    Some(offset) => {
                        let end = start + offset;
                        if end - 1 > max_message_bytes {
                            return Err(HixieError::TooLong(max_message_bytes));
                        }
                        let text = String::from_utf8(self.buffer[1..end].to_vec())
                            .map_err(|_| HixieError::NotUtf8)?;
                        self.buffer.drain(..=end);
                        self.scanned = 0;
                        Ok(Some(HixieFrame::Text(text)))
                    }
                    None => {
                        self.scanned = self.buffer.len() - 1;
                        if self.scanned > max_message_bytes {
                            return Err(HixieError::TooLong(max_message_bytes));
                        }
                        Ok(None)
                    }
                }
            }
            0xFF => match self.buffer.get(1) {
                None => Ok(None),
                Some(0x00) => {
                    self.buffer.drain(..2);
                    Ok(Some(HixieFrame::Close))
                }
                Some(&other) => Err(HixieError::FrameType(other)),
            },
            other => Err(HixieError::FrameType(other)),
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

    #[test]
    fn frames_split_across_reads() {
        let mut decoder = HixieDecoder::default();
        decoder.extend(&[0x00, b'1', b':']);
        assert_eq!(decoder.next_frame(100), Ok(None));
        decoder.extend(&[b':', 0xFF, 0x00, b'2', b':', b':', 0xFF, 0xFF]);
        assert_eq!(
            decoder.next_frame(100),
            Ok(Some(HixieFrame::Text("1::".into())))
        );
        assert_eq!(
            decoder.next_frame(100),
            Ok(Some(HixieFrame::Text("2::".into())))
        );
        assert_eq!(decoder.next_frame(100), Ok(None));
        decoder.extend(&[0x00]);
        assert_eq!(decoder.next_frame(100), Ok(Some(HixieFrame::Close)));
    }

    #[test]
    fn replacement_characters_inside_text_do_not_end_a_frame() {
        let mut decoder = HixieDecoder::default();
        let mut bytes = Vec::new();
        encode_text("a\u{FFFD}b".as_bytes(), &mut bytes);
        decoder.extend(&bytes);
        assert_eq!(
            decoder.next_frame(100),
            Ok(Some(HixieFrame::Text("a\u{FFFD}b".into())))
        );
    }

    #[test]
    fn bad_bytes_and_long_messages_are_errors() {
        let mut decoder = HixieDecoder::default();
        decoder.extend(&[0x80, 0x01]);
        assert_eq!(decoder.next_frame(100), Err(HixieError::FrameType(0x80)));
        let mut decoder = HixieDecoder::default();
        decoder.extend(&[0x00]);
        decoder.extend(&[b'x'; 20]);
        assert_eq!(decoder.next_frame(10), Err(HixieError::TooLong(10)));
        let mut decoder = HixieDecoder::default();
        decoder.extend(&[0x00, 0xC3, 0xFF]);
        assert_eq!(decoder.next_frame(10), Err(HixieError::NotUtf8));
    }
}

/// A draft-76 connection after its handshake.
#[derive(Debug)]
pub(crate) struct Hixie76<S> {
    io: S,
    decoder: HixieDecoder,
    max_message_bytes: usize,
    write_buffer: Vec<u8>,
}

impl<S> Hixie76<S> {
    pub(crate) fn new(io: S, max_message_bytes: usize) -> Self {
        Hixie76 {
            io,
            decoder: HixieDecoder::default(),
            max_message_bytes,
            write_buffer: Vec::new(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketSocket for Hixie76<S> {
    async fn send(&mut self, packets: &[Encoded]) -> std::io::Result<()> {
        self.write_buffer.clear();
        for packet in packets {
            encode_text(packet.bytes(), &mut self.write_buffer);
        }
        self.io.write_all(&self.write_buffer).await?;
        // Keep no large buffer around on idle connections.
        if self.write_buffer.capacity() > 16 * 1024 {
            self.write_buffer = Vec::new();
        }
        self.io.flush().await
    }

    async fn receive(&mut self) -> Incoming {
        let mut chunk = [0u8; 2048];
        loop {
            match self.decoder.next_frame(self.max_message_bytes) {
                Ok(Some(HixieFrame::Text(text))) => return Incoming::Text(text),
                Ok(Some(HixieFrame::Close)) => return Incoming::Close,
                Ok(None) => {}
                Err(error) => return Incoming::Failed(error.to_string()),
            }
            // Cancel-safe: bytes are moved into the decoder only once a read completes.
            match self.io.read(&mut chunk).await {
                Ok(0) => return Incoming::End,
                Ok(n) => self.decoder.extend(&chunk[..n]),
                Err(error) => return Incoming::Failed(error.to_string()),
            }
        }
    }

    async fn close(&mut self) {
        let _ = self.io.write_all(&CLOSE_FRAME).await;
        let _ = self.io.shutdown().await;
    }
}
