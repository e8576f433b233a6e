//! JavaScript as an ES3 engine reads it: acorn under Node parses a script with
//! `ecmaVersion: 3` and gives back its string literals as the engine decodes them, for the
//! transports that answer with script (htmlfile, jsonp-polling) and the client itself.

/// Where acorn lives: `tests/node_modules/acorn` of this workspace.
fn acorn_path() -> String {
    format!(
        "{}/../../tests/node_modules/acorn",
        env!("CARGO_MANIFEST_DIR")
    )
}

const ES3_PARSE: &str = r#"
const acorn = require(process.env.ACORN);
const source = require('fs').readFileSync(0, 'utf8');
let ast;
try {
  ast = acorn.parse(source, { ecmaVersion: 3 });
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error.message) }));
  process.exit(0);
}
const strings = [];
(function walk(node) {
  if (Array.isArray(node)) { node.forEach(walk); return; }
  if (!node || typeof node !== 'object') return;
  if (node.type === 'Literal' && typeof node.value === 'string') strings.push(node.value);
  for (const key of Object.keys(node)) if (key !== 'loc') walk(node[key]);
})(ast);
process.stdout.write(JSON.stringify({ strings }));
"#;

/// Parses `source` as ES3 JavaScript with acorn under Node and returns the values of its
/// string literals in source order, as the JavaScript engine decodes them; `Err` with acorn's
/// message when it is not valid ES3. Panics — failing the test — when Node or acorn cannot
/// be run: the check must not be skipped silently.
pub fn es3_string_literals(source: &str) -> Result<Vec<String>, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("node")
        .arg("-e")
        .arg(ES3_PARSE)
        .env("ACORN", acorn_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run `node` for the ES3 check: {error}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(source.as_bytes())
        .expect("write to node");
    let output = child.wait_with_output().expect("node output");
    assert!(
        output.status.success(),
        "node/acorn failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("node printed JSON");
    if let Some(error) = reply.get("error") {
        return Err(error.as_str().unwrap_or_default().to_owned());
    }
    Ok(reply["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .map(|value| value.as_str().expect("string").to_owned())
        .collect())
}
