//! WebSocket and Flash socket upgrades relayed between nodes: a client's upgrade that lands on
//! a node which does not serve its session crosses the link as an RFC 8441 extended `CONNECT`
//! (`:protocol` the client's `Upgrade` token) on its own HTTP/2 stream, and the bytes of the
//! upgraded connection then travel inside that stream, under the link's flow control.
//!
//! - The forwarding node ([`forward_upgrade`]) sends the `CONNECT`; on the serving node's `200`
//!   it answers the client `101 Switching Protocols` as the serving node answered, and copies
//!   bytes both ways ([`relay`]). Any other answer is relayed as it is.
//! - The serving node ([`restore_upgrade`], [`accept_upgrade`]) serves the `CONNECT` as the
//!   client's own `GET` upgrade, so the WebSocket crate serves it unchanged and runs its pump on
//!   the stream, and turns the `101` into the `200` extended `CONNECT` needs.
//!
//! What HTTP/2 cannot carry crosses in the link's own headers: the client's `Host` (draft 76
//! names it in its answer), and the answer's `Upgrade` token and reason phrase (draft 76's
//! `WebSocket Protocol Handshake`), so the client sees the answer the serving node gave.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderMap, HeaderValue, UPGRADE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::ext::{Protocol, ReasonPhrase};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::Node;
use crate::link::{LinkBody, LinkError};

/// The client's `Host`, on an upgrade relayed to the serving node.
pub const HOST_HEADER: &str = "x-ferrio-host";
/// The serving node's `Upgrade` token, on its answer to a relayed upgrade.
pub const UPGRADE_HEADER: &str = "x-ferrio-upgrade";
/// The reason phrase of the serving node's `101`, on its answer to a relayed upgrade.
pub const REASON_HEADER: &str = "x-ferrio-reason";

/// What one read of a relayed connection takes at most: the size of each direction's buffer.
const RELAY_BUFFER: usize = 8 * 1024;

/// How long the other direction may still run once one side has closed cleanly: long enough
/// for the closing handshake already under way (the WebSocket pump lingers as long), short
/// enough that a client which never closes holds nothing.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The body of a relayed answer.
pub type AnswerBody = UnsyncBoxBody<Bytes, Infallible>;

/// The `Upgrade` token a client's request asks for, when it asks for one that can name an
/// extended `CONNECT`'s protocol: such a request is relayed through a tunnel, any other one
/// (a plain `GET`, a preflight) as an ordinary request.
pub fn upgrade_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(UPGRADE)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|token| !token.is_empty() && !token.contains([',', ' ']))
}

