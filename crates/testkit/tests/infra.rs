//! The real Redis and nginx that tests of several ferrio nodes run on: `RedisServer` answers,
//! forgets or keeps its data across a restart as configured, pauses and cuts its clients;
//! `Nginx` balances round-robin per request on one client connection, passes WebSocket
//! upgrades, and its stream variant balances per connection. The nodes here are three tiny
//! HTTP servers on std listeners that answer their own names.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrio_testkit::{Nginx, RedisServer};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn redis_answers_commands_and_scans_keys() {
    let redis = RedisServer::start();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port()));
    assert_eq!(
        redis.command(&["SET", "ferrio:a", "one"]).as_deref(),
        Ok("OK")
    );
    assert_eq!(redis.command(&["GET", "ferrio:a"]).as_deref(), Ok("one"));
    assert_eq!(
        redis.command(&["GET", "ferrio:none"]).as_deref(),
        Ok("(nil)")
    );
    assert_eq!(redis.command(&["INCR", "ferrio:n"]).as_deref(), Ok("1"));
    assert_eq!(
        redis
            .command(&["RPUSH", "other", "x", "with space", ""])
            .as_deref(),
        Ok("3")
    );
    assert_eq!(
        redis.command(&["LRANGE", "other", "0", "-1"]).as_deref(),
        Ok("x\nwith space\n")
    );
    assert_eq!(redis.keys("ferrio:*"), ["ferrio:a", "ferrio:n"]);
    assert_eq!(redis.keys("nothing:*"), Vec::<String>::new());
    let error = redis
        .command(&["NO-SUCH-COMMAND"])
        .expect_err("an error reply");
    assert!(error.contains("unknown command"), "{error}");
}

#[test]
fn a_restart_loses_the_data_of_a_server_without_persistence() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["GET", "k"]).as_deref(), Ok("(nil)"));
}

#[test]
fn a_restart_keeps_what_a_persistent_server_acknowledged() {
    let mut redis = RedisServer::start_persistent();
    let port = redis.port();
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    let id = redis
        .command(&["XADD", "ferrio:broadcasts", "*", "packet", "5:::{}"])
        .expect("XADD");
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["GET", "k"]).as_deref(), Ok("v"));
    let entries = redis
        .command(&["XRANGE", "ferrio:broadcasts", "-", "+"])
        .expect("XRANGE");
    assert_eq!(entries, format!("{id}\npacket\n5:::{{}}"));
}

#[test]
fn a_stopped_server_refuses_until_started_again_on_its_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.stop();
    assert!(!redis.is_running());
    let refused = redis.command(&["PING"]).expect_err("nothing listens");
    assert!(refused.contains("connect"), "{refused}");
    redis.start_again();
    assert!(redis.is_running());
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["PING"]).as_deref(), Ok("PONG"));
}

#[test]
fn client_kill_counts_the_connections_of_the_kind_it_cuts() {
    let redis = RedisServer::start();
    let mut normal: Vec<BufReader<TcpStream>> = (0..2).map(|_| connect(redis.addr())).collect();
    for client in &mut normal {
        send(client, "PING\r\n");
        assert_eq!(read_line(client), "+PONG\r\n");
    }
    let mut subscriber = connect(redis.addr());
    send(&mut subscriber, "SUBSCRIBE ferrio:channel\r\n");
    // *3 $9 subscribe $14 ferrio:channel :1
    while !read_line(&mut subscriber).starts_with(':') {}

    assert_eq!(redis.kill_clients("pubsub"), 1);
    assert_eq!(redis.kill_clients("normal"), 2);
    assert_eq!(redis.kill_clients("normal"), 0);
    for client in normal.iter_mut().chain([&mut subscriber]) {
        assert_eq!(client.read_line(&mut String::new()).expect("EOF"), 0);
    }
}

#[test]
fn paused_clients_wait_until_the_pause_ends() {
    let redis = RedisServer::start();
    let paused = Instant::now();
    redis.pause_clients(Duration::from_millis(300));
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    assert!(paused.elapsed() >= Duration::from_millis(250), "{paused:?}");
}

