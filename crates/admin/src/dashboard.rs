//! The live dashboard: a page, its script and its style, compiled into the binary and served
//! to anyone who reaches the admin listener (they hold no data), and `GET /api/dashboard`,
//! behind the API's token, which answers everything the page shows in one call.

use std::time::Instant;

use ferrio_hub::Hub;
use ferrio_transport::{Body, full};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::history::{Activity, History};

/// Where the page is served; its assets are under it.
pub(crate) const PAGE_PATH: &str = "/dashboard";

/// The page and its assets: path, content type, content.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        PAGE_PATH,
        "text/html; charset=utf-8",
        include_str!("../dashboard/index.html"),
    ),
    (
        "/dashboard/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/dashboard.js"),
    ),
    (
        "/dashboard/dashboard.css",
        "text/css; charset=utf-8",
        include_str!("../dashboard/dashboard.css"),
    ),
];

/// Only the listener's own files may load, and nothing may frame the page: the page holds a
/// token, so no inline script, foreign origin or embedding page gets near it. The script
/// builds its charts with DOM calls, which this allows.
const CONTENT_SECURITY_POLICY_VALUE: &str =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How many rooms of a namespace the page gets, largest first: a namespace can hold a room per
/// user, and the page asks every second or two.
const ROOMS_SHOWN: usize = 20;

/// Whether `path` is the page or under it.
pub(crate) fn is_dashboard_path(path: &str) -> bool {
    path == PAGE_PATH
        || path
            .strip_prefix(PAGE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The page or one of its assets; `None` for any other path under the page's.
pub(crate) fn asset(path: &str) -> Option<Response<Body>> {
    let (_, content_type, content) = ASSETS.iter().find(|(known, _, _)| *known == path)?;
    let mut response = Response::new(full(*content));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidated on every load: a new binary's page and script never mix with old ones.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Some(response)
}

/// What `GET /api/dashboard` answers: this node's figures under `node`, the namespaces and
/// their largest rooms (the cluster's when `stats` is the cluster's), and the cluster's nodes.
/// `stats` is what `/api/stats` answers.
pub(crate) fn answer(hub: &Hub, history: &History, stats: &Value) -> Value {
    let snapshot = hub.metrics();
    let totals = Activity::read(hub.counters());
    let rates = history.rates();
    let recent = history.recent_disconnects();
    let namespaces: Vec<Value> = stats["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(namespace_with_largest_rooms)
        .collect();
    let cluster = if stats.get("nodes").is_some() {
        json!({
            "node": stats["node"],
            "sessions": stats["sessions"],
            "nodes": stats["nodes"],
            "missing": stats["missing"],
        })
    } else {
        Value::Null
    };
    json!({
        "node": {
            "ready": hub.is_ready(),
            // The sum of the breakdowns below, counted in the same pass.
            "sessions": snapshot.sessions.iter().map(|(_, count)| count).sum::<u64>(),
            "transports": labelled(&snapshot.sessions),
            "generations": labelled(&snapshot.sessions_by_generation),
            "totals": {
                "handshakes_accepted": totals.handshakes_accepted,
                "handshakes_refused": totals.handshakes_refused,
                "messages_in": totals.messages_in,
                "messages_out": totals.messages_out,
            },
            "rates": {
                "interval_seconds": crate::history::SAMPLE_EVERY.as_secs(),
                "handshakes_accepted": rates.handshakes_accepted,
                "handshakes_refused": rates.handshakes_refused,
                "messages_in": rates.messages_in,
                "messages_out": rates.messages_out,
            },
            "disconnects": {
                "recent_seconds": recent.seconds,
                "recent": labelled(&recent.reasons),
                "total": labelled(&totals.disconnects),
            },
        },
        "namespaces": namespaces,
        "cluster": cluster,
    })
}

/// Samples the counters into `history` (called every [`SAMPLE_EVERY`](crate::history::SAMPLE_EVERY)).
pub(crate) fn sample(hub: &Hub, history: &History) {
    history.record(Instant::now(), Activity::read(hub.counters()));
}

/// `[(label, count)]` as a JSON object in the same order.
fn labelled(counts: &[(&str, u64)]) -> Map<String, Value> {
    counts
        .iter()
        .map(|(label, count)| ((*label).to_owned(), json!(count)))
        .collect()
}

/// A namespace of `/api/stats` (`{"name", "sockets", "rooms": {room: size}}`) with only its
/// [`ROOMS_SHOWN`] largest rooms, as a list, and how many rooms it has.
fn namespace_with_largest_rooms(namespace: &Value) -> Value {
    let mut rooms: Vec<(&str, u64)> = namespace["rooms"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(room, size)| (room.as_str(), size.as_u64().unwrap_or(0)))
        .collect();
    let room_count = rooms.len();
    rooms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    rooms.truncate(ROOMS_SHOWN);
    let rooms: Vec<Value> = rooms
        .into_iter()
        .map(|(name, size)| json!({ "name": name, "size": size }))
        .collect();
    json!({
        "name": namespace["name"],
        "sockets": namespace["sockets"],
        "room_count": room_count,
        "rooms": rooms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_and_paths_under_it_are_the_dashboards() {
        assert!(is_dashboard_path("/dashboard"));
        assert!(is_dashboard_path("/dashboard/"));
        assert!(is_dashboard_path("/dashboard/nope.js"));
        assert!(!is_dashboard_path("/dashboards"));
        assert!(!is_dashboard_path("/dashboard.js"));
        assert!(!is_dashboard_path("/"));
        assert!(asset("/dashboard/").is_none());
        assert!(asset("/dashboard/nope.js").is_none());
        for (path, content_type, content) in ASSETS {
            let response = asset(path).expect("served");
            assert_eq!(response.headers()[CONTENT_TYPE], content_type);
            assert!(!content.is_empty(), "{path}");
        }
    }

    #[test]
    fn the_page_names_exactly_its_assets() {
        let page = ASSETS[0].2;
        for (path, _, _) in &ASSETS[1..] {
            assert!(
                page.contains(&format!("\"{path}\"")),
                "{path} not in the page"
            );
        }
        assert!(!page.contains("<script>"), "no inline script");
        assert!(!page.contains("style="), "no inline style");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "nothing foreign"
        );
    }

    #[test]
    fn namespaces_keep_their_largest_rooms_and_count_them_all() {
        let mut rooms = Map::new();
        for index in 0..(ROOMS_SHOWN + 5) {
            rooms.insert(format!("room{index:02}"), json!(index % 7));
        }
        rooms.insert("big".to_owned(), json!(100));
        let namespace = json!({"name": "/", "sockets": 3, "rooms": rooms});
        let shown = namespace_with_largest_rooms(&namespace);
        assert_eq!(shown["name"], "/");
        assert_eq!(shown["sockets"], 3);
        assert_eq!(shown["room_count"], ROOMS_SHOWN + 6);
        let list = shown["rooms"].as_array().expect("a list");
        assert_eq!(list.len(), ROOMS_SHOWN);
        assert_eq!(list[0], json!({"name": "big", "size": 100}));
        let sizes: Vec<u64> = list
            .iter()
            .filter_map(|room| room["size"].as_u64())
            .collect();
        assert!(sizes.windows(2).all(|pair| pair[0] >= pair[1]), "{sizes:?}");
        // Equal sizes in name order.
        assert_eq!(list[1], json!({"name": "room06", "size": 6}));
        assert_eq!(list[2], json!({"name": "room13", "size": 6}));
    }
}
