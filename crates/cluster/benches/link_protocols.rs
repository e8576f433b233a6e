//! The node-to-node link's transport against the alternatives, on loopback, in one process.
//!
//! Three designs carry the shape of a forwarded request: a GET of
//! `/socket.io/1/xhr-polling/<32 hex sid>?t=<n>` with about 300 bytes of headers (the cluster
//! secret, the link's own headers and a browser's), answered `200` with a `text/plain` body
//! of 44 bytes (`3:::`, the sid and `n` in hex):
//! - **h2**: hyper 1 HTTP/2, one connection, every request a stream multiplexed on it, built
//!   by the link's own builders (`ferrio_cluster::link::client_builder`, `server_builder`:
//!   keep-alive pings, the server's `max_concurrent_streams` raised to 2^20);
//! - **h1-pool**: hyper 1 HTTP/1.1 keep-alive connections in a pool of
//!   `http1::SendRequest`s, one request per connection at a time: a request takes an idle
//!   connection or dials a new one, and gives it back once the answer's body is read, so the
//!   pool grows to the number of requests in flight;
//! - **framed-tcp**: one TCP connection carrying home-made frames (a 4-byte length, an 8-byte
//!   request id, then the request line and header lines as text; the answer's status line,
//!   header lines and body), a writer task per end gathering queued frames into one write and
//!   a reader task routing answers to their requests by id: what the link would be without
//!   HTTP, a lower bound on what any framing costs.
//!
//! Every design checks the secret in constant time on the serving end, and runs the serving
//! end's handler in a task of its own per request (hyper's HTTP/2 server spawns one per
//! stream; the home-made server does too, as it must to hold a request unanswered). Every
//! answer's status and bytes are checked against the request it answers; a wrong one aborts
//! the run.
//!
//! The serving end and the requesting end each run on a tokio multi-thread runtime of one
//! worker thread, in the same process: two busy threads, one per core on a two-core machine.
//! What is measured, for each design:
//! - at 1 request in flight (latency) and at 64 (throughput), each for a fixed time after a
//!   warm-up: round trips per second, the p50 and p99 of a round trip (from building the
//!   request to the answer's last byte checked), and the CPU time of the whole process
//!   (`CLOCK_PROCESS_CPUTIME_ID`: both ends, every thread) per round trip;
//! - **held requests**, in a child process of its own for each design, so that what earlier
//!   cases allocated does not blur its memory: 1 000 requests sent and held unanswered by the
//!   serving end (as long polls are), then sequential round trips beside them, then the held
//!   requests released and every answer checked; four times, each after as many round trips
//!   with nothing held, so that the p50 beside them and the p50 alone come from the same
//!   stretch of time. The first time, the growth of the process's resident memory (`VmRSS`)
//!   and of its open file descriptors while they are held (both ends; the sockets' kernel
//!   buffers are not in the RSS).
//!
//! The three designs are set up side by side and take turns, in slices of a quarter of a
//! second, 3 s each per case and repetition: whatever the machine does meanwhile (other work,
//! the virtual CPUs' idle states, which decide what a wake-up across threads costs: tens of
//! microseconds at one request in flight) weighs on all three alike. They take turns in one
//! order on odd repetitions and the reverse on even ones; the tables give the median of the
//! repetitions and, for throughput and CPU, their range.
//!
//! `CARGO_INCREMENTAL=0 cargo bench -p ferrio-cluster --bench link_protocols` (3 repetitions
//! of 3 s per case, about 70 s on two cores); `QUICK=1` for a smoke run of a few seconds;
//! `REPS=<n>` for another number of repetitions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};

/// The cluster secret every request carries.
const SECRET: &str = "4f1c9a7e2b6d8035c1e7a9f24b6d0c8e3a5f7b9d1c3e5a7f9b2d4c6e8a0f1b3d";
const SECRET_HEADER: &str = "x-ferrio-cluster-secret";
/// The path of a forwarded xhr-polling request, before the session id.
const PREFIX: &str = "/socket.io/1/xhr-polling/";
/// A forwarded poll's headers besides the host: the link's own, then what a browser sent.
/// With the request line and the host, about 300 bytes.
const HEADERS: [(&str, &str); 7] = [
    (SECRET_HEADER, SECRET),
    ("x-ferrio-node", "a81f3c"),
    ("x-ferrio-client", "203.0.113.54:51876"),
    ("x-ferrio-hops", "1"),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    ("accept", "*/*"),
    ("accept-language", "en-US,en;q=0.5"),
];
const ANSWER_TYPE: &str = "text/plain; charset=UTF-8";
/// The largest home-made frame either end accepts.
const MAX_FRAME: usize = 1 << 20;
/// How many queued frames' bytes a home-made writer gathers into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// How many times the held requests are sent, held and released, each time between round
/// trips alone and round trips beside them.
const HELD_ROUNDS: usize = 4;
/// The environment variable that makes the process a child measuring one design's held
/// requests.
const HELD_CHILD: &str = "LINK_BENCH_HELD";

