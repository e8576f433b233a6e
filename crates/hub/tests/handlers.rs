//! Typed, async handlers and the asynchronous authorization hook, on virtual time: what
//! reaches a handler, what a client gets when its arguments do not fit, the order of handlers
//! that wait, and handshakes that wait on their hook.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{connected, info, ingest, poll};

use ferrio_hub::{AckSender, Args, Authorization, Data, Hub, HubConfig, Refusal, Socket, TryData};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn invalid_arguments(hub: &Hub) -> u64 {
    hub.metrics().invalid_arguments
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    text: String,
    n: u32,
}

#[tokio::test(start_paused = true)]
async fn a_typed_handler_reads_its_struct_emits_any_serialize_value_and_acks() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.sockets().on(
        "line",
        |socket: Socket, Data(line): Data<Line>, ack: Option<AckSender>| async move {
            socket.emit("echo", &line);
            if let Some(ack) = ack {
                ack.send(line.n * 2);
            }
        },
    );
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:1+::{"name":"line","args":[{"text":"hi","n":2}]}"#,
            r#"5:::{"name":"line","args":[{"text":"no ack","n":0}]}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:::{"name":"echo","args":[{"text":"hi","n":2}]}"#,
            "6:::1+[4]",
            r#"5:::{"name":"echo","args":[{"text":"no ack","n":0}]}"#,
        ]
    );
    assert_eq!(invalid_arguments(&hub), 0);
}

#[tokio::test(start_paused = true)]
async fn arguments_that_do_not_fit_are_refused_counted_and_answered_when_an_ack_waits() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    let ran = Arc::new(Mutex::new(0));
    let count = Arc::clone(&ran);
    // The ack is taken before the arguments fail: the refusal still answers it.
    hub.sockets().on(
        "line",
        move |ack: Option<AckSender>, Data(_line): Data<Line>| {
            *count.lock() += 1;
            async move { drop(ack) }
        },
    );
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:1+::{"name":"line","args":["not a line"]}"#,
            r#"5:::{"name":"line","args":[{"text":"no n"}]}"#,
            r#"5:2+::{"name":"line"}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"6:::1+[{"error":"invalid arguments","event":"line","reason":"invalid type: string \"not a line\", expected struct Line"}]"#,
            r#"6:::2+[{"error":"invalid arguments","event":"line","reason":"invalid type: null, expected struct Line"}]"#,
        ],
        "only the events that asked for an ack are answered"
    );
    assert_eq!(*ran.lock(), 0, "the handler never ran");
    assert_eq!(invalid_arguments(&hub), 3);
    assert!(hub.sockets().socket(&sid).unwrap().connected());
}

#[tokio::test(start_paused = true)]
async fn try_data_hands_the_error_to_the_handler_and_args_the_values_as_they_came() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.sockets().on(
        "line",
        |socket: Socket, TryData(line): TryData<Line>| async move {
            match line {
                Ok(line) => socket.emit("ok", line.text),
                Err(error) => socket.emit("bad", error.event()),
            };
        },
    );
    hub.sockets()
        .on("raw", |socket: Socket, Args(args): Args| async move {
            socket.emit("count", args.len());
        });
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:::{"name":"line","args":[1]}"#,
            r#"5:::{"name":"line","args":[{"text":"fine","n":1}]}"#,
            r#"5:::{"name":"raw","args":[1,"two",{"three":3}]}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:::{"name":"bad","args":["line"]}"#,
            r#"5:::{"name":"ok","args":["fine"]}"#,
            r#"5:::{"name":"count","args":[3]}"#,
        ]
    );
    assert_eq!(invalid_arguments(&hub), 0, "TryData refuses nothing");
}

