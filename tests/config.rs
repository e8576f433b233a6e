//! The real `ferrio` binary: `--help` listing every declared setting with its variable and
//! default, and README.md's configuration table agreeing with it; invalid settings refused at
//! start with exit code 2 and a message naming the setting (from flags, `FERRIO_*` variables
//! or the TOML file); the file < environment < flag precedence seen in the handshake; and
//! SIGTERM's drain (`/readyz` 503, handshakes refused, sessions served) then a clean exit.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrio_server::{Setting, Settings};
use ferrio_testkit::{
    GatewayProcess, HttpResponse, PipeText, START_TIMEOUT, ferrio_command, request, wait_exit,
    within,
};
use futures_util::{SinkExt, StreamExt};
use http::Method;
use tokio_tungstenite::tungstenite::Message;

/// The binary under test.
const FERRIO: &str = env!("CARGO_BIN_EXE_ferrio");

const WAIT: Duration = Duration::from_secs(3);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(15);

/// A scratch directory for configuration files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferrio-config-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write file");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A run of the binary that must fail at start: its exit status, stdout and stderr.
fn run_refused(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferrio");
    let stdout = PipeText::collect(child.stdout.take().expect("stdout"));
    let stderr = PipeText::collect(child.stderr.take().expect("stderr"));
    let status = wait_exit(&mut child, START_TIMEOUT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = stdout.text_when_ended(WAIT);
    let stderr = stderr.text_when_ended(WAIT);
    let status =
        status.unwrap_or_else(|| panic!("{args:?} {env:?} was not refused; it ran: {stderr}"));
    (status, stdout, stderr)
}

/// The ferrio binary cargo built for this test, with `args` and a clean environment.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    ferrio_command(FERRIO, args, env)
}

/// A handshake on the running binary; the body's fields.
async fn handshake(gateway: &GatewayProcess) -> Vec<String> {
    let response = gateway.get("/socket.io/1/?t=1").await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.text().split(':').map(str::to_owned).collect()
}

async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    tokio::time::timeout(
        Duration::from_secs(5),
        request(addr, Method::GET, path, &[], Bytes::new()),
    )
    .await
    .unwrap_or_else(|_| panic!("GET {path} answered in time"))
}

// ---------------------------------------------------------------------------------------------

/// What `--help` or the README says of one flag: its variable and its default, each `None`
/// when none is shown.
#[derive(Debug, PartialEq, Eq)]
struct Documented {
    variable: Option<String>,
    default: Option<String>,
}

/// `ferrio --help`, run with `env`.
fn help_text(env: &[(&str, &str)]) -> String {
    let output = command(&["--help"], env).output().expect("run --help");
    assert!(output.status.success(), "{:?}", output.status);
    String::from_utf8(output.stdout).expect("UTF-8 help")
}

/// The text inside `[label: …]` in `entry`, up to `=` or `]`.
fn bracketed(entry: &str, label: &str, stop: &[char]) -> Option<String> {
    let start = entry.find(&format!("[{label}: "))? + label.len() + 3;
    let rest = &entry[start..];
    Some(rest[..rest.find(stop)?].to_owned())
}

/// Every flag of `--help` but `--help` and `--version`, by name without dashes. An entry
/// runs from the flag's line to the next line that starts with a dash.
fn help_entries(help: &str) -> BTreeMap<String, Documented> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (trimmed.find("--"), entries.last_mut()) {
            (Some(dashes), _) if trimmed.starts_with('-') && indent < 8 => {
                let flag: String = trimmed[dashes + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                entries.push((flag, String::new()));
            }
            (_, Some((_, text))) if !trimmed.is_empty() => {
                text.push(' ');
                text.push_str(trimmed);
            }
            _ => {}
        }
    }
    entries
        .into_iter()
        .filter(|(flag, _)| flag != "help" && flag != "version")
        .map(|(flag, text)| {
            let documented = Documented {
                variable: bracketed(&text, "env", &['=', ']']),
                default: bracketed(&text, "default", &[']']),
            };
            (flag, documented)
        })
        .collect()
}

/// The rows of the table in README.md's "## Configuration" section, by flag without dashes:
/// `| `--flag` | `VARIABLE` | default | meaning |`, with `—` for nothing and the backticks of
/// a literal value dropped.
fn readme_rows() -> BTreeMap<String, Documented> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let section = &readme[readme
        .find("\n## Configuration\n")
        .expect("a Configuration section")..];
    let section = &section[..section[1..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 1)];
    let cell = |text: &str| {
        let text = text.trim().trim_matches('`');
        (text != "—").then(|| text.to_owned())
    };
    section
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            assert!(cells.len() >= 4, "not a row of four cells: {line}");
            let flag = cells[0].trim().trim_matches('`').trim_start_matches("--");
            let documented = Documented {
                variable: cell(cells[1]),
                default: cell(cells[2]),
            };
            (flag.to_owned(), documented)
        })
        .collect()
}

