//! The `origins` list over real TCP (docs/protocol.md §2.6, §1.5, §5.0): wildcard patterns at
//! the handshake; every request on a session — each method of each transport, the preflight,
//! `?disconnect` — from a page outside the list refused with `403` and no CORS header, counted
//! and logged by sample, while same-origin and allowed clients chat on; preflights that
//! allow only what the clients need; `nosniff` on every transport response.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrio_hub::Origins;
use ferrio_protocol::TransportKind;
use ferrio_server::{AdminConfig, ServerConfig};
use ferrio_testkit::{
    HttpResponse, StreamingResponse, TestServer, WsClient, any_disconnect, assert_preflight_allows,
    captured_logs, flashsocket_path, forced_disconnect_path, htmlfile_path, htmlfile_payload,
    jsonp_form, jsonp_path, jsonp_payload, multipart_path, next_packet_within, numeric_field,
    packets_of, request, send_text, within, ws_path, xhr_path,
};
use http::Method;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A page the lists below admit.
const GOOD: &str = "http://good.example";
/// A page they do not.
const EVIL: &str = "http://evil.example";
/// The list of the session tests: any port of `good.example`.
const GOOD_LIST: &str = "good.example:*";
/// What a hostile page tries to make the sessions broadcast.
const EVIL_PACKET: &str = r#"5:::{"name":"bcast","args":["evil"]}"#;
/// How long something that should happen at once may take.
const WAIT: Duration = Duration::from_secs(3);
/// The most one test may take, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// The line a refusal logs.
const REFUSAL_LINE: &str = "origin not allowed";

/// Held by the tests that make the gateway refuse transport requests, so the one that counts
/// the refusals and their log lines sees only its own: both are kept per process.
static REFUSING: Mutex<()> = Mutex::const_new(());

/// A gateway with short polls, every transport (flashsocket too), `origins` and an admin
/// listener. The process's log is kept from the first gateway on, so that every refusal
/// line is seen.
async fn start(origins: &str) -> TestServer {
    captured_logs();
    let origins = origins.parse::<Origins>().expect("origins");
    TestServer::start_short_timers_with(|config: &mut ServerConfig| {
        config.hub.origins = origins;
        config.hub.transports = TransportKind::ALL.to_vec();
        // Heartbeats far apart: the streaming clients here do not answer them.
        config.hub.heartbeat_interval = Duration::from_secs(25);
        config.hub.heartbeat_timeout = Duration::from_secs(60);
        config.admin = Some(AdminConfig {
            addr: "127.0.0.1:0".parse().expect("address"),
            api_token: None,
        });
    })
    .await
}

/// A handshake with `headers`; its status and, on `200`, the session id.
async fn handshake(server: &TestServer, headers: &[(&str, &str)]) -> (HttpResponse, String) {
    let response = server
        .request(Method::GET, "/socket.io/1/?t=1", headers, Bytes::new())
        .await;
    let sid = response
        .text()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    (response, sid)
}

/// Asserts that `response` carries no `Access-Control-*` header.
fn assert_no_cors(response: &HttpResponse, what: &str) {
    let cors: Vec<_> = response
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: {cors:?}");
}

