//! Packets already in wire form, shared between the outboxes of every session they go to.

use std::sync::Arc;

use bytes::Bytes;
use ferrio_protocol::Packet;

use crate::generation::Generation;

/// One encoded packet. Cloning it shares the bytes, so a broadcast encodes once.
///
/// For an Engine.IO session it may also be a binary message (a Socket.IO attachment), held
/// behind a mark byte: its transport writes it as binary (a WebSocket binary message, or
/// base64 in a polling payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(Bytes);

/// The byte an outbox puts before the data of an Engine.IO binary message. No text packet
/// starts with it (every one starts with an ASCII digit), and it is the type byte (`message`)
/// that revision 3 writes before the data of a binary WebSocket message.
const BINARY_MARK: u8 = 0x04;

impl Encoded {
    /// An Engine.IO binary message carrying `data` (copied once, behind its mark byte).
    pub fn binary(data: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(data.len() + 1);
        bytes.push(BINARY_MARK);
        bytes.extend_from_slice(data);
        Encoded(Bytes::from(bytes))
    }

    /// The data of a binary message (shared, without its mark); `None` for a text packet.
    pub fn binary_data(&self) -> Option<Bytes> {
        (self.0.first() == Some(&BINARY_MARK)).then(|| self.0.slice(1..))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        self.0.first() == Some(&BINARY_MARK)
    }

    /// Encodes `packet`.
    pub fn new(packet: &Packet) -> Self {
        Encoded(Bytes::from(packet.encode()))
    }

    /// Wraps text that is already a packet in its wire form.
    pub fn from_text(text: String) -> Self {
        Encoded(Bytes::from(text))
    }

    /// Wraps text that is already a packet, such as `8::`.
    pub const fn from_static(text: &'static str) -> Self {
        Encoded(Bytes::from_static(text.as_bytes()))
    }

    /// The packet text; empty for a binary message.
    pub fn as_str(&self) -> &str {
        if self.is_binary() {
            return "";
        }
        // A text packet's bytes always come from a `str`, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The packet text as shared bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The length of the packet text in bytes: what an outbox holding it counts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the packet text is empty (an encoded packet never is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A packet in the wire form of one generation: what a session's outbox takes for it.
#[derive(Debug, Clone)]
pub(crate) enum Form {
    /// One packet.
    Single(Encoded),
    /// A Socket.IO packet with binary attachments: its text, then each attachment. They are
    /// queued together, so no other packet comes between them.
    Group(Arc<[Encoded]>),
}

impl Form {
    /// The units of this form, in order.
    pub(crate) fn units(&self) -> &[Encoded] {
        match self {
            Form::Single(packet) => std::slice::from_ref(packet),
            Form::Group(packets) => packets,
        }
    }
}

/// What a transport writes in one go: one packet, or several that queued up meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    packets: Vec<Encoded>,
}

impl Batch {
    pub(crate) fn new(packets: Vec<Encoded>) -> Self {
        Batch { packets }
    }

    /// A batch holding only the noop of `generation`, the answer to a poll with nothing to
    /// deliver.
    pub fn noop(generation: Generation) -> Self {
        Batch::new(vec![generation.noop()])
    }

    /// Whether this is a noop batch of any generation, which carries nothing to deliver.
    pub fn is_noop(&self) -> bool {
        [
            Generation::Legacy.noop(),
            Generation::Engine(ferrio_eio::Revision::V4).noop(),
        ]
        .iter()
        .any(|noop| self.packets.as_slice() == std::slice::from_ref(noop))
    }

    /// The packets, oldest first.
    pub fn packets(&self) -> &[Encoded] {
        &self.packets
    }

    pub(crate) fn into_packets(self) -> Vec<Encoded> {
        self.packets
    }

    /// The packet texts, oldest first.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.packets.iter().map(Encoded::as_str)
    }

    /// The body an HTTP transport carries for this batch: the packet bare, or a framed
    /// payload when there are several (docs/protocol.md §3.10).
    pub fn payload(&self) -> String {
        let texts: Vec<&str> = self.texts().collect();
        ferrio_protocol::frame(&texts)
    }
}

impl From<Vec<Encoded>> for Batch {
    /// A batch of `packets`, oldest first.
    fn from(packets: Vec<Encoded>) -> Self {
        Batch::new(packets)
    }
}