/// The sizes of a run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    reps: usize,
    warmup: Duration,
    measure: Duration,
    /// The slices `measure` is cut into, the designs taking turns.
    slices: u32,
    held: usize,
    beside: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        let quick = std::env::var("QUICK").is_ok_and(|quick| !quick.is_empty() && quick != "0");
        let reps = std::env::var("REPS")
            .ok()
            .and_then(|reps| reps.parse().ok())
            .filter(|reps| *reps > 0);
        if quick {
            Sizes {
                reps: reps.unwrap_or(1),
                warmup: Duration::from_millis(100),
                measure: Duration::from_millis(300),
                slices: 3,
                held: 1_000,
                beside: 200,
            }
        } else {
            Sizes {
                reps: reps.unwrap_or(3),
                warmup: Duration::from_millis(500),
                measure: Duration::from_secs(3),
                slices: 12,
                held: 1_000,
                beside: 2_000,
            }
        }
    }
}

/// A link design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Design {
    H2,
    H1Pool,
    Framed,
}

impl Design {
    const ALL: [Design; 3] = [Design::H2, Design::H1Pool, Design::Framed];

    fn name(self) -> &'static str {
        match self {
            Design::H2 => "h2",
            Design::H1Pool => "h1-pool",
            Design::Framed => "framed-tcp",
        }
    }

    fn named(name: &str) -> Option<Design> {
        Design::ALL.into_iter().find(|design| design.name() == name)
    }
}

/// A session id of 32 hex digits for worker or held request `index`.
fn sid(index: usize) -> String {
    format!(
        "{:032x}",
        (index as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

/// The path of round trip `t` of session `sid`.
fn path(sid: &str, t: u32, hold: bool) -> String {
    let hold = if hold { "&hold=1" } else { "" };
    format!("{PREFIX}{sid}?t={t}{hold}")
}

/// The body that answers round trip `t` of session `sid`.
fn answer(sid: &str, t: u32) -> Bytes {
    Bytes::from(format!("3:::{sid}{t:08x}"))
}

/// What the serving end makes of a request.
enum Reply {
    /// Answer at once.
    Now(Bytes),
    /// Answer once the held requests are released.
    Hold(Bytes),
    /// No secret, a wrong one, or a path that is not a poll.
    Refused,
}

fn reply(path: &str, secret: Option<&[u8]>) -> Reply {
    if !secret.is_some_and(|given| bool::from(given.ct_eq(SECRET.as_bytes()))) {
        return Reply::Refused;
    }
    let Some((sid, query)) = path
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('?'))
    else {
        return Reply::Refused;
    };
    let mut t = None;
    let mut hold = false;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("t", value)) => t = value.parse().ok(),
            Some(("hold", "1")) => hold = true,
            _ => {}
        }
    }
    match t {
        Some(t) if sid.len() == 32 && hold => Reply::Hold(answer(sid, t)),
        Some(t) if sid.len() == 32 => Reply::Now(answer(sid, t)),
        _ => Reply::Refused,
    }
}

/// The serving end's state: the held requests it has, and the signal releasing them.
#[derive(Debug)]
struct Server {
    held: AtomicUsize,
    release: watch::Receiver<bool>,
}

impl Server {
    /// The body to answer with, once it may be answered; `None` for a refused request.
    async fn answer(&self, reply: Reply) -> Option<Bytes> {
        match reply {
            Reply::Now(body) => Some(body),
            Reply::Hold(body) => {
                self.held.fetch_add(1, Ordering::Relaxed);
                let mut release = self.release.clone();
                let _ = release.wait_for(|released| *released).await;
                Some(body)
            }
            Reply::Refused => None,
        }
    }
}

