//! The GET driver of the polling transports: attach, await one batch, answer (docs/protocol.md
//! §4.4).

use bytes::Bytes;
use ferrio_hub::{AttachError, AttachMode, Batch, Hub};
use ferrio_protocol::TransportKind;

use crate::NOT_HANDSHAKEN;
use crate::response::TransportError;
use crate::unconfirmed::Unconfirmed;
use crate::wire::Wire;

/// Awaits the payload one poll answers with, in `wire`'s framing: the buffer, the first new
/// packet, `8::` at the polling deadline, or `7:::1+0` for a session that does not exist or
/// just ended. A poll another node forwarded here keeps the batch it answers with in
/// `unconfirmed`, until that node confirms its client took it.
///
/// While the server shuts down, a poll still gets what its session has queued (and a
/// lingering farewell); the poll that finds nothing more — waiting when the flush began, or
/// coming back for more — ends the session and is refused with `503`, as is any poll of a
/// session that no longer exists: the 0.9 client takes a failed poll for a lost transport
/// (`disconnect` without a reason, then reconnection, as on WebSocket, docs/protocol.md §6.6),
/// whereas `7:::1+0` would look like a kick to it (`disconnect('booted')`, an `error` event
/// and a `0::` POSTed back) before it reconnects.
pub(crate) async fn next_payload<W: Wire>(
    hub: &Hub,
    sid: &str,
    kind: TransportKind,
    wire: &W,
    unconfirmed: Option<&Unconfirmed>,
) -> Result<Bytes, TransportError> {
    let mut attachment = match hub.attach(sid, kind, AttachMode::Poll) {
        Ok(attachment) => attachment,
        Err(AttachError::UnknownSession) if hub.is_shutting_down() => {
            return Err(TransportError::ShuttingDown);
        }
        Err(AttachError::UnknownSession) => return Ok(wire.wrap(NOT_HANDSHAKEN.to_owned())),
    };
    // If the client goes away meanwhile, hyper drops this future and with it the attachment,
    // which detaches the session: the close timeout starts and packets stay buffered.
    match attachment.next_batch().await {
        Some(batch) => {
            let body = wire.wrap(batch.payload());
            if let Some(unconfirmed) = unconfirmed
                && !batch.is_noop()
                && let Err(batch) = unconfirmed.record(body.len(), Some(batch))
            {
                // The forwarding node stopped listening before the batch came: nobody would
                // relay it.
                attachment.unread(batch);
                return Ok(wire.wrap(Batch::noop(attachment.generation()).payload()));
            }
            Ok(body)
        }
        None if hub.is_shutting_down() => Err(TransportError::ShuttingDown),
        None => Ok(wire.wrap(NOT_HANDSHAKEN.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferrio_hub::{ConnectInfo, HubConfig};

    use super::*;

    fn connect_info() -> ConnectInfo {
        ConnectInfo {
            headers: vec![("host".to_owned(), "localhost".to_owned())],
            address: "127.0.0.1:4000".parse().unwrap(),
            query: Vec::new(),
            secure: false,
        }
    }

    /// A wire that carries the payload bare.
    struct Bare;

    impl Wire for Bare {
        fn content_type(&self) -> http::HeaderValue {
            http::HeaderValue::from_static("text/plain")
        }

        fn wrap(&self, payload: String) -> Bytes {
            Bytes::from(payload)
        }
    }

    async fn poll(hub: &Hub, sid: &str) -> Result<String, TransportError> {
        next_payload(hub, sid, TransportKind::XhrPolling, &Bare, None)
            .await
            .map(|body| String::from_utf8(body.to_vec()).unwrap())
    }

    async fn connected(hub: &Hub) -> String {
        let sid = hub.handshake(connect_info()).await.unwrap().sid;
        assert_eq!(poll(hub, &sid).await.unwrap(), "1::");
        sid
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_session_gets_not_handshaken() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        assert_eq!(poll(&hub, "nosuchsession").await.unwrap(), "7:::1+0");
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_waiting_when_the_server_shuts_down_is_refused() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        let sid = connected(&hub).await;
        let waiting = tokio::spawn({
            let hub = hub.clone();
            let sid = sid.clone();
            async move { poll(&hub, &sid).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        hub.shutdown();
        assert_eq!(waiting.await.unwrap(), Err(TransportError::ShuttingDown));
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_arriving_during_shutdown_gets_the_queue_then_503() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        let sid = connected(&hub).await;
        assert_eq!(hub.sockets().send("queued"), 1);
        hub.shutdown();
        assert_eq!(
            poll(&hub, &sid).await.unwrap(),
            "3:::queued",
            "what was queued before the shutdown is delivered"
        );
        assert_eq!(poll(&hub, &sid).await, Err(TransportError::ShuttingDown));
        assert_eq!(hub.session_count(), 0, "the 503 ended the session");
        assert_eq!(
            poll(&hub, "nosuchsession").await,
            Err(TransportError::ShuttingDown)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ended_while_the_server_runs_gets_not_handshaken() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        let sid = connected(&hub).await;
        hub.disconnect(&sid);
        assert_eq!(poll(&hub, &sid).await.unwrap(), "7:::1+0");
    }
}
