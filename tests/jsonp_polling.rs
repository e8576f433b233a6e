//! The jsonp-polling transport over real TCP (docs/protocol.md §2.4, §5.5, §8 #4/#5; §9 C04, C06,
//! C39–C42), and the server half of C59 on jsonp-polling, htmlfile and xhr-multipart.

use std::time::{Duration, Instant};

use ferrio_protocol::TransportKind;
use ferrio_testkit::{
    HttpResponse, MultipartEvent, TestServer, any_disconnect_of, connected_to, es3_string_literals,
    form_urlencode, htmlfile_path, htmlfile_payload, is_connection, jsonp_form, jsonp_path,
    jsonp_payload, multipart_path,
};
use http::Method;
use serde_json::{Value, json};

/// How long answers that should come at once may take.
const WAIT: Duration = Duration::from_secs(2);

/// The form POST of C40: the packet `5:::{"name":"echo","args":["a b"]}` as the 0.9 client
/// sends it.
const C40_FORM: &str = "d=%225%3A%3A%3A%7B%5C%22name%5C%22%3A%5C%22echo%5C%22%2C%5C%22args%5C%22%3A%5B%5C%22a+b%5C%22%5D%7D%22";

/// The framed two-packet form POST of §5.5: `2::` then `3:::hi!`.
const FRAMED_FORM: &str = "d=%22%EF%BF%BD3%EF%BF%BD2%3A%3A%EF%BF%BD7%EF%BF%BD3%3A%3A%3Ahi%21%22";

const ECHO_PACKET: &str = r#"5:::{"name":"echo","args":["x"]}"#;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// Checks the headers every jsonp-polling GET answer carries (docs/protocol.md §5.0, §5.5).
fn assert_script_headers(response: &HttpResponse) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    assert_eq!(response.header("x-xss-protection"), Some("0"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        response.header("content-length"),
        Some(response.body.len().to_string().as_str())
    );
}

