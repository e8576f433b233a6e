//! Arguments of events and acknowledgements: JSON that may hold binary buffers.
//!
//! Two views of the same data:
//! - [`Value`], a JSON-like tree with a [`Value::Binary`] leaf, to build arguments from an
//!   application's data and to read them back;
//! - [`Arguments`], the form a packet carries: the arguments' JSON array **already serialized**,
//!   binaries replaced by `{"_placeholder":true,"num":N}`, and the buffers beside it in order.
//!
//! Packets carry the serialized form because a broadcast is encoded once for many receivers and
//! a relayed packet is mostly forwarded as it came: keeping the text means encoding is a header
//! and a copy, a decoded packet's arguments are the client's own bytes (no tree is built to check
//! them), and the buffers are reference-counted [`Bytes`] shared by every receiver. The tree is
//! built only when someone asks for it ([`Arguments::to_values`]).

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value as JsonValue};

use crate::error::DecodeError;
use crate::json;

/// The key the reference marks a binary placeholder with.
const PLACEHOLDER_KEY: &str = "_placeholder";
/// The key of the placeholder's attachment index.
const PLACEHOLDER_NUM_KEY: &str = "num";

/// A JSON value that can also hold binary data, as an application emits it.
///
/// Objects keep their entries in order, as JavaScript does; keys are written as given, so an
/// object built with the same key twice is written with it twice (one parsed from text never
/// has duplicates: the last occurrence wins, in the first one's place, like `JSON.parse`).
///
/// Numbers are written as serde_json writes them, which matches `JSON.stringify` for integers
/// and for most floats; a float with an integral value keeps its `.0` (`1.0` where JavaScript
/// writes `1`), and large exponents have no `+` (`1e21`, JavaScript `1e+21`). Both read back as
/// the same number on either side.
///
/// An object of the form `{"_placeholder":true,"num":N}` next to binary data is read back as
/// the N-th buffer, exactly as the reference does: applications cannot send that shape as data
/// in a packet that also carries binaries.
///
/// ```
/// use ferrio_sio::Value;
///
/// let value = Value::from(serde_json::json!({"a": [1, "b"]}));
/// assert_eq!(value, Value::Object(vec![(
///     "a".to_owned(),
///     Value::Array(vec![Value::from(1u64), Value::from("b")]),
/// )]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, entries in order.
    Object(Vec<(String, Value)>),
    /// A binary buffer (a Node.js `Buffer`, a browser `ArrayBuffer` or `Blob`).
    Binary(Bytes),
}

impl Value {
    /// Whether a [`Value::Binary`] appears anywhere in this value.
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(items) => items.iter().any(Value::has_binary),
            Value::Object(entries) => entries.iter().any(|(_, item)| item.has_binary()),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
        }
    }

    /// Writes this value as JSON, each binary as the next placeholder, pushed onto `attachments`.
    fn write_deconstructed(&self, out: &mut String, attachments: &mut Vec<Bytes>) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(number) => json::write_number(out, number),
            Value::String(text) => json::write_string(out, text),
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write_deconstructed(out, attachments);
                }
                out.push(']');
            }
            Value::Object(entries) => {
                out.push('{');
                for (index, (key, item)) in entries.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    json::write_string(out, key);
                    out.push(':');
                    item.write_deconstructed(out, attachments);
                }
                out.push('}');
            }
            Value::Binary(bytes) => {
                out.push_str("{\"_placeholder\":true,\"num\":");
                json::write_number(out, &Number::from(attachments.len()));
                out.push('}');
                attachments.push(bytes.clone());
            }
        }
    }

    /// The tree of a parsed JSON value, placeholders replaced by `attachments` when there are any.
    fn reconstruct(json: JsonValue, attachments: &[Bytes]) -> Result<Value, DecodeError> {
        Ok(match json {
            JsonValue::Null => Value::Null,
            JsonValue::Bool(flag) => Value::Bool(flag),
            JsonValue::Number(number) => Value::Number(number),
            JsonValue::String(text) => Value::String(text),
            JsonValue::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| Value::reconstruct(item, attachments))
                    .collect::<Result<_, _>>()?,
            ),
            JsonValue::Object(map) => {
                if !attachments.is_empty()
                    && let Some(num) = placeholder_num(&map, attachments.len())?
                {
                    let bytes = attachments.get(num).cloned().unwrap_or_default();
                    return Ok(Value::Binary(bytes));
                }
                Value::Object(
                    map.into_iter()
                        .map(|(key, item)| Ok((key, Value::reconstruct(item, attachments)?)))
                        .collect::<Result<_, DecodeError>>()?,
                )
            }
        })
    }
}

