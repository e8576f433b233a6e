//! What a request asks for, from its path and query alone (docs/protocol.md §1.2).

use crate::transport::TransportKind;

/// A file the server serves under the resource (docs/protocol.md §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticAsset {
    /// `/socket.io.js` (and the versioned `/socket.io.v{x.y.z}.js`): the browser client.
    ClientScript,
    /// `/static/flashsocket/WebSocketMain.swf`.
    FlashMain,
    /// `/static/flashsocket/WebSocketMainInsecure.swf`.
    FlashInsecure,
}

/// The meaning of a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// Not under the resource prefix: the host application's own page.
    Foreign,
    /// Under the resource but naming nothing: `200 Welcome to socket.io.`
    Welcome,
    /// A static file.
    Static(StaticAsset),
    /// A protocol number other than 1: `500 Protocol version not supported.`
    UnsupportedProtocol,
    /// A handshake (any transport segment, no session id).
    Handshake,
    /// `…/{transport-or-empty}/{sid}/?disconnect`: end the session (docs/protocol.md §4.7).
    ForcedDisconnect {
        /// The session to end.
        sid: &'a str,
    },
    /// A transport request for a session.
    Transport {
        /// The transport the path names.
        transport: TransportKind,
        /// The session id.
        sid: &'a str,
    },
    /// A request for a session over a transport segment that names none of the six (including
    /// the empty one): refused as a bad request (docs/protocol.md §8 #8).
    UnknownTransport {
        /// The transport segment as written.
        name: &'a str,
        /// The session id.
        sid: &'a str,
    },
}

impl<'a> Route<'a> {
    /// Routes a request. `resource` is the prefix with its leading slash (`/socket.io`);
    /// `query` is the raw query string without `?`.
    ///
    /// Unlike the reference, `/socket.iox` is not under the resource `/socket.io`: the prefix
    /// must end the path or be followed by `/`.
    ///
    /// ```
    /// use ferrio_protocol::{Route, TransportKind};
    /// assert_eq!(Route::parse("/socket.io", "/socket.io/1/", None), Route::Handshake);
    /// assert_eq!(
    ///     Route::parse("/socket.io", "/socket.io/1/xhr-polling/abc", Some("t=2")),
    ///     Route::Transport { transport: TransportKind::XhrPolling, sid: "abc" }
    /// );
    /// assert_eq!(
    ///     Route::parse("/socket.io", "/socket.io/1//abc/", Some("disconnect=1")),
    ///     Route::ForcedDisconnect { sid: "abc" }
    /// );
    /// ```
    pub fn parse(resource: &str, path: &'a str, query: Option<&str>) -> Route<'a> {
        let Some(rest) = path.strip_prefix(resource) else {
            return Route::Foreign;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Route::Foreign;
        }
        if let Some(asset) = static_asset(rest) {
            return Route::Static(asset);
        }
        let trimmed = rest.strip_prefix('/').unwrap_or(rest);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Route::Welcome;
        }
        let segments: Vec<&str> = trimmed.split('/').collect();
        let (protocol, transport, sid) = match segments.as_slice() {
            [protocol] => (*protocol, "", ""),
            [protocol, transport] => (*protocol, *transport, ""),
            [protocol, transport, sid] => (*protocol, *transport, *sid),
            _ => return Route::Welcome,
        };
        if protocol.is_empty() {
            return Route::Welcome;
        }
        if protocol != "1" {
            // As the reference: a protocol that is not a positive number with no transport is
            // a welcome, anything else with the wrong number is refused.
            return if transport.is_empty() && !leading_number_is_positive(protocol) {
                Route::Welcome
            } else {
                Route::UnsupportedProtocol
            };
        }
        if sid.is_empty() {
            return Route::Handshake;
        }
        if query.is_some_and(|q| parse_query(q).iter().any(|(key, _)| key == "disconnect")) {
            return Route::ForcedDisconnect { sid };
        }
        match transport.parse::<TransportKind>() {
            Ok(transport) => Route::Transport { transport, sid },
            Err(_) => Route::UnknownTransport {
                name: transport,
                sid,
            },
        }
    }

