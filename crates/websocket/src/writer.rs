//! Writing a batch of packets, whatever the protocol's framing: every frame of the batch goes
//! into one buffer and out in one write, and the buffer is kept only while it is small, so a
//! burst does not pin memory on a connection that then stays idle.

use ferrio_hub::Encoded;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A write buffer larger than this is given back once its batch is written.
const KEEP_BYTES: usize = 1024;

/// One connection's write buffer.
#[derive(Debug, Default)]
pub(crate) struct FrameWriter {
    out: Vec<u8>,
}

impl FrameWriter {
    /// Writes `packets`, each framed by `frame` (which appends one frame to the buffer).
    pub(crate) async fn write<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        packets: &[Encoded],
        frame: fn(&[u8], &mut Vec<u8>),
    ) -> std::io::Result<()> {
        self.out.clear();
        for packet in packets {
            frame(packet.bytes(), &mut self.out);
        }
        io.write_all(&self.out).await?;
        if self.out.capacity() > KEEP_BYTES {
            self.out = Vec::new();
        }
        io.flush().await
    }
}
