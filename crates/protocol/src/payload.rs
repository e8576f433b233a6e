//! Several packets in one HTTP body: `1*( U+FFFD length U+FFFD packet )` (docs/protocol.md §3.9).
//!
//! Lengths count UTF-16 code units (JavaScript's `String.length`), so a character outside the
//! Basic Multilingual Plane counts as two. A body with exactly one packet is sent bare.

use std::fmt::Write as _;

const MARK: char = '\u{FFFD}';

/// The length of `text` in UTF-16 code units, as JavaScript's `String.length` counts it.
///
/// ```
/// assert_eq!(ferrio_protocol::payload::utf16_len("é€😀"), 4);
/// ```
pub fn utf16_len(text: &str) -> usize {
    // Counting on bytes avoids decoding: every character starts with one non-continuation
    // byte, and only the four-byte ones (lead byte ≥ 0xF0) need a surrogate pair.
    text.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// Frames `packets` for one body: a single packet bare, several each behind its length.
///
/// ```
/// use ferrio_protocol::frame;
/// assert_eq!(frame(&["3:::x"]), "3:::x");
/// assert_eq!(frame(&["2::", "3:::hi!"]), "\u{FFFD}3\u{FFFD}2::\u{FFFD}7\u{FFFD}3:::hi!");
/// ```
pub fn frame<S: AsRef<str>>(packets: &[S]) -> String {
    let mut out = String::new();
    frame_into(packets, &mut out);
    out
}

/// Appends the framing of `packets` (see [`frame`]) to `out`.
pub fn frame_into<S: AsRef<str>>(packets: &[S], out: &mut String) {
    if let [single] = packets {
        out.push_str(single.as_ref());
        return;
    }
    out.reserve(packets.iter().map(|p| p.as_ref().len() + 10).sum());
    for packet in packets {
        let packet = packet.as_ref();
        out.push(MARK);
        // Writing into a String cannot fail.
        let _ = write!(out, "{}", utf16_len(packet));
        out.push(MARK);
        out.push_str(packet);
    }
}

/// Why a framed body cannot be split. The whole body is then rejected (docs/protocol.md §3.9: a
/// wrong length would desynchronise everything after it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A length is missing, not decimal, or not closed by U+FFFD.
    #[error("bad length at byte {at}")]
    BadLength {
        /// Byte offset in the body.
        at: usize,
    },
    /// A length runs past the end of the body, or ends inside a surrogate pair.
    #[error("length at byte {at} does not fit the body")]
    LengthMismatch {
        /// Byte offset in the body.
        at: usize,
    },
    /// Something other than U+FFFD follows a framed packet.
    #[error("junk between framed packets at byte {at}")]
    Junk {
        /// Byte offset in the body.
        at: usize,
    },
}

/// Splits a body into its packets: a framed payload when it starts with U+FFFD, otherwise a
/// single bare packet. An empty body holds no packet.
///
/// ```
/// use ferrio_protocol::unframe;
/// let body = "\u{FFFD}7\u{FFFD}3:1::hi\u{FFFD}3\u{FFFD}2::";
/// assert_eq!(unframe(body).unwrap(), vec!["3:1::hi", "2::"]);
/// assert_eq!(unframe("3:::x").unwrap(), vec!["3:::x"]);
/// ```
pub fn unframe(body: &str) -> Result<Vec<&str>, FrameError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    if !body.starts_with(MARK) {
        return Ok(vec![body]);
    }
    let mut packets = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let rest = &body[at..];
        let Some(after_mark) = rest.strip_prefix(MARK) else {
            return Err(FrameError::Junk { at });
        };
        let digits_len = after_mark
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(after_mark.len());
        let digits = &after_mark[..digits_len];
        let Some(packet_start) = after_mark[digits_len..].strip_prefix(MARK) else {
            return Err(FrameError::BadLength { at });
        };
        let units: usize = match digits.parse() {
            Ok(units) if digits.len() <= 12 => units,
            _ => return Err(FrameError::BadLength { at }),
        };
        let packet_len = byte_len_of_utf16_units(packet_start, units)
            .ok_or(FrameError::LengthMismatch { at })?;
        packets.push(&packet_start[..packet_len]);
        at = body.len() - packet_start.len() + packet_len;
    }
    Ok(packets)
}