#[test]
fn help_lists_every_setting_with_its_variable_and_default() {
    let entries = help_entries(&help_text(&[]));
    let defaults = Settings::default();
    for setting in Setting::ALL {
        let flag = setting.flag();
        let entry = entries
            .get(&flag)
            .unwrap_or_else(|| panic!("--{flag} is not in --help: {entries:?}"));
        assert_eq!(entry.variable, Some(setting.env()), "--{flag}");
        assert_eq!(
            entry.default,
            Some(setting.shown_default(&defaults)),
            "--{flag}"
        );
    }
    assert_eq!(entries.len(), Setting::ALL.len() + 2, "{entries:?}");
    assert_eq!(entries["config"].variable.as_deref(), Some("FERRIO_CONFIG"));
    assert_eq!(entries["healthcheck"].variable, None);
    assert_eq!(entries["admin-port"].default.as_deref(), Some("3001"));
    assert_eq!(entries["heartbeat-interval"].default.as_deref(), Some("25"));
    // A secret from the environment is not echoed.
    let help = help_text(&[("FERRIO_API_TOKEN", "s3cret-token")]);
    assert!(help.contains("[env: FERRIO_API_TOKEN]"), "{help}");
    assert!(!help.contains("s3cret-token"), "{help}");
    let version = command(&["--version"], &[])
        .output()
        .expect("run --version");
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("ferrio "));
}

#[test]
fn readme_table_documents_what_help_lists() {
    let readme = readme_rows();
    let help = help_entries(&help_text(&[]));
    for (flag, entry) in &help {
        assert_eq!(
            readme.get(flag),
            Some(entry),
            "README.md's configuration table says otherwise of --{flag} than --help"
        );
    }
    let not_in_help: Vec<&String> = readme
        .keys()
        .filter(|flag| !help.contains_key(*flag))
        .collect();
    assert!(
        not_in_help.is_empty(),
        "README.md's configuration table lists flags --help does not: {not_in_help:?}"
    );
}

