//! The codec on a typical chat event: one packet and a polling body of several, encoded and
//! decoded in each revision's form.
//!
//! `cargo bench -p ferrio-eio` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferrio_eio::{Packet, PacketType, Revision, jsonp, v3, v4};

const LIMIT: usize = 1_000_000;

/// What a poll returns after a short wait: a ping and a few Socket.IO events, one of them
/// with non-ASCII text, and in one case a binary attachment.
fn packets(with_binary: bool) -> Vec<Packet> {
    let mut packets = vec![Packet::bare(PacketType::Ping)];
    packets.extend((0..8).map(|i| {
        Packet::message(format!(
            r#"2["chat",{{"user":"user{i}","text":"message number {i} é€😀","at":{}}}]"#,
            1_700_000_000_000u64 + i
        ))
    }));
    if with_binary {
        packets.push(Packet::message(
            r#"51-["img",{"_placeholder":true,"num":0}]"#,
        ));
        packets.push(Packet::binary(PacketType::Message, vec![0xAB; 256]));
    }
    packets
}

fn bench_packet(c: &mut Criterion) {
    let event = Packet::message(r#"2["chat","alice","hello there, how is everyone?"]"#);
    let text = event
        .encode_text(Revision::V4)
        .expect("a text packet encodes");
    let mut group = c.benchmark_group("packet");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("encode_text", |b| {
        b.iter(|| black_box(&event).encode_text(Revision::V4));
    });
    group.bench_function("decode_text", |b| {
        b.iter(|| Packet::decode_text(Revision::V4, black_box(&text)));
    });
    group.finish();
}

fn bench_payloads(c: &mut Criterion) {
    let mut group = c.benchmark_group("payload");
    for (name, with_binary) in [("events", false), ("events_binary", true)] {
        let packets = packets(with_binary);
        let v4_body = v4::encode_payload(&packets).expect("no separator in the events");
        let v3_text = v3::encode_text_payload(&packets);
        let v3_binary = v3::encode_binary_payload(&packets);
        assert_eq!(v4::decode_payload(&v4_body, LIMIT).as_ref(), Ok(&packets));
        assert_eq!(
            v3::decode_text_payload(&v3_text, LIMIT).as_ref(),
            Ok(&packets)
        );
        assert_eq!(
            v3::decode_binary_payload(&v3_binary, LIMIT).as_ref(),
            Ok(&packets)
        );
        group.throughput(Throughput::Bytes(v4_body.len() as u64));
        group.bench_with_input(BenchmarkId::new("v4_encode", name), &packets, |b, p| {
            b.iter(|| v4::encode_payload(black_box(p)));
        });
        group.bench_with_input(BenchmarkId::new("v4_decode", name), &v4_body, |b, body| {
            b.iter(|| v4::decode_payload(black_box(body), LIMIT));
        });
        group.throughput(Throughput::Bytes(v3_text.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("v3_text_encode", name),
            &packets,
            |b, p| {
                b.iter(|| v3::encode_text_payload(black_box(p)));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("v3_text_decode", name),
            &v3_text,
            |b, body| {
                b.iter(|| v3::decode_text_payload(black_box(body), LIMIT));
            },
        );
        group.throughput(Throughput::Bytes(v3_binary.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("v3_binary_encode", name),
            &packets,
            |b, p| {
                b.iter(|| v3::encode_binary_payload(black_box(p)));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("v3_binary_decode", name),
            &v3_binary,
            |b, body| {
                b.iter(|| v3::decode_binary_payload(black_box(body), LIMIT));
            },
        );
    }
    group.finish();
}

fn bench_jsonp(c: &mut Criterion) {
    let body = v3::encode_text_payload(&packets(false));
    let post = jsonp::encode_post(&body);
    assert_eq!(
        jsonp::unwrap_post(post.as_bytes(), LIMIT).as_ref(),
        Ok(&body)
    );
    let mut group = c.benchmark_group("jsonp");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("wrap_response", |b| {
        b.iter(|| jsonp::wrap_response(jsonp::JsonpIndex::from(3), black_box(&body)));
    });
    group.bench_function("unwrap_post", |b| {
        b.iter(|| jsonp::unwrap_post(black_box(post.as_bytes()), LIMIT));
    });
    group.finish();
}

criterion_group!(benches, bench_packet, bench_payloads, bench_jsonp);
criterion_main!(benches);