/// Relays the upgrade `client` asks for to node `peer`, which serves its session:
/// `link_request` is the client's request as the link forwards it (its path, its headers with
/// the link's and without the hop-by-hop ones); `transport` labels it in the metrics. On the
/// peer's `200` the answer is the client's `101` and the bytes are relayed ([`relay`]) until
/// either side ends, a write to either takes longer than `write_timeout`, or `stop` resolves
/// (this node is shutting down); any other answer is the peer's. An error means the peer
/// could not be reached: the client's upgrade is untouched, to be answered here.
pub async fn forward_upgrade<B>(
    node: &Node,
    peer: &str,
    transport: &'static str,
    client: &mut Request<B>,
    mut link_request: Request<LinkBody>,
    write_timeout: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<Response<AnswerBody>, LinkError> {
    let token = upgrade_token(client.headers())
        .unwrap_or("websocket")
        .to_owned();
    *link_request.method_mut() = Method::CONNECT;
    link_request
        .extensions_mut()
        .insert(Protocol::from(token.as_str()));
    let headers = link_request.headers_mut();
    headers.remove(CONTENT_LENGTH);
    if let Some(host) = client.headers().get(HOST) {
        headers.insert(HOST_HEADER, host.clone());
    }
    let mut answer = node.forward(peer, transport, link_request).await?;
    if answer.status() != StatusCode::OK {
        return Ok(node.relay(answer, None).map(BodyExt::boxed_unsync));
    }
    let tunnel = hyper::upgrade::on(&mut answer);
    let upgraded = hyper::upgrade::on(client);
    let switched = switching_protocols(answer.headers(), &token);
    let peer = peer.to_owned();
    tokio::spawn(async move {
        let (upgraded, tunnel) = match (upgraded.await, tunnel.await) {
            (Ok(upgraded), Ok(tunnel)) => (upgraded, tunnel),
            (Err(error), _) | (_, Err(error)) => {
                debug!(node = %peer, %error, "relayed upgrade did not complete");
                return;
            }
        };
        relay(
            TokioIo::new(upgraded),
            TokioIo::new(tunnel),
            write_timeout,
            stop,
        )
        .await;
    });
    Ok(switched)
}

/// The client's `101`: the serving node's answer, with the `Upgrade` token and reason phrase
/// it gave (the client's own token when it named none).
fn switching_protocols(answer: &HeaderMap, token: &str) -> Response<AnswerBody> {
    let mut response = Response::new(
        Empty::new()
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let mut headers = answer.clone();
    let upgrade = headers
        .remove(UPGRADE_HEADER)
        .or_else(|| HeaderValue::from_str(token).ok());
    if let Some(reason) = headers
        .remove(REASON_HEADER)
        .and_then(|reason| ReasonPhrase::try_from(reason.as_bytes()).ok())
    {
        response.extensions_mut().insert(reason);
    }
    headers.remove(CONTENT_LENGTH);
    if let Some(upgrade) = upgrade {
        headers.insert(UPGRADE, upgrade);
    }
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    *response.headers_mut() = headers;
    response
}

/// On the serving node: makes an extended `CONNECT` the link carried the client's own upgrade
/// again (`GET`, `Upgrade: <protocol>`, `Connection: Upgrade`, its `Host`), so the gateway
/// routes it and the WebSocket crate serves it as it serves any. Whether it was one.
pub fn restore_upgrade<B>(request: &mut Request<B>) -> bool {
    if request.method() != Method::CONNECT {
        return false;
    }
    let Some(protocol) = request
        .extensions()
        .get::<Protocol>()
        .and_then(|protocol| HeaderValue::from_str(protocol.as_str()).ok())
    else {
        return false;
    };
    *request.method_mut() = Method::GET;
    let headers = request.headers_mut();
    headers.insert(UPGRADE, protocol);
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Some(host) = headers.remove(HOST_HEADER) {
        headers.insert(HOST, host);
    }
    true
}

/// On the serving node: the answer to a relayed upgrade as HTTP/2 carries it. A `101` becomes
/// the `200` that opens the tunnel, without the connection-specific headers HTTP/2 forbids
/// (their token and the reason phrase cross in the link's own headers); any other answer
/// stays as it is.
pub fn accept_upgrade<B>(response: &mut Response<B>) {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return;
    }
    *response.status_mut() = StatusCode::OK;
    let reason = response
        .extensions_mut()
        .remove::<ReasonPhrase>()
        .and_then(|reason| HeaderValue::from_bytes(reason.as_bytes()).ok());
    let headers = response.headers_mut();
    if let Some(upgrade) = headers.remove(UPGRADE) {
        headers.insert(UPGRADE_HEADER, upgrade);
    }
    if let Some(reason) = reason {
        headers.insert(REASON_HEADER, reason);
    }
    headers.remove(CONNECTION);
    headers.remove(CONTENT_LENGTH);
}

/// Copies bytes both ways between a client's upgraded connection and the tunnel to the node
/// serving its session, until one side ends.
///
/// Neither side can hold the relay: a write to either that does not complete within
/// `write_timeout` ends both, and so does a failure of either. A side that closes cleanly has
/// the other's writing half shut (the serving node's pump sees the client's end, the client
/// the server's), and the other direction gets two seconds to finish the closing
/// handshake; then both are dropped. When `stop` resolves first, both are dropped at once.
pub async fn relay<C, T>(
    client: C,
    tunnel: T,
    write_timeout: Duration,
    stop: impl Future<Output = ()>,
) where
    C: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut tunnel_read, mut tunnel_write) = tokio::io::split(tunnel);
    let up = pipe(&mut client_read, &mut tunnel_write, write_timeout);
    let down = pipe(&mut tunnel_read, &mut client_write, write_timeout);
    tokio::pin!(up, down);
    let client_first = tokio::select! {
        ended = &mut up => ended.map(|()| true),
        ended = &mut down => ended.map(|()| false),
        () = stop => {
            debug!("relayed socket cut: this node is shutting down");
            return;
        }
    };
    match client_first {
        Ok(true) => {
            debug!("relayed socket closed by the client");
            let _ = tokio::time::timeout(CLOSE_LINGER, down).await;
        }
        Ok(false) => {
            debug!("relayed socket closed by the serving node");
            let _ = tokio::time::timeout(CLOSE_LINGER, up).await;
        }
        Err(error) => debug!(%error, "relayed socket ended"),
    }
}

