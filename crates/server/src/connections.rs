//! The public listener's connections: how many may be open (on the node, and per client
//! address), what an accepted connection's I/O enforces (the write timeout, and a reset of a
//! connection whose write was given up), and the figures `/metrics` shows of them.
//!
//! A connection is counted from its accept until its socket is dropped, wherever that happens:
//! the count rides in the connection's I/O ([`ConnectionIo`]), which an upgraded WebSocket
//! takes along into its own task.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use ferrio_transport::{StallSignal, WriteStalled};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// Limits and timeouts of the connections of the public listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a connection may take to send a request's headers, counted from when it is
    /// ready for a request: from the accept, and after each answer on a kept-alive
    /// connection. So it also bounds how long a kept-alive connection may wait idle. A held
    /// poll, an open stream and a WebSocket are not waiting for a request. Default 20 s.
    pub header_read_timeout: Duration,
    /// How long a write to a client may make no progress (the client takes no byte) before
    /// the connection is given up, its session ended as `write timeout`. Default 30 s.
    pub write_timeout: Duration,
    /// The most connections open at once on the public listener; more are answered `503` and
    /// closed. `None` derives it from the open-files limit ([`default_max_connections`]).
    pub max_connections: Option<usize>,
    /// The most connections one client address may hold open (an IPv6 client counts by its
    /// `/64`); `None` sets no limit. Default 256, room for an office behind one NAT address.
    pub max_connections_per_address: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(30),
            max_connections: None,
            max_connections_per_address: Some(256),
        }
    }
}

/// Open files the process keeps for everything but client connections when the limit is
/// derived: the listeners, admin connections, webhook connections, logs, the refusals being
/// answered ([`REFUSALS_IN_FLIGHT`]) and room to spare.
const RESERVED_FILES_MIN: u64 = 128;
/// Above [`RESERVED_FILES_MIN`], a tenth of the open-files limit is kept, up to this.
const RESERVED_FILES_MAX: u64 = 1024;
/// The derived limit when the open-files limit is unlimited or unknown.
const CONNECTIONS_WITHOUT_FILE_LIMIT: u64 = 1_000_000;

/// Refused connections answered at once, at most; beyond it a refused connection is closed
/// without an answer, so refusing costs bounded descriptors and tasks.
pub(crate) const REFUSALS_IN_FLIGHT: usize = 32;

/// The connection limit derived from the process's open-files (soft) limit: the limit less
/// what the rest of the process needs, so the node answers `503` before it runs out of
/// descriptors and the admin listener stays reachable.
pub fn default_max_connections() -> usize {
    connections_for_files(open_files_limit())
}

/// The derived connection limit for an open-files limit (`None`: unlimited).
fn connections_for_files(files: Option<u64>) -> usize {
    let Some(files) = files else {
        return CONNECTIONS_WITHOUT_FILE_LIMIT as usize;
    };
    let reserved = (files / 10).clamp(RESERVED_FILES_MIN, RESERVED_FILES_MAX);
    let connections = files
        .saturating_sub(reserved)
        .clamp(1, CONNECTIONS_WITHOUT_FILE_LIMIT);
    usize::try_from(connections).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_files_limit() -> Option<u64> {
    None
}

/// Which limit refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The node's `max_connections`.
    Node,
    /// The client address's `max_connections_per_ip`.
    Address,
}

impl Limit {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Limit::Node => "node",
            Limit::Address => "address",
        }
    }
}