impl From<JsonValue> for Value {
    /// The same data, with no binary in it (placeholders stay plain objects).
    fn from(json: JsonValue) -> Self {
        match json {
            JsonValue::Null => Value::Null,
            JsonValue::Bool(flag) => Value::Bool(flag),
            JsonValue::Number(number) => Value::Number(number),
            JsonValue::String(text) => Value::String(text),
            JsonValue::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            JsonValue::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, item)| (key, Value::from(item)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::String(text)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Number(Number::from(number))
    }
}

impl From<u64> for Value {
    fn from(number: u64) -> Self {
        Value::Number(Number::from(number))
    }
}

impl From<Bytes> for Value {
    fn from(bytes: Bytes) -> Self {
        Value::Binary(bytes)
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Binary(Bytes::from(bytes))
    }
}

/// If `map` is a placeholder (`"_placeholder": true`, as the reference tests it), the index of
/// the attachment it stands for, checked against the `count` attachments announced.
pub(crate) fn placeholder_num(
    map: &Map<String, JsonValue>,
    count: usize,
) -> Result<Option<usize>, DecodeError> {
    if map.get(PLACEHOLDER_KEY) != Some(&JsonValue::Bool(true)) {
        return Ok(None);
    }
    let Some(JsonValue::Number(num)) = map.get(PLACEHOLDER_NUM_KEY) else {
        return Err(DecodeError::InvalidPlaceholder("num is not a number"));
    };
    // `JSON.parse` reads `1.0` and `1e0` as the integer 1: accept any integral number.
    let index = match (num.as_u64(), num.as_f64()) {
        (Some(index), _) => index,
        (None, Some(float)) if float >= 0.0 && float.fract() == 0.0 && float < 2f64.powi(64) => {
            // Integral, non-negative and below 2^64: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = float as u64;
            index
        }
        _ => {
            return Err(DecodeError::InvalidPlaceholder(
                "num is not a non-negative integer",
            ));
        }
    };
    match usize::try_from(index) {
        Ok(index) if index < count => Ok(Some(index)),
        _ => Err(DecodeError::MissingAttachment { num: index, count }),
    }
}

/// Checks every placeholder in `json` against the `count` attachments announced.
pub(crate) fn check_placeholders(json: &JsonValue, count: usize) -> Result<(), DecodeError> {
    match json {
        JsonValue::Array(items) => items
            .iter()
            .try_for_each(|item| check_placeholders(item, count)),
        JsonValue::Object(map) => {
            if placeholder_num(map, count)?.is_some() {
                return Ok(());
            }
            map.values()
                .try_for_each(|item| check_placeholders(item, count))
        }
        JsonValue::Null | JsonValue::Bool(_) | JsonValue::Number(_) | JsonValue::String(_) => {
            Ok(())
        }
    }
}

/// The arguments of an EVENT (after its name) or an ACK, in the form a packet carries them: a
/// serialized JSON array with binary placeholders, and the binary attachments in order.
///
/// A packet whose arguments have attachments is encoded as BINARY_EVENT or BINARY_ACK; the
/// placeholders are read back as buffers only then (a plain EVENT's `_placeholder` objects are
/// data, as in the reference).
///
/// ```
/// use bytes::Bytes;
/// use ferrio_sio::{Arguments, Value};
///
/// let args = Arguments::from_values(&[Value::from("hi"), Value::from(vec![1u8, 2])]);
/// assert_eq!(args.json(), r#"["hi",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(args.attachments(), &[Bytes::from_static(&[1, 2])]);
/// assert_eq!(args.to_values().unwrap()[1], Value::Binary(Bytes::from_static(&[1, 2])));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arguments {
    json: String,
    attachments: Vec<Bytes>,
}

