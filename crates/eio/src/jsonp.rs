//! JSONP polling (engine.io-protocol v3, "JSONP"): the GET answer is a script calling
//! `___eio[<j>]` with the text payload, and the client posts its payload as a form field `d`.
//!
//! **Answer.** The reference escapes the payload with `JSON.stringify` plus `\u2028` and
//! `\u2029` (which end a string literal in engines before ES2019). This crate reuses
//! [`ferrio_protocol::js_string_literal`], which escapes those two the same way and escapes
//! more: `/`, `<`, `>`, `&` and DEL as well. The bytes differ from the reference's for those
//! characters, but every escape is undone by the JavaScript engine, so the callback receives
//! exactly the same string; the extra escapes only keep markup out of the response.
//!
//! **Post.** The client submits a hidden form, whose textarea would turn `\n` into `\r\n` on
//! some browsers, so it first writes each `\n` (backslash, `n`) of its payload as `\\n` and
//! then each newline as `\n`. The reference server undoes that with two passes, which
//! [`unwrap_post`] follows: an `\n` not preceded by a backslash becomes a newline, then each
//! `\\n` becomes `\n`. A payload in which a backslash is directly followed by a newline does
//! not survive this scheme (it comes back as backslash, `n`); the reference has the same loss.

use std::fmt;

use ferrio_protocol::js_string_literal;

/// The `j` query parameter: the index of the client's callback in `___eio`.
///
/// It is written into JavaScript, so only a plain decimal is accepted (the reference strips
/// every non-digit instead). Leading zeros are refused too: `___eio[010]` is index 8 to a
/// sloppy-mode engine and a syntax error to a strict one.
///
/// ```
/// use ferrio_eio::JsonpIndex;
/// assert_eq!(JsonpIndex::parse("12").map(JsonpIndex::get), Some(12));
/// for bad in ["", "-1", "1e3", "010", "0x1", "1]", "١"] {
///     assert_eq!(JsonpIndex::parse(bad), None);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonpIndex(u32);

impl JsonpIndex {
    /// Parses a `j` value: ASCII digits without a leading zero (or `0` alone), at most
    /// `u32::MAX`.
    pub fn parse(value: &str) -> Option<Self> {
        let plain = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && (value == "0" || !value.starts_with('0'));
        if !plain {
            return None;
        }
        value.parse().ok().map(JsonpIndex)
    }

    /// The index as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl From<u32> for JsonpIndex {
    fn from(index: u32) -> Self {
        JsonpIndex(index)
    }
}

impl fmt::Display for JsonpIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Wraps a text payload into the script a JSONP poll answers with.
///
/// ```
/// use ferrio_eio::{JsonpIndex, jsonp};
/// assert_eq!(jsonp::wrap_response(JsonpIndex::from(4), "packet data"), "___eio[4](\"packet data\");");
/// assert_eq!(jsonp::wrap_response(JsonpIndex::from(0), "6:4a\u{2028}b"), r#"___eio[0]("6:4a\u2028b");"#);
/// ```
pub fn wrap_response(index: JsonpIndex, payload: &str) -> String {
    format!("___eio[{index}]({});", js_string_literal(payload))
}

/// Why a JSONP post body cannot be unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonpError {
    /// The body is longer than the limit: the transport answers 413.
    #[error("body of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The body's length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The form has no `d` field.
    #[error("no d field in the form body")]
    MissingData,
    /// The form has several `d` fields; the reference reads them as an array and ignores the
    /// body.
    #[error("several d fields in the form body")]
    RepeatedData,
}

impl JsonpError {
    /// Whether the body was refused for its size alone (HTTP 413).
    pub fn is_too_large(&self) -> bool {
        matches!(self, JsonpError::TooLarge { .. })
    }
}

/// Takes the payload out of a JSONP post body (`d=<urlencoded payload>`, form encoded, of at
/// most `max_payload` bytes) and undoes the client's newline escaping.
///
/// Percent escapes that do not decode to UTF-8 become U+FFFD, as the reference's query-string
/// parser makes them.
///
/// ```
/// use ferrio_eio::jsonp;
/// assert_eq!(jsonp::unwrap_post(b"d=6%3A4hello", 100).unwrap(), "6:4hello");
/// assert_eq!(jsonp::unwrap_post(b"d=5%3A4a%5Cnb", 100).unwrap(), "5:4a\nb");
/// assert_eq!(jsonp::unwrap_post(br"d=6%3A4a%5C%5Cnb", 100).unwrap(), r"6:4a\nb");
/// ```
pub fn unwrap_post(body: &[u8], max_payload: usize) -> Result<String, JsonpError> {
    if body.len() > max_payload {
        return Err(JsonpError::TooLarge {
            len: body.len(),
            limit: max_payload,
        });
    }
    let mut data = None;
    for (key, value) in form_urlencoded::parse(body) {
        if key == "d" {
            if data.is_some() {
                return Err(JsonpError::RepeatedData);
            }
            data = Some(value);
        }
    }
    let data = data.ok_or(JsonpError::MissingData)?;
    Ok(unescape_newlines(&data))
}

/// The server side of the newline escaping: `\n` → newline unless the backslash is itself
/// escaped, then `\\n` → `\n`.
fn unescape_newlines(data: &str) -> String {
    let mut first_pass = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(position) = rest.find('\\') {
        let (before, from_backslash) = rest.split_at(position);
        first_pass.push_str(before);
        rest = if let Some(after) = from_backslash.strip_prefix("\\\\n") {
            first_pass.push_str("\\\\n");
            after
        } else if let Some(after) = from_backslash.strip_prefix("\\n") {
            first_pass.push('\n');
            after
        } else {
            first_pass.push('\\');
            from_backslash.get(1..).unwrap_or_default()
        };
    }
    first_pass.push_str(rest);
    first_pass.replace("\\\\n", "\\n")
}

