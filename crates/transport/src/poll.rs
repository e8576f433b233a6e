//! The GET driver of the polling transports: attach, await one batch, answer (docs/protocol.md
//! §4.4).

use ferrio_hub::{AttachError, AttachMode, Hub};
use ferrio_protocol::TransportKind;

use crate::NOT_HANDSHAKEN;
use crate::response::TransportError;

/// Awaits the payload one poll answers with: the buffer, the first new packet, `8::` at the
/// polling deadline, or `7:::1+0` for a session that does not exist or just ended.
///
/// While the server shuts down, polls — the ones waiting when it began, and any that still
/// reach it on a kept-alive connection — are refused with `503` instead: the 0.9 client takes
/// a failed poll for a lost transport (`disconnect` without a reason, then reconnection, as on
/// WebSocket, docs/protocol.md §6.6), whereas `7:::1+0` would look like a kick to it
/// (`disconnect('booted')`, an `error` event and a `0::` POSTed back) before it reconnects.
pub(crate) async fn next_payload(
    hub: &Hub,
    sid: &str,
    kind: TransportKind,
) -> Result<String, TransportError> {
    if hub.is_shutting_down() {
        return Err(TransportError::ShuttingDown);
    }
    let mut attachment = match hub.attach(sid, kind, AttachMode::Poll) {
        Ok(attachment) => attachment,
        Err(AttachError::UnknownSession) if hub.is_shutting_down() => {
            return Err(TransportError::ShuttingDown);
        }
        Err(AttachError::UnknownSession) => return Ok(NOT_HANDSHAKEN.to_owned()),
    };
    // If the client goes away meanwhile, hyper drops this future and with it the attachment,
    // which detaches the session: the close timeout starts and packets stay buffered.
    match attachment.next_batch().await {
        Some(batch) => Ok(batch.payload()),
        None if hub.is_shutting_down() => Err(TransportError::ShuttingDown),
        None => Ok(NOT_HANDSHAKEN.to_owned()),
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

    async fn poll(hub: &Hub, sid: &str) -> Result<String, TransportError> {
        next_payload(hub, sid, TransportKind::XhrPolling).await
    }

    async fn connected(hub: &Hub) -> String {
        let sid = hub.handshake(connect_info()).unwrap().sid;
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
    async fn a_poll_arriving_during_shutdown_is_refused() {
        let hub = Hub::new(HubConfig::default()).unwrap();
        let sid = connected(&hub).await;
        hub.shutdown();
        assert_eq!(poll(&hub, &sid).await, Err(TransportError::ShuttingDown));
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
