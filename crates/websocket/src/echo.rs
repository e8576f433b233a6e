//! An RFC 6455 echo on the reader, parser and writer that sessions use, for conformance runs
//! of the Autobahn case set (`tests/autobahn.rs`): every message goes back as it came, text
//! as text and binary as binary. Only the loop differs from a session's: an echo instead of
//! the packet pump. Not part of the gateway.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use ferrio_transport::Body;
use http::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::pump::{Ended, Failure, PacketSocket};
use crate::reader::{Message, Stop};
use crate::rfc6455::{Rfc6455, WsLimits};
use crate::upgrade::rfc6455_switch;
use crate::writer::Payload;

/// Answers an RFC 6455 upgrade on any path with `101` and echoes on the upgraded connection;
/// a request that is not one gets the status a session's upgrade would (`405`, `426`, `400`).
pub fn upgrade<B: Send + 'static>(mut request: Request<B>, limits: WsLimits) -> Response<Body> {
    let response = match rfc6455_switch(&request) {
        Ok(response) => response,
        Err(error) => return error.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve(TokioIo::new(upgraded), limits).await,
            Err(error) => debug!(%error, "echo upgrade did not complete"),
        }
    });
    response
}

/// Echoes every message on `io`, an RFC 6455 connection after its `101`, until it ends; ends
/// it as a session's connection would (the close code of its failure, the peer's own code
/// answering its close).
pub async fn serve<S>(io: S, limits: WsLimits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut socket = Rfc6455::new(io, limits);
    let mut queue = Vec::new();
    let ended = loop {
        let stop = read_some(&mut socket, &mut queue).await;
        // What was read before a ping goes back before its pong, as it came.
        if let Err(error) = write_back(&mut socket, &mut queue).await {
            break Ended::Failed(Failure::Io(error));
        }
        match stop {
            Some(Stop::Ended(ended)) => break ended,
            Some(Stop::Paused) | None => {
                if let Err(error) = socket.write_replies().await {
                    break Ended::Failed(Failure::Io(error));
                }
            }
        }
    };
    match ended {
        Ended::Close => socket.answer_close().await,
        Ended::Eof | Ended::Failed(Failure::Io(_)) => {}
        Ended::Failed(failure) => {
            debug!(why = %failure, "echo connection failed");
            socket.fail(&failure).await;
        }
    }
}

/// A message to send back.
#[derive(Debug)]
struct Echo {
    binary: bool,
    bytes: Vec<u8>,
}

impl Payload for Echo {
    fn payload(&self) -> &[u8] {
        &self.bytes
    }

    fn is_binary(&self) -> bool {
        self.binary
    }
}

/// Reads into `queue` until the peer's side ends, a ping is owed its pong (`Some`), or
/// messages have arrived and the socket has nothing more for now (`None`): the reader hands
/// on messages as they complete, and only returns at a pause or the end.
async fn read_some<S>(socket: &mut Rfc6455<S>, queue: &mut Vec<Echo>) -> Option<Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let arrived = AtomicBool::new(false);
    let mut on_message = |message: Message<'_>| {
        queue.push(match message {
            Message::Text(text) => Echo {
                binary: false,
                bytes: text.as_bytes().to_vec(),
            },
            Message::Binary(bytes) => Echo {
                binary: true,
                bytes: bytes.to_vec(),
            },
        });
        arrived.store(true, Ordering::Relaxed);
    };
    let mut read = pin!(socket.read(&mut on_message));
    // Dropping the read is safe: every byte it took is parsed or kept by the reader.
    poll_fn(|cx| match read.as_mut().poll(cx) {
        Poll::Ready(stop) => Poll::Ready(Some(stop)),
        Poll::Pending if arrived.load(Ordering::Relaxed) => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Writes the queued messages back in order, in one go.
async fn write_back<S>(socket: &mut Rfc6455<S>, queue: &mut Vec<Echo>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    socket.write_messages(queue).await?;
    queue.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::rfc6455::tests::client_frame;

    #[tokio::test]
    async fn messages_come_back_in_order_with_the_pongs_between_them() {
        let (mut client, server) = tokio::io::duplex(1024);
        let echo = tokio::spawn(serve(server, WsLimits::default()));
        let mut sent = client_frame(0x81, b"a");
        sent.extend(client_frame(0x89, b"p"));
        sent.extend(client_frame(0x02, &[1]));
        sent.extend(client_frame(0x80, &[2]));
        sent.extend(client_frame(0x88, &1000u16.to_be_bytes()));
        client.write_all(&sent).await.ok();
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.ok();
        echo.await.ok();
        assert_eq!(
            received,
            [
                0x81, 1, b'a', 0x8A, 1, b'p', 0x82, 2, 1, 2, 0x88, 2, 0x03, 0xE8
            ]
        );
    }
}
