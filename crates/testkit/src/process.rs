//! The real `ferrio` binary as a child process, for the cases only the command line shows
//! (flags, environment, configuration files, signals): the binary built once per test process
//! ([`ferrio_binary`]), a command that inherits no `FERRIO_*` setting ([`ferrio_command`]), a
//! running gateway found through its `ferrio listening on http://ADDR` line
//! ([`GatewayProcess`]), and free ports for the listeners a test must name.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use parking_lot::Mutex;

use crate::http::REQUEST_TIMEOUT;
use crate::{HttpResponse, request};

/// What a gateway prints on stdout, followed by its address, once it listens.
pub const LISTENING_PREFIX: &str = "ferrio listening on http://";

/// How long a process may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The root of this workspace.
fn workspace_root() -> &'static Path {
    // This crate lives in `crates/testkit`.
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `ferrio` binary of this workspace, built (`cargo build -p ferrio-server --bin ferrio`)
/// once per test process, under `$CARGO_TARGET_DIR` when that is set. Panics with cargo's
/// output when the build fails.
pub fn ferrio_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let output = Command::new(env!("CARGO"))
            .args(["build", "-p", "ferrio-server", "--bin", "ferrio"])
            .current_dir(workspace_root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run cargo build");
        assert!(
            output.status.success(),
            "cargo build of the ferrio binary failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let path = target.join("debug").join("ferrio");
        assert!(path.exists(), "{path:?} was not built");
        path
    })
}

/// [`ferrio_binary`] with `args`, with no `FERRIO_*` variable inherited (the test's own
/// environment must not leak into the settings), `FERRIO_LOG=info`, then `env` set.
pub fn ferrio_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(ferrio_binary());
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
pub struct PipeText(Arc<Mutex<String>>);

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
                sink.0
                    .lock()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        text
    }

    /// What was read so far (lossy UTF-8).
    pub fn text(&self) -> String {
        self.0.lock().clone()
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
    /// Starts [`ferrio_command`]`(args, env)` (`args` should include `--port 0`) and waits for
    /// its listening line.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(ferrio_command(args, env))
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
        let Ok(line) = rx.recv_timeout(START_TIMEOUT) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} never said it listens: {}", stderr.text());
        };
        let addr = line
            .strip_prefix(LISTENING_PREFIX)
            .unwrap_or_else(|| panic!("unexpected first line {line:?} of {what}"))
            .parse()
            .unwrap_or_else(|error| panic!("listening address in {line:?}: {error}"));
        GatewayProcess {
            child,
            addr,
            stderr,
        }
    }

    /// What the process wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.stderr.text()
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