/// The HTTP answer to `request`, for both hyper servers.
async fn http_answer(
    server: Arc<Server>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let secret = request
        .headers()
        .get(SECRET_HEADER)
        .map(HeaderValue::as_bytes);
    let reply = reply(path, secret);
    drop(request);
    Ok(match server.answer(reply).await {
        Some(body) => {
            let mut response = Response::new(Full::new(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ANSWER_TYPE));
            response
        }
        None => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    })
}

/// Accepts connections on `listener` and serves each as `design` does.
async fn serve(design: Design, listener: TcpListener, server: Arc<Server>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        stream.set_nodelay(true).expect("nodelay");
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            match design {
                Design::H2 => {
                    let service = hyper::service::service_fn(move |request| {
                        http_answer(Arc::clone(&server), request)
                    });
                    let _ = ferrio_cluster::link::server_builder()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Design::H1Pool => {
                    let service = hyper::service::service_fn(move |request| {
                        http_answer(Arc::clone(&server), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Design::Framed => serve_framed(stream, server).await,
            }
        });
    }
}

/// Serves home-made frames on `stream`: each request answered in a task of its own, the
/// answers written by one writer task.
async fn serve_framed(stream: TcpStream, server: Arc<Server>) {
    let (read, write) = stream.into_split();
    let (frames, queued) = mpsc::unbounded_channel();
    tokio::spawn(write_frames(write, queued));
    let mut reader = BufReader::with_capacity(WRITE_BATCH, read);
    while let Some((id, payload)) = read_frame(&mut reader).await {
        let server = Arc::clone(&server);
        let frames = frames.clone();
        tokio::spawn(async move {
            let reply = parse_framed_request(&payload);
            drop(payload);
            let answer = server.answer(reply).await;
            let mut frame = BytesMut::with_capacity(64 + answer.as_ref().map_or(0, Bytes::len));
            frame.put_u32(0);
            frame.put_u64(id);
            match answer {
                Some(body) => {
                    frame.put_slice(b"200\ncontent-type: ");
                    frame.put_slice(ANSWER_TYPE.as_bytes());
                    frame.put_slice(b"\n\n");
                    frame.put_slice(&body);
                }
                None => frame.put_slice(b"401\n\n"),
            }
            let length = u32::try_from(frame.len() - 4).expect("a small frame");
            frame[..4].copy_from_slice(&length.to_be_bytes());
            let _ = frames.send(frame.freeze());
        });
    }
}

/// A home-made request: `GET <path>`, then `name: value` lines.
fn parse_framed_request(payload: &[u8]) -> Reply {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Reply::Refused;
    };
    let mut lines = text.split('\n');
    let Some(path) = lines.next().and_then(|line| line.strip_prefix("GET ")) else {
        return Reply::Refused;
    };
    let secret = lines
        .filter_map(|line| line.split_once(": "))
        .find(|(name, _)| name.eq_ignore_ascii_case(SECRET_HEADER))
        .map(|(_, value)| value.as_bytes());
    reply(path, secret)
}

/// Writes the frames queued on `queued`, as many as are waiting in one write.
async fn write_frames(mut write: OwnedWriteHalf, mut queued: mpsc::UnboundedReceiver<Bytes>) {
    let mut buffer = BytesMut::with_capacity(WRITE_BATCH);
    while let Some(frame) = queued.recv().await {
        buffer.put_slice(&frame);
        while buffer.len() < WRITE_BATCH {
            match queued.try_recv() {
                Ok(frame) => buffer.put_slice(&frame),
                Err(_) => break,
            }
        }
        if write.write_all(&buffer).await.is_err() {
            return;
        }
        buffer.clear();
    }
}

/// The next frame: its id and payload; `None` at the end of the stream or on a malformed
/// frame.
async fn read_frame(reader: &mut BufReader<OwnedReadHalf>) -> Option<(u64, Bytes)> {
    let length = reader.read_u32().await.ok()? as usize;
    if !(8..=MAX_FRAME).contains(&length) {
        return None;
    }
    let id = reader.read_u64().await.ok()?;
    let mut payload = vec![0; length - 8];
    reader.read_exact(&mut payload).await.ok()?;
    Some((id, Bytes::from(payload)))
}

/// The requesting end of a home-made link: the answers awaited, by request id.
#[derive(Debug)]
struct FramedClient {
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Bytes>>>,
    frames: mpsc::UnboundedSender<Bytes>,
    /// The header lines every request carries.
    head: Bytes,
}

impl FramedClient {
    async fn connect(addr: SocketAddr) -> Arc<FramedClient> {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (read, write) = stream.into_split();
        let (frames, queued) = mpsc::unbounded_channel();
        tokio::spawn(write_frames(write, queued));
        let mut head = String::new();
        for (name, value) in HEADERS {
            let _ = write!(head, "\n{name}: {value}");
        }
        let client = Arc::new(FramedClient {
            next_id: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
            frames,
            head: Bytes::from(head),
        });
        let reading = Arc::clone(&client);
        tokio::spawn(async move {
            let mut reader = BufReader::with_capacity(WRITE_BATCH, read);
            while let Some((id, payload)) = read_frame(&mut reader).await {
                if let Some(waiting) = reading.waiting.lock().remove(&id) {
                    let _ = waiting.send(payload);
                }
            }
            // The link broke: every request still waiting fails.
            reading.waiting.lock().clear();
        });
        client
    }

    async fn get(&self, path: &str) -> Bytes {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answered, answer) = oneshot::channel();
        self.waiting.lock().insert(id, answered);
        let length = 8 + 4 + path.len() + self.head.len();
        let mut frame = BytesMut::with_capacity(4 + length);
        frame.put_u32(u32::try_from(length).expect("a small frame"));
        frame.put_u64(id);
        frame.put_slice(b"GET ");
        frame.put_slice(path.as_bytes());
        frame.put_slice(&self.head);
        self.frames.send(frame.freeze()).expect("the link is open");
        let mut payload = answer.await.expect("the link is open");
        let end = payload
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .expect("an answer's head");
        assert!(payload.starts_with(b"200\n"), "a home-made answer not 200");
        let _head = payload.split_to(end + 2);
        payload
    }
}

