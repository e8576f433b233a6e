//! JavaScript string literals for code that browsers execute: jsonp-polling answers
//! (`io.j[k]("…");`) and htmlfile chunks (`<script>_("…");</script>`).
//!
//! The literal is JSON with more escapes (docs/protocol.md §5.3, §5.5): `/` as `\/` so `</script>`
//! never appears; `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026` so neither an HTML tokenizer nor an
//! old IE content sniffer finds markup (`<!--` would otherwise switch the tokenizer into its
//! script-escaped states); U+2028 and U+2029 as `\u2028`, `\u2029` because engines before
//! ES2019 end a string literal at them. Every escape is undone by the JavaScript engine, so
//! the receiving code sees the original text.

use std::fmt::Write as _;

/// Writes `text` as a double-quoted JavaScript string literal safe in ES3 engines and inside
/// an HTML `<script>` element.
///
/// ```
/// use ferrio_protocol::js_string_literal;
/// assert_eq!(js_string_literal("a/b</script>"), r#""a\/b\u003c\/script\u003e""#);
/// assert_eq!(js_string_literal("\u{2028}\"\\"), r#""\u2028\"\\""#);
/// ```
pub fn js_string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' | '\u{7f}' => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(ch));
            }
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The literal must be valid JSON that decodes back to the input, and must hide everything
    /// an HTML tokenizer or a pre-ES2019 engine would trip over.
    fn assert_safe_round_trip(text: &str) {
        let literal = js_string_literal(text);
        let back: String = serde_json::from_str(&literal)
            .unwrap_or_else(|e| panic!("{literal:?} is not a JSON string: {e}"));
        assert_eq!(back, text);
        assert!(literal.starts_with('"') && literal.ends_with('"'));
        for forbidden in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(
                !literal.contains(forbidden),
                "{literal:?} contains {forbidden:?}"
            );
        }
        assert!(!literal.contains("</"), "{literal:?}");
        assert!(
            !literal.chars().any(|c| c.is_ascii_control()),
            "{literal:?} contains a raw ASCII control character"
        );
    }

    #[test]
    fn tricky_inputs_round_trip_through_json() {
        for text in [
            "",
            "plain",
            "\u{2028}",
            "\u{2029}",
            "a\u{2028}b\u{2029}c",
            "</script>",
            "</SCRIPT><script>alert(1)</script>",
            "<!--",
            "<!-- <script>",
            "-->",
            "\"quoted\"",
            "'single'",
            "back\\slash",
            "\\/",
            "a/b",
            "\\u2028",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "\n\r\t",
            "é€😀",
            "\u{FFFD}27\u{FFFD}5:::{\"name\":\"a\",\"args\":[1]}",
            "&amp; & <>",
            "]]>",
        ] {
            assert_safe_round_trip(text);
        }
    }

    #[test]
    fn slash_and_markup_characters_use_the_documented_escapes() {
        assert_eq!(js_string_literal("/"), "\"\\/\"");
        assert_eq!(js_string_literal("<"), "\"\\u003c\"");
        assert_eq!(js_string_literal(">"), "\"\\u003e\"");
        assert_eq!(js_string_literal("&"), "\"\\u0026\"");
        assert_eq!(js_string_literal("\u{2028}"), "\"\\u2028\"");
        assert_eq!(js_string_literal("\u{2029}"), "\"\\u2029\"");
    }

    #[test]
    fn quotes_backslashes_and_common_controls_use_short_escapes() {
        assert_eq!(js_string_literal("\"\\\n\r\t"), r#""\"\\\n\r\t""#);
        assert_eq!(js_string_literal("\u{0}\u{7f}"), r#""\u0000\u007f""#);
    }

    #[test]
    fn c1_controls_and_other_separators_pass_through_as_valid_json() {
        // Not line terminators in ECMAScript, so they may stay raw.
        for text in ["\u{80}", "\u{85}", "\u{9f}", "\u{feff}", "\u{a0}"] {
            assert_eq!(js_string_literal(text), format!("\"{text}\""));
            assert_safe_round_trip(text);
        }
    }

    #[test]
    fn non_ascii_text_is_kept_raw() {
        assert_eq!(js_string_literal("é€😀\u{FFFD}"), "\"é€😀\u{FFFD}\"");
    }

    #[test]
    fn htmlfile_example_packet_keeps_slash_escaped() {
        let packet = "5:::{\"name\":\"echo\",\"args\":[\"a/b</script>\"]}";
        assert_eq!(
            js_string_literal(packet),
            r#""5:::{\"name\":\"echo\",\"args\":[\"a\/b\u003c\/script\u003e\"]}""#
        );
    }

    #[test]
    fn jsonp_example_packets_match_the_reference() {
        assert_eq!(
            format!("io.j[5]({});", js_string_literal("1::")),
            "io.j[5](\"1::\");"
        );
        assert_eq!(
            format!("io.j[5]({});", js_string_literal("7:::1+0")),
            "io.j[5](\"7:::1+0\");"
        );
    }

    proptest! {
        #[test]
        fn any_text_round_trips_and_stays_safe(text in any::<String>()) {
            assert_safe_round_trip(&text);
        }

        #[test]
        fn markup_heavy_text_round_trips_and_stays_safe(
            text in "[<>&/\\\\\"'!\\-a-z \u{2028}\u{2029}\u{0}-\u{1f}\u{7f}é😀]{0,40}"
        ) {
            assert_safe_round_trip(&text);
        }
    }
}
