//! The JSON of the `open` packet (engine.io-protocol v4 "Handshake", v3 "Anatomy of an
//! Engine.IO session").
//!
//! The fields come in the reference server's order: `sid`, `upgrades`, `pingInterval`,
//! `pingTimeout`, then `maxPayload` in v4. Revision 3 documents no `maxPayload`; the reference
//! server (engine.io 4 and later with `allowEIO3`) sends it to v3 clients too, which ignore it.
//! [`Handshake::v3`] leaves it out, as the v3 document shows the handshake.

use serde::{Deserialize, Serialize};

use crate::packet::{Packet, PacketType};

/// The handshake data a new session's `open` packet carries. Durations in milliseconds.
///
/// ```
/// use ferrio_eio::Handshake;
/// let handshake = Handshake::v4("lv_VI97HAXpY6yYWAAAC", ["websocket"], 25000, 20000, 1000000);
/// assert_eq!(
///     handshake.to_json(),
///     r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id, sent back by the client as `sid` on every later request.
    pub sid: String,
    /// The transports the client may upgrade to from the current one.
    pub upgrades: Vec<String>,
    /// Milliseconds between pings (sent by the client in v3, by the server in v4).
    pub ping_interval: u64,
    /// Milliseconds to wait for the answer to a ping.
    pub ping_timeout: u64,
    /// v4 only: the most bytes the client may put in one polling body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<u64>,
}

impl Handshake {
    /// The handshake of a v3 session.
    pub fn v3<U: Into<String>>(
        sid: impl Into<String>,
        upgrades: impl IntoIterator<Item = U>,
        ping_interval_ms: u64,
        ping_timeout_ms: u64,
    ) -> Self {
        Handshake {
            sid: sid.into(),
            upgrades: upgrades.into_iter().map(Into::into).collect(),
            ping_interval: ping_interval_ms,
            ping_timeout: ping_timeout_ms,
            max_payload: None,
        }
    }

    /// The handshake of a v4 session.
    pub fn v4<U: Into<String>>(
        sid: impl Into<String>,
        upgrades: impl IntoIterator<Item = U>,
        ping_interval_ms: u64,
        ping_timeout_ms: u64,
        max_payload: u64,
    ) -> Self {
        Handshake {
            max_payload: Some(max_payload),
            ..Handshake::v3(sid, upgrades, ping_interval_ms, ping_timeout_ms)
        }
    }

    /// The JSON text, compact, in the reference's field order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and integers always serialize")
    }

    /// Reads the JSON of an `open` packet, as a client does.
    ///
    /// ```
    /// use ferrio_eio::Handshake;
    /// let json = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}"#;
    /// assert_eq!(
    ///     Handshake::from_json(json).unwrap(),
    ///     Handshake::v3("lv_VI97HAXpY6yYWAAAC", ["websocket"], 25000, 5000)
    /// );
    /// ```
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The `open` packet carrying this handshake.
    ///
    /// ```
    /// use ferrio_eio::{Handshake, Revision};
    /// let open = Handshake::v3("s", Vec::<String>::new(), 25000, 5000).open_packet();
    /// assert_eq!(
    ///     open.encode_text(Revision::V3).unwrap(),
    ///     r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":5000}"#
    /// );
    /// ```
    pub fn open_packet(&self) -> Packet {
        Packet::text(PacketType::Open, self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Revision;

    /// engine.io-protocol v4, "Handshake" example, without its whitespace.
    const V4_EXAMPLE: &str = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    /// engine.io-protocol v3, "Sample session", request n°1.
    const V3_EXAMPLE: &str = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}"#;

    #[test]
    fn v4_example_is_written_in_the_reference_order() {
        let handshake = Handshake::v4(
            "lv_VI97HAXpY6yYWAAAC",
            ["websocket"],
            25000,
            20000,
            1_000_000,
        );
        assert_eq!(handshake.to_json(), V4_EXAMPLE);
        assert_eq!(Handshake::from_json(V4_EXAMPLE).unwrap(), handshake);
    }

    #[test]
    fn v3_example_has_no_max_payload() {
        let handshake = Handshake::v3("lv_VI97HAXpY6yYWAAAC", ["websocket"], 25000, 5000);
        assert_eq!(handshake.to_json(), V3_EXAMPLE);
        assert_eq!(Handshake::from_json(V3_EXAMPLE).unwrap(), handshake);
        assert_eq!(
            handshake.open_packet().encode_text(Revision::V3).unwrap(),
            format!("0{V3_EXAMPLE}")
        );
    }

    #[test]
    fn websocket_only_sessions_offer_no_upgrade() {
        let handshake = Handshake::v4("abc", Vec::<String>::new(), 300, 200, 1_000_000);
        assert_eq!(
            handshake.to_json(),
            r#"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn session_ids_are_json_escaped() {
        let handshake = Handshake::v3("a\"b\\c", ["websocket"], 1, 2);
        assert!(handshake.to_json().starts_with(r#"{"sid":"a\"b\\c","#));
        assert_eq!(
            Handshake::from_json(&handshake.to_json()).unwrap(),
            handshake
        );
    }

    #[test]
    fn reading_the_reference_v3_answer_with_max_payload_keeps_it() {
        let json = r#"{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(
            Handshake::from_json(json).unwrap().max_payload,
            Some(1_000_000)
        );
    }
}
