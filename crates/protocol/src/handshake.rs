//! The handshake body `sid:heartbeat-timeout:close-timeout:transports` (docs/protocol.md §2.2).

use std::fmt;

/// What a successful handshake tells the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeBody {
    /// The new session id.
    pub sid: String,
    /// Seconds the client may go without hearing from the server (never 0: the 0.9 client
    /// would arm a 0 ms timer).
    pub heartbeat_timeout_secs: u64,
    /// Seconds the server keeps a session without a transport.
    pub close_timeout_secs: u64,
    /// Transport names in the server's order of preference.
    pub transports: Vec<String>,
}

/// Why a text is not a handshake body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a handshake body: {0}")]
pub struct HandshakeParseError(&'static str);

impl HandshakeBody {
    /// Parses a body such as `S:60:60:websocket,xhr-polling`.
    pub fn parse(text: &str) -> Result<Self, HandshakeParseError> {
        let mut fields = text.splitn(4, ':');
        let sid = fields
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(HandshakeParseError("empty session id"))?;
        let heartbeat = fields
            .next()
            .ok_or(HandshakeParseError("missing heartbeat timeout"))?;
        let close = fields
            .next()
            .ok_or(HandshakeParseError("missing close timeout"))?;
        let transports = fields
            .next()
            .ok_or(HandshakeParseError("missing transports"))?;
        Ok(HandshakeBody {
            sid: sid.to_owned(),
            heartbeat_timeout_secs: heartbeat
                .parse()
                .map_err(|_| HandshakeParseError("heartbeat timeout is not a number"))?,
            close_timeout_secs: close
                .parse()
                .map_err(|_| HandshakeParseError("close timeout is not a number"))?,
            transports: transports
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

impl fmt::Display for HandshakeBody {
    /// The body exactly as sent: no spaces, no trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.sid,
            self.heartbeat_timeout_secs,
            self.close_timeout_secs,
            self.transports.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(sid: &str, heartbeat: u64, close: u64, transports: &[&str]) -> HandshakeBody {
        HandshakeBody {
            sid: sid.to_owned(),
            heartbeat_timeout_secs: heartbeat,
            close_timeout_secs: close,
            transports: transports.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn reference_body_parses_and_displays_byte_for_byte() {
        let text = "4Fz0-Nq8_cW2mYx1aB3k:60:60:websocket,htmlfile,xhr-polling,jsonp-polling";
        let parsed = HandshakeBody::parse(text).unwrap();
        assert_eq!(
            parsed,
            body(
                "4Fz0-Nq8_cW2mYx1aB3k",
                60,
                60,
                &["websocket", "htmlfile", "xhr-polling", "jsonp-polling"]
            )
        );
        assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn display_has_no_spaces_and_no_trailing_newline() {
        let text = body("S", 5, 4, &["websocket", "xhr-polling"]).to_string();
        assert_eq!(text, "S:5:4:websocket,xhr-polling");
        assert!(!text.contains([' ', '\r', '\n']));
    }

    #[test]
    fn single_transport_round_trips() {
        let text = "abc:25:40:xhr-polling";
        assert_eq!(HandshakeBody::parse(text).unwrap().to_string(), text);
    }

    #[test]
    fn empty_transport_list_round_trips() {
        let parsed = HandshakeBody::parse("abc:1:2:").unwrap();
        assert_eq!(parsed, body("abc", 1, 2, &[]));
        assert_eq!(parsed.to_string(), "abc:1:2:");
    }

    #[test]
    fn empty_transport_names_are_dropped() {
        assert_eq!(
            HandshakeBody::parse("abc:1:2:,websocket,,")
                .unwrap()
                .transports,
            ["websocket"]
        );
    }

    #[test]
    fn empty_session_id_is_rejected() {
        assert_eq!(
            HandshakeBody::parse(":60:60:websocket"),
            Err(HandshakeParseError("empty session id"))
        );
        assert!(HandshakeBody::parse("").is_err());
    }

    #[test]
    fn missing_fields_are_rejected() {
        assert_eq!(
            HandshakeBody::parse("abc"),
            Err(HandshakeParseError("missing heartbeat timeout"))
        );
        assert_eq!(
            HandshakeBody::parse("abc:60"),
            Err(HandshakeParseError("missing close timeout"))
        );
        assert_eq!(
            HandshakeBody::parse("abc:60:60"),
            Err(HandshakeParseError("missing transports"))
        );
    }

    #[test]
    fn empty_or_non_numeric_timeouts_are_rejected() {
        for text in [
            "abc::60:websocket",
            "abc:60::websocket",
            "abc:x:60:websocket",
            "abc:60:-1:websocket",
            "abc:6 0:60:websocket",
            "abc:99999999999999999999:60:websocket",
        ] {
            assert!(HandshakeBody::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn parse_error_message_names_the_problem() {
        assert_eq!(
            HandshakeParseError("missing transports").to_string(),
            "not a handshake body: missing transports"
        );
    }
}
