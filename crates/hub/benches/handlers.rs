//! One chat round trip through the hub, handled by each form of handler: a client's
//! `toServer` event decoded and ingested, its handler run, and the `toClient` line it emits
//! back taken from the session's outbox, as a transport would.
//!
//! - `raw`: the synchronous closure over the arguments as JSON values, picking the fields out
//!   by hand (`Namespace::on_raw`).
//! - `typed`: the `async` handler taking `Data<Line>` (`Namespace::on`), which never waits, as
//!   the chat's does not.
//! - `typed_with_ack`: the same with `Option<AckSender>` taken and answered.
//!
//! Both forms do the same work; the ratio of their times is what the typed form costs.
//! `cargo bench -p ferrio-hub --bench handlers` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferrio_hub::{
    AckSender, AttachMode, Attachment, ConnectInfo, Data, Hub, HubConfig, Rate, Socket,
};
use ferrio_protocol::{TransportKind, decode};
use serde::Deserialize;
use tokio::runtime::Runtime;

/// What the client sends: the demo page's line.
const EVENT: &str = r#"5:::{"name":"toServer","args":[{"nome":"alice","msg":"hello everyone"}]}"#;
/// The same, asking for an ack with data.
const EVENT_WITH_ACK: &str =
    r#"5:1+::{"name":"toServer","args":[{"nome":"alice","msg":"hello everyone"}]}"#;

#[derive(Debug, Deserialize)]
struct Line {
    nome: String,
    msg: String,
}

/// A hub with one connected session, its stream attachment, and the runtime they live on.
struct Fixture {
    runtime: Runtime,
    hub: Hub,
    sid: String,
    attachment: Attachment,
}

impl Fixture {
    fn new(install: impl FnOnce(&Hub)) -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        // One session sends as fast as the bench runs: a budget it never spends.
        let unbounded = Rate::new(1e15, u32::MAX);
        let hub = Hub::new(HubConfig {
            inbound_packets: unbounded,
            inbound_bytes: unbounded,
            ..HubConfig::default()
        })
        .expect("the config is valid");
        install(&hub);
        let info = ConnectInfo {
            headers: vec![("host".to_owned(), "localhost".to_owned())],
            address: "127.0.0.1:4000".parse().expect("an address"),
            query: Vec::new(),
            secure: false,
        };
        let (sid, attachment) = runtime.block_on(async {
            let sid = hub.handshake(info).await.expect("handshake accepted").sid;
            let mut attachment = hub
                .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
                .expect("attached");
            // The `1::` of the connection.
            attachment.next_batch().await.expect("the session is live");
            (sid, attachment)
        });
        Fixture {
            runtime,
            hub,
            sid,
            attachment,
        }
    }

    /// One round trip: the event in, the answer(s) out.
    fn round_trip(&mut self, event: &str) {
        let packet = decode(event).expect("a valid packet");
        self.hub
            .ingest(&self.sid, vec![packet])
            .expect("the session takes it");
        let attachment = &mut self.attachment;
        self.runtime.block_on(async {
            let batch = attachment.next_batch().await.expect("the session is live");
            black_box(batch);
        });
    }
}

fn raw(hub: &Hub) {
    hub.sockets().on_raw("toServer", |socket, args, _ack| {
        let data = args.first();
        let field = |name: &str| {
            data.and_then(|data| data.get(name))
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let line = format!("{}:{}", field("nome"), field("msg"));
        socket.emit("toClient", &line);
    });
}

fn typed(hub: &Hub) {
    hub.sockets().on(
        "toServer",
        |socket: Socket, Data(line): Data<Line>| async move {
            socket.emit("toClient", format!("{}:{}", line.nome, line.msg));
        },
    );
}

fn typed_with_ack(hub: &Hub) {
    hub.sockets().on(
        "toServer",
        |socket: Socket, Data(line): Data<Line>, ack: Option<AckSender>| async move {
            socket.emit("toClient", format!("{}:{}", line.nome, line.msg));
            if let Some(ack) = ack {
                ack.send(1);
            }
        },
    );
}

/// A form of handler: its name, how it is installed, and the event it handles.
type Form = (&'static str, fn(&Hub), &'static str);

fn bench_handlers(c: &mut Criterion) {
    let mut group = c.benchmark_group("handler_round_trip");
    let forms: [Form; 3] = [
        ("raw", raw, EVENT),
        ("typed", typed, EVENT),
        ("typed_with_ack", typed_with_ack, EVENT_WITH_ACK),
    ];
    for (name, install, event) in forms {
        let mut fixture = Fixture::new(install);
        group.bench_function(name, |b| b.iter(|| fixture.round_trip(event)));
    }
    group.finish();
}

criterion_group!(benches, bench_handlers);
criterion_main!(benches);
