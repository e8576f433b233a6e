//! JSON text as `JSON.stringify` writes it, into a `String` and without a fallible serializer.
//!
//! The reference encodes with `JSON.stringify`; serde_json's compact writer produces the same
//! bytes for everything a Rust string or number can hold, but it reports errors (for I/O and
//! custom types) that cannot happen here. Writing the few shapes by hand keeps encoding
//! infallible and lets [`crate::Value::Binary`] become a placeholder on the way.

use serde_json::{Map, Number, Value as JsonValue};

/// Appends `text` as a JSON string literal: `"` and `\` escaped, control characters as the short
/// escapes where JSON has one and `\u00XX` (lowercase hex) otherwise, everything else verbatim.
pub(crate) fn write_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push('"');
    let mut verbatim_from = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `index` is a char boundary.
        out.push_str(text.get(verbatim_from..index).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        } else {
            out.push_str(escape);
        }
        verbatim_from = index + 1;
    }
    out.push_str(text.get(verbatim_from..).unwrap_or_default());
    out.push('"');
}

/// Appends a JSON number as serde_json writes it (shortest text that reads back the same).
pub(crate) fn write_number(out: &mut String, number: &Number) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(out, "{number}");
}

/// Appends a serde_json value, compact, objects in their insertion order.
pub(crate) fn write_value(out: &mut String, value: &JsonValue) {
    match value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(true) => out.push_str("true"),
        JsonValue::Bool(false) => out.push_str("false"),
        JsonValue::Number(number) => write_number(out, number),
        JsonValue::String(text) => write_string(out, text),
        JsonValue::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        JsonValue::Object(map) => write_object(out, map),
    }
}

/// Appends a JSON object, compact, in its insertion order.
pub(crate) fn write_object(out: &mut String, map: &Map<String, JsonValue>) {
    out.push('{');
    for (index, (key, item)) in map.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, item);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, text);
        out
    }

    #[test]
    fn strings_are_escaped_like_json_stringify() {
        assert_eq!(string("hé😀"), r#""hé😀""#);
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(string("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(string("/\u{2028}"), "\"/\u{2028}\"");
    }

    #[test]
    fn values_match_serde_json_compact_output() {
        let value = serde_json::json!({"b": [1, -2, 1.5, true, null, "x\ny"], "a": {}});
        let mut out = String::new();
        write_value(&mut out, &value);
        assert_eq!(out, serde_json::to_string(&value).unwrap());
        assert_eq!(out, r#"{"b":[1,-2,1.5,true,null,"x\ny"],"a":{}}"#);
    }
}
