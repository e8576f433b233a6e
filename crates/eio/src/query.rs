//! What an Engine.IO request's query string asks for: `EIO`, `transport`, `sid`, `j`, `b64`
//! (engine.io-protocol v4 "Query parameters", v3 "URLs").
//!
//! Values are form-decoded (`%XX`, `+` as space) and, when a name repeats, the last value
//! counts, as with the reference server's `URLSearchParams`. Other names (`t`, the
//! application's own) are ignored.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::jsonp::JsonpIndex;
use crate::packet::Revision;

/// The transports a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportName {
    /// `polling`: XHR, or JSONP when the query has `j`.
    Polling,
    /// `websocket`.
    Websocket,
}

impl TransportName {
    /// The name as written in the query and in the handshake's `upgrades`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportName::Polling => "polling",
            TransportName::Websocket => "websocket",
        }
    }

    /// The transport named `name`, exactly.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(TransportName::Polling),
            "websocket" => Some(TransportName::Websocket),
            _ => None,
        }
    }
}

impl fmt::Display for TransportName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid Engine.IO query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// `EIO`.
    pub revision: Revision,
    /// `transport`.
    pub transport: TransportName,
    /// `sid`, absent on the handshake request (an empty `sid` counts as absent, as in the
    /// reference).
    pub sid: Option<String>,
    /// `j`, for polling only: the request is JSONP and the answer calls `___eio[j]`.
    pub jsonp: Option<JsonpIndex>,
    /// `b64` with a non-empty value (the reference tests the value for truth, so `b64=0`
    /// counts too): the client takes no binary, so binary packets go in base64. Clients send
    /// it on the handshake request only, so it holds for the whole session.
    pub base64: bool,
}

/// Why a query is refused; [`QueryError::error_code`] gives the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `transport` is missing or names no transport (code 0).
    #[error("unknown transport {0:?}")]
    UnknownTransport(Option<String>),
    /// `EIO` is missing or is neither `3` nor `4` (code 5).
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(Option<String>),
    /// `j` is not a plain decimal (code 3).
    #[error("invalid JSONP index {0:?}")]
    BadJsonpIndex(String),
}

impl QueryError {
    /// The error code (and so the status and body) the request is answered with.
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            QueryError::UnknownTransport(_) => ErrorCode::TransportUnknown,
            QueryError::UnsupportedVersion(_) => ErrorCode::UnsupportedProtocolVersion,
            QueryError::BadJsonpIndex(_) => ErrorCode::BadRequest,
        }
    }
}

