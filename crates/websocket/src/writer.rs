//! Writing a batch of packets, whatever the protocol's framing. A packet's bytes are shared
//! with every connection it goes to (encoded once), so a large payload is written from where
//! it is, in a vectored write; only frame headers, and payloads small enough that copying is
//! cheaper than a slice of their own, go into this connection's buffer. That buffer is bounded
//! ([`GROUP_BYTES`]) however big the batch, so a connection stuck behind a slow reader holds
//! the shared packets and one small buffer, never a copy of its backlog; and it is kept only
//! while small, so a burst does not pin memory on a connection that then stays idle.

use std::io::{self, IoSlice};
use std::ops::Range;

use ferrio_hub::Encoded;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A write buffer larger than this is given back once its batch is written.
const KEEP_BYTES: usize = 1024;

/// Payloads shorter than this are copied next to their frame header: one slice for many
/// small frames, as an unvectored writer (TLS) wants them too.
const COPY_BELOW: usize = 1024;

/// The buffer's bytes after which the frames gathered so far are written before going on.
const GROUP_BYTES: usize = 16 * 1024;

/// The slices one write takes at most, well below every system's `IOV_MAX`.
const GROUP_SLICES: usize = 128;

/// What a writer frames as one message, written from where it lies.
pub(crate) trait Payload {
    /// The message's bytes.
    fn payload(&self) -> &[u8];

    /// Whether the message is binary data, for a protocol with binary frames.
    fn is_binary(&self) -> bool {
        false
    }
}

impl Payload for Encoded {
    fn payload(&self) -> &[u8] {
        self.bytes()
    }

    fn is_binary(&self) -> bool {
        Encoded::is_binary(self)
    }
}

/// How a protocol frames one message.
#[derive(Debug)]
pub(crate) struct Framing {
    /// Appends the bytes that come before a payload of this length, binary data or not.
    pub(crate) header: fn(bool, usize, &mut Vec<u8>),
    /// The bytes that come after every payload.
    pub(crate) trailer: &'static [u8],
}

/// A piece of what one write sends: bytes of the connection's buffer, or a shared payload.
enum Piece<'a> {
    Own(Range<usize>),
    Shared(&'a [u8]),
}

/// One connection's write buffer.
#[derive(Debug, Default)]
pub(crate) struct FrameWriter {
    out: Vec<u8>,
}

impl FrameWriter {
    /// Writes `packets`, each as one message framed by `framing`.
    pub(crate) async fn write<S: AsyncWrite + Unpin, P: Payload>(
        &mut self,
        io: &mut S,
        packets: &[P],
        framing: &Framing,
    ) -> io::Result<()> {
        let mut pieces = Vec::new();
        let mut next = packets;
        while !next.is_empty() {
            next = self.gather(next, framing, &mut pieces);
            let mut slices: Vec<IoSlice<'_>> = pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Own(range) => IoSlice::new(&self.out[range.clone()]),
                    Piece::Shared(bytes) => IoSlice::new(bytes),
                })
                .collect();
            write_all_vectored(io, &mut slices).await?;
            pieces.clear();
        }
        if self.out.capacity() > KEEP_BYTES {
            self.out = Vec::new();
        }
        io.flush().await
    }

    /// Frames packets from the front of `packets` into `pieces` until the buffer or the
    /// slices of one write are full; returns the packets left.
    fn gather<'a, P: Payload>(
        &mut self,
        packets: &'a [P],
        framing: &Framing,
        pieces: &mut Vec<Piece<'a>>,
    ) -> &'a [P] {
        self.out.clear();
        let mut own_from = 0;
        let mut taken = 0;
        for packet in packets {
            if self.out.len() >= GROUP_BYTES || pieces.len() + 2 >= GROUP_SLICES {
                break;
            }
            let payload = packet.payload();
            (framing.header)(packet.is_binary(), payload.len(), &mut self.out);
            if payload.len() < COPY_BELOW {
                self.out.extend_from_slice(payload);
            } else {
                pieces.push(Piece::Own(own_from..self.out.len()));
                pieces.push(Piece::Shared(payload));
                own_from = self.out.len();
            }
            self.out.extend_from_slice(framing.trailer);
            taken += 1;
        }
        if own_from < self.out.len() {
            pieces.push(Piece::Own(own_from..self.out.len()));
        }
        &packets[taken..]
    }
}

/// Writes every byte of `slices`, as few writes as the connection allows.
async fn write_all_vectored<S: AsyncWrite + Unpin>(
    io: &mut S,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    while !slices.is_empty() {
        let written = io.write_vectored(slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<`, the payload, `>`: a framing whose output shows where each frame starts and ends.
    const ANGLES: Framing = Framing {
        header: |_, _, out| out.push(b'<'),
        trailer: b">",
    };

    fn packet(text: String) -> Encoded {
        Encoded::from_static(Box::leak(text.into_boxed_str()))
    }

    async fn written(packets: &[Encoded], vectored_io: bool) -> Vec<u8> {
        let mut writer = FrameWriter::default();
        let mut out = Recorder {
            bytes: Vec::new(),
            vectored: vectored_io,
        };
        writer.write(&mut out, packets, &ANGLES).await.unwrap();
        assert_eq!(writer.out.capacity(), 0, "a large buffer is given back");
        out.bytes
    }

    #[tokio::test]
    async fn every_frame_is_written_in_order_small_and_large_alike() {
        let mut packets = Vec::new();
        let mut expected = Vec::new();
        for index in 0..300 {
            let length = if index % 7 == 0 { 5000 + index } else { index };
            let text = format!("{index}:").repeat(length / 4 + 1);
            expected.extend_from_slice(format!("<{text}>").as_bytes());
            packets.push(packet(text));
        }
        assert_eq!(written(&packets, true).await, expected);
        assert_eq!(written(&packets, false).await, expected);
    }

    /// An in-memory writer that takes at most 3000 bytes a write, vectored or not.
    struct Recorder {
        bytes: Vec<u8>,
        vectored: bool,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let this = self.get_mut();
            let n = buf.len().min(3000);
            this.bytes.extend_from_slice(&buf[..n]);
            std::task::Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> std::task::Poll<io::Result<usize>> {
            if !self.vectored {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &**b);
                return self.poll_write(cx, first);
            }
            let this = self.get_mut();
            let mut left = 3000;
            for buf in bufs {
                let n = buf.len().min(left);
                this.bytes.extend_from_slice(&buf[..n]);
                left -= n;
            }
            std::task::Poll::Ready(Ok(3000 - left))
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
}
