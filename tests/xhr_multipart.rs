//! The xhr-multipart transport over real TCP, read part by part as it streams (docs/protocol.md
//! §5.6 "Extension definition", with §3.9, §4.3 and §4.4 as it refers to them).

use std::time::{Duration, Instant};

use ferrio_hub::DisconnectReason;
use ferrio_testkit::{
    MultipartEvent, MultipartStream, StreamingResponse, TestServer, any_disconnect_of,
    assert_preflight_allows, assert_unanswered_heartbeat_timeline, disconnected, form_urlencode,
    is_connection, multipart_path, packets_of, write_timeout_config,
};
use http::Method;

/// The stream's URL, for the stalled client.
const PATH: fn(&str) -> String = multipart_path;

/// How long answers that should come at once may take.
const WAIT: Duration = Duration::from_secs(2);
/// How long the server is given to notice a closed connection before the test relies on it.
const SETTLE: Duration = Duration::from_millis(300);

const ECHO: &str = r#"5:::{"name":"echo","args":["hi"]}"#;

/// The framed payload of C15.
const C15_MULTI: &str = "\u{FFFD}27\u{FFFD}5:::{\"name\":\"a\",\"args\":[1]}\u{FFFD}32\u{FFFD}5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}\u{FFFD}5\u{FFFD}3:::x";

async fn open(server: &TestServer, sid: &str) -> MultipartStream {
    let response = server.open_stream(&multipart_path(sid)).await;
    assert_eq!(response.status, 200, "{}", response.head);
    MultipartStream::new(response)
}

/// The stream is completed the way the server completes it: the closing delimiter, then the
/// end of the HTTP body.
async fn assert_completed(stream: &mut MultipartStream, timeout: Duration) {
    assert_eq!(
        stream.next_part(timeout).await,
        MultipartEvent::CloseDelimiter
    );
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::End);
}