/// Reads a raw query string (with or without its leading `?`). The transport is checked
/// first, then the revision, as the reference server does.
///
/// ```
/// use ferrio_eio::{ErrorCode, Revision, TransportName, parse_query};
/// let query = parse_query("EIO=4&transport=polling&t=N8hyd6w").unwrap();
/// assert_eq!(query.revision, Revision::V4);
/// assert_eq!(query.transport, TransportName::Polling);
/// assert_eq!(query.sid, None);
///
/// let error = parse_query("EIO=5&transport=polling").unwrap_err();
/// assert_eq!(error.error_code(), ErrorCode::UnsupportedProtocolVersion);
/// ```
pub fn parse_query(raw: &str) -> Result<Query, QueryError> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut eio = None;
    let mut transport = None;
    let mut sid = None;
    let mut j = None;
    let mut b64 = None;
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let slot = match name.as_ref() {
            "EIO" => &mut eio,
            "transport" => &mut transport,
            "sid" => &mut sid,
            "j" => &mut j,
            "b64" => &mut b64,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    let transport = transport
        .as_deref()
        .and_then(TransportName::from_name)
        .ok_or(QueryError::UnknownTransport(transport))?;
    let revision = eio
        .as_deref()
        .and_then(Revision::from_query_value)
        .ok_or(QueryError::UnsupportedVersion(eio))?;
    let jsonp = match (transport, j) {
        (TransportName::Polling, Some(j)) => {
            Some(JsonpIndex::parse(&j).ok_or(QueryError::BadJsonpIndex(j))?)
        }
        _ => None,
    };
    Ok(Query {
        revision,
        transport,
        sid: sid.filter(|sid| !sid.is_empty()),
        jsonp,
        base64: b64.is_some_and(|value| !value.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_examples_parse() {
        let query = parse_query("EIO=3&transport=polling&t=N8hyd6w").unwrap();
        assert_eq!(
            query,
            Query {
                revision: Revision::V3,
                transport: TransportName::Polling,
                sid: None,
                jsonp: None,
                base64: false,
            }
        );
        let query = parse_query("EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC").unwrap();
        assert_eq!(query.revision, Revision::V4);
        assert_eq!(query.transport, TransportName::Websocket);
        assert_eq!(query.sid.as_deref(), Some("lv_VI97HAXpY6yYWAAAC"));
    }

    #[test]
    fn leading_question_mark_and_parameter_order_do_not_matter() {
        assert_eq!(
            parse_query("?sid=x&transport=polling&EIO=4"),
            parse_query("EIO=4&transport=polling&sid=x")
        );
    }

    #[test]
    fn eio_must_be_exactly_3_or_4() {
        for raw in [
            "transport=polling",
            "EIO=&transport=polling",
            "EIO=2&transport=polling",
            "EIO=5&transport=polling",
            "EIO=04&transport=polling",
            "EIO=4.0&transport=polling",
            "EIO=%204&transport=polling",
            "eio=4&transport=polling",
        ] {
            let error = parse_query(raw).unwrap_err();
            assert!(matches!(error, QueryError::UnsupportedVersion(_)), "{raw}");
            assert_eq!(error.error_code(), ErrorCode::UnsupportedProtocolVersion);
            assert_eq!(error.error_code().http_status(), 400);
        }
        assert_eq!(
            parse_query("transport=polling").unwrap_err(),
            QueryError::UnsupportedVersion(None)
        );
        assert_eq!(
            parse_query("EIO=%34&transport=polling").unwrap().revision,
            Revision::V4,
            "percent-encoded values are decoded first"
        );
    }

    #[test]
    fn transport_must_be_polling_or_websocket_and_is_checked_first() {
        for raw in [
            "EIO=4",
            "EIO=4&transport=",
            "EIO=4&transport=webtransport",
            "EIO=4&transport=xhr-polling",
            "EIO=4&transport=Polling",
            "EIO=9&transport=flashsocket",
        ] {
            let error = parse_query(raw).unwrap_err();
            assert!(matches!(error, QueryError::UnknownTransport(_)), "{raw}");
            assert_eq!(error.error_code(), ErrorCode::TransportUnknown);
        }
        assert_eq!(
            parse_query("EIO=4&transport=webtransport").unwrap_err(),
            QueryError::UnknownTransport(Some("webtransport".into()))
        );
    }

    #[test]
    fn the_last_value_of_a_repeated_name_counts() {
        let query = parse_query("EIO=9&EIO=4&transport=websocket&transport=polling").unwrap();
        assert_eq!(query.revision, Revision::V4);
        assert_eq!(query.transport, TransportName::Polling);
    }

    #[test]
    fn jsonp_index_is_read_for_polling_only() {
        let query = parse_query("EIO=3&transport=polling&j=2").unwrap();
        assert_eq!(query.jsonp, Some(JsonpIndex::from(2)));
        let query = parse_query("EIO=3&transport=websocket&j=x").unwrap();
        assert_eq!(query.jsonp, None);
        for bad in ["", "x", "01", "1);alert(1", "-1"] {
            let error = parse_query(&format!("EIO=3&transport=polling&j={bad}")).unwrap_err();
            assert_eq!(error, QueryError::BadJsonpIndex(bad.to_owned()));
            assert_eq!(error.error_code(), ErrorCode::BadRequest);
        }
    }

    #[test]
    fn b64_is_true_for_any_non_empty_value() {
        for (raw, expected) in [
            ("", false),
            ("&b64=", false),
            ("&b64=1", true),
            ("&b64=true", true),
            ("&b64=0", true),
        ] {
            let query = parse_query(&format!("EIO=3&transport=polling{raw}")).unwrap();
            assert_eq!(query.base64, expected, "{raw:?}");
        }
    }

    #[test]
    fn an_empty_sid_is_no_sid() {
        assert_eq!(
            parse_query("EIO=4&transport=polling&sid=").unwrap().sid,
            None
        );
        assert_eq!(
            parse_query("EIO=4&transport=polling&sid=a%2Bb+c")
                .unwrap()
                .sid
                .as_deref(),
            Some("a+b c")
        );
    }

    #[test]
    fn transport_names_round_trip() {
        for transport in [TransportName::Polling, TransportName::Websocket] {
            assert_eq!(
                TransportName::from_name(transport.as_str()),
                Some(transport)
            );
            assert_eq!(transport.to_string(), transport.as_str());
        }
    }
}
