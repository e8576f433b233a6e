//! One broadcast to 1 000 and 10 000 connected sessions through the hub's public API.
//!
//! Each session is handshaken and holds a `Stream` attachment (as a WebSocket would), so it is
//! connected and in the default namespace. Only the emit is timed; between iterations every
//! outbox is drained through its attachment, so none ever fills up.
//!
//! `cargo bench -p ferrio-hub` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrio_hub::{AttachMode, Attachment, ConnectInfo, Hub, HubConfig};
use ferrio_protocol::TransportKind;
use serde_json::json;
use tokio::runtime::Runtime;

/// A hub with `sessions` connected sessions and the runtime their timer tasks live on.
struct Fixture {
    runtime: Runtime,
    hub: Hub,
    attachments: Vec<Attachment>,
}

fn info() -> ConnectInfo {
    ConnectInfo {
        headers: vec![("host".to_owned(), "localhost".to_owned())],
        address: "127.0.0.1:4000".parse().expect("an address"),
        query: vec![("t".to_owned(), "1".to_owned())],
        secure: false,
    }
}

impl Fixture {
    fn new(sessions: usize) -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        let hub = Hub::new(HubConfig::default()).expect("the default config is valid");
        // Handshakes spawn each session's timer task.
        let attachments = runtime.block_on(async {
            let mut attachments = Vec::with_capacity(sessions);
            for _ in 0..sessions {
                let sid = hub.handshake(info()).await.expect("handshake accepted").sid;
                let attachment = hub
                    .attach(&sid, TransportKind::Websocket, AttachMode::Stream)
                    .expect("attached");
                attachments.push(attachment);
            }
            attachments
        });
        let mut fixture = Fixture {
            runtime,
            hub,
            attachments,
        };
        // Takes the `1::` each session got when its transport attached.
        fixture.drain(0);
        fixture
    }

    /// Empties the outbox of every session but the first `skip`; each must hold a batch.
    fn drain(&mut self, skip: usize) {
        let attachments = &mut self.attachments[skip..];
        self.runtime.block_on(async {
            for attachment in attachments.iter_mut() {
                let batch = attachment.next_batch().await.expect("the session is live");
                black_box(batch);
            }
        });
    }
}

fn bench_broadcast(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast");
    group.sample_size(20);
    for sessions in [1_000usize, 10_000] {
        let mut fixture = Fixture::new(sessions);
        let namespace = fixture.hub.sockets();
        let first = fixture.attachments[0].session_id().to_owned();
        group.throughput(Throughput::Elements(sessions as u64));

        // io.sockets.emit('toClient', text): every session.
        group.bench_function(BenchmarkId::new("emit", sessions), |b| {
            b.iter_custom(|iterations| {
                let mut timed = Duration::ZERO;
                for _ in 0..iterations {
                    let started = Instant::now();
                    let reached =
                        namespace.emit_args("toClient", vec![json!("alice:hello everyone")]);
                    timed += started.elapsed();
                    assert_eq!(reached, sessions);
                    fixture.drain(0);
                }
                timed
            });
        });

        // socket.broadcast.emit('toClient', text), as the chat does: all but the sender.
        group.bench_function(BenchmarkId::new("emit_except_sender", sessions), |b| {
            b.iter_custom(|iterations| {
                let mut timed = Duration::ZERO;
                for _ in 0..iterations {
                    let started = Instant::now();
                    let reached = namespace
                        .except(&first)
                        .emit_args("toClient", vec![json!("alice:hello everyone")]);
                    timed += started.elapsed();
                    assert_eq!(reached, sessions - 1);
                    fixture.drain(1);
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_broadcast);
criterion_main!(benches);
