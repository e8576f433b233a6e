//! The POST path shared by every HTTP transport (docs/protocol.md §4.4): read the body within a
//! limit, decode it as a whole, unframe, decode each packet, hand them to the hub, answer `1`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrio_hub::LogGate;
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use tracing::{debug, info};

use crate::response::TransportError;

/// Limits of a POST body.
#[derive(Debug, Clone, Copy)]
pub struct PostLimits {
    /// The largest body accepted, in bytes; larger ones get `413`. Counted as the body
    /// arrives, never re-measured (docs/protocol.md §8 #23).
    pub max_body_bytes: usize,
    /// How long a body may go without a byte arriving; a stalled one gets `408` and what it
    /// had sent is let go. Default 20 s.
    pub body_read_timeout: Duration,
    /// The most packets one body may frame; more get `413` and none is processed. The 0.9
    /// client sends what it queued during its previous POST in one body, a handful of packets
    /// at human speed, so only a script reaches it.
    pub max_packets: usize,
}

impl Default for PostLimits {
    fn default() -> Self {
        PostLimits {
            max_body_bytes: 1024 * 1024,
            body_read_timeout: Duration::from_secs(20),
            max_packets: 1000,
        }
    }
}

/// Bodies given up because they stalled, logged a line a second at most: a client can stall
/// as many as it can open.
static STALLED: LogGate = LogGate::new();

/// Reads a whole request body, refusing it with [`TransportError::PayloadTooLarge`] as soon
/// as it is known to exceed the limit (from `Content-Length`, or while it streams in), and
/// with [`TransportError::BodyTimeout`] when no byte of it arrives for the body read timeout.
pub async fn read_body<B>(
    parts: &Parts,
    body: B,
    limits: PostLimits,
) -> Result<Bytes, TransportError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let limit = limits.max_body_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        info!(uri = %parts.uri, declared, limit, "request body over the limit refused");
        return Err(TransportError::PayloadTooLarge);
    }
    let mut body = std::pin::pin!(body);
    // One chunk, the usual body, is kept as it came; only several are joined.
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    let mut received = 0usize;
    loop {
        let frame = match tokio::time::timeout(limits.body_read_timeout, body.frame()).await {
            Err(_stalled) => {
                if let Some(suppressed) = STALLED.admit() {
                    info!(uri = %parts.uri, received, timeout = ?limits.body_read_timeout, suppressed, "stalled request body given up");
                }
                return Err(TransportError::BodyTimeout);
            }
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(error))) => {
                debug!(uri = %parts.uri, %error, "request body could not be read");
                return Err(TransportError::BadRequest(
                    "body could not be read".to_owned(),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            // Trailers carry nothing for a payload.
            continue;
        };
        received += data.len();
        if received > limit {
            info!(uri = %parts.uri, limit, "request body over the limit refused");
            return Err(TransportError::PayloadTooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            None => joined.extend_from_slice(&data),
            Some(earlier) => {
                joined.reserve(earlier.len() + data.len());
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// Splits payload text into packets. A body whose framing does not add up is rejected whole
/// (docs/protocol.md §3.9), as is one that frames more than `max_packets`, before any is
/// decoded; single packets that do not decode are logged and skipped, as the reference ignores
/// them (C33).
pub(crate) fn decode_payload(
    sid: &str,
    text: &str,
    max_packets: usize,
) -> Result<Vec<ferrio_protocol::Packet>, TransportError> {
    // A client decides how many such bodies it sends: their lines are sampled.
    static BROKEN: LogGate = LogGate::new();
    static TOO_MANY: LogGate = LogGate::new();
    let parts = ferrio_protocol::unframe(text).map_err(|error| {
        if let Some(suppressed) = BROKEN.admit() {
            info!(sid, %error, suppressed, "POST body with broken framing dropped");
        }
        TransportError::BadRequest(format!("broken payload framing: {error}"))
    })?;
    if parts.len() > max_packets {
        if let Some(suppressed) = TOO_MANY.admit() {
            info!(
                sid,
                packets = parts.len(),
                limit = max_packets,
                suppressed,
                "POST body with too many packets refused"
            );
        }
        return Err(TransportError::TooManyPackets);
    }
    Ok(parts
        .into_iter()
        .filter_map(|part| match ferrio_protocol::decode(part) {
            Ok(packet) => Some(packet),
            Err(error) => {
                debug!(sid, %error, packet = %part.chars().take(64).collect::<String>(), "undecodable packet ignored");
                None
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_framing_more_packets_than_allowed_is_refused_whole() {
        let body = ferrio_protocol::frame(&["2::", "2::", "2::"]);
        assert_eq!(decode_payload("s", &body, 3).map(|p| p.len()), Ok(3));
        assert_eq!(
            decode_payload("s", &body, 2),
            Err(TransportError::TooManyPackets)
        );
        assert_eq!(
            TransportError::TooManyPackets.status(),
            http::StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
