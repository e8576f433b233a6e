//! Why a packet, a binary frame or a set of arguments was refused.

use crate::packet::PacketType;

/// A refused packet. The reference closes the whole connection on any of these (its decoder
/// throws); the caller decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is empty: there is no packet type.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type (`0` to `6`).
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A BINARY_EVENT or BINARY_ACK whose attachment count is not digits followed by `-`.
    #[error("illegal attachments count")]
    IllegalAttachments,
    /// More attachments announced than the configured maximum.
    #[error("too many attachments: {count} announced, at most {max} allowed")]
    TooManyAttachments {
        /// The count announced, saturated at `u64::MAX`.
        count: u64,
        /// The configured maximum.
        max: usize,
    },
    /// An ack id too large for 64 bits.
    #[error("ack id out of range")]
    AckIdOverflow,
    /// An ack id on a packet that has none (CONNECT, DISCONNECT, CONNECT_ERROR).
    #[error("a {0} packet carries no ack id")]
    UnexpectedAckId(PacketType),
    /// An ACK or BINARY_ACK without the id of the event it answers.
    #[error("a {0} packet needs an ack id")]
    MissingAckId(PacketType),
    /// A packet whose payload is mandatory (EVENT, ACK, CONNECT_ERROR and their binary forms)
    /// without one.
    #[error("a {0} packet needs a payload")]
    MissingPayload(PacketType),
    /// The payload is not JSON (or nests deeper than the parser allows).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// Arguments that are JSON but not an array.
    #[error("arguments are not a JSON array")]
    NotAnArray,
    /// A payload of the wrong shape for its packet type (the reference's `isPayloadValid`).
    #[error("invalid {packet_type} payload: {reason}")]
    InvalidPayload {
        /// The packet's type.
        packet_type: PacketType,
        /// What the payload should have been.
        reason: &'static str,
    },
    /// A revision 5 event named with a name the reference keeps for itself
    /// ([`crate::RESERVED_EVENTS`]).
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// A placeholder whose `num` is not a non-negative integer.
    #[error("invalid attachment placeholder: {0}")]
    InvalidPlaceholder(&'static str),
    /// A placeholder whose `num` is past the attachments announced.
    #[error("placeholder {num} references a missing attachment ({count} announced)")]
    MissingAttachment {
        /// The placeholder's index.
        num: u64,
        /// The number of attachments announced.
        count: usize,
    },
    /// A text packet arrived while a binary packet's attachments were still expected; the
    /// partial packet is dropped.
    #[error("text packet while {missing} attachment(s) were still expected")]
    TextWhileAwaitingAttachments {
        /// How many attachments had not arrived.
        missing: usize,
    },
    /// A binary frame arrived while no binary packet was waiting for attachments.
    #[error("binary frame while no attachment was expected")]
    UnexpectedBinary,
}

impl DecodeError {
    pub(crate) fn from_json(error: serde_json::Error) -> Self {
        DecodeError::InvalidJson(error.to_string())
    }
}
