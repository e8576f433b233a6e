//! Transport names as they appear on the wire (docs/protocol.md §1.1).

use std::fmt;
use std::str::FromStr;

/// One of the transports a session can use, in the fallback order ferrio announces them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// RFC 6455 WebSocket (and the older drafts), path segment `websocket`.
    Websocket,
    /// The Flash WebSocket polyfill over draft 76, path segment `flashsocket`.
    Flashsocket,
    /// XHR long polling, path segment `xhr-polling`.
    XhrPolling,
    /// `multipart/x-mixed-replace` streaming, ferrio's extension (docs/protocol.md §5.6).
    XhrMultipart,
    /// The forever iframe, path segment `htmlfile`.
    Htmlfile,
    /// Script-tag polling, path segment `jsonp-polling`.
    JsonpPolling,
}

impl TransportKind {
    /// Every transport, in the order the handshake announces them.
    pub const ALL: [TransportKind; 6] = [
        TransportKind::Websocket,
        TransportKind::Flashsocket,
        TransportKind::XhrPolling,
        TransportKind::XhrMultipart,
        TransportKind::Htmlfile,
        TransportKind::JsonpPolling,
    ];

    /// The name used in URLs and in the handshake's transport list.
    pub const fn name(self) -> &'static str {
        match self {
            TransportKind::Websocket => "websocket",
            TransportKind::Flashsocket => "flashsocket",
            TransportKind::XhrPolling => "xhr-polling",
            TransportKind::XhrMultipart => "xhr-multipart",
            TransportKind::Htmlfile => "htmlfile",
            TransportKind::JsonpPolling => "jsonp-polling",
        }
    }

    /// Whether the transport holds one long-lived channel (and so gets heartbeats) rather
    /// than answering one poll at a time (docs/protocol.md §4.3).
    pub const fn is_streaming(self) -> bool {
        !matches!(
            self,
            TransportKind::XhrPolling | TransportKind::JsonpPolling
        )
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a transport name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport `{0}`")]
pub struct UnknownTransport(pub String);

impl FromStr for TransportKind {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransportKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in TransportKind::ALL {
            assert_eq!(kind.name().parse::<TransportKind>(), Ok(kind));
        }
        assert!("bogus".parse::<TransportKind>().is_err());
    }

    #[test]
    fn wire_names_match_the_protocol_document() {
        let names: Vec<&str> = TransportKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(
            names,
            [
                "websocket",
                "flashsocket",
                "xhr-polling",
                "xhr-multipart",
                "htmlfile",
                "jsonp-polling"
            ]
        );
    }

    #[test]
    fn display_writes_the_wire_name() {
        for kind in TransportKind::ALL {
            assert_eq!(kind.to_string(), kind.name());
        }
    }

    #[test]
    fn parsing_is_exact_and_case_sensitive() {
        for name in [
            "",
            "WebSocket",
            "websocket ",
            " websocket",
            "xhr_polling",
            "xhr-polling/",
        ] {
            assert_eq!(
                name.parse::<TransportKind>(),
                Err(UnknownTransport(name.to_owned())),
                "{name:?}"
            );
        }
        assert_eq!(
            UnknownTransport("bogus".into()).to_string(),
            "unknown transport `bogus`"
        );
    }

    #[test]
    fn only_polling_transports_are_not_streaming() {
        for kind in TransportKind::ALL {
            let polling = matches!(
                kind,
                TransportKind::XhrPolling | TransportKind::JsonpPolling
            );
            assert_eq!(kind.is_streaming(), !polling, "{kind}");
        }
    }
}