/// A pool of HTTP/1.1 connections, one request on each at a time.
#[derive(Debug)]
struct H1Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<hyper::client::conn::http1::SendRequest<Full<Bytes>>>>,
}

impl H1Pool {
    async fn checkout(&self) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
        loop {
            let idle = self.idle.lock().pop();
            match idle {
                Some(sender) if !sender.is_closed() => return sender,
                Some(_) => {}
                None => break,
            }
        }
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .expect("an HTTP/1.1 connection");
        tokio::spawn(connection);
        sender
    }
}

/// The requesting end of a link.
#[derive(Debug, Clone)]
enum Client {
    H2 {
        addr: SocketAddr,
        headers: Arc<HeaderMap>,
        sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    },
    H1Pool {
        headers: Arc<HeaderMap>,
        pool: Arc<H1Pool>,
    },
    Framed(Arc<FramedClient>),
}

impl Client {
    async fn connect(design: Design, addr: SocketAddr) -> Client {
        let mut headers = HeaderMap::new();
        for (name, value) in HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        match design {
            Design::H2 => {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (sender, connection) = ferrio_cluster::link::client_builder()
                    .handshake(TokioIo::new(stream))
                    .await
                    .expect("an HTTP/2 connection");
                tokio::spawn(connection);
                Client::H2 {
                    addr,
                    headers: Arc::new(headers),
                    sender,
                }
            }
            Design::H1Pool => {
                let host = HeaderValue::from_str(&addr.to_string()).expect("an address");
                headers.insert(HOST, host);
                Client::H1Pool {
                    headers: Arc::new(headers),
                    pool: Arc::new(H1Pool {
                        addr,
                        idle: Mutex::new(Vec::new()),
                    }),
                }
            }
            Design::Framed => Client::Framed(FramedClient::connect(addr).await),
        }
    }

    /// GETs `path` and returns the answer's body; panics on anything but a `200`.
    async fn get(&self, path: &str) -> Bytes {
        match self {
            Client::H2 {
                addr,
                headers,
                sender,
            } => {
                // As the link does: the peer's address and the path as one absolute URI.
                let uri = Uri::try_from(format!("http://{addr}{path}")).expect("a URI");
                let mut request = Request::new(Full::new(Bytes::new()));
                *request.uri_mut() = uri;
                *request.headers_mut() = HeaderMap::clone(headers);
                let mut sender = sender.clone();
                sender.ready().await.expect("the link is open");
                let response = sender.send_request(request).await.expect("an answer");
                body_of(response).await
            }
            Client::H1Pool { headers, pool } => {
                let mut request = Request::new(Full::new(Bytes::new()));
                *request.uri_mut() = Uri::try_from(path).expect("a path");
                *request.headers_mut() = HeaderMap::clone(headers);
                let mut sender = pool.checkout().await;
                sender.ready().await.expect("the connection is open");
                let response = sender.send_request(request).await.expect("an answer");
                let body = body_of(response).await;
                pool.idle.lock().push(sender);
                body
            }
            Client::Framed(client) => client.get(path).await,
        }
    }
}

