//! The real `ferrio` binary as a child process, for the cases only the command line shows
//! (flags, environment, configuration files, signals). The caller names the binary — in a test
//! of the package that builds it, `env!("CARGO_BIN_EXE_ferrio")` — and gets a command that
//! inherits no `FERRIO_*` setting ([`ferrio_command`]), a running gateway found through its
//! `ferrio listening on http://ADDR` line ([`GatewayProcess`]), possibly with its admin
//! listener on a port of its own ([`GatewayProcess::start_with_admin`]), and free ports.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use parking_lot::Mutex;

use crate::http::REQUEST_TIMEOUT;
use crate::{HttpResponse, request};

/// What a gateway prints on stdout, followed by its address, once it listens.
pub const LISTENING_PREFIX: &str = "ferrio listening on http://";

/// How long a process may take to print its listening line (or to exit when it must).
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Ports tried for an admin listener before giving up.
const ADMIN_PORT_ATTEMPTS: usize = 5;

/// The `ferrio` binary `bin` with `args`, with no `FERRIO_*` variable inherited (the test's own
/// environment must not leak into the settings), `FERRIO_LOG=info`, then `env` set.
pub fn ferrio_command(bin: impl AsRef<OsStr>, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin);
    command.args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FERRIO_") {
            command.env_remove(key);
        }
    }
    command.env("FERRIO_LOG", "info");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// A port free a moment ago on 127.0.0.1, for a listener the test must name before the
/// process starts (another process may take it meanwhile).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Waits up to `timeout` for `child` to exit; its status, or `None` if it still runs.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything a child's pipe has given so far, read on a thread of its own so the pipe never
/// fills up and blocks the child.
#[derive(Debug, Clone, Default)]
pub struct PipeText {
    text: Arc<Mutex<String>>,
    /// Set once the pipe has ended: nothing more will be read.
    ended: Arc<AtomicBool>,
}

impl PipeText {
    /// Starts reading `pipe` until it ends.
    pub fn collect(mut pipe: impl Read + Send + 'static) -> Self {
        let text = PipeText::default();
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.text
                    .lock()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
            sink.ended.store(true, Ordering::Release);
        });
        text
    }

    /// What was read so far (lossy UTF-8).
    pub fn text(&self) -> String {
        self.text.lock().clone()
    }

    /// Everything the pipe gave, once it has ended (the child exited and closed it), waiting
    /// up to `timeout` for the reader to get there: a child's exit does not mean its last
    /// words have been read yet.
    pub fn text_when_ended(&self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while !self.ended.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.text()
    }
}

/// A running gateway process (`ferrio`, or any program that prints the same
/// [`LISTENING_PREFIX`] line); killed on drop if still running.
#[derive(Debug)]
pub struct GatewayProcess {
    /// The process.
    pub child: Child,
    /// Where it said it listens.
    pub addr: SocketAddr,
    stderr: PipeText,
}

impl GatewayProcess {
    /// Starts [`ferrio_command`]`(bin, args, env)` (`args` should include `--port 0`) and waits
    /// for its listening line.
    pub fn start(bin: impl AsRef<OsStr>, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(ferrio_command(bin, args, env))
    }

    /// [`GatewayProcess::start`] with an admin listener on a free port of 127.0.0.1; waits
    /// until the binary says that listener is ready, and returns the gateway and the admin
    /// address. The admin port cannot be 0 (that turns the listener off), so a port free a
    /// moment ago is picked, and another process may take it before the binary binds it: then
    /// the binary exits saying the address is in use, and another port is tried. Only the
    /// binary's own "ready" line proves the port is its own, not some other listener's.
    pub fn start_with_admin(
        bin: impl AsRef<OsStr>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Self, SocketAddr) {
        let mut taken = Vec::new();
        for _ in 0..ADMIN_PORT_ATTEMPTS {
            let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let port = admin.port().to_string();
            let mut all = args.to_vec();
            all.extend(["--admin-bind", "127.0.0.1", "--admin-port", &port]);
            let mut gateway = Self::start(bin.as_ref(), &all, env);
            let ready = format!("admin listener ready addr={admin}");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                let stderr = gateway.stderr();
                if stderr.contains(&ready) {
                    return (gateway, admin);
                }
                if gateway.child.try_wait().expect("try_wait").is_some() {
                    assert!(
                        stderr.contains("Address already in use"),
                        "{all:?} exited: {stderr}"
                    );
                    taken.push(admin.port());
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{all:?}: the admin listener never became ready: {stderr}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("every admin port tried was taken before the binary bound it: {taken:?}");
    }

    /// Spawns `command` with stdout and stderr piped, and waits up to ten seconds for its
    /// first stdout line, which must be `ferrio listening on http://ADDR`. Panics with what
    /// the process wrote to stderr when the line does not come.
    pub fn spawn(mut command: Command) -> Self {
        let what = format!("{command:?}");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {what}: {error}"));
        let stderr = PipeText::collect(child.stderr.take().expect("stderr"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // The rest of stdout is read too, so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let listening = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| format!("{what} never said it listens: {}", stderr.text()))
            .and_then(|line| {
                line.strip_prefix(LISTENING_PREFIX)
                    .ok_or_else(|| format!("unexpected first line {line:?} of {what}"))?
                    .parse::<SocketAddr>()
                    .map_err(|error| format!("listening address in {line:?}: {error}"))
            });
        let addr = listening.unwrap_or_else(|failure| {
            // Not left running behind the failed test.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{failure}");
        });
        GatewayProcess {
            child,
            addr,
            stderr,
        }
    }

    /// Sends the process `signal` (`"STOP"`, `"CONT"`, `"KILL"`…) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }

    /// What the process wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Everything the process wrote to stderr, once it has exited and its last words have
    /// been read (up to `timeout`).
    pub fn stderr_when_ended(&self, timeout: Duration) -> String {
        self.stderr.text_when_ended(timeout)
    }

    /// A GET on a fresh connection; fails the test after five seconds.
    pub async fn get(&self, path: &str) -> HttpResponse {
        let get = request(self.addr, Method::GET, path, &[], Bytes::new());
        tokio::time::timeout(REQUEST_TIMEOUT, get)
            .await
            .unwrap_or_else(|_| panic!("GET {path} not answered in time"))
    }

    /// A POST of `body` as `text/plain` on a fresh connection; fails the test after five
    /// seconds.
    pub async fn post(&self, path: &str, body: &str) -> HttpResponse {
        let post = request(
            self.addr,
            Method::POST,
            path,
            &[("content-type", "text/plain;charset=UTF-8")],
            body.to_owned(),
        );
        tokio::time::timeout(REQUEST_TIMEOUT, post)
            .await
            .unwrap_or_else(|_| panic!("POST {path} not answered in time"))
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
