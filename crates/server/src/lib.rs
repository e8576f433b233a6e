//! The ferrio gateway as a library, three ways:
//!
//! - [`run`] serves the Socket.IO 0.9 protocol with a built-in application on a listener until
//!   a shutdown future resolves. The `ferrio` binary is this plus flags and signals.
//! - [`Server`] does the same with the program's own handlers on its [`hub`](Server::hub):
//!   the listeners, TLS, the admin listener, the Flash policy port, webhooks, and the drain and
//!   shutdown sequence (`examples/embed.rs`).
//! - [`Gateway`] is the HTTP service alone, a `hyper` and a `tower` service, to mount in the
//!   program's own server: under `/socket.io` of an axum router (`examples/axum.rs`) or behind
//!   a plain hyper `service_fn` (`examples/hyper.rs`). It reads each client's address from the
//!   [`ConnectionInfo`] request extension and hands paths outside its resource to a fallback
//!   ([`DefaultPages`] unless the program gives its own).
//!
//! Layout:
//! - `config`: [`ServerConfig`], the settings table ([`Setting`], [`Settings`]: each setting
//!   declared once) and the command line ([`Cli`]).
//! - `gateway`: [`Gateway`]; routes requests under the resource to the handshake, the
//!   transports and the client script, and the others to its fallback.
//! - `pages`: [`DefaultPages`], the chat page and `404`s outside the resource.
//! - `handshake`, `static_files`: the handshake endpoint; the embedded files.
//! - [`apps`]: the built-in applications (`chat`, `conformance`).
//! - `serve`: [`Server`]: the accept loop, connections (plain or TLS), the admin listener,
//!   webhooks, and the drain-then-shutdown sequence.
//! - `signal`: [`shutdown_signal`], Ctrl-C or SIGTERM.
//! - `connections`: [`ConnectionLimits`]; the public listener's connection counts (node and
//!   per address), the write timeout every connection's I/O enforces, and their metrics.
//! - `tls`, `flash_policy`: certificate loading; the Flash socket policy.
//! - `allocator`: jemalloc as the global allocator, and its figures.

mod allocator;
pub mod apps;
mod config;
mod connections;
mod flash_policy;
mod gateway;
mod handshake;
mod pages;
mod serve;
mod signal;
mod static_files;
mod tls;

pub use config::{AdminConfig, AppKind, Cli, Listen, ServerConfig, ServerConfigError, TlsFiles};
pub use config::{Namespaces, Secret, Setting, Settings};
pub use connections::{ConnectionLimits, default_max_connections};
pub use ferrio_cluster::ClusterConfig;
pub use gateway::{ConnectionInfo, Gateway};
pub use pages::DefaultPages;
pub use serve::{Listeners, Server, run};
pub use signal::shutdown_signal;
