//! Reading a WebSocket connection without a read buffer per connection: whatever the socket
//! has is read into one scratch buffer per worker thread and parsed there, in place; a
//! connection keeps bytes only while a frame is split across reads. An idle connection so
//! holds no read buffer at all, and a text message that arrived whole is handed to the hub
//! straight from the scratch buffer, without a copy or an allocation.
//!
//! What a connection does keep, a message begun and not finished, it keeps for the message
//! timeout at most: a client that stops halfway (or trickles) cannot pin the buffer until its
//! heartbeat is missed.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Sleep;

use crate::pump::{Ended, Failure};

/// How many bytes one read takes at most: enough for a burst of small frames, small enough
/// that the per-thread buffer costs nothing.
const SCRATCH_BYTES: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_BYTES]);
}

/// One complete message from the client, straight from the bytes it arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message<'a> {
    /// A text message, checked to be UTF-8.
    Text(&'a str),
    /// A binary message (RFC 6455 only).
    Binary(&'a [u8]),
}

/// Where a parser hands each completed message.
pub(crate) type OnMessage<'a> = dyn FnMut(Message<'_>) + Send + 'a;

/// What a protocol parser made of the bytes at the front of what was received.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// One whole frame of this many bytes was taken: a text message went to the hub, a
    /// control frame was handled or an ignored frame skipped.
    Frame(usize),
    /// One whole frame of this many bytes was taken, and the caller must act on it before
    /// reading on (RFC 6455 owes the peer a pong).
    Pause(usize),
    /// The bytes do not hold a whole frame yet.
    Incomplete,
    /// The connection ends: the peer's closing handshake, or bytes that break the protocol.
    End(Ended),
}

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The connection ends.
    Ended(Ended),
    /// A parser asked to act before reading on; reading again resumes where it paused.
    Paused,
}

/// One WebSocket protocol's framing of what the client sends.
pub(crate) trait FrameParser {
    /// Parses the frame at the front of `bytes`, handing a completed message to
    /// `on_message`. `bytes` always starts at a frame boundary. A parser may rewrite the
    /// bytes, an incomplete frame's too (RFC 6455 unmasks in place as the payload arrives):
    /// what is left unparsed is kept as rewritten, and handed back, followed by what arrives
    /// next, at the next call.
    fn parse(&mut self, bytes: &mut [u8], on_message: &mut OnMessage<'_>) -> Parsed;

    /// Whether the parser holds part of a message across whole frames (RFC 6455 fragments).
    fn in_message(&self) -> bool {
        false
    }
}

/// The bytes of a frame split across reads; empty, with no allocation, between frames.
#[derive(Debug)]
pub(crate) struct FrameReader {
    tail: Vec<u8>,
    /// The tail may hold whole frames: parsing paused before them.
    paused: bool,
    /// How long a message may take from its first byte to its last.
    message_timeout: Duration,
    /// The deadline of the message begun and not finished; `None` between messages, so an
    /// idle connection holds no timer.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl FrameReader {
    /// A reader that gives a message `message_timeout` to arrive whole once it has begun.
    pub(crate) fn new(message_timeout: Duration) -> Self {
        FrameReader {
            tail: Vec::new(),
            paused: false,
            message_timeout,
            deadline: None,
        }
    }

    /// Reads and parses until the connection ends or a parser pauses, handing each message
    /// to `on_message`. Cancel-safe: every byte read is parsed or kept before the future
    /// can be dropped.
    pub(crate) async fn read<S, P>(
        &mut self,
        io: &mut S,
        parser: &mut P,
        on_message: &mut OnMessage<'_>,
    ) -> Stop
    where
        S: AsyncRead + Unpin,
        P: FrameParser,
    {
        poll_fn(|cx| self.poll_read(cx, io, parser, on_message)).await
    }

