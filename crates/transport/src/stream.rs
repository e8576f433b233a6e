//! The GET driver of the streaming transports: one response that carries every batch as a
//! chunk the moment it is queued (docs/protocol.md §5.3, §5.6).

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};
use ferrio_hub::{AttachError, AttachMode, Attachment, DisconnectReason, Hub};
use ferrio_protocol::TransportKind;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use crate::NOT_HANDSHAKEN;
use crate::body::{Body, full};
use crate::response::TransportError;
use crate::stall::StallSignal;
use crate::unconfirmed::Unconfirmed;
use crate::wire::StreamWire;

/// Ends the session or detaches when the response body is dropped — which is what happens
/// when the client goes away, or when the connection gave up writing to a client that took
/// nothing for the write timeout: that ends the session whatever the transport, since the
/// packets the stream had taken are lost with the connection.
struct Guard {
    attachment: Option<Attachment>,
    ends_session: bool,
    stall: Option<StallSignal>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(attachment) = self.attachment.take() else {
            return;
        };
        if self.stall.as_ref().is_some_and(StallSignal::is_raised) {
            attachment.close(DisconnectReason::WriteTimeout);
        } else if self.ends_session {
            attachment.close(DisconnectReason::SocketEnd);
        }
    }
}

enum Phase {
    Prelude,
    Open,
    Done,
}

struct State<W> {
    guard: Guard,
    wire: W,
    phase: Phase,
    /// Where a stream another node forwarded here keeps the batches it wrote until that node
    /// confirms its client took them.
    unconfirmed: Option<Unconfirmed>,
}

/// Opens the stream of session `sid`. An unknown session gets the prelude, `7:::1+0` and the
/// end of the stream (docs/protocol.md §5.0), or `503` while the server shuts down. During a
/// shutdown a stream writes what its session has queued, then ends with the session.
/// `stall` is the connection's signal of a write given up, when the connection has one;
/// `unconfirmed` keeps what a stream forwarded from another node wrote until it is confirmed.
pub(crate) fn open<W: StreamWire>(
    hub: &Hub,
    sid: &str,
    kind: TransportKind,
    wire: W,
    stall: Option<StallSignal>,
    unconfirmed: Option<Unconfirmed>,
) -> Result<Body, TransportError> {
    let attachment = match hub.attach(sid, kind, AttachMode::Stream) {
        Ok(attachment) => attachment,
        Err(AttachError::UnknownSession) if hub.is_shutting_down() => {
            return Err(TransportError::ShuttingDown);
        }
        Err(AttachError::UnknownSession) => {
            let mut whole = BytesMut::new();
            whole.extend_from_slice(&wire.prelude());
            whole.extend_from_slice(&wire.wrap(NOT_HANDSHAKEN.to_owned()));
            whole.extend_from_slice(&wire.epilogue());
            return Ok(full(whole.freeze()));
        }
    };
    let state = State {
        guard: Guard {
            ends_session: wire.ends_session_when_closed(),
            attachment: Some(attachment),
            stall,
        },
        wire,
        phase: Phase::Prelude,
        unconfirmed,
    };
    let chunks = futures_util::stream::unfold(state, |mut state| async move {
        let chunk = next_chunk(&mut state).await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), state))
    });
    Ok(StreamBody::new(chunks).boxed_unsync())
}

async fn next_chunk<W: StreamWire>(state: &mut State<W>) -> Option<Bytes> {
    match state.phase {
        Phase::Prelude => {
            state.phase = Phase::Open;
            let prelude = state.wire.prelude();
            state.record(prelude.len());
            Some(prelude)
        }
        Phase::Open => {
            let attachment = state.guard.attachment.as_mut()?;
            let batch = if state
                .unconfirmed
                .as_ref()
                .is_some_and(Unconfirmed::is_closed)
            {
                // The node that forwarded the stream relays nothing more.
                None
            } else {
                attachment.next_batch().await
            };
            if let Some(batch) = batch {
                let payload = batch.payload();
                if state.wire.carries(&payload) {
                    let chunk = state.wire.wrap(payload);
                    match &state.unconfirmed {
                        Some(unconfirmed) => match unconfirmed.record(chunk.len(), Some(batch)) {
                            Ok(()) => return Some(chunk),
                            Err(batch) => attachment.unread(batch),
                        },
                        None => return Some(chunk),
                    }
                } else {
                    attachment.unread(batch);
                }
            }
            // The session ended, a newer transport took over, the batch cannot be written
            // here, or nobody relays it: end the stream. Detach rather than end the session
            // for the last two.
            state.phase = Phase::Done;
            state.guard.ends_session = false;
            let epilogue = state.wire.epilogue();
            state.record(epilogue.len());
            (!epilogue.is_empty()).then_some(epilogue)
        }
        Phase::Done => None,
    }
}

impl<W> State<W> {
    /// Counts `len` bytes of the stream that carry no batch.
    fn record(&self, len: usize) {
        if let Some(unconfirmed) = &self.unconfirmed {
            // Only a batch can be given back.
            let _ = unconfirmed.record(len, None);
        }
    }
}