/// The body of a `200` answer with the answer's content type.
async fn body_of(response: Response<Incoming>) -> Bytes {
    assert_eq!(response.status(), StatusCode::OK, "an answer not 200");
    assert_eq!(
        response
            .headers()
            .get(CONTENT_TYPE)
            .map(HeaderValue::as_bytes),
        Some(ANSWER_TYPE.as_bytes()),
        "an answer's content type"
    );
    response
        .into_body()
        .collect()
        .await
        .expect("the answer's body")
        .to_bytes()
}

/// One design's two ends, each on a runtime of one worker thread.
struct Setup {
    /// The serving end's runtime: it runs for as long as the setup lives.
    _server_runtime: Runtime,
    client_runtime: Runtime,
    server: Arc<Server>,
    release: watch::Sender<bool>,
    client: Client,
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a runtime")
}

impl Setup {
    fn new(design: Design) -> Setup {
        let server_runtime = runtime("serving");
        let client_runtime = runtime("requesting");
        let (release, released) = watch::channel(false);
        let server = Arc::new(Server {
            held: AtomicUsize::new(0),
            release: released,
        });
        let listener = server_runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a listener");
        let addr = listener.local_addr().expect("an address");
        server_runtime.spawn(serve(design, listener, Arc::clone(&server)));
        let client = client_runtime.block_on(Client::connect(design, addr));
        Setup {
            _server_runtime: server_runtime,
            client_runtime,
            server,
            release,
            client,
        }
    }

    /// Round trips from `concurrency` workers for `duration`, each answer checked.
    fn drive(&self, concurrency: usize, duration: Duration) -> Sample {
        self.client_runtime.block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let cpu = cpu_time();
            let started = Instant::now();
            let workers: Vec<_> = (0..concurrency)
                .map(|worker| {
                    let client = self.client.clone();
                    let stop = Arc::clone(&stop);
                    tokio::spawn(async move {
                        let sid = sid(worker);
                        let mut latencies = Vec::with_capacity(1 << 16);
                        let mut t = 0u32;
                        while !stop.load(Ordering::Relaxed) {
                            let began = Instant::now();
                            let body = client.get(&path(&sid, t, false)).await;
                            assert_eq!(body, answer(&sid, t), "a wrong answer");
                            latencies.push(began.elapsed());
                            t += 1;
                        }
                        latencies
                    })
                })
                .collect();
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
            let mut latencies = Vec::new();
            for worker in workers {
                latencies.extend(worker.await.expect("a worker"));
            }
            Sample {
                latencies,
                elapsed: started.elapsed(),
                cpu: cpu_time() - cpu,
            }
        })
    }

    /// `count` round trips one after another, their latencies sorted.
    fn sequential(&self, count: usize, worker: usize) -> Vec<Duration> {
        self.client_runtime.block_on(async {
            let sid = sid(worker);
            let mut latencies = Vec::with_capacity(count);
            for t in 0..count {
                let t = u32::try_from(t).expect("a small count");
                let began = Instant::now();
                let body = self.client.get(&path(&sid, t, false)).await;
                assert_eq!(body, answer(&sid, t), "a wrong answer");
                latencies.push(began.elapsed());
            }
            latencies.sort_unstable();
            latencies
        })
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.release.send(true);
    }
}

/// The process's CPU time so far, every thread's.
fn cpu_time() -> Duration {
    let spent = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(spent.tv_sec).expect("a CPU time"),
        u32::try_from(spent.tv_nsec).expect("a CPU time"),
    )
}

/// The process's resident memory, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// The `q` quantile of sorted `values`.
fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Round trips measured over one or more slices of time.
#[derive(Debug, Default)]
struct Sample {
    latencies: Vec<Duration>,
    elapsed: Duration,
    cpu: Duration,
}

impl Sample {
    fn add(&mut self, slice: Sample) {
        self.latencies.extend(slice.latencies);
        self.elapsed += slice.elapsed;
        self.cpu += slice.cpu;
    }
}

