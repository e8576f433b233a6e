//! What the hub's test files share: handshake data, packets in, batches out.
// Each test file uses its own share of these.
#![allow(dead_code, clippy::unwrap_used)]

use ferrio_hub::{AttachError, AttachMode, Attachment, ConnectInfo, DisconnectReason, Hub};
use ferrio_protocol::{TransportKind, decode};

/// The handshake data of a client at 127.0.0.1:4000 with `query`, from a page of `origin`.
pub(crate) fn info(query: &[(&str, &str)], origin: Option<&str>) -> ConnectInfo {
    let mut headers = vec![("host".to_owned(), "localhost".to_owned())];
    if let Some(origin) = origin {
        headers.push(("origin".to_owned(), origin.to_owned()));
    }
    ConnectInfo {
        headers,
        address: "127.0.0.1:4000".parse().unwrap(),
        query: query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        secure: false,
    }
}

/// Hands the packets `texts` to session `sid`, as a transport would.
pub(crate) fn ingest(hub: &Hub, sid: &str, texts: &[&str]) {
    hub.ingest(sid, texts.iter().map(|t| decode(t).unwrap()).collect())
        .unwrap();
}

/// The packet texts of the attachment's next batch, which must come.
pub(crate) async fn next_texts(attachment: &mut Attachment) -> Vec<String> {
    let batch = attachment.next_batch().await.expect("a batch");
    batch.texts().map(str::to_owned).collect()
}

/// An xhr-polling GET of `sid` held open: the attachment a poll makes.
pub(crate) fn open_poll(hub: &Hub, sid: &str) -> Result<Attachment, AttachError> {
    hub.attach(sid, TransportKind::XhrPolling, AttachMode::Poll)
}

/// The packet texts one poll of `sid` gets (a poll always gets a batch).
pub(crate) async fn poll(hub: &Hub, sid: &str) -> Vec<String> {
    next_texts(&mut open_poll(hub, sid).unwrap()).await
}

/// A new session, connected by its first poll.
pub(crate) async fn connected(hub: &Hub) -> String {
    let sid = hub.handshake(info(&[], None)).await.unwrap().sid;
    assert_eq!(poll(hub, &sid).await, ["1::"]);
    sid
}

/// How many sessions ended for `reason`, by the counters.
pub(crate) fn disconnects(hub: &Hub, reason: DisconnectReason) -> u64 {
    hub.metrics()
        .disconnects
        .iter()
        .find(|(label, _)| *label == reason.as_str())
        .map_or(0, |(_, count)| *count)
}
