//! Every scenario of the loadgen binary, at tiny sizes, against a ferrio running the chat app
//! in this test process (so `--server-pid` is our own pid); and the error path against a
//! scripted fake server that acks the wrong message. Only outcomes are asserted (exit code,
//! the one JSON line and its fields), never how fast anything was.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser as _;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

/// Starts ferrio (chat app, short timers but `close_timeout`) on a thread of its own; returns
/// its address and, when asked for, its admin listener's. Every listener is bound before this
/// returns, so the loadgen never races the gateway's start.
fn ferrio(with_admin: bool, close_timeout: &str) -> (SocketAddr, Option<SocketAddr>) {
    ferrio_with(with_admin, &[("--close-timeout", close_timeout)])
}

/// As [`ferrio`], with `settings` (flag, value) in place of the defaults here or added to them.
fn ferrio_with(with_admin: bool, settings: &[(&str, &str)]) -> (SocketAddr, Option<SocketAddr>) {
    let mut flags = vec![
        ("--app", "chat"),
        ("--transports", "websocket,xhr-polling,jsonp-polling"),
        ("--heartbeat-interval", "1"),
        ("--heartbeat-timeout", "5"),
        ("--close-timeout", "1"),
        ("--polling-duration", "1"),
    ];
    for &(flag, value) in settings {
        match flags.iter_mut().find(|(known, _)| *known == flag) {
            Some(known) => known.1 = value,
            None => flags.push((flag, value)),
        }
    }
    let args =
        std::iter::once("ferrio").chain(flags.iter().flat_map(|(flag, value)| [*flag, *value]));
    let cli = ferrio_server::Cli::try_parse_from(args).expect("valid flags");
    let config = cli.server_config().expect("a valid configuration");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let bind = || {
        runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a listener")
    };
    let listeners = ferrio_server::Listeners {
        public: bind(),
        flash_policy: None,
        admin: with_admin.then(bind),
    };
    let addr = listeners.public.local_addr().expect("an address");
    let admin = listeners
        .admin
        .as_ref()
        .map(|admin| admin.local_addr().expect("an address"));
    let server = ferrio_server::Server::new(config).expect("a valid configuration");
    ferrio_server::apps::install(ferrio_server::AppKind::Chat, server.hub());
    std::thread::spawn(move || {
        runtime
            .block_on(server.serve_with(listeners, std::future::pending::<()>()))
            .expect("ferrio runs");
    });
    (addr, admin)
}

/// Runs the loadgen; returns its exit code and its one JSON line.
fn loadgen(args: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_ferrio-loadgen"))
        .args(args)
        .output()
        .expect("the loadgen runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stdout; got {stdout:?}, stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = serde_json::from_str(lines[0]).expect("the line is JSON");
    (output.status.code(), line)
}

/// Runs a scenario against a fresh ferrio and checks it succeeded with the given metrics.
fn scenario_succeeds(args: &[&str], metrics: &[&str]) -> Value {
    let (addr, _) = ferrio(false, "1");
    let server = addr.to_string();
    let pid = std::process::id().to_string();
    let mut all = args.to_vec();
    all.extend(["--server", &server, "--server-pid", &pid, "--label", "test"]);
    all.extend(["--timeout", "120", "--op-timeout", "20"]);
    let (code, line) = loadgen(&all);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["label"], "test");
    for metric in metrics {
        assert!(
            line["metrics"].get(*metric).is_some(),
            "no {metric} in {line}"
        );
    }
    line
}

#[test]
fn idle_over_websocket() {
    let line = scenario_succeeds(
        &["idle", "--sessions", "20", "--hold", "1.5"],
        &[
            "rss_bytes_per_session",
            "cpu_us_per_session_open",
            "cpu_us_per_session_second_idle",
        ],
    );
    assert_eq!(line["transport"], "websocket");
    assert!(
        line["hold"]["server_rss_kb_after"].as_u64().is_some(),
        "{line}"
    );
}

#[test]
fn idle_over_xhr_polling() {
    scenario_succeeds(
        &[
            "idle",
            "--sessions",
            "5",
            "--hold",
            "1.5",
            "--transport",
            "xhr-polling",
        ],
        &["rss_bytes_per_session"],
    );
}

