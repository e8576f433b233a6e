//! The `jsonp-polling` transport (docs/protocol.md §5.5), for browsers with neither WebSocket nor a
//! usable cross-origin XHR: each GET is a `<script>` whose answer calls `io.j[k]("…")`, each POST a
//! form with the payload as a JSON string literal in field `d`. Everything but this framing
//! lives in `ferrio-transport`.
//!
//! The answer is executed as script by whatever page includes it, so the callback index is
//! digits only and the literal is escaped for ES3 engines and HTML (`ferrio_protocol::escape`).
//!
//! With the cargo feature `fuzzing`, `fuzzing` holds the body of the `jsonp_post` fuzz target.

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod wire;

pub use wire::JsonpWire;
