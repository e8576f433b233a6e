//! The htmlfile transport over real TCP, read chunk by chunk as it streams (docs/protocol.md §4.3,
//! §5.3; §9 C36–C38, the server side of C60).

use std::time::{Duration, Instant};

use ferrio_hub::DisconnectReason;
use ferrio_testkit::{
    StreamEvent, StreamingResponse, TestServer, any_disconnect_of,
    assert_unanswered_heartbeat_timeline, disconnected, es3_string_literals, htmlfile_path,
    htmlfile_payload, packets_of, write_timeout_config,
};

/// The stream's URL, for the stalled client.
const PATH: fn(&str) -> String = htmlfile_path;

/// How long answers that should come at once may take.
const WAIT: Duration = Duration::from_secs(2);

const ECHO: &str = r#"5:::{"name":"echo","args":["hi"]}"#;

/// The payload of the next chunk, which must be exactly one `<script>_("…");</script>`
/// element.
async fn next_payload(stream: &mut StreamingResponse, timeout: Duration) -> Option<String> {
    let chunk = stream.next_text(timeout).await?;
    assert_eq!(
        chunk.matches("</script>").count(),
        1,
        "one script element per chunk: {chunk:?}"
    );
    Some(htmlfile_payload(&chunk).unwrap_or_else(|| panic!("not a script chunk: {chunk:?}")))
}

/// The stream ends (chunked terminator) within `timeout`, with no chunk before the end.
async fn assert_ends(stream: &mut StreamingResponse, timeout: Duration) {
    assert_eq!(stream.next_event(timeout).await, StreamEvent::End);
}

// ---------------------------------------------------------------------------------------------
// C36–C37: the document and its chunks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c36_prelude_then_connect() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let mut stream = server.open_stream(&htmlfile_path(&sid)).await;
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert_eq!(
        stream.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert!(stream.is_chunked(), "{}", stream.head);
    assert_eq!(stream.header("content-length"), None);
    // Read until the connect packet has arrived, however the bytes were chunked.
    let mut body = String::new();
    let connect = r#"<script>_("1::");</script>"#;
    while !body.contains(connect) {
        let chunk = stream
            .next_text(WAIT)
            .await
            .unwrap_or_else(|| panic!("stream stalled after {body:?}"));
        body.push_str(&chunk);
    }
    assert!(body.starts_with("<html><body><script>"), "{body:?}");
    let first_call = body.find("<script>_(").expect("a payload script");
    assert!(
        first_call >= 256,
        "only {first_call} bytes before the first payload"
    );
    assert!(body[first_call..].starts_with(connect), "{body:?}");
    assert!(body.ends_with(connect), "{body:?}");
    // The prelude's script defines `_`, handing its argument to `parent.s._`.
    let prelude = &body[..first_call];
    let script = prelude
        .strip_prefix("<html><body><script>")
        .and_then(|rest| rest.split_once("</script>"))
        .map(|(script, _)| script)
        .expect("a script element in the prelude");
    assert!(script.contains("function _("), "{script:?}");
    assert!(script.contains("parent.s._("), "{script:?}");
    assert!(
        es3_string_literals(script).is_ok(),
        "prelude script is not ES3: {script:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c37_echoed_text_is_escaped_and_decodes_back() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_htmlfile().await;
    for text in ["a/b</script>", "x\u{2028}y\u{2029}z <!--<script>"] {
        let packet = format!(
            r#"5:::{{"name":"echo","args":[{}]}}"#,
            serde_json::json!(text)
        );
        server.post_packets_to(&htmlfile_path(&sid), &packet).await;
        let chunk = stream.next_text(WAIT).await.expect("echo chunk");
        let literal = chunk
            .strip_prefix("<script>_(")
            .and_then(|rest| rest.strip_suffix(");</script>"))
            .unwrap_or_else(|| panic!("not a script chunk: {chunk:?}"));
        assert!(!literal.contains("</script>"), "{literal:?}");
        for raw in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!literal.contains(raw), "{raw:?} raw in {literal:?}");
        }
        if text.contains('\u{2028}') {
            assert!(literal.contains(r"\u2028") && literal.contains(r"\u2029"));
        }
        if text.contains('/') {
            assert!(literal.contains(r"\/"), "`/` is written `\\/`: {literal:?}");
        }
        assert_eq!(htmlfile_payload(&chunk).as_deref(), Some(packet.as_str()));
        let script = &chunk["<script>".len()..chunk.len() - "</script>".len()];
        assert_eq!(es3_string_literals(script), Ok(vec![packet.clone()]));
    }
}