#[test]
fn fanout_over_websocket_and_xhr_polling() {
    for transport in ["websocket", "xhr-polling"] {
        let line = scenario_succeeds(
            &[
                "fanout",
                "--receivers",
                "4",
                "--messages",
                "30",
                "--window",
                "4",
                "--transport",
                transport,
            ],
            &["deliveries_per_s", "latency_p50_us", "cpu_us_per_delivery"],
        );
        assert_eq!(line["deliveries"], 120, "{line}");
        assert_eq!(line["process"]["pid"], std::process::id(), "{line}");
        assert!(line.get("nodes").is_none(), "{line}");
        assert_eq!(line["latency"]["count"], 120, "{line}");
    }
}

#[test]
fn echo_over_websocket_and_xhr_polling() {
    for transport in ["websocket", "xhr-polling"] {
        let line = scenario_succeeds(
            &[
                "echo",
                "--clients",
                "3",
                "--round-trips",
                "10",
                "--transport",
                transport,
            ],
            &[
                "round_trips_per_s",
                "latency_p99_us",
                "cpu_us_per_round_trip",
            ],
        );
        assert_eq!(line["round_trips"], 30, "{line}");
        assert_eq!(line["transport"], transport);
    }
}

#[test]
fn handshakes_with_and_without_websocket() {
    let line = scenario_succeeds(
        &["handshake", "--workers", "2", "--count", "20"],
        &["handshakes_per_s", "cpu_us_per_handshake"],
    );
    assert_eq!(line["handshakes"], 20);
    let line = scenario_succeeds(
        &["handshake", "--workers", "2", "--count", "6", "--websocket"],
        &["handshakes_per_s"],
    );
    assert_eq!(line["handshakes"], 6);
    let line = scenario_succeeds(
        &["handshake", "--workers", "2", "--count", "8", "--first-get"],
        &["handshakes_per_s", "cpu_us_per_handshake"],
    );
    assert_eq!(line["handshakes"], 8);
    assert_eq!(line["transport"], "xhr-polling");
}