/// What per-address limits count by: the address, an IPv6 one by its `/64` (one client's
/// usual allocation), an IPv4-mapped one as IPv4.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// Counts of what the public listener did, for `/metrics`.
#[derive(Debug, Default)]
struct Counters {
    refused_node: AtomicU64,
    refused_address: AtomicU64,
    accept_errors: AtomicU64,
    header_timeouts: AtomicU64,
    write_timeouts: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    // Counters order nothing else.
    counter.fetch_add(1, Ordering::Relaxed);
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The open connections of the public listener against its limits.
#[derive(Debug)]
pub(crate) struct Admission {
    max: usize,
    per_address: Option<usize>,
    open: Mutex<Open>,
    refusals: Arc<Semaphore>,
    counters: Counters,
}

impl Admission {
    pub(crate) fn new(limits: &ConnectionLimits) -> Arc<Self> {
        Arc::new(Admission {
            max: limits
                .max_connections
                .unwrap_or_else(default_max_connections),
            per_address: limits.max_connections_per_address,
            open: Mutex::new(Open::default()),
            refusals: Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT)),
            counters: Counters::default(),
        })
    }

    /// The node's connection limit in force.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Counts a connection from `ip` in, or says which limit refuses it (counted).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Limit> {
        let key = address_key(ip);
        let mut open = self.open.lock();
        let refused = if open.total >= self.max {
            Some(Limit::Node)
        } else if self
            .per_address
            .is_some_and(|cap| open.by_address.get(&key).is_some_and(|n| *n >= cap))
        {
            Some(Limit::Address)
        } else {
            None
        };
        if let Some(limit) = refused {
            drop(open);
            bump(match limit {
                Limit::Node => &self.counters.refused_node,
                Limit::Address => &self.counters.refused_address,
            });
            return Err(limit);
        }
        open.total += 1;
        *open.by_address.entry(key).or_default() += 1;
        Ok(Slot {
            admission: Arc::clone(self),
            key,
        })
    }

    /// How many connections are open now, upgraded ones included.
    pub(crate) fn open(&self) -> usize {
        self.open.lock().total
    }

    /// A place to answer a refused connection, if one is free.
    pub(crate) fn refusal(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.refusals).try_acquire_owned().ok()
    }

    pub(crate) fn accept_failed(&self) {
        bump(&self.counters.accept_errors);
    }

    pub(crate) fn header_timed_out(&self) {
        bump(&self.counters.header_timeouts);
    }

    fn write_timed_out(&self) {
        bump(&self.counters.write_timeouts);
    }

    fn release(&self, key: IpAddr) {
        let mut open = self.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_address.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&key);
            }
        }
    }

    /// Renders the listener's figures in the Prometheus text format.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        let open = self.open.lock().total;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counters = &self.counters;
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP ferrio_connections_open Connections open on the public listener.\n\
             # TYPE ferrio_connections_open gauge\n\
             ferrio_connections_open {open}\n\
             # HELP ferrio_connections_limit Connections the public listener may hold open.\n\
             # TYPE ferrio_connections_limit gauge\n\
             ferrio_connections_limit {}\n\
             # HELP ferrio_connections_refused_total Connections answered 503 and closed, by the limit that refused them.\n\
             # TYPE ferrio_connections_refused_total counter\n\
             ferrio_connections_refused_total{{limit=\"node\"}} {}\n\
             ferrio_connections_refused_total{{limit=\"address\"}} {}\n\
             # HELP ferrio_accept_errors_total Failed accepts on the public listener (out of descriptors and the like).\n\
             # TYPE ferrio_accept_errors_total counter\n\
             ferrio_accept_errors_total {}\n\
             # HELP ferrio_connection_timeouts_total Connections closed by a timeout: headers not sent in time (idle kept-alive connections included), or a write that made no progress.\n\
             # TYPE ferrio_connection_timeouts_total counter\n\
             ferrio_connection_timeouts_total{{kind=\"header\"}} {}\n\
             ferrio_connection_timeouts_total{{kind=\"write\"}} {}",
            self.max,
            load(&counters.refused_node),
            load(&counters.refused_address),
            load(&counters.accept_errors),
            load(&counters.header_timeouts),
            load(&counters.write_timeouts),
        );
    }
}

/// One admitted connection's place in the counts, given back when it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    admission: Arc<Admission>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.release(self.key);
    }
}

/// A socket that can be told to end with a reset rather than a graceful close.
pub(crate) trait ResetOnClose {
    /// Makes the socket's close abortive: a `RST`, what is still queued for the peer dropped.
    fn reset_on_close(&self);
}

impl ResetOnClose for TcpStream {
    fn reset_on_close(&self) {
        // A failure leaves the graceful close, which still closes the connection.
        let _ = self.set_zero_linger();
    }
}

/// An accepted connection's I/O: its writes fail with [`WriteStalled`] once none has made
/// progress for the write timeout (raising the connection's [`StallSignal`] first), and it
/// holds the connection's [`Slot`], so the connection counts as open for as long as its
/// socket exists.
///
/// A connection whose write was given up is reset when it closes. A graceful close would queue
/// the `FIN` behind the bytes the client never took, so the kernel would keep the socket and
/// those bytes (up to the send buffer, megabytes) for as long as the client keeps its window
/// shut, probing it: the memory and the connection the write timeout is there to free. This is
/// nginx's `reset_timedout_connection`.
#[derive(Debug)]
pub(crate) struct ConnectionIo<S> {
    io: S,
    write_timeout: Duration,
    /// Running while a write waits: since the first write that found the client's buffers
    /// full, with no byte taken since. Allocated only then.
    stall: Option<Pin<Box<Sleep>>>,
    signal: StallSignal,
    slot: Option<Slot>,
}

impl<S> ConnectionIo<S> {
    /// `slot` is `None` for a connection being refused, which counts nowhere. `signal` is
    /// raised when a write is given up.
    pub(crate) fn new(
        io: S,
        write_timeout: Duration,
        slot: Option<Slot>,
        signal: StallSignal,
    ) -> Self {
        ConnectionIo {
            io,
            write_timeout,
            stall: None,
            signal,
            slot,
        }
    }
}

