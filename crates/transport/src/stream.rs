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
}

/// Opens the stream of session `sid`. An unknown session gets the prelude, `7:::1+0` and the
/// end of the stream (docs/protocol.md §5.0). `stall` is the connection's signal of a write
/// given up, when the connection has one.
pub(crate) fn open<W: StreamWire>(
    hub: &Hub,
    sid: &str,
    kind: TransportKind,
    wire: W,
    stall: Option<StallSignal>,
) -> Result<Body, TransportError> {
    if hub.is_shutting_down() {
        return Err(TransportError::ShuttingDown);
    }
    let attachment = match hub.attach(sid, kind, AttachMode::Stream) {
        Ok(attachment) => attachment,
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
            Some(state.wire.prelude())
        }
        Phase::Open => {
            let attachment = state.guard.attachment.as_mut()?;
            let batch = attachment.next_batch().await;
            if let Some(batch) = batch {
                let payload = batch.payload();
                if state.wire.carries(&payload) {
                    return Some(state.wire.wrap(payload));
                }
                attachment.unread(batch);
            }
            // The session ended, a newer transport took over, or the batch cannot be written
            // here: end the stream. Detach rather than end the session for the last case.
            state.phase = Phase::Done;
            state.guard.ends_session = false;
            let epilogue = state.wire.epilogue();
            (!epilogue.is_empty()).then_some(epilogue)
        }
        Phase::Done => None,
    }
}