impl Default for Arguments {
    fn default() -> Self {
        Arguments::new()
    }
}

impl Arguments {
    /// No arguments: `[]`.
    pub fn new() -> Self {
        Arguments {
            json: "[]".to_owned(),
            attachments: Vec::new(),
        }
    }

    /// Serializes `values` once, each binary buffer replaced by the next placeholder and moved
    /// (a reference-counted clone) to the attachments, in the order they appear, depth first:
    /// the reference's `deconstructPacket`.
    pub fn from_values(values: &[Value]) -> Self {
        let mut json = String::with_capacity(64);
        let mut attachments = Vec::new();
        json.push('[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                json.push(',');
            }
            value.write_deconstructed(&mut json, &mut attachments);
        }
        json.push(']');
        Arguments { json, attachments }
    }

    /// Checks that `json` is a JSON array and keeps it as it is, with no attachments.
    ///
    /// ```
    /// use ferrio_sio::Arguments;
    ///
    /// assert_eq!(Arguments::parse(r#"[1,{"a":true}]"#).unwrap().json(), r#"[1,{"a":true}]"#);
    /// assert!(Arguments::parse(r#"{"a":1}"#).is_err());
    /// ```
    pub fn parse(json: &str) -> Result<Self, DecodeError> {
        let trimmed = json.trim_matches(JSON_WHITESPACE);
        parse_array(trimmed)?;
        Ok(Arguments {
            json: trimmed.to_owned(),
            attachments: Vec::new(),
        })
    }

    /// Takes `json`, a JSON array serialized by the caller, **without reading it**: for
    /// arguments that were already checked or written by this process (a relayed message, a
    /// server emit), so a broadcast is never parsed again. Text that is not a JSON array makes
    /// packets the receivers reject.
    ///
    /// ```
    /// use ferrio_sio::{Arguments, EventName, Namespace, Packet, encode};
    ///
    /// let args = Arguments::from_trusted_json(r#"["hi",{"a":1}]"#);
    /// let packet = Packet::event(Namespace::root(), EventName::from("chat"), args);
    /// assert_eq!(encode(&packet).0, r#"2["chat","hi",{"a":1}]"#);
    /// ```
    pub fn from_trusted_json(json: impl Into<String>) -> Self {
        Arguments {
            json: json.into(),
            attachments: Vec::new(),
        }
    }

    /// Takes serialized arguments with their attachments, without reading them, like
    /// [`Arguments::from_trusted_json`]: every placeholder's `num` must index `attachments`.
    pub fn from_trusted_parts(json: impl Into<String>, attachments: Vec<Bytes>) -> Self {
        Arguments {
            json: json.into(),
            attachments,
        }
    }

    /// The serialized JSON array, binaries as placeholders.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The binary attachments, in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// Whether the arguments carry binary attachments (the packet is then a BINARY_EVENT or a
    /// BINARY_ACK).
    pub fn has_attachments(&self) -> bool {
        !self.attachments.is_empty()
    }

    /// The serialized array and the attachments.
    pub fn into_parts(self) -> (String, Vec<Bytes>) {
        (self.json, self.attachments)
    }

    /// Appends one argument given as serialized JSON (for example a per-receiver value added to a
    /// shared broadcast), without reading either text.
    ///
    /// ```
    /// use ferrio_sio::Arguments;
    ///
    /// let mut args = Arguments::from_trusted_json("[]");
    /// args.push_trusted_json("1");
    /// args.push_trusted_json(r#""x""#);
    /// assert_eq!(args.json(), r#"[1,"x"]"#);
    /// ```
    pub fn push_trusted_json(&mut self, value_json: &str) {
        let inner_is_empty = self.inner_json().is_empty();
        let trimmed_len = self.json.trim_end_matches(JSON_WHITESPACE).len();
        self.json.truncate(trimmed_len);
        if self.json.ends_with(']') {
            self.json.pop();
        }
        if !inner_is_empty {
            self.json.push(',');
        }
        self.json.push_str(value_json);
        self.json.push(']');
    }

    /// The arguments as a tree, placeholders replaced by their buffers when the arguments have
    /// attachments: the reference's `reconstructPacket`.
    pub fn to_values(&self) -> Result<Vec<Value>, DecodeError> {
        let json: JsonValue = serde_json::from_str(&self.json).map_err(DecodeError::from_json)?;
        let JsonValue::Array(items) = json else {
            return Err(DecodeError::InvalidJson(
                "arguments are not an array".to_owned(),
            ));
        };
        items
            .into_iter()
            .map(|item| Value::reconstruct(item, &self.attachments))
            .collect()
    }

    /// The text between the array's brackets, trimmed: what follows the event name on the wire.
    pub(crate) fn inner_json(&self) -> &str {
        let trimmed = self.json.trim_matches(JSON_WHITESPACE);
        let inner = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(trimmed);
        inner.trim_matches(JSON_WHITESPACE)
    }
}