/// One case's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
}

impl Run {
    fn new(sample: Sample) -> Run {
        let Sample {
            mut latencies,
            elapsed,
            cpu,
        } = sample;
        latencies.sort_unstable();
        let count = latencies.len() as f64;
        Run {
            per_second: count / elapsed.as_secs_f64(),
            p50_us: micros(quantile(&latencies, 0.5)),
            p99_us: micros(quantile(&latencies, 0.99)),
            cpu_us: micros(cpu) / count,
        }
    }
}

/// One design's held requests.
#[derive(Debug, Clone, Copy)]
struct Held {
    alone_p50_us: f64,
    beside_p50_us: f64,
    beside_p99_us: f64,
    rss_kib: f64,
    fds: f64,
}

impl Held {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.alone_p50_us, self.beside_p50_us, self.beside_p99_us, self.rss_kib, self.fds
        )
    }

    fn parse(line: &str) -> Option<Held> {
        let figures: Vec<f64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let [alone_p50_us, beside_p50_us, beside_p99_us, rss_kib, fds] = figures[..] else {
            return None;
        };
        Some(Held {
            alone_p50_us,
            beside_p50_us,
            beside_p99_us,
            rss_kib,
            fds,
        })
    }
}

/// Measures `design`'s held requests in this process (the child's side).
fn held_here(design: Design, sizes: Sizes) -> Held {
    let setup = Setup::new(design);
    setup.sequential(sizes.beside / 4 + 1, 0);
    let block = sizes.beside / HELD_ROUNDS + 1;
    let mut alone = Vec::new();
    let mut beside = Vec::new();
    let mut grown = None;
    for round in 0..HELD_ROUNDS {
        alone.extend(setup.sequential(block, 0));
        let rss = rss_kib();
        let fds = open_fds();
        let holding: Vec<_> = (0..sizes.held)
            .map(|index| {
                let client = setup.client.clone();
                setup.client_runtime.spawn(async move {
                    let sid = sid(1 + index);
                    let body = client.get(&path(&sid, 7, true)).await;
                    assert_eq!(body, answer(&sid, 7), "a wrong answer to a held request");
                })
            })
            .collect();
        let server = Arc::clone(&setup.server);
        let all_held = setup.client_runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), async {
                while server.held.load(Ordering::Relaxed) < (round + 1) * sizes.held {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await
        });
        all_held.expect("every held request reached the serving end");
        // The first round's growth: later rounds find the HTTP/1.1 pool's connections open.
        grown.get_or_insert((
            rss_kib().saturating_sub(rss),
            open_fds().saturating_sub(fds),
        ));
        beside.extend(setup.sequential(block, 0));
        setup.release.send(true).expect("the serving end is up");
        setup.client_runtime.block_on(async {
            for held in holding {
                held.await.expect("a held request answered");
            }
        });
        setup.release.send(false).expect("the serving end is up");
    }
    alone.sort_unstable();
    beside.sort_unstable();
    let (rss, fds) = grown.expect("a round");
    Held {
        alone_p50_us: micros(quantile(&alone, 0.5)),
        beside_p50_us: micros(quantile(&beside, 0.5)),
        beside_p99_us: micros(quantile(&beside, 0.99)),
        rss_kib: rss as f64,
        fds: fds as f64,
    }
}