    /// Whether the path is outside the resource: the host application's to answer, not the
    /// gateway's.
    pub fn is_foreign(&self) -> bool {
        matches!(self, Route::Foreign)
    }
}

fn static_asset(rest: &str) -> Option<StaticAsset> {
    match rest {
        "/socket.io.js" => Some(StaticAsset::ClientScript),
        "/static/flashsocket/WebSocketMain.swf" => Some(StaticAsset::FlashMain),
        "/static/flashsocket/WebSocketMainInsecure.swf" => Some(StaticAsset::FlashInsecure),
        _ => {
            let version = rest.strip_prefix("/socket.io.v")?.strip_suffix(".js")?;
            (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
                .then_some(StaticAsset::ClientScript)
        }
    }
}

fn leading_number_is_positive(text: &str) -> bool {
    text.bytes()
        .take_while(u8::is_ascii_digit)
        .any(|b| b != b'0')
}

/// Parses a query string into decoded key/value pairs, in order (`+` is a space).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The JSONP callback index of a `jsonp=` or `i=` parameter: only a run of ASCII digits that
/// fits in a `u32` counts (docs/protocol.md §1.3, §5.5). Everything else is `None`; the index is
/// reflected into script, so nothing but digits may ever pass.
///
/// ```
/// use ferrio_protocol::route::callback_index;
/// assert_eq!(callback_index("5"), Some(5));
/// assert_eq!(callback_index("alert(1)"), None);
/// assert_eq!(callback_index(""), None);
/// ```
pub fn callback_index(value: &str) -> Option<u32> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCE: &str = "/socket.io";

    fn route<'a>(resource: &str, path: &'a str, query: Option<&str>) -> Route<'a> {
        Route::parse(resource, path, query)
    }

    fn at(path: &str) -> Route<'_> {
        route(RESOURCE, path, None)
    }

    #[test]
    fn protocol_one_with_or_without_trailing_slash_is_a_handshake() {
        assert_eq!(at("/socket.io/1/"), Route::Handshake);
        assert_eq!(at("/socket.io/1"), Route::Handshake);
        assert_eq!(
            route(RESOURCE, "/socket.io/1/", Some("t=1700000000000")),
            Route::Handshake
        );
    }

    #[test]
    fn transport_segment_without_sid_is_a_handshake() {
        assert_eq!(at("/socket.io/1/xhr-polling/"), Route::Handshake);
        assert_eq!(at("/socket.io/1/xhr-polling"), Route::Handshake);
        assert_eq!(at("/socket.io/1/bogus/"), Route::Handshake);
        assert_eq!(at("/socket.io/1//"), Route::Handshake);
        assert_eq!(at("/socket.io/1///"), Route::Handshake);
    }

    #[test]
    fn handshake_ignores_the_disconnect_key() {
        assert_eq!(
            route(RESOURCE, "/socket.io/1/", Some("disconnect")),
            Route::Handshake
        );
    }

    #[test]
    fn resource_alone_is_welcome() {
        assert_eq!(at("/socket.io/"), Route::Welcome);
        assert_eq!(at("/socket.io"), Route::Welcome);
        assert_eq!(at("/socket.io//"), Route::Welcome);
    }

    #[test]
    fn protocol_that_is_not_a_positive_number_without_transport_is_welcome() {
        assert_eq!(at("/socket.io/0/"), Route::Welcome);
        assert_eq!(at("/socket.io/0"), Route::Welcome);
        assert_eq!(at("/socket.io/abc/"), Route::Welcome);
        assert_eq!(at("/socket.io/00/"), Route::Welcome);
    }

    #[test]
    fn other_protocol_numbers_are_unsupported() {
        assert_eq!(at("/socket.io/2/"), Route::UnsupportedProtocol);
        assert_eq!(at("/socket.io/2"), Route::UnsupportedProtocol);
        assert_eq!(at("/socket.io/10/"), Route::UnsupportedProtocol);
        assert_eq!(
            at("/socket.io/2/xhr-polling/SID"),
            Route::UnsupportedProtocol
        );
    }

    #[test]
    fn non_numeric_protocol_with_a_transport_is_unsupported() {
        assert_eq!(at("/socket.io/abc/def/"), Route::UnsupportedProtocol);
        assert_eq!(
            at("/socket.io/0/xhr-polling/SID"),
            Route::UnsupportedProtocol
        );
    }

    #[test]
    fn four_or_more_segments_are_welcome() {
        assert_eq!(at("/socket.io/1/a/b/c"), Route::Welcome);
        assert_eq!(at("/socket.io/1/a/b/c/"), Route::Welcome);
        assert_eq!(at("/socket.io/1/xhr-polling/SID//"), Route::Welcome);
        assert_eq!(at("/socket.io/1////"), Route::Welcome);
    }

    #[test]
    fn empty_protocol_segment_is_welcome() {
        assert_eq!(at("/socket.io//x"), Route::Welcome);
        assert_eq!(at("/socket.io//xhr-polling/SID"), Route::Welcome);
    }

    #[test]
    fn transport_and_sid_are_a_transport_request() {
        assert_eq!(
            at("/socket.io/1/xhr-polling/SID"),
            Route::Transport {
                transport: TransportKind::XhrPolling,
                sid: "SID"
            }
        );
        assert_eq!(
            route(RESOURCE, "/socket.io/1/jsonp-polling/SID/", Some("t=1&i=5")),
            Route::Transport {
                transport: TransportKind::JsonpPolling,
                sid: "SID"
            }
        );
    }

    #[test]
    fn unknown_or_empty_transport_segment_is_an_unknown_transport() {
        assert_eq!(
            at("/socket.io/1/bogus/SID"),
            Route::UnknownTransport {
                name: "bogus",
                sid: "SID"
            }
        );
        assert_eq!(
            at("/socket.io/1//SID"),
            Route::UnknownTransport {
                name: "",
                sid: "SID"
            }
        );
        assert_eq!(
            at("/socket.io/1/WebSocket/SID"),
            Route::UnknownTransport {
                name: "WebSocket",
                sid: "SID"
            }
        );
    }

    #[test]
    fn every_transport_name_is_typed() {
        for kind in TransportKind::ALL {
            let path = format!("/socket.io/1/{kind}/SID");
            assert_eq!(
                at(&path),
                Route::Transport {
                    transport: kind,
                    sid: "SID"
                }
            );
        }
    }

    #[test]
    fn disconnect_key_with_a_sid_is_a_forced_disconnect() {
        let sid = Route::ForcedDisconnect { sid: "SID" };
        assert_eq!(
            route(RESOURCE, "/socket.io/1//SID/", Some("disconnect=1")),
            sid
        );
        assert_eq!(
            route(RESOURCE, "/socket.io/1//SID/", Some("disconnect")),
            sid
        );
        assert_eq!(
            route(RESOURCE, "/socket.io/1//SID/", Some("disconnect=")),
            sid
        );
        assert_eq!(
            route(
                RESOURCE,
                "/socket.io/1/xhr-polling/SID",
                Some("t=1&disconnect")
            ),
            sid
        );
        assert_eq!(
            route(RESOURCE, "/socket.io/1/bogus/SID", Some("disconnect")),
            sid
        );
    }

    #[test]
    fn query_without_the_disconnect_key_is_no_forced_disconnect() {
        let transport = Route::UnknownTransport {
            name: "",
            sid: "SID",
        };
        assert_eq!(route(RESOURCE, "/socket.io/1//SID/", Some("")), transport);
        assert_eq!(
            route(RESOURCE, "/socket.io/1//SID/", Some("disconnected=1")),
            transport
        );
        assert_eq!(
            route(RESOURCE, "/socket.io/1//SID/", Some("x=disconnect")),
            transport
        );
    }

    #[test]
    fn client_script_is_static() {
        assert_eq!(
            at("/socket.io/socket.io.js"),
            Route::Static(StaticAsset::ClientScript)
        );
        assert_eq!(
            at("/socket.io/socket.io.v0.9.16.js"),
            Route::Static(StaticAsset::ClientScript)
        );
    }

    #[test]
    fn flash_objects_are_static() {
        assert_eq!(
            at("/socket.io/static/flashsocket/WebSocketMain.swf"),
            Route::Static(StaticAsset::FlashMain)
        );
        assert_eq!(
            at("/socket.io/static/flashsocket/WebSocketMainInsecure.swf"),
            Route::Static(StaticAsset::FlashInsecure)
        );
    }

    #[test]
    fn unserved_script_names_are_not_static() {
        for path in [
            "/socket.io/socket.io.min.js",
            "/socket.io/socket.io.v.js",
            "/socket.io/socket.io.vx.js",
            "/socket.io/socket.io.js/",
        ] {
            assert!(!matches!(at(path), Route::Static(_)), "{path}");
        }
    }

    #[test]
    fn only_paths_outside_the_resource_are_foreign() {
        assert!(at("/").is_foreign());
        assert!(!at("/socket.io").is_foreign());
        assert!(!at("/socket.io/1/bogus/SID").is_foreign());
    }

    #[test]
    fn paths_outside_the_resource_are_foreign() {
        assert_eq!(at("/other"), Route::Foreign);
        assert_eq!(at("/"), Route::Foreign);
        assert_eq!(at(""), Route::Foreign);
        assert_eq!(at("/socket.iox"), Route::Foreign);
        assert_eq!(at("/socket.iox/1/"), Route::Foreign);
        assert_eq!(at("/socket.i"), Route::Foreign);
        assert_eq!(at("/Socket.io/1/"), Route::Foreign);
        assert_eq!(at("/x/socket.io/1/"), Route::Foreign);
    }

    #[test]
    fn custom_resource_is_honoured() {
        assert_eq!(route("/rt", "/rt/1/", None), Route::Handshake);
        assert_eq!(route("/rt", "/rt", None), Route::Welcome);
        assert_eq!(
            route("/rt", "/rt/1/websocket/S", None),
            Route::Transport {
                transport: TransportKind::Websocket,
                sid: "S"
            }
        );
        assert_eq!(
            route("/rt", "/rt/socket.io.js", None),
            Route::Static(StaticAsset::ClientScript)
        );
        assert_eq!(route("/rt", "/socket.io/1/", None), Route::Foreign);
        assert_eq!(route("/a/b", "/a/b/1/", None), Route::Handshake);
        assert_eq!(route("/a/b", "/a/b/2/", None), Route::UnsupportedProtocol);
    }

    #[test]
    fn parse_query_decodes_pairs_in_order() {
        assert_eq!(
            parse_query("t=1&token=a%20b+c&flag&e="),
            [
                ("t".to_owned(), "1".to_owned()),
                ("token".to_owned(), "a b c".to_owned()),
                ("flag".to_owned(), String::new()),
                ("e".to_owned(), String::new()),
            ]
        );
        assert!(parse_query("").is_empty());
    }

    #[test]
    fn callback_index_accepts_only_digits() {
        assert_eq!(callback_index("0"), Some(0));
        assert_eq!(callback_index("5"), Some(5));
        assert_eq!(callback_index("007"), Some(7));
        assert_eq!(callback_index("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn callback_index_rejects_script_and_signs() {
        for value in [
            "alert(1)",
            "alert(document.cookie)//",
            "1)",
            "+5",
            "-5",
            " 5",
            "5 ",
            "5;",
            "0x5",
            "٥",
        ] {
            assert_eq!(callback_index(value), None, "{value}");
        }
    }

    #[test]
    fn callback_index_rejects_empty_and_overflowing_values() {
        assert_eq!(callback_index(""), None);
        assert_eq!(callback_index("4294967296"), None);
        assert_eq!(callback_index(&"9".repeat(100)), None);
    }
}