    fn poll_read<S, P>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut S,
        parser: &mut P,
        on_message: &mut OnMessage<'_>,
    ) -> Poll<Stop>
    where
        S: AsyncRead + Unpin,
        P: FrameParser,
    {
        if std::mem::take(&mut self.paused) {
            let tail = std::mem::take(&mut self.tail);
            let stop = self.keep_rest(tail, parser, on_message);
            self.track_message(parser);
            if let Some(stop) = stop {
                return Poll::Ready(stop);
            }
        }
        // Reads until the socket has nothing more; tokio's cooperative budget makes a read
        // return `Pending` after a while, so a flooding client cannot starve the others.
        loop {
            let step = with_scratch(|scratch| {
                let mut read = ReadBuf::new(scratch);
                if let Err(error) = ready!(Pin::new(&mut *io).poll_read(cx, &mut read)) {
                    return Poll::Ready(Some(Stop::Ended(Ended::Failed(Failure::Io(error)))));
                }
                let filled = read.filled().len();
                if filled == 0 {
                    return Poll::Ready(Some(Stop::Ended(Ended::Eof)));
                }
                let stop = self.take(&mut scratch[..filled], parser, on_message);
                self.track_message(parser);
                Poll::Ready(stop)
            });
            match step {
                Poll::Ready(Some(stop)) => return Poll::Ready(stop),
                Poll::Ready(None) => {}
                Poll::Pending => return self.poll_deadline(cx),
            }
        }
    }

    /// Starts the deadline when a message has begun and none is running, drops it when no
    /// message is in progress. A message that completes while the next one begins in the
    /// same read restarts it: [`FrameReader::take`] drops it at every message boundary.
    fn track_message<P: FrameParser>(&mut self, parser: &P) {
        let in_message = !self.tail.is_empty() || parser.in_message();
        if !in_message {
            self.deadline = None;
        } else if self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep(self.message_timeout)));
        }
    }

    /// With nothing to read: ends the connection if a message begun has run out of time,
    /// else waits (for bytes, or for the deadline).
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Stop> {
        let Some(deadline) = &mut self.deadline else {
            return Poll::Pending;
        };
        ready!(deadline.as_mut().poll(cx));
        self.deadline = None;
        self.tail = Vec::new();
        Poll::Ready(Stop::Ended(Ended::Failed(Failure::Stalled(
            self.message_timeout,
        ))))
    }

    /// Parses freshly read bytes after whatever was kept from before; keeps what is left.
    fn take<P: FrameParser>(
        &mut self,
        fresh: &mut [u8],
        parser: &mut P,
        on_message: &mut OnMessage<'_>,
    ) -> Option<Stop> {
        if self.tail.is_empty() {
            let (used, stop) = self.parse_frames(fresh, parser, on_message);
            if !matches!(stop, Some(Stop::Ended(_))) && used < fresh.len() {
                self.tail.extend_from_slice(&fresh[used..]);
                self.paused = stop.is_some();
            }
            return stop;
        }
        let mut tail = std::mem::take(&mut self.tail);
        tail.extend_from_slice(fresh);
        self.keep_rest(tail, parser, on_message)
    }

    /// Parses `bytes` and keeps what is left of them as the tail.
    fn keep_rest<P: FrameParser>(
        &mut self,
        mut bytes: Vec<u8>,
        parser: &mut P,
        on_message: &mut OnMessage<'_>,
    ) -> Option<Stop> {
        let (used, stop) = self.parse_frames(&mut bytes, parser, on_message);
        if matches!(stop, Some(Stop::Ended(_))) || used == bytes.len() {
            // Gives the memory back: the connection may now stay idle for hours.
            self.tail = Vec::new();
        } else {
            bytes.drain(..used);
            self.tail = bytes;
            self.paused = stop.is_some();
        }
        stop
    }

    /// Parses every whole frame in `bytes`; returns how many bytes they took and why parsing
    /// stopped early, if it did. A frame that leaves no message in progress ends the running
    /// deadline, so the next message gets a whole one.
    fn parse_frames<P: FrameParser>(
        &mut self,
        bytes: &mut [u8],
        parser: &mut P,
        on_message: &mut OnMessage<'_>,
    ) -> (usize, Option<Stop>) {
        let mut used = 0;
        while used < bytes.len() {
            let parsed = parser.parse(&mut bytes[used..], on_message);
            if matches!(parsed, Parsed::Frame(_) | Parsed::Pause(_)) && !parser.in_message() {
                self.deadline = None;
            }
            match parsed {
                Parsed::Frame(length) => used += length,
                Parsed::Pause(length) => return (used + length, Some(Stop::Paused)),
                Parsed::Incomplete => break,
                Parsed::End(ended) => return (used, Some(Stop::Ended(ended))),
            }
        }
        (used, None)
    }
}

