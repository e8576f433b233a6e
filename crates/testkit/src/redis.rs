//! A real `redis-server` for tests of several ferrio nodes sharing one Redis: started on a free
//! port of 127.0.0.1 with its data and log in a temporary directory, killed and restarted on
//! the same port (with its data when persistent), paused, and its clients cut.
//!
//! Everything here is synchronous (`std::process`, `std::net`): a test calls it between its
//! async steps, and each call takes milliseconds. Commands go over a minimal RESP client on a
//! fresh `TcpStream` rather than through `redis-cli`: `redis-cli` answers an error reply with
//! exit status 0 (an error would be told only by its text), costs a process a call and quotes
//! what it prints, while RESP gives binary-safe arguments, error replies as `Err`, and no
//! dependency on another binary. A fresh connection for each command also keeps the helper out of the
//! clients a test counts or kills ([`RedisServer::kill_clients`] spares the connection that
//! asks).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{PipeText, TempDir, free_port};

/// The binary started, found on `PATH`.
const BINARY: &str = "redis-server";

/// How long a server may take to answer `PING` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one command may take, connecting included (a paused server holds a command until
/// the pause ends).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Free ports tried before giving up, when another process takes the one picked before the
/// server binds it.
const PORT_ATTEMPTS: usize = 5;

/// The log file's name in the server's directory.
const LOG_FILE: &str = "redis.log";

/// A `redis-server` child process on `127.0.0.1:port()`, with `--dir` and its log file in a
/// temporary directory; killed (`SIGKILL`) and reaped on drop, its directory removed.
///
/// Without persistence (`--save "" --appendonly no`) a restart starts empty; with it
/// (`--appendonly yes --appendfsync always`, snapshots off) every write acknowledged before
/// the kill is there after the restart.
#[derive(Debug)]
pub struct RedisServer {
    /// The running server; `None` while stopped.
    child: Option<Child>,
    /// Its stderr (configuration errors come there; the rest goes to the log file).
    stderr: PipeText,
    port: u16,
    persistent: bool,
    /// A node of a Redis Cluster (`--cluster-enabled yes`).
    cluster_node: bool,
    binary: &'static str,
    dir: TempDir,
}

/// Why a start failed in a way another port fixes.
struct PortTaken;

impl RedisServer {
    /// A server without persistence on a free port, answering `PING` when this returns.
    ///
    /// Panics when `redis-server` is not installed (`tests/run.sh` installs it) or does not
    /// become ready, with its log.
    pub fn start() -> Self {
        Self::launch(BINARY, false, false)
    }

    /// A server with an append-only file fsynced on every write (`--appendonly yes
    /// --appendfsync always`), so what it acknowledged survives [`RedisServer::restart`].
    pub fn start_persistent() -> Self {
        Self::launch(BINARY, true, false)
    }