/// Measures `design`'s held requests in a child process.
fn held_in_child(design: Design) -> Held {
    let exe = std::env::current_exe().expect("this benchmark's path");
    let output = Command::new(exe)
        .env(HELD_CHILD, design.name())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the child measuring held requests");
    assert!(output.status.success(), "the held requests' child failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(Held::parse)
        .expect("the child's figures")
}

/// Lifts the open-files limit to its hard limit: 1 000 held HTTP/1.1 requests are 2 000
/// sockets in this process.
fn raise_open_files() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// A figure in the tables' style: thousands separated by commas, one decimal below 100 and two
/// below 10.
fn figure(value: f64) -> String {
    if value.abs() < 10.0 {
        return format!("{value:.2}");
    }
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.round());
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The median of `pick` over `runs`, and the range when there are several.
fn summary<T>(runs: &[T], pick: impl Fn(&T) -> f64, with_range: bool) -> String {
    let mut values: Vec<f64> = runs.iter().map(pick).collect();
    let middle = median(&mut values);
    match (values.first(), values.last()) {
        (Some(low), Some(high)) if with_range && values.len() > 1 => {
            format!("{} ({}–{})", figure(middle), figure(*low), figure(*high))
        }
        _ => figure(middle),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() {
    raise_open_files();
    let sizes = Sizes::from_env();
    if let Ok(name) = std::env::var(HELD_CHILD) {
        let design = Design::named(&name).expect("a design's name");
        println!("{}", held_here(design, sizes).line());
        return;
    }
    let began = Instant::now();
    println!(
        "link_protocols: {} repetitions, {:?} per case after {:?} of warm-up, {} held requests; \
         {} cores; load average {}",
        sizes.reps,
        sizes.measure,
        sizes.warmup,
        sizes.held,
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
    );
    let concurrencies = [1usize, 64];
    let mut runs: HashMap<(Design, usize), Vec<Run>> = HashMap::new();
    let mut held: HashMap<Design, Vec<Held>> = HashMap::new();
    for rep in 0..sizes.reps {
        let mut order = Design::ALL;
        if rep % 2 == 1 {
            order.reverse();
        }
        let setups: Vec<(Design, Setup)> = order
            .into_iter()
            .map(|design| (design, Setup::new(design)))
            .collect();
        for concurrency in concurrencies {
            let mut samples: Vec<Sample> = setups
                .iter()
                .map(|(_, setup)| {
                    setup.drive(concurrency, sizes.warmup);
                    Sample::default()
                })
                .collect();
            for _ in 0..sizes.slices {
                for ((_, setup), sample) in setups.iter().zip(&mut samples) {
                    sample.add(setup.drive(concurrency, sizes.measure / sizes.slices));
                }
            }
            for ((design, _), sample) in setups.iter().zip(samples) {
                let run = Run::new(sample);
                eprintln!(
                    "rep {} {:>10} × {concurrency:>2}: {:>9}/s p50 {:>6} µs p99 {:>6} µs \
                     CPU {:>5} µs",
                    rep + 1,
                    design.name(),
                    figure(run.per_second),
                    figure(run.p50_us),
                    figure(run.p99_us),
                    figure(run.cpu_us),
                );
                runs.entry((*design, concurrency)).or_default().push(run);
            }
        }
        drop(setups);
        for design in order {
            let measured = held_in_child(design);
            eprintln!(
                "rep {} {:>10} held: beside p50 {} µs (alone {}), RSS +{} KiB, fds +{}",
                rep + 1,
                design.name(),
                figure(measured.beside_p50_us),
                figure(measured.alone_p50_us),
                figure(measured.rss_kib),
                measured.fds,
            );
            held.entry(design).or_default().push(measured);
        }
    }

    println!();
    println!(
        "| design | in flight | round trips/s (range) | latency p50 / p99 µs | \
         CPU µs per round trip (range) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for design in Design::ALL {
        for concurrency in concurrencies {
            let runs = &runs[&(design, concurrency)];
            println!(
                "| {} | {concurrency} | {} | {} / {} | {} |",
                design.name(),
                summary(runs, |run| run.per_second, true),
                summary(runs, |run| run.p50_us, false),
                summary(runs, |run| run.p99_us, false),
                summary(runs, |run| run.cpu_us, true),
            );
        }
    }
    println!();
    println!(
        "| design | {} requests held: descriptors opened | RSS held, KiB (per request, bytes) | \
         one round trip beside them: p50 / p99 µs | the same alone: p50 µs |",
        figure(sizes.held as f64)
    );
    println!("|---|---:|---:|---:|---:|");
    for design in Design::ALL {
        let held = &held[&design];
        let mut rss: Vec<f64> = held.iter().map(|held| held.rss_kib).collect();
        let rss = median(&mut rss);
        println!(
            "| {} | {} | {} ({}) | {} / {} | {} |",
            design.name(),
            {
                let mut fds: Vec<f64> = held.iter().map(|held| held.fds).collect();
                format!("{:.0}", median(&mut fds))
            },
            figure(rss),
            figure(rss * 1024.0 / sizes.held as f64),
            summary(held, |held| held.beside_p50_us, false),
            summary(held, |held| held.beside_p99_us, false),
            summary(held, |held| held.alone_p50_us, false),
        );
    }
    println!();
    println!(
        "{:.0} s; load average at the end {}",
        began.elapsed().as_secs_f64(),
        load_average()
    );
}
