//! The multipart framing: CRLF parts between a random boundary per stream.

use bytes::Bytes;
use ferrio_transport::{StreamWire, Wire};
use http::{HeaderMap, HeaderValue};

/// One stream's framing, with its own boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartWire {
    boundary: String,
}

impl MultipartWire {
    /// A wire with a fresh boundary: `socketio-` and 16 random lower-case hex digits, so
    /// message text practically never contains it.
    pub fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self::with_boundary(format!("socketio-{}", &random[..16]))
    }

    /// A wire with the given boundary.
    pub fn with_boundary(boundary: String) -> Self {
        MultipartWire { boundary }
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }
}

impl Default for MultipartWire {
    fn default() -> Self {
        Self::new()
    }
}

impl Wire for MultipartWire {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "multipart/x-mixed-replace;boundary=\"{}\"",
            self.boundary
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("multipart/x-mixed-replace"))
    }

    fn wrap(&self, payload: String) -> Bytes {
        Bytes::from(format!(
            "Content-Type: text/plain; charset=UTF-8\r\n\r\n{payload}\r\n--{}\r\n",
            self.boundary
        ))
    }

    /// A raw payload starts with a digit or U+FFFD; a 0.6-style form post with `data=`.
    fn unwrap_post(&self, body: Bytes) -> Result<String, String> {
        if body.starts_with(b"data=") {
            return form_urlencoded::parse(&body)
                .find(|(key, _)| key == "data")
                .map(|(_, value)| value.into_owned())
                .ok_or_else(|| "form field `data` is missing".to_owned());
        }
        String::from_utf8(body.into()).map_err(|_| "body is not UTF-8".to_owned())
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
}

impl StreamWire for MultipartWire {
    fn prelude(&self) -> Bytes {
        Bytes::from(format!("--{}\r\n", self.boundary))
    }

    fn epilogue(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }

    /// A part must not contain a line break followed by `--` and the boundary.
    fn carries(&self, payload: &str) -> bool {
        let delimiter = format!("--{}", self.boundary);
        !payload
            .match_indices(&delimiter)
            .any(|(at, _)| at == 0 || matches!(payload.as_bytes()[at - 1], b'\n' | b'\r'))
    }

    fn ends_session_when_closed(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_random_per_stream() {
        let wire = MultipartWire::new();
        assert_eq!(wire.boundary().len(), "socketio-".len() + 16);
        assert!(
            wire.boundary()["socketio-".len()..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_ne!(wire.boundary(), MultipartWire::new().boundary());
    }

    #[test]
    fn parts_use_crlf_and_repeat_the_delimiter() {
        let wire = MultipartWire::with_boundary("socketio-0123456789abcdef".to_owned());
        assert_eq!(
            wire.prelude(),
            Bytes::from_static(b"--socketio-0123456789abcdef\r\n")
        );
        assert_eq!(
            wire.wrap("1::".to_owned()),
            Bytes::from_static(b"Content-Type: text/plain; charset=UTF-8\r\n\r\n1::\r\n--socketio-0123456789abcdef\r\n")
        );
        assert_eq!(
            wire.epilogue(),
            Bytes::from_static(b"--socketio-0123456789abcdef--\r\n")
        );
        assert_eq!(
            wire.content_type(),
            HeaderValue::from_static(
                "multipart/x-mixed-replace;boundary=\"socketio-0123456789abcdef\""
            )
        );
    }

    #[test]
    fn text_containing_the_delimiter_after_a_line_break_is_refused() {
        let wire = MultipartWire::with_boundary("socketio-0123456789abcdef".to_owned());
        assert!(wire.carries("3:::no delimiter here"));
        assert!(wire.carries("3:::inline --socketio-0123456789abcdef is fine"));
        assert!(!wire.carries("3:::a\n--socketio-0123456789abcdef"));
        assert!(!wire.carries("3:::a\r--socketio-0123456789abcdef--"));
    }

    #[test]
    fn posts_are_raw_or_a_data_form_field() {
        let wire = MultipartWire::new();
        assert_eq!(
            wire.unwrap_post(Bytes::from_static(b"2::")),
            Ok("2::".to_owned())
        );
        assert_eq!(
            wire.unwrap_post(Bytes::from_static(b"data=3%3A%3A%3Ahi")),
            Ok("3:::hi".to_owned())
        );
    }
}
