//! What the code under test logs, read back by the test: [`captured_logs`] installs, once per
//! test process, a subscriber that keeps every line at INFO and above, so a test can count the
//! lines a flood produced and read the figures they carry.

use std::io;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// The text every line of the process was written into.
static CAPTURED: OnceLock<Arc<Mutex<String>>> = OnceLock::new();

/// The lines logged in this test process since [`captured_logs`] was first called; tests of
/// one process share them, so a test that counts lines keeps others from logging the same
/// kind meanwhile.
#[derive(Debug, Clone)]
pub struct CapturedLogs {
    text: Arc<Mutex<String>>,
}

impl CapturedLogs {
    /// Every line so far that contains `needle`, in order.
    pub fn lines_containing(&self, needle: &str) -> Vec<String> {
        self.text
            .lock()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// Starts keeping the process's log lines (INFO and above, no colours), if it does not yet,
/// and returns them. Panics if another subscriber was installed first: its lines would be
/// lost to the test.
pub fn captured_logs() -> CapturedLogs {
    let text = CAPTURED.get_or_init(|| {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&text);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || LineSink(Arc::clone(&sink)))
            .try_init()
            .expect("no other log subscriber in this test process");
        text
    });
    CapturedLogs {
        text: Arc::clone(text),
    }
}

/// The number a line gives a field, as in `refused=12`.
pub fn numeric_field(line: &str, name: &str) -> Option<u64> {
    let key = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&key))
        .and_then(|value| value.parse().ok())
}

/// Appends what the subscriber writes (one whole line a write) to the shared text.
struct LineSink(Arc<Mutex<String>>);

impl io::Write for LineSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().push_str(&String::from_utf8_lossy(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_and_their_numeric_fields_read() {
        let logs = captured_logs();
        tracing::info!(refused = 12, origin = "http://x.example", "a captured line");
        tracing::debug!("below the level");
        let lines = logs.lines_containing("a captured line");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(numeric_field(&lines[0], "refused"), Some(12));
        assert_eq!(numeric_field(&lines[0], "missing"), None);
        assert!(logs.lines_containing("below the level").is_empty());
    }
}