/// Asserts that `response` is the refusal of a foreign origin.
fn assert_refused(response: &HttpResponse, what: &str) {
    assert_eq!(response.status, 403, "{what}: {}", response.text());
    assert_eq!(response.text(), "origin not allowed", "{what}");
    assert_no_cors(response, what);
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

/// The arguments of the `bmsg` events among `packets`.
fn bmsgs(packets: &[String]) -> Vec<String> {
    packets
        .iter()
        .filter_map(|packet| packet.strip_prefix("5:::"))
        .filter_map(|event| serde_json::from_str::<Value>(event).ok())
        .filter(|event| event["name"] == "bmsg")
        .map(|event| event["args"][0].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn bcast(text: &str) -> String {
    format!(r#"5:::{{"name":"bcast","args":["{text}"]}}"#)
}

/// Every path of a session on which a page can make a request.
fn session_paths(sid: &str) -> [String; 7] {
    [
        xhr_path(sid),
        jsonp_path(sid, "0"),
        htmlfile_path(sid),
        multipart_path(sid),
        ws_path(sid),
        flashsocket_path(sid),
        forced_disconnect_path(sid),
    ]
}

/// Every request a foreign page can make on the sessions `sids` — each method on each path,
/// naming its origin by `Origin`, by `Referer` alone, as `null`, or as a hybi-08 WebSocket
/// does — and a real WebSocket upgrade; each must get the refusal. Returns how many were made.
async fn hostile_requests(server: SocketAddr, sids: Vec<String>) -> u64 {
    let namings: [&[(&str, &str)]; 4] = [
        &[("origin", EVIL)],
        &[("referer", "http://evil.example/page")],
        &[("origin", "null"), ("referer", "http://good.example/")],
        &[("sec-websocket-origin", EVIL)],
    ];
    let mut made = 0;
    for sid in &sids {
        for path in session_paths(sid) {
            for method in [Method::GET, Method::POST, Method::OPTIONS] {
                for naming in namings {
                    let mut headers = naming.to_vec();
                    if method == Method::OPTIONS {
                        headers.push(("access-control-request-method", "POST"));
                        headers.push(("access-control-request-headers", "content-type"));
                    }
                    let body = if method == Method::POST {
                        EVIL_PACKET
                    } else {
                        ""
                    };
                    let response = request(server, method.clone(), &path, &headers, body).await;
                    assert_refused(&response, &format!("{method} {path} {naming:?}"));
                    made += 1;
                }
            }
        }
        let upgrade = websocket_from(server, &ws_path(sid), EVIL).await;
        match upgrade {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403);
            }
            other => panic!("a foreign upgrade got {:?}", other.map(|_| "a WebSocket")),
        }
        made += 1;
    }
    made
}

/// A WebSocket upgrade of `path` sent with `Origin: {origin}`.
async fn websocket_from(
    server: SocketAddr,
    path: &str,
    origin: &str,
) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
    let mut upgrade = format!("ws://{server}{path}")
        .into_client_request()
        .expect("request");
    upgrade
        .headers_mut()
        .insert("origin", origin.parse().expect("header value"));
    let stream = tokio::net::TcpStream::connect(server)
        .await
        .expect("connect");
    tokio_tungstenite::client_async(upgrade, stream)
        .await
        .map(|(socket, _)| socket)
}

/// One client of the chat, on the transport and with the headers a browser would send.
enum Client {
    /// xhr-polling from an allowed page of another origin: `Origin` on every request.
    CrossOriginXhr { sid: String },
    /// htmlfile from a same-origin page: only the iframe's `Referer`, POSTs with nothing.
    SameOriginHtmlfile {
        sid: String,
        stream: StreamingResponse,
    },
    /// WebSocket from an allowed page: `Origin` on the upgrade.
    Websocket { sid: String, socket: WsClient },
    /// jsonp-polling: `<script>` GETs with a `Referer` only, form POSTs with nothing.
    Jsonp { sid: String },
}

impl Client {
    fn sid(&self) -> &str {
        match self {
            Client::CrossOriginXhr { sid }
            | Client::SameOriginHtmlfile { sid, .. }
            | Client::Websocket { sid, .. }
            | Client::Jsonp { sid } => sid,
        }
    }

    /// Connects a client of each kind, each getting its `1::`.
    async fn connect_all(server: &TestServer) -> Vec<Client> {
        let referer = ("referer", "http://good.example/chat");
        let (_, xhr) = handshake(server, &[("origin", GOOD)]).await;
        let first = server
            .request(
                Method::GET,
                &xhr_path(&xhr),
                &[("origin", GOOD)],
                Bytes::new(),
            )
            .await;
        assert_eq!(first.text(), "1::");
        assert_eq!(first.header("access-control-allow-origin"), Some(GOOD));
        assert_eq!(
            first.header("access-control-allow-credentials"),
            Some("true")
        );
        let (_, htmlfile) = handshake(server, &[referer]).await;
        let mut stream = server
            .open_stream_with(&htmlfile_path(&htmlfile), &[referer])
            .await;
        assert_eq!(stream.status, 200, "{}", stream.head);
        let _prelude = stream.next_text(WAIT).await.expect("prelude");
        assert_eq!(
            stream.next_text(WAIT).await.as_deref(),
            Some(r#"<script>_("1::");</script>"#)
        );
        let (_, ws) = handshake(server, &[("origin", GOOD)]).await;
        let mut socket = websocket_from(server.addr, &ws_path(&ws), GOOD)
            .await
            .expect("allowed upgrade");
        assert_eq!(
            next_packet_within(&mut socket, WAIT).await.as_deref(),
            Some("1::")
        );
        let (_, jsonp) = handshake(server, &[referer]).await;
        let first = server
            .request(
                Method::GET,
                &jsonp_path(&jsonp, "0"),
                &[referer],
                Bytes::new(),
            )
            .await;
        assert_eq!(first.text(), r#"io.j[0]("1::");"#);
        vec![
            Client::CrossOriginXhr { sid: xhr },
            Client::SameOriginHtmlfile {
                sid: htmlfile,
                stream,
            },
            Client::Websocket { sid: ws, socket },
            Client::Jsonp { sid: jsonp },
        ]
    }

    /// Sends `packet` the way this client sends.
    async fn send(&mut self, server: &TestServer, packet: &str) {
        let response = match self {
            Client::CrossOriginXhr { sid } => {
                server
                    .request(
                        Method::POST,
                        &xhr_path(sid),
                        &[
                            ("origin", GOOD),
                            ("content-type", "text/plain;charset=UTF-8"),
                        ],
                        packet.to_owned(),
                    )
                    .await
            }
            Client::SameOriginHtmlfile { sid, .. } => {
                server.post(&htmlfile_path(sid), packet).await
            }
            Client::Websocket { socket, .. } => return send_text(socket, packet).await,
            Client::Jsonp { sid } => {
                server
                    .request(
                        Method::POST,
                        &jsonp_path(sid, "0"),
                        &[("content-type", "application/x-www-form-urlencoded")],
                        jsonp_form(packet),
                    )
                    .await
            }
        };
        assert_eq!((response.status, response.text().as_str()), (200, "1"));
    }

    /// The `bmsg` arguments this client receives until it has `count` of them.
    async fn receive(&mut self, server: &TestServer, count: usize) -> Vec<String> {
        let deadline = Instant::now() + 2 * WAIT;
        let mut got = Vec::new();
        while got.len() < count {
            assert!(Instant::now() < deadline, "{} got only {got:?}", self.sid());
            let packets = match self {
                Client::CrossOriginXhr { sid } => {
                    let poll = server
                        .request(
                            Method::GET,
                            &xhr_path(sid),
                            &[("origin", GOOD)],
                            Bytes::new(),
                        )
                        .await;
                    assert_eq!(poll.status, 200);
                    assert_eq!(poll.header("x-content-type-options"), Some("nosniff"));
                    packets_of(&poll.text())
                }
                Client::SameOriginHtmlfile { stream, .. } => {
                    let chunk = stream.next_text(WAIT).await.expect("an htmlfile chunk");
                    packets_of(&htmlfile_payload(&chunk).expect("a script chunk"))
                }
                Client::Websocket { socket, .. } => {
                    vec![next_packet_within(socket, WAIT).await.expect("a packet")]
                }
                Client::Jsonp { sid } => {
                    let poll = server
                        .request(
                            Method::GET,
                            &jsonp_path(sid, "0"),
                            &[("referer", "http://good.example/chat")],
                            Bytes::new(),
                        )
                        .await;
                    let (_, payload) = jsonp_payload(&poll.text()).expect("a jsonp answer");
                    packets_of(&payload)
                }
            };
            got.extend(bmsgs(&packets));
        }
        got
    }
}

/// `bmsg`s every client but `sender` expects from its `per_client` broadcasts.
fn expected_from_others(clients: usize, per_client: usize, receiver: usize) -> Vec<String> {
    (0..clients)
        .filter(|sender| *sender != receiver)
        .flat_map(|sender| (0..per_client).map(move |n| format!("c{sender}-{n}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The pattern language

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_patterns_admit_subdomains_the_apex_any_port_and_default_ports() {
    within(TEST_LIMIT, async {
        let server = start("*.example.com:*, secure.example:443, plain.example:80").await;
        let cases: [(&[(&str, &str)], u16); 17] = [
            (&[("origin", "http://app.example.com")], 200),
            (&[("origin", "http://app.example.com:8080")], 200),
            (&[("origin", "https://a.b.example.com:8443")], 200),
            (&[("origin", "http://example.com")], 200),
            (&[("origin", "http://badexample.com")], 403),
            (&[("origin", "http://example.com.evil.net")], 403),
            (&[("origin", "https://secure.example")], 200),
            (&[("origin", "https://secure.example:443")], 200),
            (&[("origin", "http://secure.example")], 403),
            (&[("origin", "https://secure.example:8443")], 403),
            (&[("origin", "http://plain.example")], 200),
            (&[("origin", "https://plain.example")], 403),
            (&[("referer", "https://secure.example/page")], 200),
            (&[("referer", "https://plain.example/page")], 403),
            (&[("origin", "null")], 403),
            (&[("origin", "http://app.example.com:99999")], 403),
            (&[], 403),
        ];
        for (headers, status) in cases {
            let (response, _) = handshake(&server, headers).await;
            assert_eq!(response.status, status, "{headers:?}: {}", response.text());
            let origin = headers
                .iter()
                .find(|(name, _)| *name == "origin")
                .map(|(_, value)| *value);
            if status == 200 {
                assert_eq!(
                    response.header("access-control-allow-origin"),
                    origin,
                    "{headers:?}"
                );
            } else {
                assert_eq!(response.text(), "handshake bad origin");
                assert_no_cors(&response, &format!("{headers:?}"));
            }
        }
    })
    .await;
}

#[test]
fn the_readme_example_and_malformed_patterns_on_the_command_line() {
    use clap::Parser;
    let config = |origins: &str| {
        ferrio_server::Cli::try_parse_from(["ferrio", "--origins", origins])
            .expect("flags parse")
            .server_config()
    };
    let origins = config("*.example.com:*")
        .expect("the README's example")
        .hub
        .origins;
    assert!(origins.allows(Some("http://app.example.com"), None));
    assert!(origins.allows(Some("https://app.example.com:3000"), None));
    assert!(!origins.allows(Some("http://app.example.org"), None));
    for bad in [
        "https://app.example.com:443",
        "app.example.com",
        "a.*.example.com:80",
    ] {
        let error = config(bad).expect_err(bad).to_string();
        assert!(error.contains("origin pattern"), "{bad}: {error}");
    }
}

// ---------------------------------------------------------------------------------------------
// Every request on a session

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_from_a_foreign_page_gets_403_while_allowed_clients_chat_on() {
    within(TEST_LIMIT, async {
        let _refusing = REFUSING.lock().await;
        let server = start(GOOD_LIST).await;
        let mut clients = Client::connect_all(&server).await;
        let sids: Vec<String> = clients.iter().map(|c| c.sid().to_owned()).collect();
        // The foreign page knows every session id and tries everything, while the clients
        // chat: each broadcasts PER_CLIENT messages and must get every other one's.
        const PER_CLIENT: usize = 5;
        let hostile = tokio::spawn(hostile_requests(server.addr, sids.clone()));
        for n in 0..PER_CLIENT {
            for (index, client) in clients.iter_mut().enumerate() {
                client.send(&server, &bcast(&format!("c{index}-{n}"))).await;
            }
        }
        let count = clients.len();
        for (index, client) in clients.iter_mut().enumerate() {
            let mut got = client.receive(&server, (count - 1) * PER_CLIENT).await;
            got.sort();
            let mut expected = expected_from_others(count, PER_CLIENT, index);
            expected.sort();
            assert_eq!(
                got, expected,
                "client {index}: nothing lost, nothing foreign"
            );
        }
        let made = hostile.await.expect("the hostile requests");
        assert_eq!(made, 4 * (7 * 3 * 4 + 1));
        // Nobody was disconnected, no foreign packet was delivered, no session was made.
        for sid in &sids {
            assert!(
                !server.log.entries().iter().any(any_disconnect(sid)),
                "{sid} was disconnected"
            );
        }
        assert_eq!(server.hub.session_count(), sids.len());
        for (index, client) in clients.iter_mut().enumerate() {
            client
                .send(&server, &bcast(&format!("after-{index}")))
                .await;
        }
        for (index, client) in clients.iter_mut().enumerate() {
            let got = client.receive(&server, count - 1).await;
            assert!(
                got.iter().all(|text| text.starts_with("after-")),
                "client {index}: {got:?}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_and_logged_by_sample_with_the_number_held_back() {
    within(TEST_LIMIT, async {
        let _refusing = REFUSING.lock().await;
        let server = start(GOOD_LIST).await;
        let logs = captured_logs();
        let (_, sid) = handshake(&server, &[("origin", GOOD)]).await;
        let metric =
            |metrics: &ferrio_testkit::Metrics| metrics.sum("ferrio_origin_refusals_total", &[]);
        // The log gate is the process's: a refusal after a quiet second writes the line that
        // accounts for any held back before this test, so what follows is this test's alone.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let settle = server
            .request(
                Method::GET,
                &xhr_path(&sid),
                &[("origin", EVIL)],
                Bytes::new(),
            )
            .await;
        assert_refused(&settle, "the settling refusal");
        let before = metric(&server.metrics().await);
        let lines_before = logs.lines_containing(REFUSAL_LINE).len();
        // A flood of refusals for two seconds and more, on every HTTP transport.
        let flood = Instant::now();
        let mut refused = 0u64;
        while flood.elapsed() < Duration::from_millis(2200) {
            for path in [
                xhr_path(&sid),
                jsonp_path(&sid, "0"),
                htmlfile_path(&sid),
                multipart_path(&sid),
            ] {
                let response = server
                    .request(Method::POST, &path, &[("origin", EVIL)], EVIL_PACKET)
                    .await;
                assert_refused(&response, &path);
                refused += 1;
            }
        }
        // The log gate lets a burst of five lines through, then one a second.
        let flood_lines = logs.lines_containing(REFUSAL_LINE).len() - lines_before;
        let seconds = flood.elapsed().as_secs_f64().ceil() as usize;
        assert!(
            (1..=5 + seconds).contains(&flood_lines) && flood_lines as u64 * 10 <= refused,
            "{flood_lines} lines for {refused} refusals in {seconds} s"
        );
        // A refusal a second later gets a line that says how many were held back.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let last = server
            .request(
                Method::GET,
                &xhr_path(&sid),
                &[("origin", EVIL)],
                Bytes::new(),
            )
            .await;
        assert_refused(&last, "the last refusal");
        refused += 1;
        let lines = logs.lines_containing(REFUSAL_LINE)[lines_before..].to_vec();
        let held_back: u64 = lines
            .iter()
            .map(|line| numeric_field(line, "suppressed").expect("a suppressed count"))
            .sum();
        let reported = lines.len() as u64 + held_back;
        let metrics = server.metrics().await;
        let total = metric(&metrics);
        assert_eq!(total - before, refused as f64);
        assert_eq!(
            reported as f64,
            total - before,
            "every refusal is a line or held back by one: {lines:#?}"
        );
        assert!(
            metrics.value(
                "ferrio_origin_refusals_total",
                &[("transport", "xhr-polling")]
            ) >= 1.0
        );
        // The session, never touched, connects and works.
        let first = server
            .request(
                Method::GET,
                &xhr_path(&sid),
                &[("origin", GOOD)],
                Bytes::new(),
            )
            .await;
        assert_eq!(first.text(), "1::");
        server.assert_polling_echo(&sid).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Preflights and common headers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_allow_only_what_the_clients_need() {
    within(TEST_LIMIT, async {
        let server = start(GOOD_LIST).await;
        let (_, sid) = handshake(&server, &[("origin", GOOD)]).await;
        for path in &session_paths(&sid)[..6] {
            for asked in [
                &[
                    ("access-control-request-method", "DELETE"),
                    (
                        "access-control-request-headers",
                        "x-evil, content-type, cookie",
                    ),
                ][..],
                &[("access-control-request-method", "POST")][..],
                &[][..],
            ] {
                let mut headers = vec![("origin", GOOD)];
                headers.extend_from_slice(asked);
                let preflight = server
                    .request(Method::OPTIONS, path, &headers, Bytes::new())
                    .await;
                assert_preflight_allows(&preflight, GOOD);
            }
        }
        // A preflight without an Origin is answered without one.
        let bare = server
            .request(Method::OPTIONS, &xhr_path(&sid), &[], Bytes::new())
            .await;
        assert_eq!(bare.status, 204);
        assert_eq!(bare.header("access-control-allow-origin"), None);
        assert_eq!(bare.header("access-control-allow-credentials"), None);
        // None of it touched the session.
        let first = server
            .request(
                Method::GET,
                &xhr_path(&sid),
                &[("origin", GOOD)],
                Bytes::new(),
            )
            .await;
        assert_eq!(first.text(), "1::");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_response_says_nosniff() {
    within(TEST_LIMIT, async {
        let server = start("*:*").await;
        let nosniff = |response: &HttpResponse, what: &str| {
            assert_eq!(
                response.header("x-content-type-options"),
                Some("nosniff"),
                "{what}: {} {:?}",
                response.status,
                response.headers
            );
        };
        for kind in ["xhr-polling", "jsonp-polling"] {
            let sid = server.handshake().await;
            let path = if kind == "xhr-polling" {
                xhr_path(&sid)
            } else {
                jsonp_path(&sid, "0")
            };
            let get = server
                .request(Method::GET, &path, &[("origin", GOOD)], Bytes::new())
                .await;
            assert_eq!(get.status, 200);
            nosniff(&get, &format!("{kind} GET"));
        }
        for kind in ["htmlfile", "xhr-multipart"] {
            let sid = server.handshake().await;
            let path = if kind == "htmlfile" {
                htmlfile_path(&sid)
            } else {
                multipart_path(&sid)
            };
            let stream = server.open_stream_with(&path, &[("origin", GOOD)]).await;
            assert_eq!(stream.status, 200, "{kind}");
            assert_eq!(
                stream.header("x-content-type-options"),
                Some("nosniff"),
                "{kind} GET: {}",
                stream.head
            );
        }
        let sid = server.handshake().await;
        for path in [
            xhr_path(&sid),
            jsonp_path(&sid, "0"),
            htmlfile_path(&sid),
            multipart_path(&sid),
        ] {
            let post = if path.contains("jsonp") {
                server
                    .request(
                        Method::POST,
                        &path,
                        &[
                            ("origin", GOOD),
                            ("content-type", "application/x-www-form-urlencoded"),
                        ],
                        jsonp_form("2::"),
                    )
                    .await
            } else {
                server
                    .request(Method::POST, &path, &[("origin", GOOD)], "2::")
                    .await
            };
            assert_eq!(post.status, 200, "{path}");
            nosniff(&post, &format!("POST {path}"));
            let preflight = server.post_preflight(&path, GOOD).await;
            nosniff(&preflight, &format!("OPTIONS {path}"));
            let put = server
                .request(Method::PUT, &path, &[("origin", GOOD)], "x")
                .await;
            assert_eq!(put.status, 405, "{path}");
            nosniff(&put, &format!("PUT {path}"));
        }
    })
    .await;
}
