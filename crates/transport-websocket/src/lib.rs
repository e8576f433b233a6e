//! The `websocket` transport (spec §5.1): validates RFC 6455 upgrades (versions 13, and 7/8
//! of the hybi drafts, which frame the same way), answers `101`, and pumps packets both ways
//! on the upgraded connection — one packet per text message, never framed (spec §3.10).
//!
//! Layout:
//! - `upgrade`: the handshake checks and the `101` response.
//! - `pump`: the loop that moves packets between the socket and the hub; generic over any
//!   byte stream so tests can drive it in memory.

mod pump;
mod upgrade;

pub use pump::{WsLimits, pump};
pub use upgrade::{is_websocket_upgrade, upgrade};
