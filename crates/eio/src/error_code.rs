//! The errors the reference server answers a refused HTTP request with: a JSON body
//! `{"code":N,"message":"..."}`, with status 403 for `Forbidden` and 400 for every other code
//! (engine.io `server.ts`, `abortRequest`).

/// The six error codes of the reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: the `transport` parameter is missing or names no transport the server offers.
    TransportUnknown,
    /// 1: the `sid` parameter names no live session.
    SessionIdUnknown,
    /// 2: a request without `sid` (a handshake) that is not a GET.
    BadHandshakeMethod,
    /// 3: anything else wrong with the request (a transport that does not match the session's,
    /// a websocket handshake that is not an upgrade, an invalid `j`, …).
    BadRequest,
    /// 4: the application refused the connection.
    Forbidden,
    /// 5: `EIO` is missing or is neither `3` nor `4`.
    UnsupportedProtocolVersion,
}

impl ErrorCode {
    /// The number of the code in the body.
    pub const fn code(self) -> u8 {
        match self {
            ErrorCode::TransportUnknown => 0,
            ErrorCode::SessionIdUnknown => 1,
            ErrorCode::BadHandshakeMethod => 2,
            ErrorCode::BadRequest => 3,
            ErrorCode::Forbidden => 4,
            ErrorCode::UnsupportedProtocolVersion => 5,
        }
    }

    /// The reference's message for the code.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::TransportUnknown => "Transport unknown",
            ErrorCode::SessionIdUnknown => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status of the answer: 403 for [`ErrorCode::Forbidden`], 400 otherwise.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::Forbidden => 403,
            _ => 400,
        }
    }

    /// The JSON body of the answer (sent as `application/json`).
    ///
    /// ```
    /// use ferrio_eio::ErrorCode;
    /// assert_eq!(
    ///     ErrorCode::UnsupportedProtocolVersion.json_body(),
    ///     r#"{"code":5,"message":"Unsupported protocol version"}"#
    /// );
    /// ```
    pub fn json_body(self) -> String {
        self.json_body_with_message(self.message())
    }

    /// The JSON body with another message, as the reference sends when the application
    /// refuses a connection with a reason of its own.
    ///
    /// ```
    /// use ferrio_eio::ErrorCode;
    /// assert_eq!(
    ///     ErrorCode::Forbidden.json_body_with_message("no \"guests\""),
    ///     r#"{"code":4,"message":"no \"guests\""}"#
    /// );
    /// ```
    pub fn json_body_with_message(self, message: &str) -> String {
        let message = serde_json::Value::from(message);
        format!("{{\"code\":{},\"message\":{message}}}", self.code())
    }

    /// The code numbered `code`, if any.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(ErrorCode::TransportUnknown),
            1 => Some(ErrorCode::SessionIdUnknown),
            2 => Some(ErrorCode::BadHandshakeMethod),
            3 => Some(ErrorCode::BadRequest),
            4 => Some(ErrorCode::Forbidden),
            5 => Some(ErrorCode::UnsupportedProtocolVersion),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_reference_byte_for_byte() {
        let expected = [
            r#"{"code":0,"message":"Transport unknown"}"#,
            r#"{"code":1,"message":"Session ID unknown"}"#,
            r#"{"code":2,"message":"Bad handshake method"}"#,
            r#"{"code":3,"message":"Bad request"}"#,
            r#"{"code":4,"message":"Forbidden"}"#,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ];
        for (code, body) in (0..6).zip(expected) {
            let error = ErrorCode::from_code(code).unwrap();
            assert_eq!(error.code(), code);
            assert_eq!(error.json_body(), body);
        }
        assert_eq!(ErrorCode::from_code(6), None);
    }

    #[test]
    fn only_forbidden_is_403() {
        for code in 0..6 {
            let error = ErrorCode::from_code(code).unwrap();
            let status = if error == ErrorCode::Forbidden {
                403
            } else {
                400
            };
            assert_eq!(error.http_status(), status, "{error:?}");
        }
    }

    #[test]
    fn custom_messages_are_json_escaped() {
        let body = ErrorCode::Forbidden.json_body_with_message("a\"b\\c\n\u{2028}");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["code"], 4);
        assert_eq!(value["message"], "a\"b\\c\n\u{2028}");
    }
}