impl<S: ResetOnClose> ConnectionIo<S> {
    /// A write that found no room: waits for the write timeout, then fails.
    fn poll_stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.write_timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(stall.as_mut().poll(cx));
        if !self.signal.is_raised() {
            self.signal.raise();
            self.io.reset_on_close();
            if let Some(slot) = &self.slot {
                slot.admission.write_timed_out();
            }
        }
        Poll::Ready(Err(WriteStalled(timeout).into_io()))
    }

    /// What a write gave: progress ends a stall, waiting starts or continues one.
    fn written(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(0)) => Poll::Ready(Ok(0)),
            Poll::Ready(result) => {
                self.stall = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_stalled(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ConnectionIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin + ResetOnClose> AsyncWrite for ConnectionIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.written(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.poll_stalled(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_shutdown(cx) {
            Poll::Pending => this.poll_stalled(cx),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncWriteExt, DuplexStream, Interest};
    use tokio::net::{TcpListener, TcpSocket};

    use super::*;

    impl ResetOnClose for DuplexStream {
        fn reset_on_close(&self) {}
    }

    #[test]
    fn the_derived_limit_leaves_room_for_the_rest_of_the_process() {
        assert_eq!(connections_for_files(Some(1024)), 1024 - 128);
        assert_eq!(connections_for_files(Some(10_000)), 10_000 - 1000);
        assert_eq!(connections_for_files(Some(100_000)), 100_000 - 1024);
        assert_eq!(connections_for_files(Some(1 << 40)), 1_000_000);
        assert_eq!(connections_for_files(Some(64)), 1);
        assert_eq!(connections_for_files(None), 1_000_000);
        assert!(default_max_connections() >= 1);
    }

    #[test]
    fn addresses_count_per_address_and_ipv6_per_64() {
        let limits = ConnectionLimits {
            max_connections: Some(3),
            max_connections_per_address: Some(2),
            ..ConnectionLimits::default()
        };
        let admission = Admission::new(&limits);
        let one: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        let first = admission.admit(one).unwrap();
        let _second = admission.admit(same_64).unwrap();
        assert_eq!(admission.admit(one).unwrap_err(), Limit::Address);
        let _third = admission.admit(other).unwrap();
        assert_eq!(admission.admit(other).unwrap_err(), Limit::Node);
        drop(first);
        assert!(
            admission.admit(one).is_ok(),
            "a closed connection frees its place"
        );
        let mut text = String::new();
        admission.render_metrics(&mut text);
        assert!(text.contains("ferrio_connections_refused_total{limit=\"address\"} 1"));
        assert!(text.contains("ferrio_connections_refused_total{limit=\"node\"} 1"));
        assert!(text.contains("ferrio_connections_open 2"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_without_progress_fails_after_the_timeout_and_raises_the_signal() {
        let (client, server) = tokio::io::duplex(16);
        let signal = StallSignal::new();
        let mut io = ConnectionIo::new(server, Duration::from_secs(5), None, signal.clone());
        io.write_all(&[0; 16]).await.unwrap();
        let started = tokio::time::Instant::now();
        let error = io.write_all(&[0; 1]).await.unwrap_err();
        assert!(ferrio_transport::is_write_stall(&error));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(signal.is_raised());
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_taking_bytes_is_not_timed_out() {
        let (mut client, server) = tokio::io::duplex(4);
        let signal = StallSignal::new();
        let mut io = ConnectionIo::new(server, Duration::from_secs(5), None, signal.clone());
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut byte = [0; 1];
            let mut taken = 0;
            while taken < 40 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                client.read_exact(&mut byte).await.unwrap();
                taken += 1;
            }
        });
        io.write_all(&[0; 40]).await.unwrap();
        reader.await.unwrap();
        assert!(!signal.is_raised());
    }

    /// A client that never reads: once the write is given up and the connection dropped, the
    /// client sees it closed at once, though its window is still shut; gracefully closed, the
    /// `FIN` would wait behind the unsent bytes for as long as the client stays.
    #[tokio::test]
    async fn a_connection_whose_write_was_given_up_is_reset() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let client = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut io =
            ConnectionIo::new(server, Duration::from_millis(200), None, StallSignal::new());
        let chunk = vec![0u8; 64 * 1024];
        let error = loop {
            if let Err(error) = io.write_all(&chunk).await {
                break error;
            }
        };
        assert!(ferrio_transport::is_write_stall(&error));
        drop(io);
        // Readiness already says "readable" for the bytes the client holds; the reset adds
        // to it once the reactor has seen it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let ready = client.ready(Interest::READABLE).await.unwrap();
            if ready.is_read_closed() || ready.is_error() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the client still sees the connection open"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The client's read says it was reset, not ended.
        let mut byte = [0u8; 1];
        let mut outcome = client.try_read(&mut byte);
        while let Ok(read) = outcome {
            assert!(read > 0, "a graceful end after the unsent bytes");
            outcome = client.try_read(&mut byte);
        }
        assert_eq!(outcome.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    }
}
