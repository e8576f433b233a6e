//! The fuzz targets' corpora, replayed on stable Rust. Every file under
//! `crates/fuzz/corpus/<target>/` — the seeds (`seed-…`) and each input that once broke a
//! parser (`crash-…`, kept under the name libFuzzer gave it) — goes through the very target
//! body the libFuzzer binary of that name runs: the `fuzzing` modules of `ferrio-protocol`,
//! `ferrio-websocket` and `ferrio-jsonp-polling`, which panic when a promise breaks.
//!
//! The seeds are the wire examples of `docs/protocol.md`, extracted here so that they follow
//! the document: after its examples change, `FERRIO_WRITE_SEEDS=1 cargo test -p ferrio-tests
//! --test fuzz_corpus` rewrites them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use ferrio_protocol::fuzzing::Target;
use ferrio_testkit::{
    HIXIE_KEY1, HIXIE_KEY2, HIXIE_KEY3, SAMPLE_MASK, encode_frame, encode_frame_with, hixie_text,
    jsonp_form, opcode,
};

/// Seeds, by target, then by file name.
type Seeds = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

/// Every fuzz target, from the crates that own the parsers.
fn targets() -> Vec<Target> {
    [
        ferrio_protocol::fuzzing::TARGETS,
        ferrio_websocket::fuzzing::TARGETS,
        ferrio_jsonp_polling::fuzzing::TARGETS,
    ]
    .concat()
}

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn fuzz_dir() -> PathBuf {
    workspace().join("crates/fuzz")
}

fn corpus_dir(target: &str) -> PathBuf {
    fuzz_dir().join("corpus").join(target)
}

/// The file names in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|entry| {
            let entry = entry.expect("a readable folder entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_corpus_file_passes_its_target() {
    for (target, run) in targets() {
        let dir = corpus_dir(target);
        let names = file_names(&dir);
        assert!(!names.is_empty(), "{} has no input", dir.display());
        for name in names {
            let input = fs::read(dir.join(&name)).expect("a readable corpus file");
            if catch_unwind(AssertUnwindSafe(|| run(&input))).is_err() {
                panic!("{target}: corpus file {name} fails (its message is above)");
            }
        }
    }
}

#[test]
fn every_target_has_a_libfuzzer_binary_and_a_corpus() {
    let names: BTreeSet<String> = targets().iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(names.len(), targets().len(), "target names are unique");
    let binaries: BTreeSet<String> = file_names(&fuzz_dir().join("fuzz_targets"))
        .into_iter()
        .filter_map(|file| file.strip_suffix(".rs").map(str::to_owned))
        .collect();
    let corpora: BTreeSet<String> = file_names(&fuzz_dir().join("corpus")).into_iter().collect();
    assert_eq!(binaries, names, "crates/fuzz/fuzz_targets/<target>.rs");
    assert_eq!(corpora, names, "crates/fuzz/corpus/<target>/");
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("the manifest");
    for (name, _) in targets() {
        let bin = format!("name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"");
        assert!(
            manifest.contains(&bin),
            "crates/fuzz/Cargo.toml lacks the bin {name}"
        );
    }
}

#[test]
fn the_seeds_are_the_wire_examples_of_the_protocol() {
    let doc = fs::read_to_string(workspace().join("docs/protocol.md")).expect("the protocol");
    let seeds = seeds(&Examples::of(&doc));
    let write = std::env::var_os("FERRIO_WRITE_SEEDS").is_some();
    for (target, _) in targets() {
        let expected = seeds.get(target).cloned().unwrap_or_default();
        assert!(!expected.is_empty(), "no seed for {target}");
        let dir = corpus_dir(target);
        if write {
            write_seeds(&dir, &expected);
        }
        let committed: BTreeMap<String, Vec<u8>> = file_names(&dir)
            .into_iter()
            .filter(|name| name.starts_with("seed-"))
            .map(|name| {
                let bytes = fs::read(dir.join(&name)).expect("a readable seed");
                (name, bytes)
            })
            .collect();
        assert!(
            committed == expected,
            "the seeds of {target} do not follow docs/protocol.md; rewrite them with \
             FERRIO_WRITE_SEEDS=1 cargo test -p ferrio-tests --test fuzz_corpus"
        );
    }
}

/// Replaces the `seed-…` files of `dir` with `seeds`, leaving every other file alone.
fn write_seeds(dir: &Path, seeds: &BTreeMap<String, Vec<u8>>) {
    fs::create_dir_all(dir).expect("the corpus folder");
    for name in file_names(dir) {
        if name.starts_with("seed-") && !seeds.contains_key(&name) {
            fs::remove_file(dir.join(name)).expect("a stale seed removed");
        }
    }
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes).expect("a seed written");
    }
}

/// The texts of `docs/protocol.md` that may be wire examples: inline code spans, and the lines
/// of code blocks.
struct Examples {
    spans: Vec<String>,
    block_lines: Vec<String>,
}