/// The client side of a JSONP post: the form body a browser submits for `payload`, with the
/// newline escaping of the reference client. For test clients and load generators.
///
/// ```
/// use ferrio_eio::jsonp;
/// assert_eq!(jsonp::encode_post("5:4a\nb"), "d=5%3A4a%5Cnb");
/// assert_eq!(jsonp::unwrap_post(jsonp::encode_post("7:4a b\\n").as_bytes(), 100).unwrap(), "7:4a b\\n");
/// ```
pub fn encode_post(payload: &str) -> String {
    let escaped = payload.replace("\\n", "\\\n").replace('\n', "\\n");
    form_urlencoded::Serializer::new(String::new())
        .append_pair("d", &escaped)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_example_answer() {
        assert_eq!(
            wrap_response(JsonpIndex::from(4), "packet data"),
            "___eio[4](\"packet data\");"
        );
    }

    #[test]
    fn answer_is_a_javascript_string_that_reads_back_the_payload() {
        for payload in [
            "6:4hello",
            "2:4€10:b4AQIDBA==",
            "3:4😀",
            "4:4\"\\/",
            "9:4</script>",
            "3:4\u{2028}3:4\u{2029}",
            "2:4\n2:4\r",
            "",
        ] {
            let script = wrap_response(JsonpIndex::from(7), payload);
            let literal = script
                .strip_prefix("___eio[7](")
                .and_then(|rest| rest.strip_suffix(");"))
                .unwrap();
            let back: String = serde_json::from_str(literal).unwrap();
            assert_eq!(back, payload);
            assert!(!script.contains('\u{2028}') && !script.contains('\u{2029}'));
            assert!(!script.contains('\n'));
        }
    }

    #[test]
    fn line_separators_use_the_reference_escapes() {
        assert_eq!(
            wrap_response(JsonpIndex::from(1), "\u{2028}\u{2029}"),
            r#"___eio[1]("\u2028\u2029");"#
        );
    }

    #[test]
    fn index_is_a_plain_decimal() {
        for (text, index) in [("0", 0), ("1", 1), ("42", 42), ("4294967295", u32::MAX)] {
            assert_eq!(JsonpIndex::parse(text), Some(JsonpIndex::from(index)));
            assert_eq!(JsonpIndex::from(index).to_string(), text);
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "00",
            "01",
            "1.0",
            "1e2",
            "0x10",
            "4294967296",
            "99999999999999999999",
            "1]);alert(1);//",
            "٣",
        ] {
            assert_eq!(JsonpIndex::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn newline_escapes_follow_the_reference_server() {
        for (posted, payload) in [
            (r"a\nb", "a\nb"),
            (r"a\\nb", r"a\nb"),
            (r"a\\\nb", r"a\\nb"),
            (r"a\\\\nb", r"a\\\nb"),
            (r"\n\n", "\n\n"),
            (r"\", r"\"),
            (r"\\", r"\\"),
            (r"a\tb", r"a\tb"),
            ("no escapes", "no escapes"),
            ("é€😀\\n", "é€😀\n"),
        ] {
            assert_eq!(unescape_newlines(posted), payload, "{posted:?}");
        }
    }

    #[test]
    fn post_body_is_form_decoded() {
        assert_eq!(unwrap_post(b"d=6%3A4hello", 100).unwrap(), "6:4hello");
        assert_eq!(
            unwrap_post(b"d=7%3A4a+b+c", 100).unwrap(),
            "7:4a b c",
            "+ is a space in a form body"
        );
        assert_eq!(
            unwrap_post(b"other=1&d=3%3A4%E2%82%AC", 100).unwrap(),
            "3:4€"
        );
        assert_eq!(unwrap_post(b"d=", 100).unwrap(), "");
        assert_eq!(
            unwrap_post(b"d=%FF", 100).unwrap(),
            "\u{FFFD}",
            "undecodable escapes are replaced"
        );
    }

    #[test]
    fn post_body_without_exactly_one_d_is_rejected() {
        assert_eq!(unwrap_post(b"", 100), Err(JsonpError::MissingData));
        assert_eq!(unwrap_post(b"e=1", 100), Err(JsonpError::MissingData));
        assert_eq!(unwrap_post(b"6:4hello", 100), Err(JsonpError::MissingData));
        assert_eq!(unwrap_post(b"d=1&d=2", 100), Err(JsonpError::RepeatedData));
    }

    #[test]
    fn post_body_over_the_limit_is_too_large() {
        let error = unwrap_post(b"d=6%3A4hello", 11).unwrap_err();
        assert_eq!(error, JsonpError::TooLarge { len: 12, limit: 11 });
        assert!(error.is_too_large());
        assert!(!JsonpError::MissingData.is_too_large());
        assert!(unwrap_post(b"d=6%3A4hello", 12).is_ok());
    }

    #[test]
    fn posts_written_like_the_client_unwrap_to_the_payload() {
        for payload in [
            "6:4hello",
            "5:4a\nb",
            "6:4a\\nb",
            "7:4a\\\\nb",
            "5:4\n\n\n",
            "3:4\\n\n",
            "2:4&=+%",
            "3:4é€😀",
        ] {
            let body = encode_post(payload);
            assert_eq!(unwrap_post(body.as_bytes(), 1000).unwrap(), payload);
            assert!(!body.contains('\n'));
        }
    }

    #[test]
    fn a_backslash_before_a_newline_is_lost_as_in_the_reference() {
        let body = encode_post("a\\\nb");
        assert_eq!(unwrap_post(body.as_bytes(), 100).unwrap(), "a\\nb");
    }
}