// ---------------------------------------------------------------------------------------------
// C38: heartbeats and the end of the connection

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c38_heartbeats_answered_keep_the_stream_open_unanswered_end_it() {
    let server = TestServer::start_short_timers().await;
    // Two sessions at once on one gateway: both cases need 8 s and more of heartbeat timers.
    tokio::join!(
        unanswered_heartbeat_ends_the_stream(&server),
        answered_heartbeats_keep_the_stream_open(&server)
    );
}

async fn unanswered_heartbeat_ends_the_stream(server: &TestServer) {
    let (sid, mut stream) = server.connected_htmlfile().await;
    assert_unanswered_heartbeat_timeline(
        &mut stream,
        async |stream, timeout| {
            assert_eq!(next_payload(stream, timeout).await.as_deref(), Some("2::"));
        },
        assert_ends,
    )
    .await;
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::HeartbeatTimeout))
        .await;
}

async fn answered_heartbeats_keep_the_stream_open(server: &TestServer) {
    let (sid, mut stream) = server.connected_htmlfile().await;
    server
        .assert_answered_heartbeats_keep_stream_open(
            &sid,
            &htmlfile_path(&sid),
            &mut stream,
            ECHO,
            WAIT,
            async |stream, left| match stream.next_event(left).await {
                StreamEvent::Chunk(bytes) => {
                    let chunk = String::from_utf8(bytes).expect("UTF-8");
                    assert_eq!(chunk, r#"<script>_("2::");</script>"#);
                    true
                }
                StreamEvent::TimedOut => false,
                other => panic!("stream ended: {other:?}"),
            },
            async |stream, timeout| packets_of(&next_payload(stream, timeout).await.expect("echo")),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c38_closing_the_connection_ends_the_session_at_once() {
    let server = TestServer::start_short_timers().await;
    let (sid, stream) = server.connected_htmlfile().await;
    let closed = Instant::now();
    drop(stream);
    let seen = server
        .log
        .wait_for(
            Duration::from_secs(4),
            disconnected(&sid, DisconnectReason::SocketEnd),
        )
        .await;
    let elapsed = closed.elapsed();
    assert!(
        seen.is_some(),
        "no disconnect(socket end) within 4 s of closing: {:?}",
        server.log.entries()
    );
    assert!(
        elapsed <= Duration::from_secs(1),
        "disconnect(socket end) took {elapsed:?}"
    );
    // The session is over: a new stream for it gets the error packet.
    let mut again = server.open_stream(&htmlfile_path(&sid)).await;
    let body = again.rest(WAIT).await.expect("complete body");
    assert!(
        String::from_utf8_lossy(&body).ends_with(r#"<script>_("7:::1+0");</script>"#),
        "{body:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Streaming behaviour (docs/protocol.md §3.10, §4.4, §4.8, §5.0, §5.3)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_3_each_write_is_its_own_chunk_flushed_at_once() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_htmlfile().await;
    for round in 0..3 {
        let packet = format!(r#"5:::{{"name":"echo","args":[{round}]}}"#);
        let started = Instant::now();
        server.post_packets_to(&htmlfile_path(&sid), &packet).await;
        let payload = next_payload(&mut stream, WAIT).await;
        let elapsed = started.elapsed();
        assert_eq!(payload.as_deref(), Some(packet.as_str()));
        assert!(
            elapsed <= Duration::from_millis(300),
            "echo {round} arrived after {elapsed:?}"
        );
    }
    // Nothing else was written meanwhile.
    assert_eq!(
        stream.next_event(Duration::from_millis(300)).await,
        StreamEvent::TimedOut
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c15_multi_arrives_in_order_framed_or_one_per_chunk() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_htmlfile().await;
    server
        .post_packets_to(&htmlfile_path(&sid), r#"5:::{"name":"multi"}"#)
        .await;
    let expected = [
        r#"5:::{"name":"a","args":[1]}"#,
        "5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}",
        "3:::x",
    ];
    let mut packets = Vec::new();
    while packets.len() < expected.len() {
        let payload = next_payload(&mut stream, WAIT)
            .await
            .unwrap_or_else(|| panic!("stalled after {packets:?}"));
        let parts = packets_of(&payload);
        if parts.len() > 1 {
            // Several packets in one write are framed exactly (UTF-16 lengths, docs/protocol.md
            // §3.9).
            assert_eq!(payload, ferrio_protocol::frame(&parts));
        }
        packets.extend(parts);
    }
    assert_eq!(packets, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_2_post_before_the_first_get_follows_connect() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    server.post_packets_to(&htmlfile_path(&sid), ECHO).await;
    let mut stream = server.open_stream(&htmlfile_path(&sid)).await;
    let prelude = stream.next_text(WAIT).await.expect("prelude");
    assert!(prelude.starts_with("<html><body><script>"), "{prelude:?}");
    let mut packets = Vec::new();
    while packets.len() < 2 {
        let payload = next_payload(&mut stream, WAIT)
            .await
            .unwrap_or_else(|| panic!("stalled after {packets:?}"));
        packets.extend(packets_of(&payload));
    }
    assert_eq!(packets, ["1::", ECHO]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_0_unknown_sid_gets_prelude_error_and_end() {
    let server = TestServer::start_short_timers().await;
    let mut stream = server.open_stream(&htmlfile_path("nosuchsession")).await;
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert_eq!(
        stream.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    let body = stream.rest(WAIT).await.expect("the body ends");
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(body.starts_with("<html><body><script>"), "{body:?}");
    let first_call = body.find("<script>_(").expect("a payload script");
    assert!(first_call >= 256, "{body:?}");
    assert_eq!(&body[first_call..], r#"<script>_("7:::1+0");</script>"#);
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_sends_disconnect_then_ends_the_stream() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_htmlfile().await;
    server
        .post_packets_to(&htmlfile_path(&sid), r#"5:::{"name":"kick"}"#)
        .await;
    assert_eq!(
        next_payload(&mut stream, WAIT).await.as_deref(),
        Some("0::")
    );
    assert_ends(&mut stream, WAIT).await;
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_4_second_stream_ends_the_first_and_takes_over() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut first) = server.connected_htmlfile().await;
    let mut second = server.open_stream(&htmlfile_path(&sid)).await;
    assert_eq!(second.status, 200, "{}", second.head);
    let prelude = second.next_text(WAIT).await.expect("prelude");
    assert!(prelude.starts_with("<html><body><script>"), "{prelude:?}");
    assert_ends(&mut first, Duration::from_secs(1)).await;
    server.post_packets_to(&htmlfile_path(&sid), ECHO).await;
    assert_eq!(next_payload(&mut second, WAIT).await.as_deref(), Some(ECHO));
    assert!(
        !any_disconnect_of(&server.log, &sid),
        "{:?}",
        server.log.entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_11_volatile_is_written_on_an_open_stream() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_htmlfile().await;
    server
        .post_packets_to(
            &htmlfile_path(&sid),
            r#"5:::{"name":"volatile","args":[1]}"#,
        )
        .await;
    let mut packets = Vec::new();
    while packets.len() < 2 {
        let payload = next_payload(&mut stream, WAIT)
            .await
            .unwrap_or_else(|| panic!("stalled after {packets:?}"));
        packets.extend(packets_of(&payload));
    }
    assert_eq!(
        packets,
        [
            r#"5:::{"name":"vol","args":[1]}"#,
            r#"5:::{"name":"nonvol","args":[1]}"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_ended_at_the_write_timeout() {
    let server = TestServer::start(write_timeout_config()).await;
    let crowd = server.crowd(1, 1).await;
    let (sid, mut stalled) = server.stalled_get(PATH).await;
    server.emit_stalling_packet(&sid).await;
    server
        .assert_ended_at_write_timeout(&sid, &mut stalled)
        .await;
    crowd.finish().await;
}
