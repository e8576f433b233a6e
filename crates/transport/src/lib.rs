//! HTTP mechanics shared by ferrio's HTTP transports (xhr-polling, jsonp-polling, htmlfile,
//! xhr-multipart): the poll driver, the POST path, CORS headers, body limits, and the one
//! place where a transport error becomes an HTTP status.
//!
//! A transport crate brings only its [`Wire`] — how one batch of packets looks inside its
//! response — and hands the request to [`serve`].
//!
//! Layout:
//! - `body`: the response body type every ferrio handler returns.
//! - `cors`: the origin check of requests on a session, and `Access-Control-*` headers echoing
//!   an allowed origin.
//! - `response`: [`TransportError`] and its status map.
//! - `engine`: the `open` packet and the JSON errors of the Engine.IO transports.
//! - `wire`: the [`Wire`] trait.
//! - `poll`, `stream`, `post`: the GET drivers of polling and streaming transports and the
//!   POST path; `serve` dispatches by method and adds the headers every response carries.
//! - `stall`: the error and the signal of a write given up by the connection's write timeout.
//! - `unconfirmed`: the batches an answer relayed by another node of a cluster carries, kept
//!   until that node confirms its client took them.

mod body;
mod cors;
mod engine;
mod poll;
mod post;
mod response;
mod serve;
mod stall;
mod stream;
mod unconfirmed;
mod wire;

pub use body::{Body, empty, full};
pub use cors::{allow_origin, preflight, refuse_foreign_origin};
pub use engine::{engine_error, engine_open_packet, engine_refusal};
pub use post::{PostLimits, read_body};
pub use response::{TransportError, refusal_status};
pub use serve::{TransportRequest, serve, serve_stream};
pub use stall::{StallSignal, WriteStalled, is_write_stall};
pub use unconfirmed::Unconfirmed;
pub use wire::{StreamWire, Wire};

/// The packet a poll or stream gets for a session that does not exist: `client not
/// handshaken`, advice `reconnect` (docs/protocol.md §5.0).
pub const NOT_HANDSHAKEN: &str = "7:::1+0";