/// Flags, environment variables, and what the refusal message must contain.
type Case = (Vec<String>, Vec<(&'static str, &'static str)>, &'static str);

#[test]
fn invalid_settings_exit_2_naming_the_setting() {
    let scratch = Scratch::new();
    let count = AtomicUsize::new(0);
    let file = |text: &str| {
        let name = format!("c{}.toml", count.fetch_add(1, Ordering::SeqCst));
        scratch.file(&name, text)
    };
    let bad_files = [
        ("heartbeat_timeout = \"soon\"\n", "heartbeat_timeout:"),
        ("max_buffered_packets = 0\n", "max_buffered_packets:"),
        ("closetimeout = 3\n", "unknown setting `closetimeout`"),
        ("transports = [1, 2]\n", "transports:"),
        ("close_timeout = [\n", "TOML parse error"),
        ("origins = { a = 1 }\n", "origins:"),
    ];
    let mut cases: Vec<Case> = vec![
        (
            vec!["--heartbeat-interval".into(), "abc".into()],
            vec![],
            "heartbeat_interval:",
        ),
        (
            vec!["--heartbeat-interval".into(), "70".into()],
            vec![],
            "heartbeat_interval:",
        ),
        (
            vec!["--max-sessions".into(), "0".into()],
            vec![],
            "max_sessions:",
        ),
        (
            vec![
                "--handshake-rate".into(),
                "5".into(),
                "--handshake-burst".into(),
                "0".into(),
            ],
            vec![],
            "handshake_burst:",
        ),
        (
            vec!["--handshake-rate-per-ip=-3".into()],
            vec![],
            "handshake_rate_per_ip:",
        ),
        (vec!["--origins".into(), "nope".into()], vec![], "origins:"),
        (
            vec!["--transports".into(), "websocket,pigeon".into()],
            vec![],
            "transports:",
        ),
        (
            vec!["--close-timeout".into(), "0.5".into()],
            vec![],
            "close_timeout:",
        ),
        (
            vec!["--resource".into(), "socket.io".into()],
            vec![],
            "resource:",
        ),
        (vec!["--app".into(), "game".into()], vec![], "app:"),
        (
            vec!["--tls-cert".into(), "cert.pem".into()],
            vec![],
            "tls_key:",
        ),
        (
            vec![
                "--tls-cert".into(),
                "/nonexistent/cert.pem".into(),
                "--tls-key".into(),
                "/nonexistent/key.pem".into(),
            ],
            vec![],
            "tls_cert:",
        ),
        (
            vec![],
            vec![("FERRIO_MAX_BODY_BYTES", "lots")],
            "max_body_bytes:",
        ),
        (
            vec![],
            vec![("FERRIO_POLLING_DURATION", "0")],
            "polling_duration:",
        ),
        (
            vec![],
            vec![("FERRIO_WEBHOOK_URL", "ftp://backend/")],
            "webhook_url:",
        ),
        (
            vec![],
            vec![
                ("FERRIO_WEBHOOK_URL", "http://127.0.0.1:9/"),
                ("FERRIO_WEBHOOK_EVENTS", ""),
            ],
            "webhook_events:",
        ),
        (
            vec![],
            vec![("FERRIO_ADMIN_BIND", "nowhere")],
            "admin_bind:",
        ),
        (
            vec![],
            vec![("FERRIO_FLASHSOCKET", "maybe")],
            "flashsocket:",
        ),
        // A valid file does not save a bad flag, and a bad value in the file is reported even
        // when the environment sets other things.
        (
            vec![
                "--config".into(),
                file("close_timeout = 30\n"),
                "--close-timeout".into(),
                "x".into(),
            ],
            vec![],
            "close_timeout:",
        ),
        (
            vec![],
            vec![("FERRIO_CONFIG", "/nonexistent/ferrio.toml")],
            "config file /nonexistent/ferrio.toml",
        ),
    ];
    for (text, expected) in bad_files {
        cases.push((
            vec!["--config".into(), file(text)],
            vec![("FERRIO_HEARTBEAT_INTERVAL", "10")],
            expected,
        ));
    }
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(args, env, expected)| {
            let env: Vec<(String, String)> = env
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            std::thread::spawn(move || {
                let mut all: Vec<&str> =
                    vec!["--bind", "127.0.0.1", "--port", "0", "--admin-port", "0"];
                all.extend(args.iter().map(String::as_str));
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (status, stdout, stderr) = run_refused(&all, &env);
                assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {stderr}");
                assert!(
                    stderr.starts_with("ferrio: invalid configuration: "),
                    "{args:?} {env:?}: {stderr}"
                );
                assert!(
                    stderr.contains(expected),
                    "{args:?} {env:?}: {stderr:?} does not name {expected:?}"
                );
                assert!(!stdout.contains("listening"), "{args:?}: {stdout}");
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("case passed");
    }
    // A flag clap does not know is refused by clap, with code 2 too.
    let (status, _, stderr) =
        run_refused(&["--bind", "127.0.0.1", "--port", "0", "--nonsense"], &[]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("--nonsense"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_then_environment_then_flags() {
    within(TEST_LIMIT, async {
        let scratch = Scratch::new();
        let config = scratch.file(
            "ferrio.toml",
            "close_timeout = 11\nheartbeat_timeout = 41\npolling_duration = 30\n\
         transports = [\"xhr-polling\", \"websocket\"]\napp = \"conformance\"\n",
        );
        let base = ["--bind", "127.0.0.1", "--port", "0", "--admin-port", "0"];

        // The file alone.
        let mut args = base.to_vec();
        args.extend(["--config", config.as_str()]);
        let file_only = GatewayProcess::start(FERRIO, &args, &[]);
        let fields = handshake(&file_only).await;
        assert_eq!(fields[1..], ["41", "11", "xhr-polling,websocket"]);
        drop(file_only);

        // The environment over the file (and the file named by the environment).
        let env = [
            ("FERRIO_CONFIG", config.as_str()),
            ("FERRIO_CLOSE_TIMEOUT", "22"),
            ("FERRIO_POLLING_DURATION", "1"),
            ("FERRIO_TRANSPORTS", "websocket"),
        ];
        let env_over_file = GatewayProcess::start(FERRIO, &base, &env);
        let fields = handshake(&env_over_file).await;
        assert_eq!(fields[1..], ["41", "22", "websocket"]);
        drop(env_over_file);

        // Flags over both.
        let mut args = base.to_vec();
        args.extend([
            "--close-timeout",
            "33",
            "--heartbeat-timeout",
            "43",
            "--transports",
            "xhr-polling",
        ]);
        let flags = GatewayProcess::start(FERRIO, &args, &env);
        let fields = handshake(&flags).await;
        assert_eq!(fields[1..], ["43", "33", "xhr-polling"]);
        // polling_duration from the environment (1 s) beats the file's 30 s: an idle poll is
        // answered with a noop after about a second.
        let sid = fields[0].clone();
        assert_eq!(
            flags
                .get(&format!("/socket.io/1/xhr-polling/{sid}"))
                .await
                .text(),
            "1::"
        );
        let started = Instant::now();
        let idle = flags.get(&format!("/socket.io/1/xhr-polling/{sid}")).await;
        assert_eq!(idle.text(), "8::");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(800) && took < Duration::from_secs(4),
            "{took:?}"
        );
        // The app from the file: the conformance app echoes.
        let echo = r#"5:::{"name":"echo","args":[1]}"#;
        assert_eq!(
            flags
                .post(&format!("/socket.io/1/xhr-polling/{sid}"), echo)
                .await
                .text(),
            "1"
        );
        assert_eq!(
            flags
                .get(&format!("/socket.io/1/xhr-polling/{sid}"))
                .await
                .text(),
            echo
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_exits_cleanly() {
    within(TEST_LIMIT, async {
        let (mut gateway, admin) = GatewayProcess::start_with_admin(
            FERRIO,
            &[
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--app",
                "conformance",
                "--drain-seconds",
                "2",
                "--shutdown-grace",
                "2",
                "--polling-duration",
                "10",
            ],
            &[],
        );
        let ready = get(admin, "/readyz").await;
        assert_eq!(ready.status, 200, "{}", gateway.stderr());
        // A polling session and a websocket session, before the signal.
        let polling = handshake(&gateway).await[0].clone();
        let poll_path = format!("/socket.io/1/xhr-polling/{polling}");
        assert_eq!(gateway.get(&poll_path).await.text(), "1::");
        let ws_sid = handshake(&gateway).await[0].clone();
        let stream = tokio::net::TcpStream::connect(gateway.addr)
            .await
            .expect("connect");
        let url = format!("ws://{}/socket.io/1/websocket/{ws_sid}", gateway.addr);
        let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
            .await
            .expect("upgrade in time")
            .expect("upgrade");
        let first = tokio::time::timeout(WAIT, ws.next()).await.expect("1::");
        assert!(matches!(first, Some(Ok(Message::Text(ref t))) if t.as_str() == "1::"));

        let signalled = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &gateway.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());

        // Draining: not ready, handshakes refused, sessions served.
        let deadline = Instant::now() + Duration::from_millis(800);
        loop {
            let ready = get(admin, "/readyz").await;
            if ready.status == 503 {
                break;
            }
            assert!(Instant::now() < deadline, "readyz still {}", ready.status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(get(admin, "/healthz").await.status, 200);
        let refused = gateway.get("/socket.io/1/?t=2").await;
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert!(refused.header("retry-after").is_some());
        let echo = r#"5:::{"name":"echo","args":["draining"]}"#;
        assert_eq!(gateway.post(&poll_path, echo).await.text(), "1");
        assert_eq!(gateway.get(&poll_path).await.text(), echo);
        ws.send(Message::Text(echo.into())).await.expect("send");
        let echoed = tokio::time::timeout(WAIT, ws.next()).await.expect("echo");
        assert!(
            matches!(echoed, Some(Ok(Message::Text(ref t))) if t.as_str() == echo),
            "{echoed:?}"
        );
        assert!(
            signalled.elapsed() < Duration::from_millis(1900),
            "the checks above ran within the drain"
        );
        // A poll left open when the drain ends is answered (503: reconnect elsewhere).
        let waiting = tokio::spawn({
            let addr = gateway.addr;
            let path = poll_path.clone();
            async move { get(addr, &path).await }
        });
        // Then the sessions end: the websocket closes.
        tokio::time::timeout(Duration::from_secs(4), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2::" => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(other)) => panic!("unexpected {other:?}"),
                }
            }
        })
        .await
        .expect("the websocket closes after the drain");
        assert!(
            signalled.elapsed() >= Duration::from_millis(1900),
            "not before the drain's end: {:?}",
            signalled.elapsed()
        );
        let answered = tokio::time::timeout(WAIT, waiting)
            .await
            .expect("the open poll is answered")
            .expect("poll task");
        assert_eq!(answered.status, 503);
        // And the process exits 0 within the grace period.
        let status = tokio::task::spawn_blocking(move || {
            let status = wait_exit(&mut gateway.child, Duration::from_secs(4));
            (status, gateway)
        })
        .await
        .expect("wait task");
        let (status, gateway) = status;
        let status = status.unwrap_or_else(|| panic!("still running: {}", gateway.stderr()));
        assert_eq!(status.code(), Some(0), "{}", gateway.stderr());
        assert!(signalled.elapsed() < Duration::from_millis(2000 + 2000 + 1500));
        assert!(
            tokio::net::TcpStream::connect(gateway.addr).await.is_err(),
            "the public port is closed"
        );
        assert!(
            tokio::net::TcpStream::connect(admin).await.is_err(),
            "the admin port is closed"
        );
        let log = gateway.stderr_when_ended(WAIT);
        assert!(log.contains("draining"), "{log}");
    })
    .await;
}
