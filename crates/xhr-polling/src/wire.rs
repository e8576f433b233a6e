//! The xhr-polling framing: the payload itself, as UTF-8 text.

use bytes::Bytes;
use ferrio_transport::Wire;
use http::HeaderValue;

/// xhr-polling answers carry the payload unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct XhrWire;

impl Wire for XhrWire {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("text/plain; charset=UTF-8")
    }

    fn wrap(&self, payload: String) -> Bytes {
        Bytes::from(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_sent_as_is() {
        assert_eq!(XhrWire.wrap("1::".to_owned()), Bytes::from_static(b"1::"));
        assert_eq!(XhrWire.content_type(), "text/plain; charset=UTF-8");
    }

    #[test]
    fn post_body_must_be_utf8() {
        assert_eq!(
            XhrWire.unwrap_post(Bytes::from_static(b"2::")),
            Ok("2::".to_owned())
        );
        assert!(XhrWire.unwrap_post(Bytes::from_static(b"\xff")).is_err());
    }
}
