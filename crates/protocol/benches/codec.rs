//! The codec on realistic packets: decode and encode one packet (docs/protocol.md §3.1–§3.8), frame
//! and unframe a polling payload (docs/protocol.md §3.9).
//!
//! `cargo bench -p ferrio-protocol` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrio_protocol::{decode, frame, unframe};

/// Packets as they travel: heartbeat, acked message, the chat's events, a namespaced event
/// with an ack and non-ASCII text, an ack with data, and a ~1 KiB JSON message.
fn packets() -> Vec<(&'static str, String)> {
    let items: Vec<String> = (0..24)
        .map(|i| {
            format!(r#"{{"id":{i},"user":"user{i}","text":"message number {i}","read":false}}"#)
        })
        .collect();
    vec![
        ("heartbeat", "2::".to_owned()),
        ("message_ack", "3:1+::hello".to_owned()),
        (
            "chat_to_server",
            r#"5:::{"name":"toServer","args":[{"nome":"alice","msg":"hello there, how is everyone?"}]}"#
                .to_owned(),
        ),
        (
            "chat_to_client",
            r#"5:::{"name":"toClient","args":["alice:hello there, how is everyone?"]}"#.to_owned(),
        ),
        (
            "event_ns_ack_utf8",
            r#"5:12+:/chat:{"name":"q","args":[1,{"x":[true,null],"y":"é€😀"}]}"#.to_owned(),
        ),
        ("ack_data", r#"6:::4+["A",{"b":1}]"#.to_owned()),
        ("json_1k", format!("4:::[{}]", items.join(","))),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, text) in packets() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| decode(black_box(text)));
        });
    }
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, text) in packets() {
        let packet = decode(&text).expect("a valid packet");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &packet, |b, packet| {
            b.iter(|| black_box(packet).encode());
        });
    }
    group.finish();
}

/// Polling bodies: what a poll returns after a short and after a long wait.
fn payloads() -> Vec<(&'static str, Vec<String>)> {
    let all: Vec<String> = packets().into_iter().map(|(_, text)| text).collect();
    let chat: Vec<String> = (0..20)
        .map(|i| format!(r#"5:::{{"name":"toClient","args":["user{i}:message {i} é€😀"]}}"#))
        .collect();
    vec![
        ("3_mixed", all[1..4].to_vec()),
        ("7_mixed", all),
        ("20_chat", chat),
    ]
}

fn bench_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for (name, texts) in payloads() {
        let bytes: usize = texts.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &texts, |b, texts| {
            b.iter(|| frame(black_box(texts)));
        });
    }
    group.finish();
}

fn bench_unframe(c: &mut Criterion) {
    let mut group = c.benchmark_group("unframe");
    for (name, texts) in payloads() {
        let body = frame(&texts);
        assert_eq!(unframe(&body).expect("framed by us").len(), texts.len());
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| unframe(black_box(body)).map(|packets| packets.len()));
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_decode,
    bench_encode,
    bench_frame,
    bench_unframe
);
criterion_main!(benches);
