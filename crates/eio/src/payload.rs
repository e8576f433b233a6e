//! What polling bodies share across revisions: the size limit and why a body is refused.
//!
//! The reference server refuses a POST body longer than its limit (`maxHttpBufferSize`,
//! which v4 announces as `maxPayload`) with 413 before reading any packet, and any malformed
//! packet makes it drop the whole body. Decoding here does the same: the limit is checked
//! first, then the body is decoded whole or not at all.

use crate::packet::PacketError;

/// A polling response body: text, or an XHR2 binary payload (v3 only, sent as
/// `application/octet-stream`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// A text payload, sent as `text/plain; charset=UTF-8`.
    Text(String),
    /// A v3 binary payload, sent as `application/octet-stream`.
    Binary(Vec<u8>),
}

/// Why a polling body cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The body is longer than the limit: the transport answers 413.
    #[error("payload of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The body's length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is empty, which no client sends.
    #[error("empty payload")]
    Empty,
    /// A v4 body has nothing between two separators, or before the first or after the last.
    #[error("empty packet at index {index}")]
    EmptyPacket {
        /// The packet's position in the payload.
        index: usize,
    },
    /// A packet of the body does not decode.
    #[error("packet {index}: {source}")]
    Packet {
        /// The packet's position in the payload.
        index: usize,
        /// Why it does not decode.
        source: PacketError,
    },
    /// A length is missing, is not decimal, or is not followed by its separator (`:` in a
    /// text payload, `0xFF` in a binary one).
    #[error("bad length at byte {at}")]
    BadLength {
        /// Byte offset of the record in the body.
        at: usize,
    },
    /// A length runs past the end of the body, or (text payloads) ends inside a character
    /// that UTF-16 writes as a surrogate pair.
    #[error("length at byte {at} does not fit the body")]
    LengthMismatch {
        /// Byte offset of the record in the body.
        at: usize,
    },
    /// A binary payload's record starts with something other than 0 (string) or 1 (binary).
    #[error("bad record kind at byte {at}")]
    BadRecordKind {
        /// Byte offset of the record in the body.
        at: usize,
    },
    /// A binary payload's string record is not UTF-8.
    #[error("string record at byte {at} is not UTF-8")]
    NotUtf8 {
        /// Byte offset of the record in the body.
        at: usize,
    },
}

impl PayloadError {
    /// Whether the body was refused for its size alone (HTTP 413), not for its content
    /// (HTTP 400).
    pub fn is_too_large(&self) -> bool {
        matches!(self, PayloadError::TooLarge { .. })
    }
}

/// Refuses a body of more than `limit` bytes.
pub(crate) fn check_size(len: usize, limit: usize) -> Result<(), PayloadError> {
    if len > limit {
        Err(PayloadError::TooLarge { len, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_size_error_is_too_large() {
        assert!(PayloadError::TooLarge { len: 2, limit: 1 }.is_too_large());
        for other in [
            PayloadError::Empty,
            PayloadError::EmptyPacket { index: 0 },
            PayloadError::BadLength { at: 0 },
            PayloadError::LengthMismatch { at: 0 },
            PayloadError::BadRecordKind { at: 0 },
            PayloadError::NotUtf8 { at: 0 },
            PayloadError::Packet {
                index: 0,
                source: PacketError::Empty,
            },
        ] {
            assert!(!other.is_too_large(), "{other:?}");
        }
    }

    #[test]
    fn the_limit_itself_is_allowed() {
        assert_eq!(check_size(10, 10), Ok(()));
        assert_eq!(
            check_size(11, 10),
            Err(PayloadError::TooLarge { len: 11, limit: 10 })
        );
    }

    #[test]
    fn errors_describe_themselves() {
        assert_eq!(
            PayloadError::TooLarge { len: 11, limit: 10 }.to_string(),
            "payload of 11 bytes exceeds the limit of 10 bytes"
        );
        assert_eq!(
            PayloadError::Packet {
                index: 1,
                source: PacketError::UnknownType
            }
            .to_string(),
            "packet 1: unknown packet type"
        );
        assert_eq!(
            PayloadError::LengthMismatch { at: 4 }.to_string(),
            "length at byte 4 does not fit the body"
        );
    }
}
