//! One connection served by the lean path: read a request, call the service, write its
//! response, again while the client keeps the connection alive.

use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::io;
use std::mem::MaybeUninit;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::debug;

use crate::head::{
    CHUNK_END, Framing, LAST_CHUNK, LeanRequest, Parsed, encode_response_head, parse_request,
    put_chunk_start, refusal,
};
use crate::rewind::Rewind;

/// A boxed error of a service or a response body.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How much is read from the socket at a time, into a buffer on the stack that lives only
/// while the read is polled; what arrives is kept in a vector sized to it.
const READ_CHUNK: usize = 8 * 1024;

/// Body frames up to this size are copied behind the head (or the chunk line) so that both
/// leave in one write; larger ones are written from where they are, with a vectored write.
const INLINE_FRAME: usize = 16 * 1024;

/// The limits a lean connection works within.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a request head may take to arrive, counted from the moment the connection
    /// waits for one, so it also closes a kept-alive connection left idle. `None`: no limit.
    pub header_read_timeout: Option<Duration>,
    /// The largest request head; a longer one is answered `431`.
    pub max_head_bytes: usize,
    /// The largest body read before the service is called; requests declaring a longer one
    /// are handed to hyper, which streams the body to the service.
    pub max_body_bytes: usize,
    /// How long a body may go without a byte arriving before the request is answered `408`.
    pub body_read_timeout: Duration,
}

/// How a lean connection ended.
#[derive(Debug)]
pub enum Ended<I> {
    /// Closed: by the client, after a response it asked to be the last, after a request
    /// refused with `400`/`431`/`408`, or at shutdown.
    Closed,
    /// No complete request head arrived within the header read timeout.
    HeaderTimeout,
    /// Reading or writing the connection failed.
    Failed(io::Error),
    /// The service or a response body failed; the connection was closed.
    ServiceFailed(BoxError),
    /// A request the lean path leaves to hyper (see [`Parsed::HandOff`]): the connection, with
    /// every byte read from it so far put back, for hyper to serve from here on.
    HandOff(Rewind<I>),
}

/// Why the client stopped being there while a response was on its way.
enum Gone {
    /// It closed the connection.
    Closed,
    Failed(io::Error),
    Body(BoxError),
}

impl<I> From<Gone> for Ended<I> {
    fn from(gone: Gone) -> Self {
        match gone {
            Gone::Closed => Ended::Closed,
            Gone::Failed(error) => Ended::Failed(error),
            Gone::Body(error) => Ended::ServiceFailed(error),
        }
    }
}

/// What waiting for a request head gave.
enum Head<I> {
    /// Boxed: what the connection's task keeps room for while it waits is sized by this.
    Lean(Box<LeanRequest>),
    HandOff,
    Refuse(StatusCode),
    Ended(Ended<I>),
}

/// Serves `io` until it closes, calling `service` for each request, or hands it on: see
/// [`Ended`]. When `stop` turns `true`, the connection closes once the request in flight (if
/// any) is answered.
///
/// Between requests, and while a response waits (a held poll) or streams, the connection
/// holds no buffer: bytes are read through the stack and kept only while a request is
/// incomplete. A client that closes the connection while its response waits or streams
/// drops the service's future or the body, as hyper does.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future, which a waiting connection holds"
)]
pub fn serve<I, S, F, B, E>(
    mut io: I,
    settings: Settings,
    mut service: S,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = Ended<I>>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: FnMut(Request<Full<Bytes>>) -> F,
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    async move {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let (request, body_len, close) =
                match read_request(&mut io, &mut buf, &settings, &mut stop).await {
                    Head::Lean(lean) => {
                        let LeanRequest {
                            request,
                            body_len,
                            close,
                            ..
                        } = *lean;
                        (request, body_len, close)
                    }
                    Head::HandOff => return Ended::HandOff(Rewind::new(buf, io)),
                    Head::Refuse(status) => {
                        debug!(%status, "request refused before its service");
                        return close_with(&mut io, &refusal(status)).await;
                    }
                    Head::Ended(ended) => return ended,
                };
            let body = take_body(&mut buf, body_len);
            if buf.is_empty() {
                // Nothing pipelined behind: let go of the read buffer while the response waits.
                buf = Vec::new();
            }
            // The exchange is boxed for as long as it lasts: the task, which lives as long as
            // the connection, stays sized for waiting between requests.
            let exchange = Box::pin(exchange(
                &mut io,
                &mut buf,
                settings.max_head_bytes,
                service(request.map(|()| Full::new(body))),
                &stop,
                close,
            ));
            let close = match exchange.await {
                Ok(close) => close,
                Err(ended) => return ended,
            };
            if close {
                let _ = io.shutdown().await;
                return Ended::Closed;
            }
        }
    }
}

