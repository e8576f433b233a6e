//! Joins the browser client's parts (`static/client`) into the one script the gateway serves
//! at `/socket.io/socket.io.js`, written to `OUT_DIR/socket.io.js` for `static_files.rs`.
//!
//! The order is declared once, in `static/client/parts.txt`, which the browser suite reads too
//! to check that a binary serves the current sources; so the parts are concatenated byte for
//! byte, with nothing in between. Every `.js` file under `static/client` must be listed exactly
//! once: a part left out of the list would otherwise vanish from the script without a word.
//!
//! It also writes `OUT_DIR/flash_movie.rs`, the expression `static_files.rs` takes the Flash
//! movie of flashsocket from: `Some` of the two files in `static/flashsocket`, embedded, when
//! `static/flashsocket/install.sh` has put them there, else `None`, and the binary is built
//! without them (they are a third party's, installed from npm at build time, never committed).

use std::collections::BTreeSet;
use std::env;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The client's sources, relative to this crate.
const CLIENT_DIR: &str = "../../static/client";

/// The declared order of the parts, in `CLIENT_DIR`.
const PARTS_LIST: &str = "parts.txt";

/// The joined script, in `OUT_DIR`.
const JOINED: &str = "socket.io.js";

/// Where `static/flashsocket/install.sh` puts the Flash movie, relative to this crate.
const FLASH_DIR: &str = "../../static/flashsocket";

/// The movie's two files: for pages of the gateway's own domain, and for the others.
const FLASH_FILES: [&str; 2] = ["WebSocketMain.swf", "WebSocketMainInsecure.swf"];

/// The expression that embeds the movie, or says it is absent, in `OUT_DIR`.
const FLASH_EMBED: &str = "flash_movie.rs";

/// Why the client could not be joined; printed as it is (the `Debug` of `main`'s error).
struct BuildError(String);

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        BuildError(message)
    }
}

impl From<&str> for BuildError {
    fn from(message: &str) -> Self {
        BuildError(message.to_owned())
    }
}

fn main() -> Result<(), BuildError> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?;
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    let client_dir = Path::new(&manifest_dir).join(CLIENT_DIR);
    let client_dir = fs::canonicalize(&client_dir).map_err(|e| at(&client_dir, e))?;
    let list_path = client_dir.join(PARTS_LIST);

    // The directory as well as each file: a part added to the tree reruns the check below.
    rerun_if_changed(&client_dir);
    rerun_if_changed(&list_path);
    let list = fs::read_to_string(&list_path).map_err(|e| at(&list_path, e))?;
    let parts = declared_parts(&list).map_err(|e| format!("{}: {e}", list_path.display()))?;

    let mut found = BTreeSet::new();
    collect_scripts(&client_dir, "", &mut found)?;
    let declared: BTreeSet<&str> = parts.iter().copied().collect();
    let unlisted: Vec<&String> = found
        .iter()
        .filter(|path| !declared.contains(path.as_str()))
        .collect();
    if !unlisted.is_empty() {
        return Err(format!(
            "{}: parts missing from the list: {unlisted:?}",
            list_path.display()
        )
        .into());
    }

    let mut joined = Vec::new();
    for part in &parts {
        let path = client_dir.join(part);
        rerun_if_changed(&path);
        joined.extend(fs::read(&path).map_err(|e| at(&path, e))?);
    }
    let out_dir = PathBuf::from(out_dir);
    let joined_path = out_dir.join(JOINED);
    fs::write(&joined_path, joined).map_err(|e| at(&joined_path, e))?;

    let flash_dir = Path::new(&manifest_dir).join(FLASH_DIR);
    let flash_dir = fs::canonicalize(&flash_dir).map_err(|e| at(&flash_dir, e))?;
    let embed_path = out_dir.join(FLASH_EMBED);
    let embed = flash_movie_expression(&flash_dir)?;
    fs::write(&embed_path, embed).map_err(|e| at(&embed_path, e).into())
}

/// The Rust expression of type `Option<FlashMovie<&'static [u8]>>` for the movie in
/// `flash_dir`: `Some` with both files embedded, `None` with neither. One file without the
/// other is refused: that is an install cut short, not a build without the movie.
fn flash_movie_expression(flash_dir: &Path) -> Result<String, String> {
    // The folder, not the files: cargo scans a folder for changes, while a file that does not
    // exist would rerun this script on every build.
    rerun_if_changed(flash_dir);
    let [main, insecure] = FLASH_FILES.map(|name| flash_dir.join(name));
    match (main.is_file(), insecure.is_file()) {
        (true, true) => Ok(format!(
            "Some(FlashMovie {{ main: include_bytes!({:?}), insecure: include_bytes!({:?}) }})",
            utf8(&main)?,
            utf8(&insecure)?
        )),
        (false, false) => Ok("None".to_owned()),
        _ => Err(format!(
            "{}: one of {FLASH_FILES:?} without the other; run static/flashsocket/install.sh again",
            flash_dir.display()
        )),
    }
}

/// `path` as text, for a string literal of the generated code.
fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{}: a path that is not UTF-8", path.display()))
}

/// The paths of the list in their order: one per line, `#` comments and blank lines skipped.
/// Refuses a path listed twice and anything that is not a `.js` file name.
fn declared_parts(list: &str) -> Result<Vec<&str>, String> {
    let mut parts: Vec<&str> = Vec::new();
    for line in list.lines() {
        let part = line.split('#').next().unwrap_or_default().trim();
        if part.is_empty() {
            continue;
        }
        if !part.ends_with(".js") {
            return Err(format!("`{part}` is not a .js file"));
        }
        if parts.contains(&part) {
            return Err(format!("`{part}` is listed twice"));
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err("no part is listed".to_owned());
    }
    Ok(parts)
}

/// Adds the `.js` files under `dir` to `found`, as `/`-separated paths below the client's
/// directory (`prefix` is `dir`'s own such path).
fn collect_scripts(dir: &Path, prefix: &str, found: &mut BTreeSet<String>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| at(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| at(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| format!("{}: a file name that is not UTF-8", path.display()))?;
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            collect_scripts(&path, &format!("{relative}/"), found)?;
        } else if name.ends_with(".js") {
            found.insert(relative);
        }
    }
    Ok(())
}

fn rerun_if_changed(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

/// An I/O error with the path it happened on.
fn at(path: &Path, error: std::io::Error) -> String {
    format!("{}: {error}", path.display())
}
