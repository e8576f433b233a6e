//! The gateway's allocator: jemalloc, built (see `.cargo/config.toml`) to hand freed memory
//! back to the system within seconds from a background thread, so a gateway that held a
//! burst of sessions shrinks again once they are gone. Declared in the library, so the
//! binary and every test of the gateway run on the same allocator. Its figures go to
//! `/metrics`.

use std::fmt::Write as _;

use tikv_jemalloc_ctl::{epoch, stats};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Renders `ferrio_allocator_bytes{kind=…}` in the Prometheus text format: what the
/// application holds (`allocated`), the pages that holds (`active`), what is in RAM
/// (`resident`), the allocator's own bookkeeping (`metadata`) and address space kept for
/// reuse but not in RAM (`retained`).
pub(crate) fn render_metrics(out: &mut String) {
    // The figures are cached by jemalloc; advancing the epoch refreshes them.
    if epoch::advance().is_err() {
        return;
    }
    let figures = [
        ("allocated", stats::allocated::read()),
        ("active", stats::active::read()),
        ("resident", stats::resident::read()),
        ("metadata", stats::metadata::read()),
        ("retained", stats::retained::read()),
    ];
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP ferrio_allocator_bytes Memory as the allocator (jemalloc) sees it, by kind."
    );
    let _ = writeln!(out, "# TYPE ferrio_allocator_bytes gauge");
    for (kind, value) in figures {
        if let Ok(value) = value {
            let _ = writeln!(out, "ferrio_allocator_bytes{{kind=\"{kind}\"}} {value}");
        }
    }
}