/// Waits for the service's `responding` while watching the client, then writes the response.
/// Whether the connection closes after it: when `close` (the client asked), or when `stop`
/// was raised while the response was on its way.
async fn exchange<I, F, B, E>(
    io: &mut I,
    buf: &mut Vec<u8>,
    limit: usize,
    responding: F,
    stop: &watch::Receiver<bool>,
    close: bool,
) -> Result<bool, Ended<I>>
where
    I: AsyncRead + AsyncWrite + Unpin,
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    let response = match watch_client(io, buf, limit, responding).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return Err(Ended::ServiceFailed(error.into())),
        Err(gone) => return Err(gone.into()),
    };
    let close = close || *stop.borrow();
    // Boxed too: a poll's exchange waits far longer than its response takes to write.
    let writing = Box::pin(write_response(io, buf, limit, response, close));
    match writing.await {
        Ok(()) => Ok(close),
        Err(gone) => Err(gone.into()),
    }
}

/// Reads a whole request: its head, then its body, which is left at the start of `buf` (the
/// head taken out). Ends at the header read timeout, at `stop` while no request has begun to
/// arrive, or at the end of the connection; a body that goes the body read timeout without a
/// byte is refused with `408`.
async fn read_request<I: AsyncRead + Unpin>(
    io: &mut I,
    buf: &mut Vec<u8>,
    settings: &Settings,
    stop: &mut watch::Receiver<bool>,
) -> Head<I> {
    let deadline = settings
        .header_read_timeout
        .map(|timeout| Instant::now() + timeout);
    let lean = loop {
        if !buf.is_empty() {
            match parse_request(buf, settings.max_body_bytes) {
                Parsed::Partial if buf.len() >= settings.max_head_bytes => {
                    return Head::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                }
                Parsed::Partial => {}
                Parsed::Lean(lean) => break lean,
                Parsed::HandOff => return Head::HandOff,
                Parsed::TooManyHeaders => {
                    return Head::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                }
                Parsed::Malformed => return Head::Refuse(StatusCode::BAD_REQUEST),
            }
        }
        if *stop.borrow() {
            return Head::Ended(Ended::Closed);
        }
        let timeout = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = poll_fn(|cx| poll_read_more(io, buf, cx)) => match read {
                Ok(0) => return Head::Ended(Ended::Closed),
                Ok(_) => {}
                Err(error) => return Head::Ended(Ended::Failed(error)),
            },
            () = timeout => return Head::Ended(Ended::HeaderTimeout),
            changed = stop.changed() => if changed.is_err() {
                return Head::Ended(Ended::Closed);
            },
        }
    };
    buf.drain(..lean.head_len);
    while buf.len() < lean.body_len {
        let read = poll_fn(|cx| poll_read_more(io, buf, cx));
        match tokio::time::timeout(settings.body_read_timeout, read).await {
            Ok(Ok(0)) => return Head::Ended(Ended::Closed),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Head::Ended(Ended::Failed(error)),
            Err(_stalled) => {
                debug!(received = buf.len(), lean.body_len, "stalled request body");
                return Head::Refuse(StatusCode::REQUEST_TIMEOUT);
            }
        }
    }
    Head::Lean(lean)
}

/// The first `body_len` bytes of `buf`, taken out of it; without a copy when they are all
/// of it.
fn take_body(buf: &mut Vec<u8>, body_len: usize) -> Bytes {
    if body_len == 0 {
        Bytes::new()
    } else if buf.len() == body_len {
        Bytes::from(std::mem::take(buf))
    } else {
        let body = Bytes::copy_from_slice(&buf[..body_len]);
        buf.drain(..body_len);
        body
    }
}

/// Writes `answer`, then closes the connection.
async fn close_with<I: AsyncWrite + Unpin>(io: &mut I, answer: &[u8]) -> Ended<I> {
    if let Err(error) = io.write_all(answer).await {
        return Ended::Failed(error);
    }
    let _ = io.shutdown().await;
    Ended::Closed
}

/// Polls one read from `io` into a buffer on the stack and appends what came to `buf`: the
/// number of bytes, 0 at the end of the stream.
fn poll_read_more<I: AsyncRead + Unpin>(
    io: &mut I,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    // Uninitialised: zeroing 8 KiB for every read showed in profiles.
    let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
    let mut read = ReadBuf::uninit(&mut chunk);
    ready!(Pin::new(io).poll_read(cx, &mut read))?;
    buf.extend_from_slice(read.filled());
    Poll::Ready(Ok(read.filled().len()))
}

