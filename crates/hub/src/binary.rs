//! Binary data in the hub's arguments. The hub's packets carry JSON; a binary buffer travels
//! in them as Node.js writes a `Buffer` in JSON, `{"type":"Buffer","data":[1,2,3]}`. That is
//! what a 0.9 client receives (what a Node.js application relaying the buffer would have sent
//! it), and what becomes a Socket.IO binary attachment again for a modern client, so buffers
//! travel between modern clients as bytes.
//!
//! The price of the shape: an object of exactly that form, sent as plain JSON by a modern
//! client, reaches other modern clients as a buffer.

use bytes::Bytes;
use serde_json::{Map, Value};

/// The JSON form of a binary buffer: `{"type":"Buffer","data":[…]}`. Applications pass it
/// among an event's arguments to emit binary data; modern clients receive it as a buffer.
///
/// ```
/// let value = ferrio_hub::binary(&[1, 2, 3]);
/// assert_eq!(value, serde_json::json!({"type": "Buffer", "data": [1, 2, 3]}));
/// assert_eq!(ferrio_hub::binary_data(&value), Some(vec![1, 2, 3]));
/// ```
pub fn binary(data: &[u8]) -> Value {
    let mut object = Map::with_capacity(2);
    object.insert("type".to_owned(), Value::String("Buffer".to_owned()));
    object.insert(
        "data".to_owned(),
        Value::Array(data.iter().map(|byte| Value::from(*byte)).collect()),
    );
    Value::Object(object)
}

/// The bytes of a buffer in its JSON form ([`binary`]); `None` for any other value.
pub fn binary_data(value: &Value) -> Option<Vec<u8>> {
    let Value::Object(object) = value else {
        return None;
    };
    if object.len() != 2 || object.get("type")?.as_str()? != "Buffer" {
        return None;
    }
    object
        .get("data")?
        .as_array()?
        .iter()
        .map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()))
        .collect()
}

/// Whether a buffer appears anywhere in `values`.
pub(crate) fn has_binary(values: &[Value]) -> bool {
    values.iter().any(|value| match value {
        Value::Object(object) => {
            binary_data(value).is_some()
                || object.values().any(|v| has_binary(std::slice::from_ref(v)))
        }
        Value::Array(items) => has_binary(items),
        _ => false,
    })
}

/// `value` for a Socket.IO packet: each buffer a binary leaf, which becomes an attachment.
pub(crate) fn to_socket_io(value: &Value) -> ferrio_sio::Value {
    if let Some(data) = binary_data(value) {
        return ferrio_sio::Value::Binary(Bytes::from(data));
    }
    match value {
        Value::Array(items) => ferrio_sio::Value::Array(items.iter().map(to_socket_io).collect()),
        Value::Object(object) => ferrio_sio::Value::Object(
            object
                .iter()
                .map(|(key, item)| (key.clone(), to_socket_io(item)))
                .collect(),
        ),
        other => ferrio_sio::Value::from(other.clone()),
    }
}

/// A Socket.IO client's `value` for the hub: each binary leaf in its JSON form.
pub(crate) fn from_socket_io(value: ferrio_sio::Value) -> Value {
    match value {
        ferrio_sio::Value::Null => Value::Null,
        ferrio_sio::Value::Bool(flag) => Value::Bool(flag),
        ferrio_sio::Value::Number(number) => Value::Number(number),
        ferrio_sio::Value::String(text) => Value::String(text),
        ferrio_sio::Value::Array(items) => {
            Value::Array(items.into_iter().map(from_socket_io).collect())
        }
        ferrio_sio::Value::Object(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, item)| (key, from_socket_io(item)))
                .collect(),
        ),
        ferrio_sio::Value::Binary(data) => binary(&data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buffers_round_trip_through_the_socket_io_tree() {
        let args = json!(["img", {"file": binary(&[0, 255]), "n": [1, binary(&[])]}]);
        let sio = to_socket_io(&args);
        assert!(sio.has_binary());
        assert_eq!(from_socket_io(sio), args);
    }

    #[test]
    fn only_the_exact_shape_is_a_buffer() {
        for not_binary in [
            json!({"type": "Buffer", "data": [256]}),
            json!({"type": "Buffer", "data": [1], "more": 1}),
            json!({"type": "buffer", "data": [1]}),
            json!({"type": "Buffer", "data": "AQ=="}),
            json!([1, 2]),
        ] {
            assert_eq!(binary_data(&not_binary), None, "{not_binary}");
            assert!(!has_binary(std::slice::from_ref(&not_binary)));
        }
        assert!(has_binary(&[json!({"deep": [{"x": binary(&[7])}]})]));
    }
}