/// Runs `f` on this thread's scratch buffer, or on a fresh one should `f` ever be re-entered.
fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut vec![0; SCRATCH_BYTES]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// Frames of the form `len text` (one length byte), ended by a zero length.
    #[derive(Default)]
    struct LengthPrefixed;

    impl FrameParser for LengthPrefixed {
        fn parse(&mut self, bytes: &mut [u8], on_message: &mut OnMessage<'_>) -> Parsed {
            let Some(&length) = bytes.first() else {
                return Parsed::Incomplete;
            };
            if length == 0 {
                return Parsed::End(Ended::Close);
            }
            let end = 1 + usize::from(length);
            let Some(body) = bytes.get(1..end) else {
                return Parsed::Incomplete;
            };
            match std::str::from_utf8(body) {
                Ok(text) => on_message(Message::Text(text)),
                Err(_) => return Parsed::End(Ended::Failed(Failure::NotUtf8)),
            }
            Parsed::Frame(end)
        }
    }

    /// The text of a message the length-prefixed parsers deliver: they know no other kind.
    fn text_of(message: Message<'_>) -> String {
        match message {
            Message::Text(text) => text.to_owned(),
            Message::Binary(bytes) => panic!("no binary message expected: {bytes:?}"),
        }
    }

    fn feed(reader: &mut FrameReader, chunks: &[&[u8]]) -> (Vec<String>, Option<Stop>) {
        let mut texts = Vec::new();
        let mut on_message = |message: Message<'_>| texts.push(text_of(message));
        let mut ended = None;
        for chunk in chunks {
            let mut chunk = chunk.to_vec();
            ended = reader.take(&mut chunk, &mut LengthPrefixed, &mut on_message);
            if ended.is_some() {
                break;
            }
        }
        (texts, ended)
    }

    #[test]
    fn whole_frames_leave_nothing_behind() {
        let mut reader = FrameReader::new(TIMEOUT);
        let (texts, ended) = feed(&mut reader, &[b"\x02ab\x01c"]);
        assert_eq!(texts, ["ab", "c"]);
        assert!(ended.is_none());
        assert_eq!(reader.tail.capacity(), 0);
    }

    #[test]
    fn a_frame_split_across_reads_is_kept_then_released() {
        let mut reader = FrameReader::new(TIMEOUT);
        let (texts, _) = feed(&mut reader, &[b"\x05he", b"l", b"lo\x02x"]);
        assert_eq!(texts, ["hello"]);
        assert_eq!(reader.tail, b"\x02x");
        let (texts, _) = feed(&mut reader, &[b"y"]);
        assert_eq!(texts, ["xy"]);
        assert_eq!(reader.tail.capacity(), 0, "the tail's memory is given back");
    }

    #[test]
    fn the_end_stops_parsing() {
        let mut reader = FrameReader::new(TIMEOUT);
        let (texts, ended) = feed(&mut reader, &[b"\x01a\x00\x01b"]);
        assert_eq!(texts, ["a"]);
        assert!(matches!(ended, Some(Stop::Ended(Ended::Close))));
    }

    /// Like [`LengthPrefixed`], but pauses after every frame whose text is `p`.
    struct PausingOnP;

    impl FrameParser for PausingOnP {
        fn parse(&mut self, bytes: &mut [u8], on_message: &mut OnMessage<'_>) -> Parsed {
            let mut paused = false;
            let parsed = LengthPrefixed.parse(bytes, &mut |message| {
                paused = message == Message::Text("p");
                on_message(message);
            });
            match parsed {
                Parsed::Frame(length) if paused => Parsed::Pause(length),
                other => other,
            }
        }
    }

    #[tokio::test]
    async fn a_pause_resumes_with_the_frames_read_behind_it() {
        let (mut client, mut server) = tokio::io::duplex(64);
        use tokio::io::AsyncWriteExt;
        client.write_all(b"\x01p\x01a\x01b").await.ok();
        drop(client);
        let mut reader = FrameReader::new(TIMEOUT);
        let mut texts = Vec::new();
        let mut on_message = |message: Message<'_>| texts.push(text_of(message));
        let first = reader
            .read(&mut server, &mut PausingOnP, &mut on_message)
            .await;
        assert!(matches!(first, Stop::Paused));
        let second = reader
            .read(&mut server, &mut PausingOnP, &mut on_message)
            .await;
        assert!(matches!(second, Stop::Ended(Ended::Eof)));
        assert_eq!(texts, ["p", "a", "b"]);
    }

    #[tokio::test]
    async fn reads_from_a_stream_until_it_ends() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for chunk in [&b"\x03ab"[..], b"c\x02", b"de"] {
                client.write_all(chunk).await.ok();
                tokio::task::yield_now().await;
            }
        });
        let mut reader = FrameReader::new(TIMEOUT);
        let mut texts = Vec::new();
        let stop = reader
            .read(&mut server, &mut LengthPrefixed, &mut |message| {
                texts.push(text_of(message))
            })
            .await;
        writer.await.ok();
        assert_eq!(texts, ["abc", "de"]);
        assert!(matches!(stop, Stop::Ended(Ended::Eof)));
    }

    /// Reads `server` until it stops, counting texts; how it stopped and after how long.
    async fn read_to_stop(server: &mut tokio::io::DuplexStream) -> (Stop, usize, Duration) {
        let mut reader = FrameReader::new(TIMEOUT);
        let mut texts = 0;
        let started = tokio::time::Instant::now();
        let stop = reader
            .read(server, &mut LengthPrefixed, &mut |_| texts += 1)
            .await;
        (stop, texts, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_begun_and_not_finished_ends_the_connection_at_the_timeout() {
        use tokio::io::AsyncWriteExt;
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(b"\x01a\x05he").await.ok();
        let (stop, texts, elapsed) = read_to_stop(&mut server).await;
        assert!(
            matches!(stop, Stop::Ended(Ended::Failed(Failure::Stalled(TIMEOUT)))),
            "{stop:?}"
        );
        assert_eq!((texts, elapsed), (1, TIMEOUT));
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_message_gets_no_more_than_the_timeout() {
        use tokio::io::AsyncWriteExt;
        let (mut client, mut server) = tokio::io::duplex(64);
        let trickle = tokio::spawn(async move {
            client.write_all(b"\xFF").await.ok();
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                client.write_all(b"x").await.ok();
            }
        });
        let (stop, _, elapsed) = read_to_stop(&mut server).await;
        assert!(matches!(
            stop,
            Stop::Ended(Ended::Failed(Failure::Stalled(_)))
        ));
        assert_eq!(elapsed, TIMEOUT);
        trickle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn messages_split_across_reads_each_get_the_whole_timeout() {
        use tokio::io::AsyncWriteExt;
        let (mut client, mut server) = tokio::io::duplex(64);
        // Each read ends inside a message, for four timeouts in all: each message finishes
        // within its own.
        let writer = tokio::spawn(async move {
            client.write_all(b"\x02a").await.ok();
            for _ in 0..8 {
                tokio::time::sleep(TIMEOUT / 2).await;
                client.write_all(b"b\x02a").await.ok();
            }
            tokio::time::sleep(TIMEOUT / 2).await;
            client.write_all(b"b").await.ok();
        });
        let (stop, texts, elapsed) = read_to_stop(&mut server).await;
        writer.await.ok();
        assert!(matches!(stop, Stop::Ended(Ended::Eof)), "{stop:?}");
        assert_eq!(texts, 9);
        assert!(elapsed >= TIMEOUT * 4, "{elapsed:?}");
    }
}