/// Runs `future` while watching the connection: a client that closes it (or breaks it) ends
/// the wait, and `future` is dropped. What the client sends meanwhile (a pipelined request)
/// is kept in `buf`, up to `limit` bytes; past that the connection is not read until the
/// response is written.
async fn watch_client<I, F>(
    io: &mut I,
    buf: &mut Vec<u8>,
    limit: usize,
    future: F,
) -> Result<F::Output, Gone>
where
    I: AsyncRead + Unpin,
    F: Future,
{
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        while buf.len() < limit {
            match poll_read_more(io, buf, cx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(Gone::Closed)),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Err(Gone::Failed(error))),
                Poll::Pending => break,
            }
        }
        Poll::Pending
    })
    .await
}

/// Writes `response`: its head, then its body frames as they come, while watching the
/// client. A frame ready with the head (a poll's answer) leaves in the same write; between
/// the frames of a stream nothing is buffered.
async fn write_response<I, B>(
    io: &mut I,
    buf: &mut Vec<u8>,
    limit: usize,
    response: Response<B>,
    close: bool,
) -> Result<(), Gone>
where
    I: AsyncRead + AsyncWrite + Unpin,
    B: Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let mut body = pin!(body);
    let mut out = Vec::with_capacity(256);
    let known_length = body.size_hint().exact();
    let framing = encode_response_head(parts.status, &parts.headers, known_length, close, &mut out);
    if framing == Framing::None || body.is_end_stream() {
        return write_all(io, &out).await;
    }
    let chunked = framing == Framing::Chunked;
    loop {
        let polled = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
        let next = match polled {
            Poll::Ready(next) => next,
            Poll::Pending => {
                if !out.is_empty() {
                    write_all(io, &out).await?;
                }
                out = Vec::new();
                watch_client(io, buf, limit, body.frame()).await?
            }
        };
        let frame = match next {
            None => {
                if chunked {
                    out.extend_from_slice(LAST_CHUNK);
                }
                return if out.is_empty() {
                    Ok(())
                } else {
                    write_all(io, &out).await
                };
            }
            Some(Err(error)) => return Err(Gone::Body(error.into())),
            Some(Ok(frame)) => frame,
        };
        // Trailers have no place in the responses served here; they are dropped.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let len = data.remaining();
        if len == 0 {
            continue;
        }
        if chunked {
            put_chunk_start(&mut out, len);
        }
        if len <= INLINE_FRAME {
            while data.has_remaining() {
                let piece = data.chunk();
                let taken = piece.len();
                out.extend_from_slice(piece);
                data.advance(taken);
            }
        } else {
            let mut both = (&out[..]).chain(data);
            io.write_all_buf(&mut both).await.map_err(Gone::Failed)?;
            io.flush().await.map_err(Gone::Failed)?;
            out.clear();
        }
        if chunked {
            out.extend_from_slice(CHUNK_END);
        }
    }
}

