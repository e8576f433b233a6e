//! Architecture rules checked on the real dependency graph.

use std::process::Command;

/// The crate names at the start of `cargo tree --prefix none` lines (`name vX.Y.Z …`).
fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[test]
fn hub_depends_on_no_http_or_websocket_crate() {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "ferrio-hub",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(workspace)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("cargo tree prints UTF-8");
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
    ] {
        assert!(
            !names.contains(&forbidden),
            "ferrio-hub must not depend on `{forbidden}` (it knows nothing of HTTP):\n{tree}"
        );
    }
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