    fn launch(binary: &'static str, persistent: bool, cluster_node: bool) -> Self {
        let mut server = RedisServer {
            child: None,
            stderr: PipeText::default(),
            port: 0,
            persistent,
            cluster_node,
            binary,
            dir: TempDir::new("redis"),
        };
        let mut taken = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(PortTaken) => taken.push(server.port),
            }
        }
        panic!("every port tried for redis-server was taken before it bound it: {taken:?}");
    }

    /// `redis://127.0.0.1:PORT/`, what a ferrio node is configured with.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Whether the server process is running (not stopped and not exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Everything the server logged so far, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(LOG_FILE)).unwrap_or_default()
    }

    /// Runs one command on a fresh connection and gives the reply as text: a status or a bulk
    /// string as it is (lossy UTF-8), an integer in decimal, a nil reply as `(nil)`, an array
    /// as its elements' texts one a line (nested arrays flattened, an empty array empty). An
    /// error reply, or no answer within five seconds, is `Err` with its message.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        self.query(args).map(|reply| reply.text())
    }

    /// Every key matching the glob `pattern`, sorted, through `SCAN` (never `KEYS`, which a
    /// server would block on). Panics when the server does not answer.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys = BTreeSet::new();
        let mut cursor = "0".to_owned();
        loop {
            let reply = self
                .query(&["SCAN", &cursor, "MATCH", pattern, "COUNT", "1000"])
                .unwrap_or_else(|error| panic!("SCAN MATCH {pattern}: {error}"));
            let Reply::Array(Some(parts)) = reply else {
                panic!("SCAN answered {reply:?}");
            };
            let [Reply::Bulk(Some(next)), Reply::Array(Some(batch))] = parts.as_slice() else {
                panic!("SCAN answered {parts:?}");
            };
            keys.extend(batch.iter().map(Reply::text));
            if next == "0" {
                return keys.into_iter().collect();
            }
            cursor.clone_from(next);
        }
    }

    /// Kills the server (`SIGKILL`: no shutdown save, connections cut), waits for it, and
    /// starts it again on the same port with the same persistence, answering `PING` when this
    /// returns. Only a persistent server keeps its data.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Kills the server (`SIGKILL`) and waits for it; it stays down until
    /// [`RedisServer::start_again`]. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped server again on the same port, with the same persistence, and waits
    /// until it answers `PING`. Panics when it runs already, or when another process took
    /// its port meanwhile.
    pub fn start_again(&mut self) {
        assert!(
            self.child.is_none(),
            "redis-server on port {} runs already",
            self.port
        );
        if self.spawn().is_err() {
            panic!(
                "port {} was taken while redis-server was down: {}",
                self.port,
                self.log()
            );
        }
    }

    /// `CLIENT PAUSE <ms> ALL`: every client's commands (this helper's too) wait until `d`
    /// has passed.
    pub fn pause_clients(&self, d: Duration) {
        let millis = d.as_millis().to_string();
        let reply = self.command(&["CLIENT", "PAUSE", &millis, "ALL"]);
        assert_eq!(reply.as_deref(), Ok("OK"), "CLIENT PAUSE {millis} ALL");
    }

    /// `CLIENT KILL TYPE <kind>` (`normal`, `pubsub`, `replica` or `master`): closes every
    /// connection of that kind but the one asking, and says how many were closed.
    pub fn kill_clients(&self, kind: &str) -> usize {
        match self.query(&["CLIENT", "KILL", "TYPE", kind]) {
            Ok(Reply::Integer(killed)) => usize::try_from(killed).expect("a count"),
            other => panic!("CLIENT KILL TYPE {kind} answered {other:?}"),
        }
    }

    /// Starts the process on `self.port` and waits until it answers `PING` as itself.
    fn spawn(&mut self) -> Result<(), PortTaken> {
        let log = self.dir.join(LOG_FILE);
        let logged_before = std::fs::metadata(&log).map_or(0, |meta| meta.len());
        let port = self.port.to_string();
        let dir = self.dir.path().to_string_lossy().into_owned();
        let log_path = log.to_string_lossy().into_owned();
        let mut command = Command::new(self.binary);
        command.args([
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir,
            "--logfile",
            &log_path,
            "--daemonize",
            "no",
            "--save",
            "",
        ]);
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        if self.cluster_node {
            command.args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run {}: {error}; tests/run.sh installs redis-server \
                     (Debian's redis-server package)",
                    self.binary
                )
            });
        self.stderr = PipeText::collect(child.stderr.take().expect("redis-server's stderr"));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait on redis-server") {
                let log = self.log();
                let logged = log.get(logged_before as usize..).unwrap_or(&log);
                if logged.contains("Address already in use") {
                    return Err(PortTaken);
                }
                panic!(
                    "redis-server on port {} exited ({status}): {}{logged}",
                    self.port,
                    self.stderr.text_when_ended(Duration::from_secs(1))
                );
            }
            // The process id proves the answer is this server's, not another one's that
            // holds the port; `loading:0`, that its append-only file has been read back
            // (until then it answers commands with `-LOADING`).
            if let Ok(info) = self.query(&["INFO", "server", "persistence"]) {
                let own = format!("process_id:{}", child.id());
                let info = info.text();
                let mut lines = info.lines().map(str::trim);
                if lines.clone().any(|line| line == own) && lines.any(|line| line == "loading:0") {
                    self.child = Some(child);
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "redis-server on port {} did not answer within {READY_TIMEOUT:?}: {}{}",
                    self.port,
                    self.stderr.text(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// One command, its reply parsed (an error reply is `Err`).
    fn query(&self, args: &[&str]) -> Result<Reply, String> {
        let stream = TcpStream::connect_timeout(&self.addr(), COMMAND_TIMEOUT)
            .map_err(|error| format!("connect to redis on port {}: {error}", self.port))?;
        let io = |error: std::io::Error| format!("{args:?} on redis port {}: {error}", self.port);
        stream.set_read_timeout(Some(COMMAND_TIMEOUT)).map_err(io)?;
        stream
            .set_write_timeout(Some(COMMAND_TIMEOUT))
            .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        (&stream).write_all(&request).map_err(io)?;
        let reply = Reply::read(&mut BufReader::new(&stream)).map_err(io)?;
        let _ = stream.shutdown(Shutdown::Both);
        match reply {
            Reply::Error(message) => Err(message),
            reply => Ok(reply),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A RESP2 reply.
#[derive(Debug)]
enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:1`
    Integer(i64),
    /// `$3 foo`, `$-1` (nil)
    Bulk(Option<String>),
    /// `*2 …`, `*-1` (nil)
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// Reads one reply (recursively for arrays).
    fn read(reader: &mut impl BufRead) -> std::io::Result<Reply> {
        let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at_checked(1).unwrap_or(("", ""));
        let length = || {
            rest.parse::<i64>()
                .map_err(|_| invalid(format!("a length in {line:?}")))
        };
        Ok(match kind {
            "+" => Reply::Simple(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Integer(length()?),
            "$" => match usize::try_from(length()?) {
                Err(_) => Reply::Bulk(None),
                Ok(len) => {
                    let mut bytes = vec![0; len + 2];
                    reader.read_exact(&mut bytes)?;
                    bytes.truncate(len);
                    Reply::Bulk(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
            },
            "*" => match usize::try_from(length()?) {
                Err(_) => Reply::Array(None),
                Ok(len) => Reply::Array(Some(
                    (0..len)
                        .map(|_| Reply::read(reader))
                        .collect::<std::io::Result<_>>()?,
                )),
            },
            _ => return Err(invalid(format!("a reply starting {line:?}"))),
        })
    }

    /// The reply as [`RedisServer::command`] gives it.
    fn text(&self) -> String {
        match self {
            Reply::Simple(text) | Reply::Error(text) | Reply::Bulk(Some(text)) => text.clone(),
            Reply::Integer(value) => value.to_string(),
            Reply::Bulk(None) | Reply::Array(None) => "(nil)".to_owned(),
            Reply::Array(Some(items)) => {
                items.iter().map(Reply::text).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

/// A real Redis Cluster of `masters` primaries on free loopback ports, the 16 384 slots split
/// between them, ready (`cluster_state:ok` on every node) when this returns; each node is a
/// [`RedisServer`], killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the cluster. Panics with the nodes' answers when it does not come up.
    pub fn start(masters: usize) -> Self {
        assert!(masters >= 1, "a Redis Cluster needs a primary");
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| RedisServer::launch(BINARY, false, true))
            .collect();
        const SLOTS: usize = 16_384;
        for (index, node) in nodes.iter().enumerate() {
            let first = index * SLOTS / masters;
            let last = (index + 1) * SLOTS / masters - 1;
            node.command(&[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &first.to_string(),
                &last.to_string(),
            ])
            .unwrap_or_else(|error| panic!("ADDSLOTSRANGE on {}: {error}", node.port()));
        }
        for node in &nodes[1..] {
            nodes[0]
                .command(&["CLUSTER", "MEET", "127.0.0.1", &node.port().to_string()])
                .unwrap_or_else(|error| panic!("CLUSTER MEET {}: {error}", node.port()));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let states: Vec<String> = nodes
                .iter()
                .map(|node| node.command(&["CLUSTER", "INFO"]).unwrap_or_default())
                .collect();
            if states.iter().all(|info| info.contains("cluster_state:ok")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Redis Cluster never came up: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        RedisCluster { nodes }
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`, what a ferrio node is configured with.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// Its nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The keys matching `pattern` on every node (SCAN on each).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|node| node.keys(pattern))
            .collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "tests/run.sh installs redis-server")]
    fn a_missing_binary_fails_naming_the_script_that_installs_it() {
        RedisServer::launch("redis-server-not-installed-here", false, false);
    }

    #[test]
    fn replies_read_as_text() {
        let wire = "+OK\r\n:42\r\n$3\r\nfoo\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:7\r\n*0\r\n";
        let mut reader = BufReader::new(wire.as_bytes());
        let texts: Vec<String> = (0..6)
            .map(|_| Reply::read(&mut reader).expect("a reply").text())
            .collect();
        assert_eq!(texts, ["OK", "42", "foo", "(nil)", "a\n7", ""]);
    }
}