impl Examples {
    fn of(doc: &str) -> Self {
        let mut prose = String::new();
        let mut block_lines = Vec::new();
        let mut in_block = false;
        for line in doc.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
            } else if in_block {
                block_lines.push(with_marks(line.trim()));
            } else {
                prose.push_str(line);
                prose.push('\n');
            }
        }
        let spans = prose
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|span| !span.is_empty() && !span.contains('\n'))
            .map(with_marks)
            .collect();
        Examples { spans, block_lines }
    }

    /// Every candidate: the spans, and each code line up to its comment (three spaces).
    fn texts(&self) -> impl Iterator<Item = &str> {
        let lines = self
            .block_lines
            .iter()
            .map(|line| line.split("   ").next().unwrap_or_default());
        self.spans.iter().map(String::as_str).chain(lines)
    }

    /// Packets: `type:` with a type of one or two digits (`10:::` is an example of a bad one).
    fn packets(&self) -> BTreeSet<&str> {
        self.texts()
            .filter(|text| {
                text.split_once(':').is_some_and(|(kind, _)| {
                    (1..=2).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_digit())
                })
            })
            .collect()
    }

    /// Framed payloads: texts that start with the mark.
    fn payloads(&self) -> BTreeSet<&str> {
        self.texts()
            .filter(|text| text.starts_with('\u{FFFD}'))
            .collect()
    }

    /// Request targets: from `/socket.io` to the next blank, in URLs and request lines.
    fn request_targets(&self) -> BTreeSet<&str> {
        self.texts()
            .filter_map(|text| {
                let from = &text[text.find("/socket.io")?..];
                from.split_whitespace().next()
            })
            .collect()
    }

    /// jsonp-polling form bodies as written out: `d=…`.
    fn forms(&self) -> BTreeSet<&str> {
        self.texts().filter(|text| text.starts_with("d=")).collect()
    }

    /// The values of `name:` header lines in the code blocks.
    fn header_values(&self, name: &str) -> BTreeSet<&str> {
        let prefix = format!("{name}: ");
        self.block_lines
            .iter()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect()
    }
}

/// The document writes U+FFFD as `<FFFD>`.
fn with_marks(text: &str) -> String {
    text.replace("<FFFD>", "\u{FFFD}")
}

/// The seeds of every target. Where a target reads what carries packets (frames, forms), its
/// seeds carry the document's packets.
fn seeds(examples: &Examples) -> Seeds {
    let packets = examples.packets();
    let payloads: BTreeSet<&str> = examples.payloads().union(&packets).copied().collect();
    let mut seeds = Seeds::new();
    let mut add = |target: &'static str, bytes: Vec<u8>| {
        let name = format!("seed-{}", sha1_smol::Sha1::from(&bytes).digest());
        seeds.entry(target).or_default().insert(name, bytes);
    };

    for packet in &packets {
        add("packet", packet.as_bytes().to_vec());
    }
    for payload in &payloads {
        add("payload", payload.as_bytes().to_vec());
    }
    let all: Vec<&str> = packets.iter().copied().collect();
    add("payload", ferrio_protocol::frame(&all).into_bytes());
    for target in examples.request_targets() {
        add("route", target.as_bytes().to_vec());
    }
    for form in examples.forms() {
        add("jsonp_post", form.as_bytes().to_vec());
    }
    for payload in &payloads {
        add("jsonp_post", jsonp_form(payload).into_bytes());
    }

    // The framing targets read a piece size first (how many bytes each read moves), then the
    // client's bytes: 8-byte pieces here, the fuzzer varies them.
    let stream = |bytes: Vec<u8>| [vec![7], bytes].concat();
    let text_frame = |text: &str| encode_frame(opcode::TEXT, text.as_bytes(), Some(SAMPLE_MASK));
    let close_1000 = encode_frame(opcode::CLOSE, &1000u16.to_be_bytes(), Some(SAMPLE_MASK));
    for packet in &packets {
        add("rfc6455", stream(text_frame(packet)));
        add("hixie76", stream(hixie_text(packet.as_bytes())));
    }
    let every_frame: Vec<u8> = packets.iter().flat_map(|p| text_frame(p)).collect();
    add(
        "rfc6455",
        stream([every_frame, close_1000.clone()].concat()),
    );
    // C44 in fragments with C47's ping between them, then C48's close.
    let echo = b"5:::{\"name\":\"echo\",\"args\":[\"hey\"]}";
    let (first, rest) = echo.split_at(10);
    add(
        "rfc6455",
        stream(
            [
                encode_frame_with(0x00, opcode::TEXT, first, Some(SAMPLE_MASK)),
                encode_frame(opcode::PING, b"ab", Some(SAMPLE_MASK)),
                encode_frame(opcode::CONTINUATION, rest, Some(SAMPLE_MASK)),
                close_1000,
            ]
            .concat(),
        ),
    );
    // C43's server frame, which a client may not send: it is not masked.
    add("rfc6455", stream(vec![0x81, 0x03, b'1', b':', b':']));
    let every_message: Vec<u8> = packets
        .iter()
        .flat_map(|p| hixie_text(p.as_bytes()))
        .collect();
    add(
        "hixie76",
        stream([every_message, vec![0xFF, 0x00]].concat()),
    );

    let keys1 = examples.header_values("Sec-WebSocket-Key1");
    let keys2 = examples.header_values("Sec-WebSocket-Key2");
    assert!(
        keys1.contains(HIXIE_KEY1) && keys2.contains(HIXIE_KEY2),
        "draft 76's test vector is in docs/protocol.md §5.2"
    );
    for upgrade in examples.header_values("Upgrade") {
        for (key1, key2) in keys1.iter().zip(&keys2) {
            let handshake = format!("{key1}\n{key2}\n{upgrade}\n");
            add(
                "websocket_handshake",
                [handshake.as_bytes(), &HIXIE_KEY3[..]].concat(),
            );
        }
    }
    seeds
}
