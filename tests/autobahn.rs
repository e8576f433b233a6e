//! RFC 6455 conformance: the whole Autobahn case set, driven by kosoku, against ferrio's own
//! WebSocket reader and writer — the ones sessions use — echoing through the `autobahn-echo`
//! program (tests/autobahn/echo.rs). Each case must give the verdict pinned in
//! tests/autobahn/expected.json, or OK; a pinned case missing from the run fails, and so does
//! a case run and not pinned. kosoku must be installed (`python3 -m pip install kosoku`;
//! tests/run.sh does it): without it the test fails, it never skips.
//!
//! The performance cases (9.*) run too, with the message limit raised to their largest
//! message (16 MiB): they take a few seconds in all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ferrio_testkit::{GatewayProcess, PipeText, wait_exit};
use serde_json::Value;

/// The largest message of the case set (9.1.6, 9.2.6).
const MAX_MESSAGE_BYTES: &str = "16777216";

/// Cases run at once.
const PARALLELISM: &str = "4";

/// The most the run may take, whatever hangs; it takes about ten seconds.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A verdict: `behavior` and `behaviorClose`, as kosoku's reports name them.
type Verdict = (String, String);

/// A directory for kosoku's reports, removed on drop.
struct Reports(PathBuf);

impl Reports {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ferrio-autobahn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("reports directory");
        Reports(dir)
    }
}

impl Drop for Reports {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pinned verdicts, and the reasons for those that are not OK, by case id or `N.*`.
fn pinned() -> (BTreeMap<String, Verdict>, BTreeMap<String, String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("autobahn/expected.json");
    let text = std::fs::read_to_string(&path).expect("tests/autobahn/expected.json");
    let json: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let cases = json["cases"]
        .as_object()
        .expect("expected.json has cases")
        .iter()
        .map(|(case, verdict)| {
            let verdict = match verdict.as_array().map(Vec::as_slice) {
                Some([Value::String(behavior), Value::String(close)]) => {
                    (behavior.clone(), close.clone())
                }
                _ => panic!("{case}: a verdict is [behavior, behaviorClose]: {verdict}"),
            };
            (case.clone(), verdict)
        })
        .collect();
    let reasons = json["reasons"]
        .as_object()
        .expect("expected.json has reasons")
        .iter()
        .map(|(case, reason)| (case.clone(), reason.as_str().unwrap_or_default().to_owned()))
        .collect();
    (cases, reasons)
}

/// Whether `pattern` (a case id, or `N.*` for a whole group) names `case`.
fn names(pattern: &str, case: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => case.starts_with(prefix),
        None => pattern == case,
    }
}

/// Runs kosoku over the whole case set against the echo at `addr`; the verdict of each case
/// run, from its reports' index.
fn run_case_set(addr: &str, reports: &Reports) -> BTreeMap<String, Verdict> {
    let out = reports.0.display().to_string();
    let mut kosoku = Command::new("kosoku")
        .args(["-m", "fuzzingclient", addr, "-o", &out, "-p", PARALLELISM])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kosoku must be installed (tests/run.sh installs it with pip install kosoku)");
    let stdout = PipeText::collect(kosoku.stdout.take().expect("stdout"));
    let stderr = PipeText::collect(kosoku.stderr.take().expect("stderr"));
    if wait_exit(&mut kosoku, RUN_LIMIT).is_none() {
        let _ = kosoku.kill();
        let _ = kosoku.wait();
        panic!(
            "kosoku did not finish within {RUN_LIMIT:?}: {}{}",
            stdout.text(),
            stderr.text()
        );
    }
    // kosoku exits 1 whenever a case is UNIMPLEMENTED (the compression cases are), so the
    // verdicts come from the reports, never from its status.
    let index = std::fs::read_to_string(reports.0.join("index.json")).unwrap_or_else(|error| {
        panic!(
            "kosoku wrote no report index ({error}): {}{}",
            stdout.text_when_ended(Duration::from_secs(5)),
            stderr.text_when_ended(Duration::from_secs(5))
        )
    });
    let index: Value = serde_json::from_str(&index).expect("index.json is JSON");
    // One agent: the echo.
    let agent = index
        .as_object()
        .and_then(|agents| agents.values().next())
        .and_then(Value::as_object)
        .expect("index.json has the echo's cases");
    agent
        .iter()
        .map(|(case, report)| {
            let field = |name: &str| report[name].as_str().unwrap_or("missing").to_owned();
            (case.clone(), (field("behavior"), field("behaviorClose")))
        })
        .collect()
}

#[test]
fn every_autobahn_case_gives_its_pinned_verdict() {
    let (pins, reasons) = pinned();
    for (case, verdict) in &pins {
        if verdict.0 != "OK" || verdict.1 != "OK" {
            assert!(
                reasons.keys().any(|pattern| names(pattern, case)),
                "{case} is pinned {verdict:?} without a reason in expected.json"
            );
        }
    }

    let mut echo = Command::new(env!("CARGO_BIN_EXE_autobahn-echo"));
    echo.args(["--max-message-bytes", MAX_MESSAGE_BYTES]);
    let echo = GatewayProcess::spawn(echo);
    let reports = Reports::new();
    let results = run_case_set(&echo.addr.to_string(), &reports);

    let ok = || ("OK".to_owned(), "OK".to_owned());
    let mut wrong = Vec::new();
    let mut improved = Vec::new();
    for (case, pinned) in &pins {
        match results.get(case) {
            None => wrong.push(format!("{case}: pinned {pinned:?}, not run")),
            Some(got) if got == pinned => {}
            Some(got) if *got == ok() => improved.push(case.as_str()),
            Some(got) => wrong.push(format!("{case}: pinned {pinned:?}, got {got:?}")),
        }
    }
    for case in results.keys().filter(|case| !pins.contains_key(*case)) {
        wrong.push(format!("{case}: run, not pinned: {:?}", results[case]));
    }
    if !improved.is_empty() {
        // Not a failure, but the pin should follow: print it where the test's output shows.
        eprintln!("now OK, pin them so: {improved:?}");
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases off their pin (echo log: {}):\n{}",
        wrong.len(),
        pins.len(),
        echo.stderr(),
        wrong.join("\n")
    );
}