/// The whitespace JSON allows between tokens.
pub(crate) const JSON_WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// Reads `json` as an array, keeping its elements as the input's own text.
pub(crate) fn parse_array(json: &str) -> Result<Vec<&RawValue>, DecodeError> {
    serde_json::from_str::<Vec<&RawValue>>(json).map_err(|error| {
        if error.classify() == serde_json::error::Category::Data {
            DecodeError::NotAnArray
        } else {
            DecodeError::from_json(error)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_become_numbered_placeholders_depth_first() {
        let values = [
            Value::from("a"),
            Value::Object(vec![(
                "b".to_owned(),
                Value::Array(vec![Value::from("c"), Value::from(vec![1u8])]),
            )]),
            Value::from(vec![2u8]),
        ];
        let args = Arguments::from_values(&values);
        assert_eq!(
            args.json(),
            r#"["a",{"b":["c",{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(
            args.attachments(),
            &[Bytes::from_static(&[1]), Bytes::from_static(&[2])]
        );
        assert_eq!(args.to_values().unwrap(), values);
    }

    #[test]
    fn placeholders_without_attachments_stay_objects() {
        let args = Arguments::parse(r#"[{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(
            args.to_values().unwrap(),
            vec![Value::Object(vec![
                ("_placeholder".to_owned(), Value::Bool(true)),
                ("num".to_owned(), Value::from(0u64)),
            ])]
        );
    }

    #[test]
    fn placeholder_num_must_be_an_integer_in_range() {
        let one = [Bytes::from_static(b"x")];
        let check = |json: &str| {
            Arguments::from_trusted_parts(json, one.to_vec())
                .to_values()
                .map(|_| ())
        };
        assert_eq!(check(r#"[{"_placeholder":true,"num":0}]"#), Ok(()));
        assert_eq!(check(r#"[{"_placeholder":true,"num":0.0}]"#), Ok(()));
        assert_eq!(
            check(r#"[{"_placeholder":true,"num":1}]"#),
            Err(DecodeError::MissingAttachment { num: 1, count: 1 })
        );
        for bad in ["\"splice\"", "-1", "0.5", "null", "1e300"] {
            let json = format!(r#"[{{"_placeholder":true,"num":{bad}}}]"#);
            assert!(check(&json).is_err(), "{json}");
        }
        assert_eq!(
            check(r#"[{"_placeholder":"yes","num":5}]"#),
            Ok(()),
            "only `true` marks a placeholder"
        );
    }

    #[test]
    fn pushing_an_argument_keeps_the_array_well_formed() {
        let mut args = Arguments::new();
        args.push_trusted_json("1");
        assert_eq!(args.json(), "[1]");
        let mut args = Arguments::parse(" [ 1 ] ").unwrap();
        args.push_trusted_json("2");
        assert_eq!(args.json(), "[ 1 ,2]");
        assert_eq!(args.to_values().unwrap().len(), 2);
    }

    #[test]
    fn parse_tells_syntax_from_shape() {
        assert!(matches!(
            Arguments::parse("[1,"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert_eq!(Arguments::parse("{}"), Err(DecodeError::NotAnArray));
        assert_eq!(Arguments::parse("  [ ]\n").unwrap().json(), "[ ]");
    }
}
