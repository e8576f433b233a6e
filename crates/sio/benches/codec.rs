//! The codec on realistic packets: decode and encode an event, an acked event in a namespace, an
//! ack, a ~1 KiB event, and a binary event through the reassembler; build a broadcast event from
//! a name and pre-serialized arguments and encode it, as a hub does once per broadcast.
//!
//! `cargo bench -p ferrio-sio` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrio_sio::{
    Arguments, DecodeOptions, Decoded, EventName, Namespace, Packet, Reassembler, Revision, decode,
    encode,
};

fn options() -> DecodeOptions {
    DecodeOptions::new(Revision::V5)
}

/// Packets as they travel (without Engine.IO's `4`).
fn packets() -> Vec<(&'static str, String)> {
    let items: Vec<String> = (0..24)
        .map(|i| {
            format!(r#"{{"id":{i},"user":"user{i}","text":"message number {i}","read":false}}"#)
        })
        .collect();
    vec![
        (
            "chat_event",
            r#"2["chat message",{"user":"alice","text":"hello there, how is everyone?"}]"#
                .to_owned(),
        ),
        (
            "event_ns_ack_utf8",
            r#"2/chat,12["q",1,{"x":[true,null],"y":"é€😀"}]"#.to_owned(),
        ),
        ("ack", r#"3/chat,12["ok",{"saved":true}]"#.to_owned()),
        ("event_1k", format!(r#"2["items",[{}]]"#, items.join(","))),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let options = options();
    let mut group = c.benchmark_group("decode");
    for (name, text) in packets() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| decode(black_box(text), &options));
        });
    }
    let header = r#"51-["upload",{"name":"a.png"},{"_placeholder":true,"num":0}]"#;
    let attachment = Bytes::from(vec![7u8; 4096]);
    group.throughput(Throughput::Bytes((header.len() + attachment.len()) as u64));
    group.bench_function("binary_event_4k", |b| {
        b.iter(|| {
            let mut reassembler = Reassembler::new(options);
            let _ = reassembler.push_text(black_box(header));
            reassembler.push_binary(attachment.clone())
        });
    });
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let options = options();
    let mut group = c.benchmark_group("encode");
    for (name, text) in packets() {
        let Ok(Decoded::Packet(packet)) = decode(&text, &options) else {
            panic!("{name} does not decode");
        };
        assert_eq!(encode(&packet).0, text);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &packet, |b, packet| {
            b.iter(|| encode(black_box(packet)));
        });
    }
    // A relayed message: its arguments' text was produced (or checked) once already.
    let args_json = r#"[{"user":"alice","text":"hello there, how is everyone?"}]"#;
    group.throughput(Throughput::Bytes(args_json.len() as u64));
    group.bench_function("broadcast_from_serialized_args", |b| {
        b.iter(|| {
            let packet = Packet::event(
                Namespace::root(),
                EventName::from("chat message"),
                Arguments::from_trusted_json(black_box(args_json)),
            );
            encode(&packet)
        });
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
