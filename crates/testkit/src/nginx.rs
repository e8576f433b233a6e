//! A real nginx in front of several ferrio nodes, balancing round-robin with no stickiness:
//! per request for HTTP ([`Nginx::start`]: long polls, POSTs and WebSocket upgrades each go to
//! the next node) or per connection at L4 ([`Nginx::start_stream`], for the draft-76 and Flash
//! socket paths). Its access log names the node that served each request or connection.
//!
//! nginx runs as one foreground process (`daemon off`, `master_process off`) with every path
//! it writes (pid, logs, temporary files) inside a temporary directory given as its prefix,
//! so it runs as root or not and touches neither `/etc` nor `/var`. One process rather than a
//! master and a worker: a `SIGKILL` then ends all of it (a killed master leaves its workers
//! running), and no worker switches to another user that could not read the directory.
//!
//! The HTTP proxy is what a deployment in front of ferrio sets: HTTP/1.1 to the nodes,
//! WebSocket upgrades passed on (`Upgrade`, and `Connection` through a `map` of
//! `$http_upgrade`), no buffering either way (streams and long polls reach the client as the
//! node writes them; bodies reach the node as the client sends them), one-hour read and send
//! timeouts, the client's `Host`, `X-Forwarded-For`, and no body size limit of nginx's own
//! (the node's limits answer). There is no keep-alive to the nodes: every request opens its
//! own connection to the node it was given, so a node closing an idle connection can never
//! turn a POST into a `502`; nginx picks the node per request whether or not it keeps
//! connections, so the round-robin is the same either way. The rest is nginx's default: a
//! node that refuses a connection is skipped for ten seconds and the request is tried on the
//! next one (`$upstream_addr` then names both).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::{PipeText, TempDir, free_port, wait_exit};

/// Where Debian installs nginx, for a `PATH` without `/usr/sbin`.
const DEBIAN_BINARY: &str = "/usr/sbin/nginx";

/// Where Debian's nginx loads its dynamic modules from, unless `nginx -V` names another
/// `--modules-path`.
const DEBIAN_MODULES: &str = "/usr/lib/nginx/modules";

/// How long nginx may take to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long nginx may take to exit after `SIGQUIT` before it is killed.
const QUIT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`Nginx::access_log_lines`] waits for lines: nginx logs a request once it has
/// answered it, a moment after the client may have read the answer.
const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// Free ports tried before giving up, when another process takes the one picked first.
const PORT_ATTEMPTS: usize = 5;

/// The upstream group's name in the configuration.
const UPSTREAM: &str = "ferrio";

/// What nginx balances: HTTP requests or TCP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Stream,
}

/// A running nginx on `127.0.0.1:PORT` balancing round-robin over the addresses it was
/// started with; on drop it is stopped (`SIGQUIT`, then `SIGKILL` if it lingers) and its
/// directory removed.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    addr: SocketAddr,
    stderr: PipeText,
    dir: TempDir,
}

/// Why a start failed in a way another port fixes.
struct PortTaken;

impl Nginx {
    /// An HTTP reverse proxy balancing each request round-robin over `upstreams` (see the
    /// module's documentation for its settings); listening when this returns.
    ///
    /// Panics when nginx is not installed (`tests/run.sh` installs it) or does not start,
    /// with its error log.
    pub fn start(upstreams: &[SocketAddr]) -> Self {
        Self::launch(Mode::Http, upstreams)
    }