/// A handshake and its first jsonp-polling GET with `i={index}`, which must be
/// `io.j[{index}]("1::");`.
async fn connected(server: &TestServer, index: &str) -> String {
    let sid = server.handshake().await;
    let first = server.get(&jsonp_path(&sid, index)).await;
    assert_script_headers(&first);
    assert_eq!(first.text(), format!(r#"io.j[{index}]("1::");"#));
    sid
}

/// POSTs a raw form body to the jsonp-polling URL of `sid`.
async fn post_form(server: &TestServer, sid: &str, body: impl Into<bytes::Bytes>) -> HttpResponse {
    server
        .request(Method::POST, &jsonp_path(sid, "1"), &[FORM], body)
        .await
}

/// One jsonp-polling GET with `i={index}`; checks the headers and the `io.j[{index}](…);`
/// shape and returns the payload the literal decodes to.
async fn poll(server: &TestServer, sid: &str, index: u32) -> String {
    let response = server.get(&jsonp_path(sid, &index.to_string())).await;
    assert_script_headers(&response);
    let (called, payload) = jsonp_payload(&response.text())
        .unwrap_or_else(|| panic!("not a jsonp answer: {:?}", response.text()));
    assert_eq!(called, index, "{}", response.text());
    payload
}

/// The session still works: an echo POSTed as a form comes back on the next GET.
async fn assert_session_works(server: &TestServer, sid: &str) {
    let packet = r#"5:::{"name":"echo","args":["still here"]}"#;
    server.post_jsonp(sid, packet).await;
    assert_eq!(poll(server, sid, 9).await, packet);
}

/// A fresh handshake works and its session connects over jsonp-polling.
async fn assert_new_sessions_work(server: &TestServer) {
    let sid = connected(server, "2").await;
    assert_session_works(server, &sid).await;
}

/// The arguments of an `echo` event packet.
fn echo_args(packet: &str) -> Vec<Value> {
    let json = packet
        .strip_prefix("5:::")
        .unwrap_or_else(|| panic!("not an event: {packet:?}"));
    let event: Value = serde_json::from_str(json).expect("event JSON");
    assert_eq!(event["name"], "echo", "{packet}");
    event["args"].as_array().expect("args").clone()
}

// ---------------------------------------------------------------------------------------------
// C39: the GET answer and its callback index

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c39_first_get_calls_the_indexed_callback() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let first = server.get(&jsonp_path(&sid, "5")).await;
    assert_script_headers(&first);
    assert_eq!(first.header("content-length"), Some("15"));
    assert_eq!(first.text(), r#"io.j[5]("1::");"#);
    server.assert_observed(WAIT, connected_to(&sid, "")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c39_hostile_callback_indices_become_zero() {
    let server = TestServer::start_short_timers().await;
    let hostile = [
        "alert(1)",
        "1);alert(2)//",
        "%3Cscript%3E",
        "99999999999999",
        "",
        "-1",
        "5x",
        "0x10",
        "%2B5",
    ];
    for index in hostile {
        let sid = server.handshake().await;
        let answer = server.get(&jsonp_path(&sid, index)).await;
        assert_script_headers(&answer);
        assert_eq!(answer.text(), r#"io.j[0]("1::");"#, "i={index}");
    }
    // No `i` at all.
    let sid = server.handshake().await;
    let answer = server
        .get(&format!("/socket.io/1/jsonp-polling/{sid}?t=5"))
        .await;
    assert_script_headers(&answer);
    assert_eq!(answer.text(), r#"io.j[0]("1::");"#);
    assert_new_sessions_work(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_5_idle_get_gets_noop_after_polling_duration() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "4").await;
    let started = Instant::now();
    let answer = server.get(&jsonp_path(&sid, "4")).await;
    let elapsed = started.elapsed();
    assert_script_headers(&answer);
    assert_eq!(answer.text(), r#"io.j[4]("8::");"#);
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed <= Duration::from_secs(3),
        "noop after {elapsed:?}, polling duration is 2 s"
    );
}

// ---------------------------------------------------------------------------------------------
// C40: form POSTs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c40_form_post_is_decoded_and_echoed() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "5").await;
    let post = post_form(&server, &sid, C40_FORM).await;
    assert_eq!(post.status, 200);
    assert_eq!(post.text(), "1");
    assert_eq!(
        post.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(post.header("content-length"), Some("1"));
    let answer = server.get(&jsonp_path(&sid, "5")).await;
    assert_script_headers(&answer);
    let body = answer.text();
    // Nothing in this payload needs ferrio's extra escapes, so the reference's bytes apply.
    assert_eq!(
        body,
        r#"io.j[5]("5:::{\"name\":\"echo\",\"args\":[\"a b\"]}");"#
    );
    assert_eq!(
        jsonp_payload(&body),
        Some((5, r#"5:::{"name":"echo","args":["a b"]}"#.to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_5_framed_form_post_carries_both_packets() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "1").await;
    let post = post_form(&server, &sid, FRAMED_FORM).await;
    assert_eq!((post.status, post.text().as_str()), (200, "1"));
    // `2::` is harmless; the message `hi!` is sent back by the application.
    assert_eq!(poll(&server, &sid, 1).await, "3:::hi!");
    // Several packets queued for one answer are framed inside the literal.
    server.post_jsonp(&sid, r#"5:::{"name":"multi"}"#).await;
    assert_eq!(
        poll(&server, &sid, 1).await,
        "\u{FFFD}27\u{FFFD}5:::{\"name\":\"a\",\"args\":[1]}\u{FFFD}32\u{FFFD}5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}\u{FFFD}5\u{FFFD}3:::x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_5_post_with_origin_gets_cors_and_xss_headers() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "1").await;
    let origin = "http://a.example:8080";
    let post = server
        .request(
            Method::POST,
            &jsonp_path(&sid, "1"),
            &[FORM, ("origin", origin)],
            C40_FORM,
        )
        .await;
    assert_eq!((post.status, post.text().as_str()), (200, "1"));
    assert_eq!(post.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        post.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(post.header("x-xss-protection"), Some("0"));
}

// ---------------------------------------------------------------------------------------------
// C41: unusable POST bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c41_unusable_d_gets_a_clear_answer_and_nothing_breaks() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "1").await;
    let bad_bodies = [
        // Not JSON at all: the reference's process dies on this one.
        "d=3:::notjson".to_owned(),
        // No `d`.
        "x=1".to_owned(),
        String::new(),
        // `d` is JSON but not a string.
        "d=5".to_owned(),
        "d=null".to_owned(),
        "d=%5B%225%3A%3A%3A%22%5D".to_owned(),
        // An unterminated string.
        "d=%223%3A%3A%3Ahi".to_owned(),
        // A string whose framing does not add up.
        format!("d={}", form_urlencode("\"\u{FFFD}9\u{FFFD}3:::hi\"")),
        // Not UTF-8 once form-decoded.
        "d=%22%FF%FE%22".to_owned(),
    ];
    for body in &bad_bodies {
        let answer = post_form(&server, &sid, body.clone()).await;
        let clear_refusal = (400..500).contains(&answer.status) && !answer.body.is_empty();
        let normal = answer.status == 200 && answer.text() == "1";
        assert!(
            clear_refusal || normal,
            "POST {body:?} got {} {:?}",
            answer.status,
            answer.text()
        );
    }
    assert!(
        !any_disconnect_of(&server.log, &sid),
        "an unusable POST ended the session: {:?}",
        server.log.entries()
    );
    // Nothing of the refused bodies was delivered: the next answer is the echo alone.
    assert_session_works(&server, &sid).await;
    assert_new_sessions_work(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c41_oversized_post_gets_413() {
    let server =
        TestServer::start_short_timers_with(|config| config.post.max_body_bytes = 16 * 1024).await;
    let sid = connected(&server, "1").await;
    let big = format!(
        r#"5:::{{"name":"echo","args":["{}"]}}"#,
        "x".repeat(64 * 1024)
    );
    let answer = post_form(&server, &sid, jsonp_form(&big)).await;
    assert_eq!(answer.status, 413, "{}", answer.text());
    // A body under the limit still works, on this session and on a new one.
    let small = format!(
        r#"5:::{{"name":"echo","args":["{}"]}}"#,
        "y".repeat(8 * 1024)
    );
    server.post_jsonp(&sid, &small).await;
    assert_eq!(poll(&server, &sid, 3).await, small);
    assert_new_sessions_work(&server).await;
}

// ---------------------------------------------------------------------------------------------
// C42: hostile payloads stay one ES3 string literal

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c42_hostile_payload_parses_as_es3_and_hides_markup() {
    let server = TestServer::start_short_timers().await;
    let sid = connected(&server, "6").await;
    let text = "a\u{2028}b\u{2029}c</script><!--<script>\"quoted\" 'single' \\ & >";
    for packet in [
        format!("3:::{text}"),
        format!("5:::{}", json!({"name": "echo", "args": [text]})),
    ] {
        server.post_jsonp(&sid, &packet).await;
        let answer = server.get(&jsonp_path(&sid, "6")).await;
        assert_script_headers(&answer);
        let body = answer.text();
        for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!body.contains(raw), "{raw:?} raw in {body:?}");
        }
        let literals = es3_string_literals(&body)
            .unwrap_or_else(|error| panic!("{body:?} is not ES3: {error}"));
        let (_, decoded) = jsonp_payload(&body).expect("io.j[6](…);");
        assert_eq!(
            literals,
            std::slice::from_ref(&decoded),
            "JS and JSON decode alike"
        );
        if let Some(message) = decoded.strip_prefix("3:::") {
            assert_eq!(message, text);
        } else {
            assert_eq!(echo_args(&decoded), [json!(text)]);
        }
    }
}

#[test]
fn c42_the_es3_check_rejects_raw_line_separators() {
    // The check itself must be able to fail: a raw U+2028 ends a string literal in ES3.
    assert!(es3_string_literals("io.j[0](\"a\u{2028}b\");").is_err());
    assert_eq!(
        es3_string_literals(r#"io.j[0]("a\u2028\/b");"#),
        Ok(vec!["a\u{2028}/b".to_owned()])
    );
}

// ---------------------------------------------------------------------------------------------
// The JSONP handshake (C04, C06) and unknown sessions (§5.0)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c04_jsonp_handshake_and_its_session() {
    let server = TestServer::start_short_timers().await;
    let answer = server.get("/socket.io/1/?t=1&jsonp=3").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/javascript")),
        "{:?}",
        answer.headers
    );
    let body = answer.text();
    assert_eq!(es3_string_literals(&body).map(|l| l.len()), Ok(1), "{body}");
    let (index, text) = jsonp_payload(&body).unwrap_or_else(|| panic!("{body:?}"));
    assert_eq!(index, 3);
    let handshake = ferrio_protocol::HandshakeBody::parse(&text).expect("handshake body");
    assert!(handshake.transports.iter().any(|t| t == "jsonp-polling"));
    // A script tag reads no headers: no CORS on the JSONP handshake, even with an Origin.
    let with_origin = server
        .request(
            Method::GET,
            "/socket.io/1/?t=1&jsonp=3",
            &[("origin", "http://a.example")],
            "",
        )
        .await;
    assert!(with_origin.text().starts_with("io.j[3](\""));
    assert_eq!(with_origin.header("access-control-allow-origin"), None);
    // The session it issued connects over jsonp-polling.
    let first = server.get(&jsonp_path(&handshake.sid, "3")).await;
    assert_eq!(first.text(), r#"io.j[3]("1::");"#);
    // Indices that are not digits are never reflected: the plain reply comes back.
    for hostile in ["x1", "alert(1)", "1);alert(2)//", "%3Cscript%3E"] {
        let plain = server
            .get(&format!("/socket.io/1/?t=1&jsonp={hostile}"))
            .await;
        assert_eq!(plain.status, 200);
        assert!(
            plain
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "jsonp={hostile}: {:?}",
            plain.headers
        );
        assert!(
            ferrio_protocol::HandshakeBody::parse(&plain.text()).is_ok(),
            "jsonp={hostile}: {:?}",
            plain.text()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c06_jsonp_handshake_refusal_is_an_error_call() {
    let server = TestServer::start_short_timers().await;
    for index in ["0", "7"] {
        let answer = server
            .get(&format!("/socket.io/1/?t=1&auth=deny&jsonp={index}"))
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.text(),
            format!(r#"io.j[{index}](new Error("handshake unauthorized"));"#)
        );
        assert_eq!(
            es3_string_literals(&answer.text()),
            Ok(vec!["handshake unauthorized".to_owned()])
        );
    }
    assert_eq!(
        server.hub.session_count(),
        0,
        "a refused handshake issued a session"
    );
    assert_new_sessions_work(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_0_unknown_sid_get_and_post() {
    let server = TestServer::start_short_timers().await;
    let get = server.get(&jsonp_path("nosuchsession", "4")).await;
    assert_script_headers(&get);
    assert_eq!(get.text(), r#"io.j[4]("7:::1+0");"#);
    let post = post_form(&server, "nosuchsession", C40_FORM).await;
    assert_eq!((post.status, post.text().as_str()), (200, "1"));
    assert_eq!(server.hub.session_count(), 0);
    assert_new_sessions_work(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_0_disabled_transports_are_refused_without_touching_the_session() {
    let server = TestServer::start_short_timers_with(|config| {
        config.hub.transports = vec![TransportKind::Websocket, TransportKind::XhrPolling];
    })
    .await;
    let sid = server.handshake().await;
    for path in [
        jsonp_path(&sid, "1"),
        htmlfile_path(&sid),
        multipart_path(&sid),
    ] {
        let get = server.get(&path).await;
        assert_eq!(get.status, 400, "GET {path}: {}", get.text());
        let post = server.post(&path, ECHO_PACKET).await;
        assert_eq!(post.status, 400, "POST {path}: {}", post.text());
    }
    assert!(
        !server.log.entries().iter().any(is_connection),
        "a refused request connected the session"
    );
    assert_eq!(server.poll(&sid).await, "1::");
}

// ---------------------------------------------------------------------------------------------
// C59, server half: one hostile message round-trips unchanged on every script-shaped or
// streaming transport.

/// U+2028, `</script>`, `<!--`, a real backslash-slash, both quotes and an emoji.
const C59_TEXT: &str = "line\u{2028}sep </script> <!-- a\\/b \"dq\" 'sq' 😀";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c59_hostile_message_round_trips_on_jsonp_htmlfile_and_multipart() {
    let server = TestServer::start_short_timers().await;
    let echo = format!("5:::{}", json!({"name": "echo", "args": [C59_TEXT]}));
    let message = format!("3:::{C59_TEXT}");

    // jsonp-polling: form POST, script answer.
    let sid = connected(&server, "8").await;
    for packet in [&echo, &message] {
        server.post_jsonp(&sid, packet).await;
        let answer = server.get(&jsonp_path(&sid, "8")).await;
        let body = answer.text();
        let (_, decoded) = jsonp_payload(&body).unwrap_or_else(|| panic!("{body:?}"));
        assert_eq!(es3_string_literals(&body), Ok(vec![decoded.clone()]));
        assert_round_trip(&decoded, packet);
    }

    // htmlfile: raw POST, one script chunk per write.
    let (sid, mut stream) = server.connected_htmlfile().await;
    for packet in [&echo, &message] {
        server.post_packets_to(&htmlfile_path(&sid), packet).await;
        let chunk = stream.next_text(WAIT).await.expect("htmlfile chunk");
        let decoded = htmlfile_payload(&chunk).unwrap_or_else(|| panic!("{chunk:?}"));
        let script = chunk
            .strip_prefix("<script>")
            .and_then(|c| c.strip_suffix("</script>"))
            .expect("one script element");
        assert_eq!(es3_string_literals(script), Ok(vec![decoded.clone()]));
        assert_round_trip(&decoded, packet);
    }

    // xhr-multipart: raw POST, one part per write.
    let (sid, mut stream) = server.connected_multipart().await;
    for packet in [&echo, &message] {
        server.post_packets_to(&multipart_path(&sid), packet).await;
        match stream.next_part(WAIT).await {
            MultipartEvent::Part { body, .. } => assert_round_trip(&body, packet),
            other => panic!("expected a part, got {other:?}"),
        }
    }
}

/// What came back for `sent` carries [`C59_TEXT`] unchanged.
fn assert_round_trip(received: &str, sent: &str) {
    if sent.starts_with("3:::") {
        assert_eq!(received, sent);
    } else {
        assert_eq!(echo_args(received), [json!(C59_TEXT)], "{received:?}");
    }
}
