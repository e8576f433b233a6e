//! The `ferrio` binary that cargo builds for this test, run as a child process: its command
//! with a clean environment, and a running gateway learnt from what it prints.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long the binary may take to start listening, or to exit when it must.
pub(crate) const START: Duration = Duration::from_secs(10);

/// Ports tried for an admin listener before giving up.
const ADMIN_PORT_ATTEMPTS: usize = 5;

/// The binary with `args`, with no `FERRIO_*` variable inherited, then `env` set.
pub(crate) fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrio"));
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

/// Collects a pipe into a shared string on a thread.
pub(crate) fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    text
}

/// A running gateway process; killed on drop if still running.
pub(crate) struct Gateway {
    /// The process.
    pub(crate) child: Child,
    /// The public listener, from the `ferrio listening on http://…` line.
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Gateway {
    /// Starts the binary with `args` (which should include `--port 0`) and waits for its
    /// `ferrio listening on http://…` line.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = command(args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ferrio");
        let stderr = collect(child.stderr.take().expect("stderr"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let Ok(line) = rx.recv_timeout(START) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} never said it listens: {}",
                stderr.lock().expect("lock")
            );
        };
        let addr = line
            .strip_prefix("ferrio listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("listening address");
        Gateway {
            child,
            addr,
            stderr,
        }
    }

    /// Starts the binary with `args` and an admin listener on a free port of 127.0.0.1, and
    /// waits until the binary says that listener is ready; returns the gateway and the admin
    /// address. The admin port cannot be 0 (that turns the listener off), so a port free a
    /// moment ago is picked, and another process may take it before the binary binds it:
    /// then the binary exits saying the address is in use, and another port is tried. Only
    /// the binary's own "ready" line proves the port is its own, not some other listener's.
    pub(crate) fn start_with_admin(args: &[&str], env: &[(&str, &str)]) -> (Self, SocketAddr) {
        let mut taken = Vec::new();
        for _ in 0..ADMIN_PORT_ATTEMPTS {
            let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let port = admin.port().to_string();
            let mut all = args.to_vec();
            all.extend(["--admin-bind", "127.0.0.1", "--admin-port", &port]);
            let mut gateway = Gateway::start(&all, env);
            let ready = format!("admin listener ready addr={admin}");
            let deadline = Instant::now() + START;
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

    /// What the binary has written to standard error so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