#[test]
fn nginx_balances_each_request_of_one_connection_round_robin() {
    let nodes = [Node::start("A"), Node::start("B"), Node::start("C")];
    let nginx = Nginx::start(&nodes.each_ref().map(Node::addr));
    let mut client = connect(nginx.addr());
    let served: Vec<String> = (0..6)
        .map(|i| {
            let request = format!("GET /who?i={i} HTTP/1.1\r\nHost: ferrio.test:8080\r\n\r\n");
            send(&mut client, &request);
            let (status, body) = read_response(&mut client);
            assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
            body
        })
        .collect();
    assert_eq!(served, ["A", "B", "C", "A", "B", "C"], "{}", nginx.config());

    let addrs: Vec<String> = nodes
        .each_ref()
        .map(|node| node.addr().to_string())
        .to_vec();
    assert_eq!(nginx.upstreams_served(6), [addrs.clone(), addrs].concat());
    let lines = nginx.access_log_lines(6);
    let connection = |line: &String| line.split(' ').next().map(str::to_owned);
    assert!(
        lines
            .iter()
            .all(|line| connection(line) == connection(&lines[0])),
        "not one client connection: {lines:?}"
    );
    assert!(
        lines[0].contains("\"GET /who?i=0 HTTP/1.1\" 200"),
        "{lines:?}"
    );

    let head = nodes[0].heads().remove(0);
    for header in [
        "Host: ferrio.test:8080",
        "X-Forwarded-For: 127.0.0.1",
        "Connection: close",
    ] {
        assert!(head.contains(header), "{header} not in {head}");
    }
    assert!(!head.contains("Upgrade"), "{head}");
}

#[test]
fn nginx_passes_a_websocket_upgrade_through() {
    let nodes = [Node::start("A"), Node::start("B")];
    let nginx = Nginx::start(&nodes.each_ref().map(Node::addr));
    let mut client = connect(nginx.addr());
    send(
        &mut client,
        "GET /socket.io/1/websocket/s HTTP/1.1\r\nHost: ferrio.test\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    let head = read_head(&mut client);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols"),
        "{head}"
    );
    send(&mut client, "bytes both ways");
    let mut echoed = [0u8; 15];
    client.read_exact(&mut echoed).expect("echo");
    assert_eq!(&echoed, b"bytes both ways");

    let head = nodes[0].heads().remove(0);
    for header in ["Upgrade: websocket", "Connection: upgrade"] {
        assert!(head.contains(header), "{header} not in {head}");
    }
}

#[test]
fn nginx_stream_balances_each_connection_round_robin() {
    let nodes = [Node::start("A"), Node::start("B"), Node::start("C")];
    let nginx = Nginx::start_stream(&nodes.each_ref().map(Node::addr));
    let served: Vec<String> = (0..6)
        .map(|_| {
            let mut client = connect(nginx.addr());
            send(
                &mut client,
                "GET / HTTP/1.1\r\nHost: ferrio.test\r\nConnection: close\r\n\r\n",
            );
            read_response(&mut client).1
        })
        .collect();
    assert_eq!(served, ["A", "B", "C", "A", "B", "C"], "{}", nginx.config());
    let addrs: Vec<String> = nodes
        .each_ref()
        .map(|node| node.addr().to_string())
        .to_vec();
    assert_eq!(nginx.upstreams_served(6), [addrs.clone(), addrs].concat());
    // Bytes pass untouched: no header added.
    let head = nodes[0].heads().remove(0);
    assert!(!head.contains("X-Forwarded-For"), "{head}");
}

/// A tiny HTTP server answering every request with its name (`Connection: close` honoured),
/// or, for an `Upgrade` request, `101` and then an echo of every byte; it keeps each request
/// head it read.
struct Node {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn start(name: &'static str) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a node");
        let addr = listener.local_addr().expect("node address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || serve(name, stream, &kept));
            }
        });
        Node { addr, heads }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

fn serve(name: &str, stream: TcpStream, heads: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let head = read_head(&mut reader);
        if head.is_empty() {
            return;
        }
        heads.lock().expect("heads").push(head.clone());
        let lower = head.to_ascii_lowercase();
        let stream = reader.get_mut();
        if lower.contains("\r\nupgrade: websocket") {
            let _ = stream.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            );
            let mut buffer = [0u8; 1024];
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                let _ = reader.get_mut().write_all(&buffer[..n]);
            }
            return;
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{name}",
            name.len()
        );
        if stream.write_all(response.as_bytes()).is_err() || lower.contains("\r\nconnection: close")
        {
            return;
        }
    }
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    BufReader::new(stream)
}

fn send(client: &mut BufReader<TcpStream>, text: &str) {
    client.get_mut().write_all(text.as_bytes()).expect("write");
}

fn read_line(client: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    client.read_line(&mut line).expect("a line");
    line
}

/// A request or response head up to its blank line, without it; empty at end of stream.
fn read_head(reader: &mut BufReader<TcpStream>) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return head,
            Ok(_) if line == "\r\n" => return head,
            Ok(_) => head.push_str(&line),
        }
    }
}

/// The status line and the `Content-Length` body of one response.
fn read_response(client: &mut BufReader<TcpStream>) -> (String, String) {
    let head = read_head(client);
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    let mut body = vec![0; length];
    client.read_exact(&mut body).expect("body");
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, String::from_utf8_lossy(&body).into_owned())
}