/// Copies `from` to `to` until `from` ends (then shuts `to`'s writing half: `Ok`), either
/// fails, or a write to `to` takes longer than `write_timeout`.
async fn pipe<R, W>(from: &mut R, to: &mut W, write_timeout: Duration) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; RELAY_BUFFER];
    loop {
        let read = from.read(&mut buffer).await?;
        let written = async {
            if read == 0 {
                return to.shutdown().await;
            }
            to.write_all(&buffer[..read]).await?;
            to.flush().await
        };
        tokio::time::timeout(write_timeout, written)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("a relayed write took nothing for {write_timeout:?}"),
                )
            })??;
        if read == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_cross_both_ways_and_one_end_closes_the_other() {
        let (client, mut client_peer) = tokio::io::duplex(64);
        let (tunnel, mut tunnel_peer) = tokio::io::duplex(64);
        let relaying = tokio::spawn(relay(
            client,
            tunnel,
            Duration::from_secs(5),
            std::future::pending(),
        ));
        client_peer.write_all(b"key3 and a frame").await.unwrap();
        let mut seen = [0u8; 16];
        tunnel_peer.read_exact(&mut seen).await.unwrap();
        assert_eq!(&seen, b"key3 and a frame");
        tunnel_peer.write_all(b"digest").await.unwrap();
        let mut seen = [0u8; 6];
        client_peer.read_exact(&mut seen).await.unwrap();
        assert_eq!(&seen, b"digest");
        // The client's end reaches the tunnel as an end.
        client_peer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        tunnel_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        drop(tunnel_peer);
        tokio::time::timeout(Duration::from_secs(1), relaying)
            .await
            .expect("the relay ends with its sides")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_side_that_takes_nothing_ends_both_after_the_write_timeout() {
        let (client, client_peer) = tokio::io::duplex(16);
        let (tunnel, mut tunnel_peer) = tokio::io::duplex(16);
        let relaying = tokio::spawn(relay(
            client,
            tunnel,
            Duration::from_secs(3),
            std::future::pending(),
        ));
        // The client reads nothing: its buffer fills and the write waits.
        tunnel_peer.write_all(&[b'x'; 40]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(relaying.is_finished(), "a stalled write ends the relay");
        let mut rest = Vec::new();
        tunnel_peer.read_to_end(&mut rest).await.unwrap();
        drop(client_peer);
    }

    #[test]
    fn an_upgrade_crosses_as_extended_connect_and_back() {
        let mut request = Request::builder()
            .method(Method::CONNECT)
            .uri("http://10.0.0.1:7000/socket.io/1/websocket/abc")
            .header(HOST_HEADER, "chat.example:80")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(Protocol::from_static("WebSocket"));
        assert!(restore_upgrade(&mut request));
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.headers()[UPGRADE], "WebSocket");
        assert_eq!(request.headers()[CONNECTION], "Upgrade");
        assert_eq!(request.headers()[HOST], "chat.example:80");

        let mut answer = Response::new(());
        *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        answer
            .extensions_mut()
            .insert(ReasonPhrase::from_static(b"WebSocket Protocol Handshake"));
        answer
            .headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("WebSocket"));
        answer
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        answer.headers_mut().insert(
            "sec-websocket-location",
            HeaderValue::from_static("ws://chat.example/x"),
        );
        accept_upgrade(&mut answer);
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(answer.headers().get(UPGRADE).is_none());
        assert!(answer.headers().get(CONNECTION).is_none());

        let switched = switching_protocols(answer.headers(), "websocket");
        assert_eq!(switched.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(switched.headers()[UPGRADE], "WebSocket");
        assert_eq!(switched.headers()[CONNECTION], "Upgrade");
        assert_eq!(
            switched.headers()["sec-websocket-location"],
            "ws://chat.example/x"
        );
        assert!(switched.headers().get(REASON_HEADER).is_none());
        assert_eq!(
            switched
                .extensions()
                .get::<ReasonPhrase>()
                .map(ReasonPhrase::as_bytes),
            Some(&b"WebSocket Protocol Handshake"[..])
        );
        let plain = Request::new(());
        assert!(!restore_upgrade(&mut { plain }));
    }
}