#[tokio::test(start_paused = true)]
async fn several_arguments_read_as_a_tuple_and_none_as_null() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.sockets().on(
        "pair",
        |socket: Socket, Data((name, n)): Data<(String, u32)>| async move {
            socket.emit_args("pair", vec![json!(n), json!(name)]);
        },
    );
    hub.sockets().on(
        "maybe",
        |socket: Socket, Data(text): Data<Option<String>>| async move {
            socket.emit("maybe", text.unwrap_or_else(|| "nothing".to_owned()));
        },
    );
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:::{"name":"pair","args":["a",2]}"#,
            r#"5:::{"name":"maybe"}"#,
            r#"5:::{"name":"maybe","args":["x"]}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:::{"name":"pair","args":[2,"a"]}"#,
            r#"5:::{"name":"maybe","args":["nothing"]}"#,
            r#"5:::{"name":"maybe","args":["x"]}"#,
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn handlers_run_in_order_up_to_their_first_wait_and_go_on_by_themselves() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.sockets().on(
        "slow",
        |socket: Socket, Data(millis): Data<u64>| async move {
            socket.emit("started", millis);
            tokio::time::sleep(Duration::from_millis(millis)).await;
            socket.emit("done", millis);
        },
    );
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[
            r#"5:::{"name":"slow","args":[200]}"#,
            r#"5:::{"name":"slow","args":[50]}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:::{"name":"started","args":[200]}"#,
            r#"5:::{"name":"started","args":[50]}"#,
        ],
        "what comes before the wait runs at once, in the client's order"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        poll(&hub, &sid).await,
        [r#"5:::{"name":"done","args":[50]}"#]
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        poll(&hub, &sid).await,
        [r#"5:::{"name":"done","args":[200]}"#]
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_awaits_the_typed_reply_of_its_own_emit() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.sockets().on("hello", |socket: Socket| async move {
        let reply = socket
            .timeout(Duration::from_secs(1))
            .emit_with_ack::<Value>("who", ())
            .await;
        match reply {
            Ok(name) => socket.emit("welcome", name),
            Err(error) => socket.emit("welcome", error.to_string()),
        };
    });
    let sid = connected(&hub).await;
    ingest(
        &hub,
        &sid,
        &[r#"5:::{"name":"hello"}"#, r#"5:::{"name":"hello"}"#],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [
            r#"5:1+::{"name":"who","args":[null]}"#,
            r#"5:2+::{"name":"who","args":[null]}"#,
        ]
    );
    ingest(&hub, &sid, &[r#"6:::1+["ana"]"#]);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        poll(&hub, &sid).await,
        [r#"5:::{"name":"welcome","args":["ana"]}"#]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        poll(&hub, &sid).await,
        [r#"5:::{"name":"welcome","args":["no ack within 1s"]}"#]
    );
}

#[tokio::test(start_paused = true)]
async fn an_async_hook_decides_after_waiting_and_keeps_what_it_adds() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.authorize_async(|mut handshake| async move {
        // As a database would take its time.
        tokio::time::sleep(Duration::from_millis(30)).await;
        match handshake.query("token") {
            Some("ok") => {
                handshake.data.insert("user".to_owned(), json!("alice"));
                Ok(handshake)
            }
            Some("boom") => Err(Authorization::Error("database down".to_owned())),
            Some("accept-as-error") => Err(Authorization::Accept),
            _ => Err(Authorization::Refuse),
        }
    });
    let users = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&users);
    hub.sockets()
        .on_connection(move |socket| sink.lock().push(socket.handshake().data["user"].clone()));
    assert_eq!(
        hub.handshake(info(&[("token", "nope")], None)).await,
        Err(Refusal::Unauthorized)
    );
    assert_eq!(
        hub.handshake(info(&[("token", "accept-as-error")], None))
            .await,
        Err(Refusal::Unauthorized),
        "an Err never admits"
    );
    assert!(matches!(
        hub.handshake(info(&[("token", "boom")], None)).await,
        Err(Refusal::AuthorizationError(why)) if why == "database down"
    ));
    let sid = hub
        .handshake(info(&[("token", "ok")], None))
        .await
        .unwrap()
        .sid;
    assert_eq!(poll(&hub, &sid).await, ["1::"]);
    assert_eq!(*users.lock(), [json!("alice")]);
    assert_eq!(hub.unconnected_count(), 0, "refusals hold no count");
}

#[tokio::test(start_paused = true)]
async fn a_handshake_given_up_while_its_hook_waits_holds_nothing() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.authorize_async(|handshake| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok(handshake)
    });
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.handshake(info(&[], None)).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(hub.unconnected_count(), 1, "counted while its hook waits");
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert_eq!(hub.unconnected_count(), 0, "uncounted when its client went");
    assert_eq!(hub.session_count(), 0);

    // A shutdown that begins while a hook waits refuses the handshake it would have admitted.
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.handshake(info(&[], None)).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    hub.shutdown();
    assert_eq!(waiting.await.unwrap(), Err(Refusal::Unavailable));
    assert_eq!((hub.session_count(), hub.unconnected_count()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn an_async_join_hook_holds_the_namespace_packets_until_it_decides() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    let chat = hub.of("/chat");
    chat.authorize_join_async(|handshake, join| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let allowed = join.query.as_deref() != Some("?deny=1");
        assert_eq!(
            handshake.info.address.port(),
            4000,
            "the session's handshake data"
        );
        if allowed {
            Authorization::Accept
        } else {
            Authorization::Refuse
        }
    });
    chat.on_connection(|socket| {
        socket.emit("hi", "chat");
    });
    chat.on(
        "say",
        |socket: Socket, Data(text): Data<String>| async move {
            socket.emit("said", text);
        },
    );
    hub.sockets().on("ping", |socket: Socket| async move {
        socket.emit("pong", ());
    });
    let sid = connected(&hub).await;
    // The namespace's events right behind its connect, and the default namespace's beside it.
    ingest(
        &hub,
        &sid,
        &[
            "1::/chat:?a=b",
            r#"5::/chat:{"name":"say","args":["one"]}"#,
            r#"5:::{"name":"ping"}"#,
            "1::/chat:?a=b",
            r#"5::/chat:{"name":"say","args":["two"]}"#,
        ],
    );
    assert_eq!(
        poll(&hub, &sid).await,
        [r#"5:::{"name":"pong","args":[null]}"#],
        "the other namespaces go on while the hook waits"
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        poll(&hub, &sid).await,
        [
            "1::/chat",
            r#"5::/chat:{"name":"hi","args":["chat"]}"#,
            r#"5::/chat:{"name":"said","args":["one"]}"#,
            r#"5::/chat:{"name":"said","args":["two"]}"#,
        ],
        "joined once, then the held events in their order"
    );
    assert_eq!(hub.of("/chat").size(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_async_join_hook_that_refuses_drops_what_it_held_and_a_session_gone_meanwhile_joins_nothing()
 {
    let hub = Hub::new(HubConfig::default()).unwrap();
    let chat = hub.of("/chat");
    chat.authorize_join_async(|_handshake, join| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match join.query.as_deref() {
            Some("?deny=1") => Authorization::Refuse,
            _ => Authorization::Accept,
        }
    });
    let said = Arc::new(Mutex::new(0));
    let count = Arc::clone(&said);
    chat.on_raw("say", move |_socket, _args, _ack| *count.lock() += 1);
    let refused = connected(&hub).await;
    ingest(
        &hub,
        &refused,
        &[
            "1::/chat:?deny=1",
            r#"5::/chat:{"name":"say","args":["x"]}"#,
        ],
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(poll(&hub, &refused).await, ["7::/chat:2"]);
    assert_eq!(
        *said.lock(),
        0,
        "held packets of a refused join are dropped"
    );

    let gone = connected(&hub).await;
    ingest(
        &hub,
        &gone,
        &["1::/chat", r#"5::/chat:{"name":"say","args":["x"]}"#],
    );
    hub.kick(&gone);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(*said.lock(), 0);
    assert_eq!(
        hub.of("/chat").size(),
        0,
        "a session that ended joins nothing"
    );

    // A client that leaves while its join waits: the leave is held, and undoes the join.
    let leaver = connected(&hub).await;
    ingest(&hub, &leaver, &["1::/chat", "0::/chat"]);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(poll(&hub, &leaver).await, ["1::/chat"]);
    assert_eq!(hub.of("/chat").size(), 0);
}

#[tokio::test(start_paused = true)]
async fn hooks_that_never_decide_fail_after_ten_seconds() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    hub.authorize_async(|handshake| async move {
        if handshake.query("hang").is_some() {
            std::future::pending::<()>().await;
        }
        Ok(handshake)
    });
    let started = tokio::time::Instant::now();
    assert!(matches!(
        hub.handshake(info(&[("hang", "1")], None)).await,
        Err(Refusal::AuthorizationError(why)) if why.contains("10s")
    ));
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(hub.unconnected_count(), 0);

    hub.of("/slow")
        .authorize_join_async(|_handshake, _join| std::future::pending());
    let sid = connected(&hub).await;
    ingest(&hub, &sid, &["1::/slow"]);
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(poll(&hub, &sid).await, ["7::/slow:2"]);
}

#[tokio::test(start_paused = true)]
async fn a_hook_cannot_change_the_sessions_wire_generation() {
    let hub = Hub::new(HubConfig::default()).unwrap();
    // A hook that builds its answer afresh, as from the request alone.
    hub.authorize_async(
        |handshake| async move { Ok(ferrio_hub::HandshakeData::new(handshake.info)) },
    );
    let sid = hub
        .open_engine(info(&[], None), ferrio_eio::Revision::V4)
        .await
        .unwrap()
        .sid;
    let mut poll = hub
        .attach_engine(
            &sid,
            ferrio_protocol::TransportKind::XhrPolling,
            ferrio_hub::AttachMode::Poll,
        )
        .unwrap();
    ingest(&hub, &sid, &["1::"]);
    let batch = poll.next_batch().await.expect("a batch");
    let texts: Vec<&str> = batch.texts().collect();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with(r#"40{"sid":"#), "{texts:?}");
}
