//! The jsonp-polling framing.

use bytes::Bytes;
use ferrio_protocol::js_string_literal;
use ferrio_protocol::route::callback_index;
use ferrio_transport::Wire;
use http::{HeaderMap, HeaderValue, Request};

/// jsonp-polling answers: `io.j[index]("payload");`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonpWire {
    index: u32,
}

impl JsonpWire {
    /// The wire of `request`: its `i` query parameter names the callback the answers call.
    /// Only digits count; anything else (missing, `alert(1)`, too large) is index 0, as the
    /// reference does.
    pub fn for_request<B>(request: &Request<B>) -> Self {
        let index = request.uri().query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "i")
                .map(|(_, value)| value)
        });
        Self::for_index(index.as_deref())
    }

    fn for_index(index: Option<&str>) -> Self {
        JsonpWire {
            index: index.and_then(callback_index).unwrap_or(0),
        }
    }

    /// The callback index the answers call.
    pub fn index(&self) -> u32 {
        self.index
    }
}

impl Wire for JsonpWire {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("text/javascript; charset=UTF-8")
    }

    fn wrap(&self, payload: String) -> Bytes {
        Bytes::from(format!(
            "io.j[{}]({});",
            self.index,
            js_string_literal(&payload)
        ))
    }

    /// The form field `d` holds the payload as a JSON string literal (the client encodes it
    /// so browsers cannot turn `\n` into `\r\n` in form fields).
    fn unwrap_post(&self, body: Bytes) -> Result<String, String> {
        let field = form_urlencoded::parse(&body)
            .find(|(key, _)| key == "d")
            .map(|(_, value)| value.into_owned())
            .ok_or_else(|| "form field `d` is missing".to_owned())?;
        serde_json::from_str::<String>(&field)
            .map_err(|_| "form field `d` is not a JSON string".to_owned())
    }

    fn headers(&self, headers: &mut HeaderMap) {
        // IE's XSS filter would mangle answers that echo request text (docs/protocol.md
        // §5.5); that old IE would also sniff a directly opened answer as HTML is answered by
        // the nosniff every transport response carries.
        headers.insert("x-xss-protection", HeaderValue::from_static("0"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_of(uri: &str) -> JsonpWire {
        JsonpWire::for_request(&Request::get(uri).body(()).unwrap())
    }

    #[test]
    fn index_comes_from_the_i_parameter() {
        assert_eq!(wire_of("/socket.io/1/jsonp-polling/S?t=1&i=3").index(), 3);
        assert_eq!(wire_of("/socket.io/1/jsonp-polling/S?i=%37").index(), 7);
        assert_eq!(wire_of("/socket.io/1/jsonp-polling/S?i=2&i=9").index(), 2);
        assert_eq!(wire_of("/socket.io/1/jsonp-polling/S?t=1").index(), 0);
        assert_eq!(wire_of("/socket.io/1/jsonp-polling/S").index(), 0);
        assert_eq!(
            wire_of("/socket.io/1/jsonp-polling/S?i=alert(1)").index(),
            0
        );
    }

    #[test]
    fn index_is_digits_only() {
        assert_eq!(JsonpWire::for_index(Some("5")).index(), 5);
        assert_eq!(JsonpWire::for_index(Some("alert(1)")).index(), 0);
        assert_eq!(JsonpWire::for_index(Some("99999999999")).index(), 0);
        assert_eq!(JsonpWire::for_index(None).index(), 0);
    }

    #[test]
    fn answers_call_the_callback_with_a_safe_literal() {
        let wire = JsonpWire::for_index(Some("5"));
        assert_eq!(
            wire.wrap("1::".to_owned()),
            Bytes::from_static(b"io.j[5](\"1::\");")
        );
        let hostile = wire.wrap("3:::</script><!--\u{2028}".to_owned());
        let text = std::str::from_utf8(&hostile).unwrap();
        assert!(!text.contains('<') && !text.contains('\u{2028}'));
    }

    #[test]
    fn posts_carry_a_json_string_in_d() {
        let body = "d=%225%3A%3A%3A%7B%5C%22name%5C%22%3A%5C%22echo%5C%22%2C%5C%22args%5C%22%3A%5B%5C%22a+b%5C%22%5D%7D%22";
        assert_eq!(
            JsonpWire::default().unwrap_post(Bytes::from(body)),
            Ok(r#"5:::{"name":"echo","args":["a b"]}"#.to_owned())
        );
        let framed = "d=%22%EF%BF%BD3%EF%BF%BD2%3A%3A%EF%BF%BD7%EF%BF%BD3%3A%3A%3Ahi%21%22";
        assert_eq!(
            JsonpWire::default().unwrap_post(Bytes::from(framed)),
            Ok("\u{FFFD}3\u{FFFD}2::\u{FFFD}7\u{FFFD}3:::hi!".to_owned())
        );
        assert!(
            JsonpWire::default()
                .unwrap_post(Bytes::from("d=3:::notjson"))
                .is_err()
        );
        assert!(
            JsonpWire::default()
                .unwrap_post(Bytes::from("x=1"))
                .is_err()
        );
        assert!(
            JsonpWire::default()
                .unwrap_post(Bytes::from("d=5"))
                .is_err()
        );
    }
}