/// The number of bytes that make up the first `units` UTF-16 code units of `text`, or `None`
/// when `text` is shorter or the count ends inside a surrogate pair: where a length counted
/// as JavaScript counts it ends, in a Rust string.
///
/// ```
/// use ferrio_protocol::payload::byte_len_of_utf16_units;
/// assert_eq!(byte_len_of_utf16_units("é😀x", 3), Some(6));
/// assert_eq!(byte_len_of_utf16_units("é😀x", 2), None);
/// assert_eq!(byte_len_of_utf16_units("é", 2), None);
/// ```
pub fn byte_len_of_utf16_units(text: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (offset, ch) in text.char_indices() {
        if counted == units {
            return Some(offset);
        }
        counted += ch.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Packet, PacketBody, decode};

    const C15_BODY: &str = "\u{FFFD}27\u{FFFD}5:::{\"name\":\"a\",\"args\":[1]}\u{FFFD}32\u{FFFD}5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}\u{FFFD}5\u{FFFD}3:::x";
    const C15_PACKETS: [&str; 3] = [
        "5:::{\"name\":\"a\",\"args\":[1]}",
        "5:::{\"name\":\"b\",\"args\":[\"é€😀\"]}",
        "3:::x",
    ];
    const C16_BODY: &str =
        "\u{FFFD}7\u{FFFD}3:1::hi\u{FFFD}36\u{FFFD}5:1+::{\"name\":\"echo\",\"args\":[\"é😀\"]}";

    #[test]
    fn utf16_len_counts_code_units_like_javascript() {
        for (text, units) in [
            ("", 0),
            ("a", 1),
            ("é", 1),
            ("€", 1),
            ("😀", 2),
            ("\u{FFFD}", 1),
            ("\u{10FFFF}", 2),
            ("é€😀", 4),
        ] {
            assert_eq!(utf16_len(text), units, "{text:?}");
            assert_eq!(utf16_len(text), text.encode_utf16().count(), "{text:?}");
        }
    }

    #[test]
    fn utf16_len_differs_from_bytes_and_code_points() {
        // docs/protocol.md §3.9: 28 ASCII bytes + 2 + 3 + 4 = 37 bytes of UTF-8.
        let packet = C15_PACKETS[1];
        assert_eq!(utf16_len(packet), 32);
        assert_eq!(packet.len(), 37);
        assert_eq!(packet.chars().count(), 31);
    }

    #[test]
    fn frame_writes_the_c15_body_exactly() {
        assert_eq!(frame(&C15_PACKETS), C15_BODY);
        assert!(
            frame(&C15_PACKETS)
                .as_bytes()
                .starts_with(&[0xEF, 0xBF, 0xBD, 0x32, 0x37, 0xEF, 0xBF, 0xBD, 0x35, 0x3A])
        );
    }

    #[test]
    fn unframe_splits_the_c15_body() {
        assert_eq!(unframe(C15_BODY).unwrap(), C15_PACKETS);
    }

    #[test]
    fn c15_packets_are_the_encoded_multi_events() {
        let packets = [
            Packet::new(PacketBody::Event {
                name: "a".into(),
                args: vec![1.into()],
            }),
            Packet::new(PacketBody::Event {
                name: "b".into(),
                args: vec!["é€😀".into()],
            }),
            Packet::new(PacketBody::Message("x".into())),
        ];
        let encoded: Vec<String> = packets.iter().map(Packet::encode).collect();
        assert_eq!(frame(&encoded), C15_BODY);
    }

    #[test]
    fn c16_length_of_36_is_right_and_the_body_unframes_into_two_packets() {
        let second = "5:1+::{\"name\":\"echo\",\"args\":[\"é😀\"]}";
        assert_eq!(utf16_len(second), 36);
        assert_eq!(utf16_len("3:1::hi"), 7);
        let packets = unframe(C16_BODY).unwrap();
        assert_eq!(packets, ["3:1::hi", second]);
        assert_eq!(frame(&packets), C16_BODY);
        let decoded: Vec<Packet> = packets.iter().map(|p| decode(p).unwrap()).collect();
        assert_eq!(decoded[0].body, PacketBody::Message("hi".into()));
        assert_eq!(
            decoded[1].body,
            PacketBody::Event {
                name: "echo".into(),
                args: vec!["é😀".into()],
            }
        );
    }

    #[test]
    fn single_packet_is_framed_bare() {
        assert_eq!(frame(&["3:::x"]), "3:::x");
        assert_eq!(frame(&["1::"]), "1::");
    }

    #[test]
    fn no_packet_frames_to_an_empty_body() {
        assert_eq!(frame::<&str>(&[]), "");
        assert_eq!(unframe("").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn two_packets_are_each_framed() {
        assert_eq!(
            frame(&["2::", "3:::hi!"]),
            "\u{FFFD}3\u{FFFD}2::\u{FFFD}7\u{FFFD}3:::hi!"
        );
        assert_eq!(
            frame(&["6:::1", "3:::hi", "6:::1+[\"é😀\"]"]),
            "\u{FFFD}5\u{FFFD}6:::1\u{FFFD}6\u{FFFD}3:::hi\u{FFFD}13\u{FFFD}6:::1+[\"é😀\"]"
        );
    }

    #[test]
    fn frame_into_appends_to_existing_text() {
        let mut out = String::from(">");
        frame_into(&["a", "bc"], &mut out);
        assert_eq!(out, ">\u{FFFD}1\u{FFFD}a\u{FFFD}2\u{FFFD}bc");
    }

    #[test]
    fn unframe_returns_a_bare_body_as_one_packet() {
        assert_eq!(unframe("3:::x").unwrap(), ["3:::x"]);
        assert_eq!(
            unframe("5:::{\"name\":\"multi\"}").unwrap(),
            ["5:::{\"name\":\"multi\"}"]
        );
    }

    #[test]
    fn unframe_keeps_replacement_characters_inside_a_bare_packet() {
        assert_eq!(
            unframe("3:::a\u{FFFD}5\u{FFFD}b").unwrap(),
            ["3:::a\u{FFFD}5\u{FFFD}b"]
        );
    }

    #[test]
    fn replacement_character_inside_a_framed_packet_is_skipped_by_length() {
        let packets = ["3:::\u{FFFD}1\u{FFFD}", "3:::\u{FFFD}", "\u{FFFD}"];
        let body = frame(&packets);
        assert_eq!(
            body,
            "\u{FFFD}7\u{FFFD}3:::\u{FFFD}1\u{FFFD}\u{FFFD}5\u{FFFD}3:::\u{FFFD}\u{FFFD}1\u{FFFD}\u{FFFD}"
        );
        assert_eq!(unframe(&body).unwrap(), packets);
    }

    #[test]
    fn unframe_accepts_empty_and_single_framed_packets() {
        assert_eq!(unframe("\u{FFFD}0\u{FFFD}").unwrap(), [""]);
        assert_eq!(unframe("\u{FFFD}3\u{FFFD}2::").unwrap(), ["2::"]);
        assert_eq!(unframe("\u{FFFD}03\u{FFFD}2::").unwrap(), ["2::"]);
    }

    #[test]
    fn too_short_length_leaves_junk_and_rejects_the_body() {
        assert_eq!(
            unframe("\u{FFFD}5\u{FFFD}3:::hi\u{FFFD}3\u{FFFD}2::"),
            Err(FrameError::Junk { at: 12 })
        );
        assert_eq!(
            unframe("\u{FFFD}5\u{FFFD}3:::hi"),
            Err(FrameError::Junk { at: 12 })
        );
    }

    #[test]
    fn too_long_length_rejects_the_body() {
        assert_eq!(
            unframe("\u{FFFD}7\u{FFFD}3:::hi"),
            Err(FrameError::LengthMismatch { at: 0 })
        );
        assert_eq!(
            unframe("\u{FFFD}3\u{FFFD}2::\u{FFFD}9\u{FFFD}3:::hi"),
            Err(FrameError::LengthMismatch { at: 10 })
        );
    }

    #[test]
    fn length_ending_inside_a_surrogate_pair_rejects_the_body() {
        assert_eq!(
            unframe("\u{FFFD}1\u{FFFD}😀"),
            Err(FrameError::LengthMismatch { at: 0 })
        );
        assert_eq!(
            unframe("\u{FFFD}5\u{FFFD}3:::😀\u{FFFD}3\u{FFFD}2::"),
            Err(FrameError::LengthMismatch { at: 0 })
        );
        assert_eq!(unframe("\u{FFFD}6\u{FFFD}3:::😀").unwrap(), ["3:::😀"]);
    }

    #[test]
    fn length_counted_in_bytes_or_code_points_is_rejected() {
        let packet = C15_PACKETS[1];
        for wrong in [packet.len(), packet.chars().count()] {
            let body = format!("\u{FFFD}{wrong}\u{FFFD}{packet}\u{FFFD}1\u{FFFD}x");
            assert!(unframe(&body).is_err(), "length {wrong}");
        }
    }

    #[test]
    fn missing_or_non_decimal_lengths_are_rejected() {
        for body in [
            "\u{FFFD}",
            "\u{FFFD}5",
            "\u{FFFD}\u{FFFD}3:::x",
            "\u{FFFD}x\u{FFFD}3:::x",
            "\u{FFFD}+5\u{FFFD}3:::x",
            "\u{FFFD}-5\u{FFFD}3:::x",
            "\u{FFFD} 5\u{FFFD}3:::x",
            "\u{FFFD}5 \u{FFFD}3:::x",
            "\u{FFFD}5:::x",
            "\u{FFFD}٥\u{FFFD}3:::x",
        ] {
            assert_eq!(
                unframe(body),
                Err(FrameError::BadLength { at: 0 }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn bad_length_of_a_later_packet_reports_its_offset() {
        assert_eq!(
            unframe("\u{FFFD}3\u{FFFD}2::\u{FFFD}\u{FFFD}"),
            Err(FrameError::BadLength { at: 10 })
        );
        assert_eq!(
            unframe("\u{FFFD}3\u{FFFD}2::\u{FFFD}"),
            Err(FrameError::BadLength { at: 10 })
        );
    }

    #[test]
    fn junk_after_a_framed_packet_is_rejected() {
        assert_eq!(
            unframe("\u{FFFD}3\u{FFFD}2::x"),
            Err(FrameError::Junk { at: 10 })
        );
        assert_eq!(
            unframe("\u{FFFD}3\u{FFFD}2::\n"),
            Err(FrameError::Junk { at: 10 })
        );
    }

    #[test]
    fn huge_lengths_are_rejected_without_panicking() {
        for body in [
            "\u{FFFD}999999999999\u{FFFD}2::".to_owned(),
            format!("\u{FFFD}{}\u{FFFD}2::", u64::MAX),
            format!("\u{FFFD}{}\u{FFFD}2::", usize::MAX),
            format!("\u{FFFD}1{}\u{FFFD}2::", "0".repeat(40)),
            format!("\u{FFFD}{}\u{FFFD}2::", "9".repeat(10_000)),
        ] {
            assert!(unframe(&body).is_err());
        }
    }

    #[test]
    fn frame_errors_describe_the_offset() {
        assert_eq!(
            FrameError::BadLength { at: 3 }.to_string(),
            "bad length at byte 3"
        );
        assert_eq!(
            FrameError::LengthMismatch { at: 4 }.to_string(),
            "length at byte 4 does not fit the body"
        );
        assert_eq!(
            FrameError::Junk { at: 5 }.to_string(),
            "junk between framed packets at byte 5"
        );
    }
}