/// Writes and flushes `bytes`.
async fn write_all<I: AsyncWrite + Unpin>(io: &mut I, bytes: &[u8]) -> Result<(), Gone> {
    io.write_all(bytes).await.map_err(Gone::Failed)?;
    io.flush().await.map_err(Gone::Failed)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use http_body_util::combinators::UnsyncBoxBody;
    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::sync::mpsc;

    use super::*;

    const SETTINGS: Settings = Settings {
        header_read_timeout: Some(Duration::from_secs(5)),
        max_head_bytes: 4096,
        max_body_bytes: 1024,
        body_read_timeout: Duration::from_secs(3),
    };

    type TestBody = UnsyncBoxBody<Bytes, Infallible>;

    /// Echoes the method, path and body.
    async fn echo(request: Request<Full<Bytes>>) -> Result<Response<TestBody>, Infallible> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|all| all.to_bytes())
            .unwrap_or_default();
        let text = format!(
            "{} {} {}",
            parts.method,
            parts.uri,
            String::from_utf8_lossy(&body)
        );
        Ok(Response::new(Full::new(Bytes::from(text)).boxed_unsync()))
    }

    fn start<S, F>(
        service: S,
    ) -> (
        DuplexStream,
        tokio::task::JoinHandle<Ended<DuplexStream>>,
        watch::Sender<bool>,
    )
    where
        S: FnMut(Request<Full<Bytes>>) -> F + Send + 'static,
        F: Future<Output = Result<Response<TestBody>, Infallible>> + Send + 'static,
    {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(server, SETTINGS, service, stopped));
        (client, task, stop)
    }

    /// Reads until `until` has appeared `times` times in what was read.
    async fn read_until(client: &mut DuplexStream, until: &str, times: usize) -> String {
        let mut all = Vec::new();
        let mut chunk = [0u8; 1024];
        while String::from_utf8_lossy(&all).matches(until).count() < times {
            let read = client.read(&mut chunk).await.unwrap();
            assert!(read > 0, "closed after {:?}", String::from_utf8_lossy(&all));
            all.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8(all).unwrap()
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order_on_one_connection() {
        let (mut client, task, _stop) = start(echo);
        client
            .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .await
            .unwrap();
        let answers = read_until(&mut client, "\r\n\r\n", 2).await;
        let answers = if answers.ends_with("hello") {
            answers
        } else {
            answers + &read_until(&mut client, "hello", 1).await
        };
        let first = answers.find("GET /a ").expect(&answers);
        let second = answers.find("POST /b hello").expect(&answers);
        assert!(first < second, "{answers}");
        assert_eq!(
            answers.matches("HTTP/1.1 200 OK\r\n").count(),
            2,
            "{answers}"
        );
        drop(client);
        assert!(matches!(task.await.unwrap(), Ended::Closed));
    }

    #[tokio::test]
    async fn a_client_that_leaves_drops_the_waiting_response() {
        let dropped = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&dropped);
        let (mut client, task, _stop) = start(move |_request| {
            struct Guard(Arc<AtomicBool>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let guard = Guard(Arc::clone(&seen));
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok(Response::new(Full::new(Bytes::new()).boxed_unsync()))
            }
        });
        client
            .write_all(b"GET /poll HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!dropped.load(Ordering::SeqCst));
        drop(client);
        assert!(matches!(task.await.unwrap(), Ended::Closed));
        assert!(dropped.load(Ordering::SeqCst));
    }

    /// A body of the frames `rx` receives.
    struct ChannelBody(mpsc::UnboundedReceiver<Bytes>);

    impl Body for ChannelBody {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
            self.get_mut()
                .0
                .poll_recv(cx)
                .map(|data| data.map(|data| Ok(http_body::Frame::data(data))))
        }
    }

    #[tokio::test]
    async fn a_streamed_body_goes_out_chunk_by_chunk() {
        let (senders, mut sent) = mpsc::unbounded_channel();
        let (mut client, _task, _stop) = start(move |_request| {
            let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
            let _ = senders.send(tx);
            async move { Ok(Response::new(ChannelBody(rx).boxed_unsync())) }
        });
        client
            .write_all(b"GET /stream HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let head = read_until(&mut client, "\r\n\r\n", 1).await;
        assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
        let tx = sent.recv().await.unwrap();
        tx.send(Bytes::from_static(b"one")).unwrap();
        assert_eq!(read_until(&mut client, "one\r\n", 1).await, "3\r\none\r\n");
        tx.send(Bytes::from_static(b"two!")).unwrap();
        assert_eq!(
            read_until(&mut client, "two!\r\n", 1).await,
            "4\r\ntwo!\r\n"
        );
        drop(tx);
        assert_eq!(read_until(&mut client, "0\r\n\r\n", 1).await, "0\r\n\r\n");
    }

    #[tokio::test]
    async fn an_upgrade_is_handed_on_with_the_bytes_read() {
        let (mut client, task, _stop) = start(echo);
        let raw = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        client.write_all(raw).await.unwrap();
        let Ended::HandOff(mut rewound) = task.await.unwrap() else {
            panic!("not handed on");
        };
        let mut again = vec![0u8; raw.len()];
        rewound.read_exact(&mut again).await.unwrap();
        assert_eq!(again, raw);
    }

    /// What the connection answers `sent` before it closes, and how it ended.
    async fn refused(sent: &[u8]) -> (String, Ended<DuplexStream>) {
        let (mut client, task, _stop) = start(echo);
        client.write_all(sent).await.unwrap();
        let mut all = String::new();
        client.read_to_string(&mut all).await.unwrap();
        (all, task.await.unwrap())
    }

    #[tokio::test]
    async fn malformed_requests_get_400_and_the_connection_closes() {
        let (answer, ended) = refused(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n").await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(matches!(ended, Ended::Closed));
    }

    #[tokio::test(start_paused = true)]
    async fn slow_heads_and_stalled_bodies_are_cut_off() {
        let (mut client, task, _stop) = start(echo);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert!(matches!(task.await.unwrap(), Ended::HeaderTimeout));

        let (answer, ended) = refused(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").await;
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{answer}"
        );
        assert!(matches!(ended, Ended::Closed));
    }

    #[tokio::test]
    async fn stop_closes_a_connection_waiting_for_its_next_request() {
        let (mut client, task, stop) = start(echo);
        client.write_all(b"GET /a HTTP/1.1\r\n\r\n").await.unwrap();
        read_until(&mut client, "GET /a", 1).await;
        stop.send_replace(true);
        assert!(matches!(task.await.unwrap(), Ended::Closed));
    }
}
