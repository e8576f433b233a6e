//! ferrio's admin listener, separate from the public port: Prometheus metrics, liveness and
//! readiness for orchestrators, and — when a token is configured — the publish API through
//! which a backend in any language emits to namespaces, rooms or single sessions, and the live
//! dashboard that reads it.
//!
//! Layout:
//! - `prometheus`: renders the hub's figures in the Prometheus text format.
//! - `api`: the bearer-token publish API (`/api/emit`, `/api/disconnect`, `/api/stats`,
//!   `/api/dashboard`).
//! - `dashboard`: the page at `/dashboard` (files in `dashboard/`, compiled in) and what
//!   `/api/dashboard` answers.
//! - `history`: the counters sampled every second for the dashboard's charts.
//! - `serve`: the listener and routing.

mod api;
mod dashboard;
mod history;
mod prometheus;
mod serve;

pub use api::local_stats;
pub use prometheus::render;
pub use serve::{Admin, StatsWidener, serve};
