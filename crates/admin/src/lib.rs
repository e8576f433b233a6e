//! ferrio's admin listener, separate from the public port: Prometheus metrics, liveness and
//! readiness for orchestrators, and — when a token is configured — the publish API through
//! which a backend in any language emits to namespaces, rooms or single sessions.
//!
//! Layout:
//! - `prometheus`: renders the hub's figures in the Prometheus text format.
//! - `api`: the bearer-token publish API (`/api/emit`, `/api/disconnect`, `/api/stats`).
//! - `serve`: the listener and routing.

mod api;
mod prometheus;
mod serve;

pub use api::local_stats;
pub use prometheus::render;
pub use serve::{Admin, StatsWidener, serve};
