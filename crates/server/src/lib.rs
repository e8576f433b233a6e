//! The ferrio gateway as a library: [`run`] serves the Socket.IO 0.9 protocol on a listener
//! until a shutdown future resolves. The `ferrio` binary is this plus flags and signals.
//!
//! Layout:
//! - `config`: [`ServerConfig`] and the command line ([`Cli`]).
//! - `router`: routes requests to the handshake, the transports and the files.
//! - `handshake`, `static_files`: those endpoints.
//! - [`apps`]: the built-in applications (`chat`, `conformance`).
//! - `serve`: the accept loop, connections (plain or TLS), the admin listener, webhooks, and
//!   the drain-then-shutdown sequence.
//! - `tls`, `flash_policy`: certificate loading; the Flash socket policy.
//! - `allocator`: jemalloc as the global allocator, and its figures.

mod allocator;
pub mod apps;
mod config;
mod flash_policy;
mod handshake;
mod router;
mod serve;
mod static_files;
mod tls;

pub use config::{AdminConfig, AppKind, Cli, Listen, ServerConfig, ServerConfigError, TlsFiles};
pub use config::{Namespaces, Secret, Setting, Settings};
pub use serve::{Listeners, Server, run};
