//! Handshake, routing and static files over real TCP (docs/protocol.md §1, §2, §9 C01–C10, C52).

use std::time::Duration;

use ferrio_hub::Origins;
use ferrio_server::ServerConfig;
use ferrio_server::apps::conformance::Observation;
use ferrio_testkit::{TestServer, xhr_path};
use http::Method;

const WAIT: Duration = Duration::from_secs(2);

/// Whether `body` has the shape C01 requires:
/// `^[A-Za-z0-9_-]{16,}:[1-9][0-9]*:[1-9][0-9]*:[a-z-]+(,[a-z-]+)*$`.
fn is_handshake_body(body: &str) -> bool {
    let fields: Vec<&str> = body.split(':').collect();
    let [sid, heartbeat, close, transports] = fields.as_slice() else {
        return false;
    };
    let positive = |field: &str| {
        !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) && !field.starts_with('0')
    };
    sid.len() >= 16
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && positive(heartbeat)
        && positive(close)
        && transports.split(',').all(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
}

fn sid_of(body: &str) -> &str {
    body.split(':').next().unwrap_or_default()
}

#[test]
fn c01_shape_check_rejects_bad_bodies() {
    assert!(is_handshake_body(
        "4Fz0-Nq8_cW2mYx1aB3k:60:60:websocket,xhr-polling"
    ));
    assert!(!is_handshake_body("short:60:60:websocket"));
    assert!(!is_handshake_body("4Fz0-Nq8_cW2mYx1aB3k::60:websocket"));
    assert!(!is_handshake_body("4Fz0-Nq8_cW2mYx1aB3k:060:60:websocket"));
    assert!(!is_handshake_body("4Fz0-Nq8_cW2mYx1aB3k:60:60:websocket,"));
    assert!(!is_handshake_body("4Fz0-Nq8_cW2mYx1aB3k:60:60:websocket\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c01_handshake_reply_shape_and_fresh_sids() {
    let server = TestServer::start_default().await;
    let first = server.get("/socket.io/1/?t=1").await;
    assert_eq!(first.status, 200);
    assert!(
        first
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        first.headers
    );
    let body = first.text();
    assert!(is_handshake_body(&body), "{body:?}");
    assert!(!body.contains(['\r', '\n']));
    assert_eq!(
        body.split(':').nth(1),
        Some("60"),
        "default heartbeat timeout"
    );
    assert_eq!(body.split(':').nth(2), Some("60"), "default close timeout");
    assert_eq!(
        body.split(':').nth(3),
        Some("websocket,xhr-polling,xhr-multipart,htmlfile,jsonp-polling"),
        "every transport but flashsocket, in fallback order"
    );
    let second = server.get("/socket.io/1/?t=1").await.text();
    assert!(is_handshake_body(&second), "{second:?}");
    assert_ne!(sid_of(&body), sid_of(&second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c02_handshake_without_trailing_slash_and_by_post() {
    let server = TestServer::start_default().await;
    let bare = server.get("/socket.io/1?t=1").await;
    assert_eq!(bare.status, 200);
    assert!(is_handshake_body(&bare.text()), "{:?}", bare.text());
    let posted = server.request(Method::POST, "/socket.io/1/", &[], "").await;
    assert_eq!(posted.status, 200);
    assert!(is_handshake_body(&posted.text()), "{:?}", posted.text());
    // Both issued live sessions.
    assert_eq!(server.poll(sid_of(&bare.text())).await, "1::");
    assert_eq!(server.poll(sid_of(&posted.text())).await, "1::");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c03_handshake_cors_echoes_origin_only_when_sent() {
    let server = TestServer::start_default().await;
    let origin = "http://a.example:8080";
    let cross = server
        .request(Method::GET, "/socket.io/1/?t=1", &[("origin", origin)], "")
        .await;
    assert_eq!(cross.status, 200);
    assert_eq!(cross.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        cross.header("access-control-allow-credentials"),
        Some("true")
    );
    let same = server.get("/socket.io/1/?t=1").await;
    assert_eq!(same.status, 200);
    assert_eq!(same.header("access-control-allow-origin"), None);
    assert_eq!(same.header("access-control-allow-credentials"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c04_jsonp_handshake_only_for_numeric_index() {
    let server = TestServer::start_default().await;
    let jsonp = server.get("/socket.io/1/?t=1&jsonp=3").await;
    assert_eq!(jsonp.status, 200);
    assert_eq!(jsonp.header("content-type"), Some("application/javascript"));
    let body = jsonp.text();
    let literal = body
        .strip_prefix("io.j[3](")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP call: {body:?}"));
    assert!(
        literal.starts_with('"') && literal.ends_with('"'),
        "{literal:?}"
    );
    let decoded: String =
        serde_json::from_str(literal).expect("the argument is a JSON string literal");
    assert!(is_handshake_body(&decoded), "{decoded:?}");
    assert_eq!(
        server.poll(sid_of(&decoded)).await,
        "1::",
        "the JSONP handshake issued a live session"
    );

    let plain = server.get("/socket.io/1/?t=1&jsonp=x1").await;
    assert_eq!(plain.status, 200);
    assert!(
        plain
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    assert!(is_handshake_body(&plain.text()), "{:?}", plain.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c05_unsupported_protocol_version() {
    let server = TestServer::start_default().await;
    let response = server.get("/socket.io/2/").await;
    assert_eq!(response.status, 500);
    assert_eq!(response.text(), "Protocol version not supported.");
    assert_eq!(response.header("content-type"), None);
    let with_transport = server.get("/socket.io/abc/def/").await;
    assert_eq!(with_transport.status, 500);
    assert_eq!(with_transport.text(), "Protocol version not supported.");
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c06_authorization_refusal_plain_and_jsonp() {
    let server = TestServer::start_default().await;
    let refused = server.get("/socket.io/1/?t=1&auth=deny").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    assert_eq!(refused.text(), "handshake unauthorized");
    let jsonp = server.get("/socket.io/1/?t=1&auth=deny&jsonp=0").await;
    assert_eq!(jsonp.status, 200);
    assert_eq!(
        jsonp.text(),
        r#"io.j[0](new Error("handshake unauthorized"));"#
    );
    assert_eq!(
        server.hub.session_count(),
        0,
        "a refused handshake issues no session"
    );
    // A hook that fails is a 500 (docs/protocol.md §2.5).
    // The refusal carries the CORS headers, so a cross-domain page can read it (docs/protocol.md
    // §2.3).
    let cross = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1&auth=deny",
            &[("origin", "http://a.example")],
            "",
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        cross.header("access-control-allow-origin"),
        Some("http://a.example")
    );
    assert_eq!(
        cross.header("access-control-allow-credentials"),
        Some("true")
    );
    let failed = server.get("/socket.io/1/?t=1&auth=error").await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.text(), "handshake error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c07_origin_allow_list() {
    let mut config = ServerConfig::default();
    config.hub.origins = "good.example:80".parse::<Origins>().expect("origins");
    let server = TestServer::start(config).await;
    let evil = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1",
            &[("origin", "http://evil.example")],
            "",
        )
        .await;
    assert_eq!(evil.status, 403);
    assert_eq!(evil.text(), "handshake bad origin");
    assert_eq!(evil.header("access-control-allow-origin"), None);
    let good = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1",
            &[("origin", "http://good.example")],
            "",
        )
        .await;
    assert_eq!(good.status, 200);
    assert!(is_handshake_body(&good.text()));
    let referer = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1",
            &[("referer", "http://good.example/x")],
            "",
        )
        .await;
    assert_eq!(referer.status, 200);
    assert!(is_handshake_body(&referer.text()));
    let anonymous = server.get("/socket.io/1/?t=1").await;
    assert_eq!(
        anonymous.status, 403,
        "no origin at all is refused by a restrictive list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c08_welcome_and_host_application() {
    let server = TestServer::start_default().await;
    for path in [
        "/socket.io/",
        "/socket.io",
        "/socket.io/0/",
        "/socket.io/abc/",
        "/socket.io/1/a/b/c",
    ] {
        let welcome = server.get(path).await;
        assert_eq!(welcome.status, 200, "{path}");
        assert_eq!(welcome.text(), "Welcome to socket.io.", "{path}");
    }
    assert_eq!(server.hub.session_count(), 0);
    // A transport segment without a sid is still a handshake (docs/protocol.md §1.2 step 6).
    let handshake = server.get("/socket.io/1/xhr-polling/").await;
    assert!(
        is_handshake_body(&handshake.text()),
        "{:?}",
        handshake.text()
    );
    // Outside the resource the host application (the page server) answers.
    let page = server.get("/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(
        page.text().to_ascii_lowercase().contains("<html")
            || page.text().to_ascii_lowercase().contains("<!doctype html")
    );
    let missing = server.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_ne!(missing.text(), "Welcome to socket.io.");
    // `/socket.iox` is not under the resource (this project's routing, docs/protocol.md §1.2 note).
    assert_eq!(server.get("/socket.iox").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c09_handshake_query_and_xdomain_reach_the_application() {
    let server = TestServer::start_default().await;
    let response = server.get("/socket.io/1/?t=1&token=abc").await;
    let sid = sid_of(&response.text()).to_owned();
    server
        .assert_observed(
            WAIT,
            |o| matches!(o, Observation::Authorized { token: Some(t) } if t == "abc"),
        )
        .await;
    assert_eq!(server.poll(&sid).await, "1::");
    let connection = server
        .log
        .wait_for(
            WAIT,
            |o| matches!(o, Observation::Connection { sid: s, .. } if *s == sid),
        )
        .await;
    assert_eq!(
        connection,
        Some(Observation::Connection {
            sid: sid.clone(),
            namespace: String::new(),
            token: Some("abc".to_owned()),
            xdomain: false
        })
    );

    let cross = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1",
            &[("origin", "http://a.example")],
            "",
        )
        .await;
    let cross_sid = sid_of(&cross.text()).to_owned();
    assert_eq!(server.poll(&cross_sid).await, "1::");
    let connection = server
        .log
        .wait_for(
            WAIT,
            |o| matches!(o, Observation::Connection { sid: s, .. } if *s == cross_sid),
        )
        .await;
    assert!(
        matches!(
            connection,
            Some(Observation::Connection {
                xdomain: true,
                token: None,
                ..
            })
        ),
        "{connection:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c10_unused_handshake_expires() {
    let mut config = ServerConfig::default();
    config.hub.handshake_expiry = Duration::from_secs(2);
    let server = TestServer::start(config).await;
    let unused = server.handshake().await;
    let used_late = server.handshake().await;
    // Before the expiry a sid is still good…
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(server.poll(&used_late).await, "1::");
    // …after it, it is gone.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(server.poll(&unused).await, "7:::1+0");
    assert!(
        !server
            .log
            .entries()
            .iter()
            .any(|o| matches!(o, Observation::Connection { sid, .. } if *sid == unused)),
        "an expired handshake never connects"
    );
    // The session that connected in time is not touched by the expiry.
    let response = server
        .post(&xhr_path(&used_late), r#"5:::{"name":"echo","args":[1]}"#)
        .await;
    assert_eq!(response.text(), "1");
    assert_eq!(
        server.poll(&used_late).await,
        r#"5:::{"name":"echo","args":[1]}"#
    );
    // Counted under a reason of its own, not as a session that lost its transport.
    let metrics = server.metrics().await;
    let ended = |reason: &str| metrics.value("ferrio_disconnects_total", &[("reason", reason)]);
    assert_eq!(ended("handshake expired"), 1.0);
    assert_eq!(ended("close timeout"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c52_client_script_get_head_and_revalidation() {
    let server = TestServer::start_default().await;
    let script = server.get("/socket.io/socket.io.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("application/javascript")
    );
    assert!(!script.body.is_empty());
    let length = script.header("content-length").expect("content-length");
    assert_eq!(length, script.body.len().to_string());
    let etag = script.header("etag").expect("etag").to_owned();

    let head = server
        .request(Method::HEAD, "/socket.io/socket.io.js", &[], "")
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("application/javascript"));
    assert_eq!(head.header("content-length"), Some(length));
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let revalidated = server
        .request(
            Method::GET,
            "/socket.io/socket.io.js",
            &[("if-none-match", &etag)],
            "",
        )
        .await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    let stale = server
        .request(
            Method::GET,
            "/socket.io/socket.io.js",
            &[("if-none-match", "\"stale\"")],
            "",
        )
        .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, script.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c52_chat_page_is_served() {
    let server = TestServer::start_default().await;
    let page = server.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert_eq!(
        page.header("content-length"),
        Some(page.body.len().to_string().as_str())
    );
    assert!(
        page.text().contains("/socket.io/socket.io.js"),
        "the page loads the client script"
    );
    let head = server.request(Method::HEAD, "/", &[], "").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = server.request(Method::POST, "/", &[], "x").await;
    assert_eq!(post.status, 405);
}
