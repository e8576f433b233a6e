//! A lean HTTP/1.1 server connection for the plain requests ferrio's transports live on.
//!
//! A held poll or a stream spends almost all of its life waiting. hyper's connection keeps
//! two buffers of 8 KiB each for all of that time (a write buffer from the start, a read
//! buffer from the first request), which is most of what an idle polling session costs. The
//! lean path reads through the stack and keeps bytes only while a request is incomplete, so a
//! waiting connection holds its socket, its task and the service's future, nothing more.
//!
//! It serves the requests polling transports, handshakes and files are made of: HTTP/1.1,
//! any method but `HEAD` and `CONNECT`, a body framed by `Content-Length` up to a limit, and
//! pipelining. Everything else (upgrades, chunked or large bodies, `Expect`, HTTP/1.0) is
//! handed back, with the bytes already read, for hyper to serve the rest of the connection:
//! the lean path is a fast path, not a second implementation of HTTP.
//!
//! [`head`] parses and writes heads without I/O; [`serve`] runs a connection.

mod conn;
pub mod head;
mod rewind;

pub use conn::{BoxError, Ended, Settings, serve};
pub use rewind::Rewind;
