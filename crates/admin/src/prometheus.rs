//! The Prometheus text exposition format (version 0.0.4) of the hub's figures and of the
//! refusals counted before a request reaches the hub.

use std::fmt::Write as _;

use ferrio_hub::MetricsSnapshot;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing into a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (key, label)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            // Label values here are fixed identifiers; escape anyway as the format asks.
            let escaped = label
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{key}=\"{escaped}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Renders the hub's figures, then the process's counts of requests refused before they reach
/// the hub (foreign origins on session requests, publish API calls without a valid token);
/// every metric is named `ferrio_*`.
pub fn render(snapshot: &MetricsSnapshot, out: &mut String) {
    family(
        out,
        "ferrio_sessions",
        "gauge",
        "Live sessions by the transport they use now or used last.",
    );
    for (transport, count) in &snapshot.sessions {
        sample(out, "ferrio_sessions", &[("transport", transport)], *count);
    }
    family(
        out,
        "ferrio_sessions_by_generation",
        "gauge",
        "Live sessions by wire generation: 0.9 (Socket.IO 0.9), eio3 and eio4 (Engine.IO revisions).",
    );
    for (generation, count) in &snapshot.sessions_by_generation {
        sample(
            out,
            "ferrio_sessions_by_generation",
            &[("generation", generation)],
            *count,
        );
    }
    family(
        out,
        "ferrio_buffered_packets",
        "gauge",
        "Packets waiting in session outboxes.",
    );
    sample(
        out,
        "ferrio_buffered_packets",
        &[],
        snapshot.buffered_packets,
    );
    family(
        out,
        "ferrio_buffered_bytes",
        "gauge",
        "Bytes of the packets waiting in session outboxes or being written, each session counting a shared broadcast whole.",
    );
    sample(out, "ferrio_buffered_bytes", &[], snapshot.buffered_bytes);
    family(
        out,
        "ferrio_handshakes_total",
        "counter",
        "Handshakes by outcome (accepted or the refusal reason).",
    );
    for (outcome, count) in &snapshot.handshakes {
        sample(
            out,
            "ferrio_handshakes_total",
            &[("outcome", outcome)],
            *count,
        );
    }
    family(
        out,
        "ferrio_packets_in_total",
        "counter",
        "Packets received from clients, by transport and packet type.",
    );
    for (transport, kind, count) in &snapshot.packets_in {
        sample(
            out,
            "ferrio_packets_in_total",
            &[("transport", transport), ("type", kind)],
            *count,
        );
    }
    family(
        out,
        "ferrio_packets_out_total",
        "counter",
        "Packets written to clients, by transport and packet type.",
    );
    for (transport, kind, count) in &snapshot.packets_out {
        sample(
            out,
            "ferrio_packets_out_total",
            &[("transport", transport), ("type", kind)],
            *count,
        );
    }
    family(
        out,
        "ferrio_bytes_in_total",
        "counter",
        "Payload bytes received from clients, by transport.",
    );
    for (transport, count) in &snapshot.bytes_in {
        sample(
            out,
            "ferrio_bytes_in_total",
            &[("transport", transport)],
            *count,
        );
    }
    family(
        out,
        "ferrio_bytes_out_total",
        "counter",
        "Packet bytes written to clients, by transport.",
    );
    for (transport, count) in &snapshot.bytes_out {
        sample(
            out,
            "ferrio_bytes_out_total",
            &[("transport", transport)],
            *count,
        );
    }
    family(
        out,
        "ferrio_disconnects_total",
        "counter",
        "Ended sessions and namespace sockets, by reason.",
    );
    for (reason, count) in &snapshot.disconnects {
        sample(
            out,
            "ferrio_disconnects_total",
            &[("reason", reason)],
            *count,
        );
    }
    family(
        out,
        "ferrio_packets_refused_total",
        "counter",
        "Client packets not processed for being over their session's inbound budget.",
    );
    sample(
        out,
        "ferrio_packets_refused_total",
        &[],
        snapshot.refused_packets,
    );
    family(
        out,
        "ferrio_events_reserved_dropped_total",
        "counter",
        "Events not delivered for a name their receiver's generation reserves for itself.",
    );
    sample(
        out,
        "ferrio_events_reserved_dropped_total",
        &[],
        snapshot.reserved_dropped,
    );
    family(
        out,
        "ferrio_events_invalid_arguments_total",
        "counter",
        "Client events whose arguments did not read as their handler's types; the handler did not run.",
    );
    sample(
        out,
        "ferrio_events_invalid_arguments_total",
        &[],
        snapshot.invalid_arguments,
    );
    family(
        out,
        "ferrio_origin_refusals_total",
        "counter",
        "Requests on a session refused with 403 for naming a page origin outside the origins list, by transport (none for ?disconnect).",
    );
    for (transport, count) in &snapshot.origin_refusals {
        sample(
            out,
            "ferrio_origin_refusals_total",
            &[("transport", transport)],
            *count,
        );
    }
}

/// Renders the admin listener's own counters.
pub(crate) fn render_admin(auth_failures: u64, out: &mut String) {
    family(
        out,
        "ferrio_admin_auth_failures_total",
        "counter",
        "Publish API calls refused with 401 for a missing or wrong bearer token.",
    );
    sample(out, "ferrio_admin_auth_failures_total", &[], auth_failures);
}
