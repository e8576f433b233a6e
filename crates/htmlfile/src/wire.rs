//! The htmlfile framing.

use bytes::Bytes;
use ferrio_protocol::js_string_literal;
use ferrio_transport::{StreamWire, Wire};
use http::{HeaderMap, HeaderValue};

/// The script that defines `_` in the iframe, handing every payload to the parent's socket.
const SCRIPT: &str = "<html><body><script>function _(p){parent.s._(p,document)}</script>";

/// IE starts running a streamed document only after it has buffered this much of it.
const PRELUDE_BYTES: usize = 256;

/// htmlfile chunks: `<script>_("payload");</script>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlfileWire;

impl Wire for HtmlfileWire {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("text/html; charset=UTF-8")
    }

    fn wrap(&self, payload: String) -> Bytes {
        Bytes::from(format!(
            "<script>_({});</script>",
            js_string_literal(&payload)
        ))
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
    }
}

impl StreamWire for HtmlfileWire {
    fn prelude(&self) -> Bytes {
        let mut prelude = String::with_capacity(PRELUDE_BYTES);
        prelude.push_str(SCRIPT);
        prelude.extend(std::iter::repeat_n(' ', PRELUDE_BYTES - SCRIPT.len()));
        Bytes::from(prelude)
    }

    fn ends_session_when_closed(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prelude_is_256_bytes_and_defines_the_callback() {
        let prelude = HtmlfileWire.prelude();
        assert_eq!(prelude.len(), 256);
        assert!(
            prelude
                .starts_with(b"<html><body><script>function _(p){parent.s._(p,document)}</script>")
        );
    }

    #[test]
    fn chunks_never_contain_a_closing_script_tag() {
        let chunk =
            HtmlfileWire.wrap(r#"5:::{"name":"echo","args":["a/b</script><!--"]}"#.to_owned());
        let text = std::str::from_utf8(&chunk).unwrap();
        assert!(text.starts_with("<script>_(\"5:::{\\\"name\\\""));
        assert!(text.ends_with(");</script>"));
        assert_eq!(text.matches("</script>").count(), 1);
        assert!(!text.contains("<!--"));
    }
}