fn is_fresh_boundary(boundary: &str) -> bool {
    boundary.strip_prefix("socketio-").is_some_and(|suffix| {
        suffix.len() == 16
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

// ---------------------------------------------------------------------------------------------
// The GET stream

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_get_headers_and_first_part() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let origin = "http://a.example:8080";
    let mut stream = server
        .open_stream_with(&multipart_path(&sid), &[("origin", origin)])
        .await;
    assert_eq!(stream.status, 200, "{}", stream.head);
    let content_type = stream.header("content-type").unwrap_or_default().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/x-mixed-replace;boundary=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("content type {content_type:?}"))
        .to_owned();
    assert!(is_fresh_boundary(&boundary), "boundary {boundary:?}");
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    assert!(stream.is_chunked(), "{}", stream.head);
    assert_eq!(stream.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        stream.header("access-control-allow-credentials"),
        Some("true")
    );
    // The opening delimiter, then the connect packet as the first part, byte for byte.
    let expected = format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n1::\r\n--{boundary}\r\n"
    );
    let mut received = Vec::new();
    while received.len() < expected.len() {
        let chunk = stream
            .next_chunk(WAIT)
            .await
            .unwrap_or_else(|| panic!("stalled after {:?}", String::from_utf8_lossy(&received)));
        received.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8_lossy(&received), expected);

    // Without an Origin there are no CORS headers.
    let other = server.handshake().await;
    let plain = server.open_stream(&multipart_path(&other)).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert_eq!(plain.header("access-control-allow-credentials"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_every_stream_gets_a_fresh_boundary() {
    let server = TestServer::start_short_timers().await;
    let (_, first) = server.connected_multipart().await;
    let (_, second) = server.connected_multipart().await;
    assert!(is_fresh_boundary(&first.boundary), "{}", first.boundary);
    assert!(is_fresh_boundary(&second.boundary), "{}", second.boundary);
    assert_ne!(first.boundary, second.boundary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_each_write_is_one_part_flushed_at_once() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    for round in 0..3 {
        let packet = format!(r#"5:::{{"name":"echo","args":[{round}]}}"#);
        let started = Instant::now();
        server.post_packets_to(&multipart_path(&sid), &packet).await;
        assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(&packet));
        let elapsed = started.elapsed();
        assert!(
            elapsed <= Duration::from_millis(300),
            "echo {round} arrived after {elapsed:?}"
        );
    }
    // A live multi arrives in order: one framed part, or one part per packet.
    server
        .post_packets_to(&multipart_path(&sid), r#"5:::{"name":"multi"}"#)
        .await;
    let mut packets = Vec::new();
    while packets.len() < 3 {
        match stream.next_part(WAIT).await {
            MultipartEvent::Part { body, .. } => {
                let parts = packets_of(&body);
                if parts.len() > 1 {
                    assert_eq!(body, ferrio_protocol::frame(&parts));
                }
                packets.extend(parts);
            }
            other => panic!("expected a part after {packets:?}, got {other:?}"),
        }
    }
    assert_eq!(packets, packets_of(C15_MULTI));
}

// ---------------------------------------------------------------------------------------------
// End of stream, close timeout, takeover

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c15_closed_stream_buffers_and_the_next_get_gets_one_framed_part() {
    let server = TestServer::start_short_timers().await;
    let (sid, stream) = server.connected_multipart().await;
    drop(stream);
    tokio::time::sleep(SETTLE).await;
    server
        .post_packets_to(&multipart_path(&sid), r#"5:::{"name":"multi"}"#)
        .await;
    tokio::time::sleep(SETTLE).await;
    assert!(
        !any_disconnect_of(&server.log, &sid),
        "the end of the stream ended the session: {:?}",
        server.log.entries()
    );
    let mut again = open(&server, &sid).await;
    assert_eq!(again.next_part(WAIT).await, MultipartEvent::part(C15_MULTI));
    // A single buffered packet goes out bare.
    drop(again);
    tokio::time::sleep(SETTLE).await;
    server.post_packets_to(&multipart_path(&sid), ECHO).await;
    let mut third = open(&server, &sid).await;
    assert_eq!(third.next_part(WAIT).await, MultipartEvent::part(ECHO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_close_timeout_after_the_stream_closes() {
    let server = TestServer::start_short_timers().await;
    let (sid, stream) = server.connected_multipart().await;
    let closed = Instant::now();
    drop(stream);
    server
        .assert_observed(
            Duration::from_secs(7),
            disconnected(&sid, DisconnectReason::CloseTimeout),
        )
        .await;
    let elapsed = closed.elapsed();
    assert!(
        elapsed >= Duration::from_millis(3500) && elapsed <= Duration::from_millis(5500),
        "close timeout after {elapsed:?}, configured 4 s"
    );
    // The session is gone: a new stream gets the error packet and is completed.
    let mut again = open(&server, &sid).await;
    assert_eq!(again.next_part(WAIT).await, MultipartEvent::part("7:::1+0"));
    assert_completed(&mut again, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_second_get_completes_the_older_stream_and_takes_over() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut first) = server.connected_multipart().await;
    let mut second = open(&server, &sid).await;
    assert_ne!(first.boundary, second.boundary);
    assert_completed(&mut first, Duration::from_secs(1)).await;
    server.post_packets_to(&multipart_path(&sid), ECHO).await;
    assert_eq!(second.next_part(WAIT).await, MultipartEvent::part(ECHO));
    assert!(
        !any_disconnect_of(&server.log, &sid),
        "{:?}",
        server.log.entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_0_unknown_sid_gets_the_error_part_and_the_end() {
    let server = TestServer::start_short_timers().await;
    let mut stream = open(&server, "nosuchsession").await;
    assert_eq!(
        stream.next_part(WAIT).await,
        MultipartEvent::part("7:::1+0")
    );
    assert_completed(&mut stream, WAIT).await;
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_sends_disconnect_then_completes_the_stream() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    server
        .post_packets_to(&multipart_path(&sid), r#"5:::{"name":"kick"}"#)
        .await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part("0::"));
    assert_completed(&mut stream, WAIT).await;
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
}

// ---------------------------------------------------------------------------------------------
// Heartbeats

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_heartbeats_answered_keep_the_stream_open_unanswered_end_it() {
    let server = TestServer::start_short_timers().await;
    // Two sessions at once on one gateway: both cases need 8 s and more of heartbeat timers.
    tokio::join!(
        unanswered_heartbeat_ends_the_stream(&server),
        answered_heartbeats_keep_the_stream_open(&server)
    );
}

async fn unanswered_heartbeat_ends_the_stream(server: &TestServer) {
    let (sid, mut stream) = server.connected_multipart().await;
    assert_unanswered_heartbeat_timeline(
        &mut stream,
        async |stream, timeout| {
            assert_eq!(stream.next_part(timeout).await, MultipartEvent::part("2::"));
        },
        assert_completed,
    )
    .await;
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::HeartbeatTimeout))
        .await;
}

async fn answered_heartbeats_keep_the_stream_open(server: &TestServer) {
    let (sid, mut stream) = server.connected_multipart().await;
    server
        .assert_answered_heartbeats_keep_stream_open(
            &sid,
            &multipart_path(&sid),
            &mut stream,
            ECHO,
            WAIT,
            async |stream, left| match stream.next_part(left).await {
                MultipartEvent::TimedOut => false,
                part if part == MultipartEvent::part("2::") => true,
                other => panic!("not a heartbeat: {other:?}"),
            },
            async |stream, timeout| match stream.next_part(timeout).await {
                MultipartEvent::Part { body, .. } => packets_of(&body),
                other => panic!("no packet: {other:?}"),
            },
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// POST and OPTIONS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_posts_raw_and_as_a_data_form() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    let origin = "http://a.example:8080";
    let raw = server
        .request(
            Method::POST,
            &multipart_path(&sid),
            &[
                ("content-type", "text/plain;charset=UTF-8"),
                ("origin", origin),
            ],
            ECHO,
        )
        .await;
    assert_eq!((raw.status, raw.text().as_str()), (200, "1"));
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(raw.header("access-control-allow-origin"), Some(origin));
    assert_eq!(raw.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(ECHO));

    let packet = r#"5:::{"name":"echo","args":["a b+c&d=é"]}"#;
    let form = server
        .request(
            Method::POST,
            &multipart_path(&sid),
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("data={}", form_urlencode(packet)),
        )
        .await;
    assert_eq!((form.status, form.text().as_str()), (200, "1"));
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(packet));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_options_preflight_gets_204_with_cors() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let origin = "http://a.example:8080";
    let preflight = server.post_preflight(&multipart_path(&sid), origin).await;
    assert_preflight_allows(&preflight, origin);
    // Without a requested method the answer is the same.
    let bare = server
        .request(
            Method::OPTIONS,
            &multipart_path(&sid),
            &[("origin", origin)],
            "",
        )
        .await;
    assert_preflight_allows(&bare, origin);
    // A preflight does not touch the session: the first GET still connects it.
    assert!(
        !server.log.entries().iter().any(is_connection),
        "a preflight connected the session"
    );
    let mut stream = open(&server, &sid).await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part("1::"));
}

// ---------------------------------------------------------------------------------------------
// The boundary

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_delimiter_lookalike_is_delivered_intact_in_one_part() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    let message =
        "3:::before\r\n--socketio-0000000000000000\r\nafter\n--socketio-0000000000000000--";
    server.post_packets_to(&multipart_path(&sid), message).await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(message));
    // The stream goes on.
    server.post_packets_to(&multipart_path(&sid), ECHO).await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(ECHO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_text_containing_the_boundary_moves_to_the_next_stream() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    // A client reads the boundary of its own stream from the header, so it can send it.
    let message = format!("3:::x\r\n--{}\r\ny", stream.boundary);
    server
        .post_packets_to(&multipart_path(&sid), &message)
        .await;
    assert_completed(&mut stream, WAIT).await;
    tokio::time::sleep(SETTLE).await;
    assert!(
        !any_disconnect_of(&server.log, &sid),
        "{:?}",
        server.log.entries()
    );
    let mut next = open(&server, &sid).await;
    assert_ne!(next.boundary, stream.boundary);
    assert_eq!(next.next_part(WAIT).await, MultipartEvent::part(&message));
}

// ---------------------------------------------------------------------------------------------
// Session semantics on the stream (docs/protocol.md §4.8, §4.11) and HTTP/1.0

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_8_kick_between_streams_is_delivered_on_the_next_get() {
    let server = TestServer::start_short_timers().await;
    let (sid, stream) = server.connected_multipart().await;
    drop(stream);
    tokio::time::sleep(SETTLE).await;
    server
        .post_packets_to(&multipart_path(&sid), r#"5:::{"name":"kick"}"#)
        .await;
    server
        .assert_observed(WAIT, disconnected(&sid, DisconnectReason::Booted))
        .await;
    let mut next = open(&server, &sid).await;
    assert_eq!(next.next_part(WAIT).await, MultipartEvent::part("0::"));
    assert_completed(&mut next, WAIT).await;
    // Delivered once: the session is gone now.
    let mut after = open(&server, &sid).await;
    assert_eq!(after.next_part(WAIT).await, MultipartEvent::part("7:::1+0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_11_volatile_is_written_on_an_open_stream_and_dropped_between_streams() {
    let server = TestServer::start_short_timers().await;
    let (sid, mut stream) = server.connected_multipart().await;
    server
        .post_packets_to(
            &multipart_path(&sid),
            r#"5:::{"name":"volatile","args":[1]}"#,
        )
        .await;
    let mut packets = Vec::new();
    while packets.len() < 2 {
        match stream.next_part(WAIT).await {
            MultipartEvent::Part { body, .. } => packets.extend(packets_of(&body)),
            other => panic!("expected a part after {packets:?}, got {other:?}"),
        }
    }
    assert_eq!(
        packets,
        [
            r#"5:::{"name":"vol","args":[1]}"#,
            r#"5:::{"name":"nonvol","args":[1]}"#
        ]
    );
    drop(stream);
    tokio::time::sleep(SETTLE).await;
    server
        .post_packets_to(
            &multipart_path(&sid),
            r#"5:::{"name":"volatile","args":[2]}"#,
        )
        .await;
    let mut next = open(&server, &sid).await;
    assert_eq!(
        next.next_part(WAIT).await,
        MultipartEvent::part(r#"5:::{"name":"nonvol","args":[2]}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_6_http_1_0_stream_is_close_delimited() {
    let server = TestServer::start_short_timers().await;
    let sid = server.handshake().await;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\n\r\n",
        multipart_path(&sid),
        server.addr
    );
    let response = StreamingResponse::send_raw(server.addr, request.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.head);
    assert!(!response.is_chunked(), "{}", response.head);
    assert_eq!(response.header("content-length"), None, "{}", response.head);
    let mut stream = MultipartStream::new(response);
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part("1::"));
    server.post_packets_to(&multipart_path(&sid), ECHO).await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part(ECHO));
    server
        .post_packets_to(&multipart_path(&sid), r#"5:::{"name":"kick"}"#)
        .await;
    assert_eq!(stream.next_part(WAIT).await, MultipartEvent::part("0::"));
    // The server closes the connection after the closing delimiter: that is the end.
    assert_completed(&mut stream, WAIT).await;
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
