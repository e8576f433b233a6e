//! Webhooks: client events named in the configuration are POSTed as JSON to a backend URL,
//! so a backend in any language can react to them without Rust. When the client asked for an
//! ack, the backend's JSON array reply becomes the ack's arguments. Connects and disconnects
//! can be notified too.
//!
//! Every call is made on its own task: a slow backend never holds up other packets.
//!
//! Layout:
//! - `config`: what to send where, with timeouts and retries.
//! - `client`: the HTTP calls, retries and their statistics.
//! - `install`: the hub handlers that turn events into calls.

mod client;
mod config;
mod install;

pub use client::{CallKind, Webhooks};
pub use config::WebhookConfig;
pub use install::install;