#[test]
fn churn_reads_the_admin_gauge() {
    let (addr, admin) = ferrio(true, "60");
    let admin = admin.expect("an admin listener").to_string();
    let server = addr.to_string();
    let (code, line) = loadgen(&[
        "churn",
        "--server",
        &server,
        "--admin",
        &admin,
        "--sessions",
        "6",
        "--concurrency",
        "2",
        "--polling-duration",
        "1",
        "--wait",
        "0.5",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["ok"], true, "{line}");
    // With a 60 s close timeout the six sessions are all still there right after the churn;
    // whether any are gone after the wait is a matter of timing, so only its presence is
    // checked.
    assert_eq!(line["server_sessions"]["opened"], 6, "{line}");
    assert!(line["server_sessions"]["settled"].is_u64(), "{line}");
    assert!(line["metrics"]["sessions_left"].is_u64(), "{line}");
}

#[test]
fn churn_without_admin_omits_the_session_count() {
    let (addr, _) = ferrio(false, "1");
    let server = addr.to_string();
    let (code, line) = loadgen(&[
        "churn",
        "--server",
        &server,
        "--sessions",
        "3",
        "--wait",
        "0",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert!(line.get("server_sessions").is_none(), "{line}");
}

#[test]
fn echo_over_jsonp_polling() {
    let line = scenario_succeeds(
        &[
            "echo",
            "--clients",
            "2",
            "--round-trips",
            "5",
            "--transport",
            "jsonp-polling",
        ],
        &["round_trips_per_s"],
    );
    assert_eq!(line["round_trips"], 10, "{line}");
}

/// The soak in a few seconds: a crowd on three transports, churners leaving each of the three
/// ways over each transport, and one hostile client of each kind, against a gateway whose
/// timers cut the hostile ones off within a second or two. Nothing may be lost and nobody cut
/// off. The memory verdict and the count of sessions left, which need minutes and a gateway
/// of their own, are left to `bench/soak.sh` (here the gateway shares the test process).
#[test]
fn soak_loses_nothing_under_churn_and_hostile_clients() {
    let (addr, _) = ferrio_with(
        false,
        &[
            ("--heartbeat-timeout", "2"),
            ("--header-read-timeout", "1"),
            ("--body-read-timeout", "1"),
            ("--write-timeout", "2"),
        ],
    );
    let server = addr.to_string();
    let (code, line) = loadgen(&[
        "soak",
        "--server",
        &server,
        "--minutes",
        "0.05",
        "--healthy-websocket",
        "2",
        "--healthy-xhr-polling",
        "2",
        "--healthy-jsonp-polling",
        "1",
        "--say-every-ms",
        "100",
        "--wave",
        "9",
        "--wave-every",
        "1",
        "--churn-lines",
        "2",
        "--stall",
        "1",
        "--hostile",
        "--hostile-every",
        "1000",
        "--hostile-hold",
        "8",
        "--settle",
        "0",
        "--timeout",
        "300",
        "--op-timeout",
        "20",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["verdict"], "pass", "{line}");
    let metrics = &line["metrics"];
    assert_eq!(metrics["lines_lost"], 0, "{line}");
    assert_eq!(metrics["healthy_cut_off"], 0, "{line}");
    assert!(metrics["lines_delivered"].as_u64() > Some(0), "{line}");
    // The warm-up wave and at least the first wave of the load, every transport with every
    // exit.
    assert!(metrics["sessions_churned"].as_u64() >= Some(18), "{line}");
    assert_eq!(
        line["churn"]["by_transport_and_exit"]
            .as_object()
            .map(serde_json::Map::len),
        Some(9),
        "{line}"
    );
    for kind in ["slowloris", "stalled-body", "deaf-websocket", "flooder"] {
        assert_eq!(line["hostile"]["by_kind"][kind]["cut"], 1, "{kind}: {line}");
    }
}

/// A listener on a free loopback port, bound on a one-thread runtime that outlives the
/// caller's work on it (a relay, a fake server), with its address.
fn listening_on_a_runtime_of_its_own() -> (tokio::runtime::Runtime, TcpListener, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a listener");
    let addr = listener.local_addr().expect("an address");
    (runtime, listener, addr)
}

/// A second address for `server`: a TCP relay on a port of its own, so that one ferrio stands
/// in for two nodes of a cluster (every session reaches the same hub, whichever address it
/// used). Counts the connections it relays.
fn relay(server: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let (runtime, listener, addr) = listening_on_a_runtime_of_its_own();
    let relayed = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&relayed);
    std::thread::spawn(move || {
        runtime.block_on(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
    });
    (addr, relayed)
}

#[test]
fn fanout_and_echo_spread_over_several_servers() {
    let (addr, _) = ferrio(false, "1");
    let (second, relayed) = relay(addr);
    let servers = format!("{addr},{second}");
    let mut other = Command::new("sleep").arg("60").spawn().expect("sleep runs");
    let pids = format!("{},{}", std::process::id(), other.id());
    let (code, line) = loadgen(&[
        "fanout",
        "--server",
        &servers,
        "--server-pid",
        &pids,
        "--receivers",
        "5",
        "--messages",
        "20",
        "--window",
        "4",
        "--timeout",
        "120",
    ]);
    other.kill().expect("sleep stops");
    other.wait().expect("sleep is reaped");
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["server"], servers.as_str());
    assert_eq!(
        line["process"]["pids"],
        serde_json::json!([std::process::id(), other.id()]),
        "{line}"
    );
    assert_eq!(line["deliveries"], 100, "{line}");
    assert!(line["metrics"]["cpu_us_per_delivery"].is_number(), "{line}");
    // Receivers 0, 2 and 4 on the first server (with the sender), 1 and 3 on the second.
    let nodes = line["nodes"].as_array().expect("figures by node");
    assert_eq!(nodes.len(), 2, "{line}");
    assert_eq!(nodes[0]["server"], addr.to_string());
    assert_eq!(nodes[0]["receivers"], 3, "{line}");
    assert_eq!(nodes[1]["server"], second.to_string());
    assert_eq!(nodes[1]["receivers"], 2, "{line}");
    // Two websockets, and the handshakes' keep-alive connections.
    assert!(relayed.load(Ordering::SeqCst) >= 3);

    let before = relayed.load(Ordering::SeqCst);
    let (code, line) = loadgen(&[
        "echo",
        "--server",
        &addr.to_string(),
        "--server",
        &second.to_string(),
        "--clients",
        "4",
        "--round-trips",
        "5",
        "--transport",
        "xhr-polling",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["round_trips"], 20, "{line}");
    assert!(relayed.load(Ordering::SeqCst) >= before + 4);
}

#[test]
fn rotate_spreads_one_session_s_requests_over_the_servers() {
    let (addr, _) = ferrio(false, "1");
    let (second, relayed) = relay(addr);
    let servers = format!("{addr},{second}");
    for transport in ["xhr-polling", "websocket"] {
        let (code, line) = loadgen(&[
            "echo",
            "--server",
            &servers,
            "--route",
            "rotate",
            "--clients",
            "4",
            "--round-trips",
            "6",
            "--transport",
            transport,
        ]);
        assert_eq!(code, Some(0), "{line}");
        assert_eq!(line["round_trips"], 24, "{line}");
        assert_eq!(line["params"]["route"], "rotate", "{line}");
    }
    // Every session has a request on each address, whichever it was handshaken on.
    let before = relayed.load(Ordering::SeqCst);
    let (code, line) = loadgen(&[
        "handshake",
        "--server",
        &servers,
        "--route",
        "rotate",
        "--first-get",
        "--workers",
        "2",
        "--count",
        "10",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["handshakes"], 10, "{line}");
    assert_eq!(line["params"]["route"], "rotate", "{line}");
    // Each worker keeps one connection to each address.
    assert!(relayed.load(Ordering::SeqCst) >= before + 2);

    let (code, line) = loadgen(&["echo", "--server", &addr.to_string(), "--route", "rotate"]);
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(line["error"]["kind"], "setup", "{line}");
}

#[test]
fn only_idle_fanout_echo_and_handshake_spread_and_the_sender_s_node_is_never_stopped() {
    let servers = "127.0.0.1:9,127.0.0.1:10,127.0.0.1:11";
    let (code, line) = loadgen(&["churn", "--server", servers]);
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(line["error"]["kind"], "setup", "{line}");
    assert!(
        line["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("takes one --server")),
        "{line}"
    );
    for node in ["0", "3"] {
        let (code, line) = loadgen(&[
            "fanout",
            "--server",
            servers,
            "--pause-pid",
            "1",
            "--pause-server",
            node,
        ]);
        assert_eq!(code, Some(1), "{line}");
        assert_eq!(line["error"]["kind"], "setup", "{line}");
    }
}

#[test]
fn only_loopback_targets_are_accepted() {
    let (code, line) = loadgen(&["echo", "--server", "192.0.2.1:80"]);
    assert_eq!(code, Some(1));
    assert_eq!(line["ok"], false);
    assert_eq!(line["error"]["kind"], "setup");
}

/// A fake xhr-polling server whose acks carry the id after the one asked for.
async fn fake_server(listener: TcpListener) {
    let (acks, inbox) = mpsc::unbounded_channel::<String>();
    let inbox = Arc::new(Mutex::new(inbox));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let acks = acks.clone();
        let inbox = Arc::clone(&inbox);
        tokio::spawn(async move {
            let _ = fake_connection(stream, acks, inbox).await;
        });
    }
}

async fn fake_connection(
    stream: TcpStream,
    acks: mpsc::UnboundedSender<String>,
    inbox: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut polls = 0;
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            stream.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| std::io::Error::from(ErrorKind::InvalidData))?;
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let reply = if request_line.starts_with("GET /socket.io/1/?") {
            "fake:60:60:xhr-polling".to_owned()
        } else if request_line.starts_with("POST") {
            // `3:ID+::TEXT` is acked as ID + 1.
            if let Some((id, text)) = body
                .strip_prefix("3:")
                .and_then(|rest| rest.split_once("+::"))
            {
                let id: u64 = id.parse().unwrap_or(0);
                let _ = acks.send(format!("6:::{}+[\"{text}\"]", id + 1));
            }
            "1".to_owned()
        } else {
            polls += 1;
            if polls == 1 {
                "1::".to_owned()
            } else {
                match inbox.lock().await.recv().await {
                    Some(ack) => ack,
                    None => return Ok(()),
                }
            }
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        stream.get_mut().write_all(response.as_bytes()).await?;
    }
}

#[test]
fn a_misordered_ack_fails_the_run() {
    let (runtime, listener, server) = listening_on_a_runtime_of_its_own();
    let server = server.to_string();
    runtime.spawn(fake_server(listener));
    let (code, line) = loadgen(&[
        "echo",
        "--server",
        &server,
        "--clients",
        "1",
        "--round-trips",
        "3",
        "--transport",
        "xhr-polling",
        "--op-timeout",
        "20",
    ]);
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(line["ok"], false, "{line}");
    assert_eq!(line["error"]["kind"], "ordering", "{line}");
}

#[test]
fn modern_sessions_run_the_scenarios() {
    for transport in ["websocket", "xhr-polling"] {
        let line = scenario_succeeds(
            &[
                "idle",
                "--protocol",
                "eio4",
                "--transport",
                transport,
                "--sessions",
                "10",
                "--hold",
                "1",
            ],
            &["rss_bytes_per_session", "cpu_us_per_session_open"],
        );
        assert_eq!(line["protocol"], "eio4", "{line}");
        let line = scenario_succeeds(
            &[
                "echo",
                "--protocol",
                "eio4",
                "--transport",
                transport,
                "--clients",
                "3",
                "--round-trips",
                "5",
            ],
            &["cpu_us_per_round_trip"],
        );
        assert_eq!(line["round_trips"], 15, "{line}");
    }
    let line = scenario_succeeds(
        &[
            "fanout",
            "--protocol",
            "eio4",
            "--receivers",
            "4",
            "--messages",
            "10",
            "--binary",
            "16384",
        ],
        &["cpu_us_per_delivery"],
    );
    assert_eq!(line["deliveries"], 40, "{line}");
    // A mixed room: 0.9, Socket.IO 4 and Socket.IO 5 receivers hear one sender, each line
    // once and in order, and the 0.9 receivers get the binary data in JSON.
    let line = scenario_succeeds(
        &[
            "fanout",
            "--protocol",
            "0.9,eio3,eio4",
            "--receivers",
            "6",
            "--messages",
            "10",
            "--binary",
            "64",
        ],
        &["cpu_us_per_delivery"],
    );
    assert_eq!(line["deliveries"], 60, "{line}");
    for (how, transport) in [
        ("--websocket", "websocket"),
        ("--first-get", "polling"),
        ("--upgrade", "polling, upgraded to websocket"),
    ] {
        let line = scenario_succeeds(
            &[
                "handshake",
                "--protocol",
                "eio4",
                how,
                "--workers",
                "2",
                "--count",
                "6",
            ],
            &["handshakes_per_s", "cpu_us_per_handshake"],
        );
        assert_eq!(line["handshakes"], 6, "{line}");
        assert_eq!(line["transport"], transport, "{line}");
    }
}

#[test]
fn modern_churn_waits_out_the_ping_and_finds_nothing_left() {
    let (addr, admin) = ferrio_with(
        true,
        &[
            ("--engine-ping-interval", "0.3"),
            ("--engine-ping-timeout", "0.2"),
        ],
    );
    let admin = admin.expect("an admin listener").to_string();
    let server = addr.to_string();
    let (code, line) = loadgen(&[
        "churn",
        "--protocol",
        "eio4",
        "--server",
        &server,
        "--admin",
        &admin,
        "--sessions",
        "6",
        "--concurrency",
        "2",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["transport"], "polling", "{line}");
    assert_eq!(line["server_sessions"]["opened"], 6, "{line}");
    assert_eq!(line["metrics"]["sessions_left"], 0, "{line}");
}

#[test]
fn modern_protocols_are_refused_where_the_loadgen_speaks_0_9_only() {
    for args in [
        &["soak", "--protocol", "eio4"][..],
        &["echo", "--protocol", "eio4", "--transport", "jsonp-polling"],
        &["echo", "--protocol", "eio3", "--transport", "xhr-polling"],
        &["handshake", "--protocol", "eio4"],
        &["handshake", "--upgrade"],
        &["churn", "--protocol", "eio3"],
    ] {
        let (addr, _) = ferrio(false, "1");
        let server = addr.to_string();
        let mut all = args.to_vec();
        all.extend(["--server", &server, "--timeout", "20"]);
        let (code, line) = loadgen(&all);
        assert_ne!(code, Some(0), "{args:?}: {line}");
        assert_eq!(line["error"]["kind"], "setup", "{args:?}: {line}");
    }
}

#[test]
fn a_revision_3_session_keeps_itself_alive_with_its_own_pings() {
    // Socket.IO 4 clients ping; one silent for the ping interval and timeout (1 s here)
    // loses its session, which the hold of 3 s would see as an error.
    let (addr, _) = ferrio_with(
        false,
        &[
            ("--engine-ping-interval", "0.5"),
            ("--engine-ping-timeout", "0.5"),
        ],
    );
    let server = addr.to_string();
    let (code, line) = loadgen(&[
        "idle",
        "--protocol",
        "eio3",
        "--server",
        &server,
        "--sessions",
        "4",
        "--hold",
        "3",
        "--timeout",
        "30",
    ]);
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line["protocol"], "eio3", "{line}");
}
