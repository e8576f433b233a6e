//! Architecture rules checked on the real dependency graph: the codec crates are pure, the
//! hub knows nothing of HTTP, transports do not lean on each other, and every crate lives in
//! the folder its package is named after.

use std::path::Path;
use std::process::Command;

/// The transport crates: one per transport family of docs/protocol.md §5, and Engine.IO's
/// long-polling, each standing on `ferrio-transport` and the hub alone.
const TRANSPORT_CRATES: [&str; 6] = [
    "ferrio-websocket",
    "ferrio-xhr-polling",
    "ferrio-xhr-multipart",
    "ferrio-htmlfile",
    "ferrio-jsonp-polling",
    "ferrio-eio-polling",
];

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// What `cargo` prints for `args` in the workspace; the test fails if it fails.
fn cargo(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo prints UTF-8")
}

/// The normal (not dev, not build) dependency tree of `package`, one line a crate.
fn normal_tree(package: &str) -> String {
    cargo(&["tree", "-p", package, "-e", "normal", "--prefix", "none"])
}

/// The crate names at the start of `cargo tree --prefix none` lines (`name vX.Y.Z …`).
fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[test]
fn hub_depends_on_no_http_websocket_or_redis_crate() {
    let tree = normal_tree("ferrio-hub");
    let names = crate_names(&tree);
    assert!(names.contains(&"ferrio-hub"), "{tree}");
    assert!(
        names.contains(&"ferrio-protocol"),
        "the hub builds on the codec:\n{tree}"
    );
    for forbidden in [
        "hyper",
        "http",
        "http-body",
        "tokio-tungstenite",
        "tungstenite",
        "redis",
        "ferrio-cluster",
    ] {
        assert!(
            !names.contains(&forbidden),
            "ferrio-hub must not depend on `{forbidden}` (it knows nothing of HTTP, nor of \
             how the nodes of a cluster meet):\n{tree}"
        );
    }
}

/// The codecs: the 0.9 protocol, Engine.IO and Socket.IO v4/v5. Text and bytes in, packets
/// out, so they can be tested and fuzzed without a runtime and reused by any transport.
const CODEC_CRATES: [&str; 3] = ["ferrio-protocol", "ferrio-eio", "ferrio-sio"];

#[test]
fn codecs_depend_on_no_async_runtime_nor_io_crate() {
    for codec in CODEC_CRATES {
        let tree = normal_tree(codec);
        let names = crate_names(&tree);
        assert!(names.contains(&codec), "{tree}");
        for forbidden in [
            "tokio",
            "mio",
            "async-std",
            "smol",
            "futures",
            "futures-util",
            "futures-core",
            "hyper",
            "http",
            "ferrio-hub",
        ] {
            assert!(
                !names.contains(&forbidden),
                "{codec} is text in, packets out: it must not depend on `{forbidden}`:\n{tree}"
            );
        }
    }
}

#[test]
fn no_transport_crate_depends_on_another() {
    for transport in TRANSPORT_CRATES {
        let tree = normal_tree(transport);
        let names = crate_names(&tree);
        assert!(names.contains(&transport), "{tree}");
        for other in TRANSPORT_CRATES.iter().filter(|other| **other != transport) {
            assert!(
                !names.contains(other),
                "{transport} must not depend on {other}: what transports share lives in \
                 ferrio-transport:\n{tree}"
            );
        }
    }
}

#[test]
fn every_crate_lives_in_the_folder_named_after_its_package() {
    let metadata: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let mut crates_seen = 0;
    for package in packages {
        let name = package["name"].as_str().expect("name");
        let manifest = Path::new(package["manifest_path"].as_str().expect("manifest path"));
        let folder = manifest
            .parent()
            .expect("manifest folder")
            .file_name()
            .and_then(|name| name.to_str())
            .expect("folder name");
        if name == "ferrio-tests" {
            assert_eq!(folder, "tests", "the end-to-end tests live in tests/");
            continue;
        }
        crates_seen += 1;
        assert_eq!(
            format!("ferrio-{folder}"),
            name,
            "crates/{folder} must hold the package ferrio-{folder}"
        );
    }
    for transport in TRANSPORT_CRATES {
        assert!(
            packages.iter().any(|p| p["name"] == transport),
            "{transport} is a workspace member"
        );
    }
    assert!(crates_seen >= 10, "{crates_seen} crates under crates/");
}

#[test]
fn crate_names_match_whole_names_only() {
    let tree =
        "ferrio-hub v0.1.0 (/x)\nhttparse v1.0.0\nhttp-body-util v0.1.0\nhyper-util v0.1.0\n";
    let names = crate_names(tree);
    assert!(!names.contains(&"http"));
    assert!(!names.contains(&"http-body"));
    assert!(!names.contains(&"hyper"));
    assert!(crate_names("http v1.3.1\n").contains(&"http"));
}

/// Every `` `path:line` `name` `` stop in ARCHITECTURE.md, as (path, line, name).
fn architecture_stops(text: &str) -> Vec<(String, usize, String)> {
    let mut stops = Vec::new();
    for (index, _) in text.match_indices("` `") {
        let before = &text[..index];
        let Some(open) = before.rfind('`') else {
            continue;
        };
        let Some((path, line)) = before[open + 1..].rsplit_once(':') else {
            continue;
        };
        let Ok(line) = line.parse::<usize>() else {
            continue;
        };
        let after = &text[index + 3..];
        let Some(close) = after.find('`') else {
            continue;
        };
        stops.push((path.to_owned(), line, after[..close].to_owned()));
    }
    stops
}

#[test]
fn architecture_stops_still_name_their_functions() {
    let map = std::fs::read_to_string(workspace().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the workspace root");
    let stops = architecture_stops(&map);
    assert!(stops.len() >= 20, "{} stops found", stops.len());
    let mut stale = Vec::new();
    for (path, line, name) in &stops {
        let source = std::fs::read_to_string(workspace().join(path))
            .unwrap_or_else(|error| panic!("{path}: {error}"));
        let found = source.lines().nth(line - 1).unwrap_or_default();
        if !(found.contains(&format!("{name}(")) || found.contains(&format!("{name}<"))) {
            stale.push(format!(
                "{path}:{line} should name `{name}`, has `{}`",
                found.trim()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md points at moved code; update its stops:\n{}",
        stale.join("\n")
    );
}

#[test]
fn architecture_stops_are_read_from_the_text() {
    let stops = architecture_stops("see `a/b.rs:12` `run`: and `c.rs:3` `x`, not `d.rs` `y`");
    assert_eq!(
        stops,
        [
            ("a/b.rs".to_owned(), 12, "run".to_owned()),
            ("c.rs".to_owned(), 3, "x".to_owned())
        ]
    );
}