    /// An L4 proxy (`stream {}`) balancing each TCP connection round-robin over `upstreams`,
    /// bytes passed through untouched both ways, for a connection's whole life (one-hour idle
    /// timeout). Loads Debian's stream module when the binary does not have it built in.
    ///
    /// Listening when this returns: nginx has written its pid file, which it does after it
    /// bound and listened on its port (a probe connection would be proxied to a node and take
    /// that node's turn).
    pub fn start_stream(upstreams: &[SocketAddr]) -> Self {
        Self::launch(Mode::Stream, upstreams)
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (also for the stream proxy, which carries HTTP untouched).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The access log so far, one line per request (HTTP, logged once answered) or per
    /// connection (stream, logged once closed): nginx's connection number, the client's
    /// address, for HTTP the request line in quotes, the status, then `upstream=` and
    /// `$upstream_addr` to the end of the line (the node that served it; `A, B` when the
    /// first could not be reached).
    ///
    /// ```text
    /// 1 127.0.0.1:50412 "GET /socket.io/1/ HTTP/1.1" 200 upstream=127.0.0.1:41003
    /// 7 127.0.0.1:50430 200 upstream=127.0.0.1:41005
    /// ```
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// The access log's lines once there are at least `at_least` of them, waiting up to five
    /// seconds; panics with the log otherwise.
    pub fn access_log_lines(&self, at_least: usize) -> Vec<String> {
        let deadline = Instant::now() + LOG_TIMEOUT;
        loop {
            let log = self.access_log();
            let lines: Vec<String> = log.lines().map(str::to_owned).collect();
            if lines.len() >= at_least {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "nginx logged {} lines, not {at_least}, in {LOG_TIMEOUT:?}: {log}",
                lines.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The `$upstream_addr` of each line of the access log, once there are at least
    /// `at_least` lines: which node served each request or connection, in the order the
    /// connections were accepted (nginx logs a stream connection when it closes, and
    /// connections that close together may be logged in either order).
    pub fn upstreams_served(&self, at_least: usize) -> Vec<String> {
        let mut lines = self.access_log_lines(at_least);
        // A stable sort: a connection's requests stay in the order they were answered.
        lines.sort_by_key(|line| {
            line.split_once(' ')
                .and_then(|(connection, _)| connection.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        });
        lines
            .iter()
            .map(|line| match line.split_once(" upstream=") {
                Some((_, upstream)) => upstream.to_owned(),
                None => panic!("no upstream in the access log line {line:?}"),
            })
            .collect()
    }

    /// nginx's error log so far (what it says about refused nodes and its own start).
    pub fn error_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        format!("{}{log}", self.stderr.text())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> String {
        std::fs::read_to_string(self.dir.join("nginx.conf")).unwrap_or_default()
    }

    fn launch(mode: Mode, upstreams: &[SocketAddr]) -> Self {
        assert!(!upstreams.is_empty(), "nginx needs at least one upstream");
        let installed = installed();
        let mut taken = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            match Self::spawn(installed, mode, upstreams, addr) {
                Ok(nginx) => return nginx,
                Err(PortTaken) => taken.push(addr.port()),
            }
        }
        panic!("every port tried for nginx was taken before it bound it: {taken:?}");
    }

    fn spawn(
        installed: &Installed,
        mode: Mode,
        upstreams: &[SocketAddr],
        addr: SocketAddr,
    ) -> Result<Self, PortTaken> {
        let dir = TempDir::new("nginx");
        let config = config(installed, mode, upstreams, addr, dir.path());
        std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
        let mut child = nginx_in(&installed.binary, &dir)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", installed.binary.display()));
        let stderr = PipeText::collect(child.stderr.take().expect("nginx's stderr"));
        let mut nginx = Nginx {
            child,
            addr,
            stderr,
            dir,
        };
        let pid_file = nginx.dir.join("nginx.pid");
        let own_pid = nginx.child.id().to_string();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = nginx.child.try_wait().expect("try_wait on nginx") {
                nginx.stderr.text_when_ended(Duration::from_secs(1));
                if nginx.error_log().contains("Address already in use") {
                    return Err(PortTaken);
                }
                panic!("nginx exited ({status}): {}", nginx.error_log());
            }
            let written = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if written.trim() == own_pid && (mode == Mode::Stream || accepts(addr)) {
                return Ok(nginx);
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {addr} within {READY_TIMEOUT:?}: {}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = kill_process(Pid::from_child(&self.child), Signal::QUIT);
        if wait_exit(&mut self.child, QUIT_TIMEOUT).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether `addr` accepts a connection (closed at once; an HTTP proxy that gets no request
/// on it neither logs it nor reaches a node).
fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// The nginx binary and how it gets the stream module.
/// nginx with `dir` as its prefix, `dir/nginx.conf` as its configuration and `dir/error.log`
/// as the log of its start (before the configuration's own is opened).
fn nginx_in(binary: &Path, dir: &TempDir) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    command
}

/// Asks the installed nginx whether it accepts `config` (`nginx -t`), run in a temp dir of
/// its own, so the file's own paths (pid, logs, temp files) stay there; the error is what
/// nginx said. Upstream names must resolve where the check runs.
pub fn check_config(config: &str) -> Result<(), String> {
    let dir = TempDir::new("nginx-check");
    std::fs::write(dir.join("nginx.conf"), config).map_err(|error| error.to_string())?;
    let output = nginx_in(&installed().binary, &dir)
        .arg("-t")
        .args(["-g", "pid nginx.pid;"])
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[derive(Debug)]
struct Installed {
    binary: PathBuf,
    /// The stream module's `.so` when the binary has it as a dynamic module; `None` when it
    /// is built in.
    stream_module: Result<Option<PathBuf>, String>,
}

/// The installed nginx, looked up once: on `PATH`, else where Debian puts it. Panics naming
/// `tests/run.sh` when there is none.
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let binary = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("nginx"))
            .chain([PathBuf::from(DEBIAN_BINARY)])
            .find(|path| path.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "nginx is on neither PATH nor {DEBIAN_BINARY}; tests/run.sh installs it \
                     (Debian's nginx package)"
                )
            });
        let version = Command::new(&binary)
            .arg("-V")
            .output()
            .unwrap_or_else(|error| panic!("cannot run {} -V: {error}", binary.display()));
        // `nginx -V` writes its build options to stderr.
        let built = String::from_utf8_lossy(&version.stderr).into_owned();
        let stream_module = stream_module(&built);
        Installed {
            binary,
            stream_module,
        }
    })
}

/// How a binary built with the `-V` options `built` gets the stream module: built in
/// (`--with-stream`), or as a dynamic module (`--with-stream=dynamic`) from its modules path,
/// which must hold it (Debian's `libnginx-mod-stream`).
fn stream_module(built: &str) -> Result<Option<PathBuf>, String> {
    let options: Vec<&str> = built.split_whitespace().collect();
    if options.contains(&"--with-stream") {
        return Ok(None);
    }
    if !options.contains(&"--with-stream=dynamic") {
        return Err(format!(
            "this nginx has no stream module (nginx -V: {built}); tests/run.sh installs \
             Debian's nginx and libnginx-mod-stream"
        ));
    }
    let modules = options
        .iter()
        .find_map(|option| option.strip_prefix("--modules-path="))
        .unwrap_or(DEBIAN_MODULES);
    let module = Path::new(modules).join("ngx_stream_module.so");
    if module.is_file() {
        Ok(Some(module))
    } else {
        Err(format!(
            "nginx's stream module is not at {}; tests/run.sh installs it (Debian's \
             libnginx-mod-stream package)",
            module.display()
        ))
    }
}

/// The whole configuration of one nginx.
fn config(
    installed: &Installed,
    mode: Mode,
    upstreams: &[SocketAddr],
    addr: SocketAddr,
    dir: &Path,
) -> String {
    let dir = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|upstream| format!("        server {upstream};\n"))
        .collect();
    let load_module = match (mode, &installed.stream_module) {
        (Mode::Http, _) | (Mode::Stream, Ok(None)) => String::new(),
        (Mode::Stream, Ok(Some(module))) => format!("load_module \"{}\";\n", module.display()),
        (Mode::Stream, Err(missing)) => panic!("{missing}"),
    };
    let main = format!(
        "# One nginx of one test, written by ferrio-testkit.
{load_module}master_process off;
pid \"{dir}/nginx.pid\";
lock_file \"{dir}/nginx.lock\";
error_log \"{dir}/error.log\" notice;

events {{
    worker_connections 4096;
}}
"
    );
    let proxy = match mode {
        Mode::Http => format!(
            "
http {{
    log_format upstreams '$connection $remote_addr:$remote_port \"$request\" $status upstream=$upstream_addr';
    access_log \"{dir}/access.log\" upstreams;
    client_body_temp_path \"{dir}/client_body\";
    proxy_temp_path \"{dir}/proxy\";
    fastcgi_temp_path \"{dir}/fastcgi\";
    uwsgi_temp_path \"{dir}/uwsgi\";
    scgi_temp_path \"{dir}/scgi\";
    # The node's own body limits answer.
    client_max_body_size 0;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}

    # Round-robin, no ip_hash, no hash, no keep-alive to the nodes.
    upstream {UPSTREAM} {{
{servers}    }}

    server {{
        listen {addr};

        location / {{
            proxy_pass http://{UPSTREAM};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
}}
"
        ),
        Mode::Stream => format!(
            "
stream {{
    log_format upstreams '$connection $remote_addr:$remote_port $status upstream=$upstream_addr';
    access_log \"{dir}/access.log\" upstreams;

    # Round-robin per connection, no hash.
    upstream {UPSTREAM} {{
{servers}    }}

    server {{
        listen {addr};
        proxy_pass {UPSTREAM};
        proxy_connect_timeout 5s;
        proxy_timeout 3600s;
    }}
}}
"
        ),
    };
    main + &proxy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_module_is_built_in_loaded_from_the_modules_path_or_missing() {
        assert_eq!(
            stream_module("configure arguments: --with-http_ssl_module --with-stream"),
            Ok(None)
        );
        let missing = stream_module(
            "configure arguments: --modules-path=/nowhere/modules --with-stream=dynamic",
        );
        assert!(
            missing.as_ref().is_err_and(|message| message
                .contains("/nowhere/modules/ngx_stream_module.so")
                && message.contains("tests/run.sh")),
            "{missing:?}"
        );
        let none = stream_module("configure arguments: --with-http_ssl_module");
        assert!(none.is_err_and(|message| message.contains("no stream module")));
    }
}
