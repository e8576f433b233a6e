//! The GET driver of the polling transports: attach, await one batch, answer (spec §4.4).

use ferrio_hub::{AttachError, AttachMode, Hub};
use ferrio_protocol::TransportKind;

use crate::NOT_HANDSHAKEN;
use crate::response::TransportError;

/// Awaits the payload one poll answers with: the buffer, the first new packet, `8::` at the
/// polling deadline, or `7:::1+0` for a session that does not exist or just ended.
pub(crate) async fn next_payload(hub: &Hub, sid: &str, kind: TransportKind) -> Result<String, TransportError> {
    let mut attachment = match hub.attach(sid, kind, AttachMode::Poll) {
        Ok(attachment) => attachment,
        Err(AttachError::UnknownSession) => return Ok(NOT_HANDSHAKEN.to_owned()),
        Err(AttachError::TransportDisabled) => return Err(TransportError::TransportDisabled),
    };
    // If the client goes away meanwhile, hyper drops this future and with it the attachment,
    // which detaches the session: the close timeout starts and packets stay buffered.
    Ok(match attachment.next_batch().await {
        Some(batch) => batch.payload(),
        None => NOT_HANDSHAKEN.to_owned(),
    })
}
