//! Packets to text and attachments:
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`.

use bytes::Bytes;

use crate::json;
use crate::packet::{ConnectErrorData, Packet};

/// Encodes `packet`: the text to send as one Engine.IO message (without Engine.IO's `4`
/// prefix), then the binary attachments, each its own Engine.IO binary message, in order.
///
/// The namespace is written only when it is not `/` (or when a revision 4 CONNECT carries a
/// query); the attachment count only for BINARY_EVENT and BINARY_ACK. Arguments are copied as
/// they are serialized, so encoding a broadcast costs a header and a copy.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_sio::{Arguments, EventName, Namespace, Packet, Value, encode};
///
/// let args = Arguments::from_values(&[Value::from(vec![1u8, 2, 3, 4])]);
/// let packet = Packet::event(Namespace::root(), EventName::from("baz"), args);
/// let (text, attachments) = encode(&packet);
/// assert_eq!(text, r#"51-["baz",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(attachments, vec![Bytes::from_static(&[1, 2, 3, 4])]);
/// ```
pub fn encode(packet: &Packet) -> (String, Vec<Bytes>) {
    (encode_text(packet), packet.attachments().to_vec())
}

/// The text part of [`encode`] alone, for callers that already hold the attachments.
pub fn encode_text(packet: &Packet) -> String {
    let packet_type = packet.packet_type();
    let attachments = packet.attachments().len();
    let mut out = String::with_capacity(payload_len_hint(packet) + 16);
    out.push(char::from(b'0' + packet_type.code()));
    if packet_type.is_binary() {
        out.push_str(&attachments.to_string());
        out.push('-');
    }
    let namespace = packet.namespace();
    match packet {
        Packet::Connect {
            query: Some(query), ..
        } => {
            out.push_str(namespace.as_str());
            out.push('?');
            out.push_str(query);
            out.push(',');
        }
        _ if !namespace.is_root() => {
            out.push_str(namespace.as_str());
            out.push(',');
        }
        _ => {}
    }
    match packet {
        Packet::Connect { data, .. } => {
            if let Some(map) = data {
                json::write_object(&mut out, map);
            }
        }
        Packet::Disconnect { .. } => {}
        Packet::Event {
            ack_id, name, args, ..
        } => {
            if let Some(id) = ack_id {
                out.push_str(&id.to_string());
            }
            out.push('[');
            match name {
                crate::EventName::Text(text) => json::write_string(&mut out, text),
                crate::EventName::Number(number) => json::write_number(&mut out, number),
            }
            let rest = args.inner_json();
            if !rest.is_empty() {
                out.push(',');
                out.push_str(rest);
            }
            out.push(']');
        }
        Packet::Ack { ack_id, args, .. } => {
            out.push_str(&ack_id.to_string());
            out.push_str(args.json());
        }
        Packet::ConnectError { data, .. } => match data {
            ConnectErrorData::Text(text) => json::write_string(&mut out, text),
            ConnectErrorData::Object(map) => json::write_object(&mut out, map),
        },
    }
    out
}

/// Roughly the payload's length, so the text is written into one allocation.
fn payload_len_hint(packet: &Packet) -> usize {
    let namespace = packet.namespace().as_str().len();
    namespace
        + match packet {
            Packet::Event { name, args, .. } => {
                args.json().len() + name.as_text().map_or(24, str::len)
            }
            Packet::Ack { args, .. } => args.json().len(),
            Packet::Connect { query, .. } => query.as_ref().map_or(32, String::len),
            Packet::Disconnect { .. } | Packet::ConnectError { .. } => 32,
        }
}

/// The examples of the socket.io-protocol document, revision 5 (`main`) and revision 4 (`v4`
/// branch): each packet encodes to exactly the document's text and attachments, and decodes
/// back from them.
#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::{Arguments, DecodeOptions, EventName, Namespace, Reassembler, Revision, Value};

    fn ns(name: &str) -> Namespace {
        Namespace::new(name).unwrap()
    }

    fn event(namespace: &str, ack_id: Option<u64>, name: &str, args: &[Value]) -> Packet {
        Packet::Event {
            namespace: ns(namespace),
            ack_id,
            name: EventName::from(name),
            args: Arguments::from_values(args),
        }
    }

    fn ack(namespace: &str, ack_id: u64, args: &[Value]) -> Packet {
        Packet::ack(ns(namespace), ack_id, Arguments::from_values(args))
    }

    fn bin(bytes: &'static [u8]) -> Value {
        Value::Binary(Bytes::from_static(bytes))
    }

    fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    /// Encodes `packet` to exactly `text` + `attachments`, and decodes them back to `packet`.
    fn check(revision: Revision, packet: &Packet, text: &str, attachments: &[&'static [u8]]) {
        let attachments: Vec<Bytes> = attachments.iter().map(|b| Bytes::from_static(b)).collect();
        assert_eq!(
            encode(packet),
            (text.to_owned(), attachments.clone()),
            "{text}"
        );
        let mut reassembler = Reassembler::new(DecodeOptions::new(revision));
        let mut decoded = reassembler.push_text(text).unwrap();
        for attachment in attachments {
            assert_eq!(decoded, None, "{text}: complete before its attachments");
            decoded = reassembler.push_binary(attachment).unwrap();
        }
        assert_eq!(decoded.as_ref(), Some(packet), "{text}");
    }

    #[test]
    fn revision_5_document_examples() {
        let v5 = Revision::V5;
        check(v5, &Packet::connect(Namespace::root()), "0", &[]);
        check(v5, &Packet::connect(ns("/admin")), "0/admin,", &[]);
        check(
            v5,
            &Packet::connect_accepted(v5, ns("/admin"), "oSO0OpakMV_3jnilAAAA"),
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            &[],
        );
        check(
            v5,
            &Packet::connect_accepted(v5, Namespace::root(), "wZX3oN0bSVIhsaknAAAI"),
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
            &[],
        );
        check(
            v5,
            &Packet::Connect {
                namespace: ns("/admin"),
                query: None,
                data: Some(object(json!({"token": "123"}))),
            },
            r#"0/admin,{"token":"123"}"#,
            &[],
        );
        check(
            v5,
            &Packet::connect_error(v5, Namespace::root(), "Not authorized", None),
            r#"4{"message":"Not authorized"}"#,
            &[],
        );
        check(v5, &event("/", None, "foo", &[]), r#"2["foo"]"#, &[]);
        check(
            v5,
            &event("/admin", None, "bar", &[]),
            r#"2/admin,["bar"]"#,
            &[],
        );
        check(
            v5,
            &event("/", None, "hey", &[Value::from("Jude")]),
            r#"2["hey","Jude"]"#,
            &[],
        );
        check(
            v5,
            &event("/", None, "baz", &[bin(&[1, 2, 3, 4])]),
            r#"51-["baz",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3, 4]],
        );
        check(
            v5,
            &event("/admin", None, "baz", &[bin(&[1, 2]), bin(&[3, 4])]),
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            &[&[1, 2], &[3, 4]],
        );
        check(v5, &event("/", Some(12), "foo", &[]), r#"212["foo"]"#, &[]);
        check(v5, &ack("/", 12, &[]), "312[]", &[]);
        check(
            v5,
            &event("/admin", Some(13), "foo", &[]),
            r#"2/admin,13["foo"]"#,
            &[],
        );
        check(
            v5,
            &ack("/admin", 13, &[Value::from("bar")]),
            r#"3/admin,13["bar"]"#,
            &[],
        );
        check(
            v5,
            &event("/", Some(14), "foo", &[bin(&[1, 2, 3, 4])]),
            r#"51-14["foo",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3, 4]],
        );
        check(
            v5,
            &ack("/", 15, &[Value::from("bar"), bin(&[1, 2, 3, 4])]),
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3, 4]],
        );
        check(
            v5,
            &event("/admin", Some(1), "tellme", &[]),
            r#"2/admin,1["tellme"]"#,
            &[],
        );
        check(
            v5,
            &ack("/admin", 1, &[bin(&[9])]),
            r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
            &[&[9]],
        );
        check(v5, &Packet::disconnect(Namespace::root()), "1", &[]);
        check(v5, &Packet::disconnect(ns("/admin")), "1/admin,", &[]);
    }

    #[test]
    fn revision_4_document_examples() {
        let v4 = Revision::V4;
        check(v4, &Packet::connect(Namespace::root()), "0", &[]);
        check(v4, &Packet::connect(ns("/admin")), "0/admin,", &[]);
        check(
            v4,
            &Packet::connect_accepted(v4, ns("/admin"), "ignored"),
            "0/admin,",
            &[],
        );
        check(
            v4,
            &Packet::Connect {
                namespace: ns("/admin"),
                query: Some("token=1234&uid=abcd".to_owned()),
                data: None,
            },
            "0/admin?token=1234&uid=abcd,",
            &[],
        );
        check(v4, &Packet::disconnect(ns("/admin")), "1/admin,", &[]);
        check(
            v4,
            &event("/", None, "hello", &[Value::from(1u64)]),
            r#"2["hello",1]"#,
            &[],
        );
        check(
            v4,
            &event(
                "/admin",
                Some(456),
                "project:delete",
                &[Value::from(123u64)],
            ),
            r#"2/admin,456["project:delete",123]"#,
            &[],
        );
        check(v4, &ack("/admin", 456, &[]), "3/admin,456[]", &[]);
        check(
            v4,
            &Packet::connect_error(v4, ns("/admin"), "Not authorized", None),
            r#"4/admin,"Not authorized""#,
            &[],
        );
        check(
            v4,
            &event("/", None, "hello", &[bin(&[1, 2, 3])]),
            r#"51-["hello",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3]],
        );
        check(
            v4,
            &event("/admin", Some(456), "project:delete", &[bin(&[1, 2, 3])]),
            r#"51-/admin,456["project:delete",{"_placeholder":true,"num":0}]"#,
            &[&[1, 2, 3]],
        );
        check(
            v4,
            &ack("/admin", 456, &[bin(&[3, 2, 1])]),
            r#"61-/admin,456[{"_placeholder":true,"num":0}]"#,
            &[&[3, 2, 1]],
        );
    }

    #[test]
    fn connect_error_shapes_per_revision() {
        let data = Some(json!({"reason": "expired"}));
        assert_eq!(
            encode_text(&Packet::connect_error(
                Revision::V5,
                ns("/a"),
                "Not authorized",
                data.clone()
            )),
            r#"4/a,{"message":"Not authorized","data":{"reason":"expired"}}"#
        );
        // Revision 4 servers send `err.data || err.message`.
        assert_eq!(
            encode_text(&Packet::connect_error(
                Revision::V4,
                ns("/a"),
                "Not authorized",
                data
            )),
            r#"4/a,{"reason":"expired"}"#
        );
        assert_eq!(
            encode_text(&Packet::connect_error(
                Revision::V4,
                ns("/a"),
                "Not authorized",
                Some(json!(3))
            )),
            r#"4/a,"Not authorized""#
        );
        assert_eq!(
            encode_text(&Packet::connect_error(
                Revision::V5,
                Namespace::root(),
                "Invalid namespace",
                None
            )),
            r#"4{"message":"Invalid namespace"}"#
        );
    }

    #[test]
    fn events_are_built_from_a_name_and_serialized_arguments() {
        let packet = |args: &str| {
            encode_text(&Packet::event(
                ns("/chat"),
                EventName::from("x"),
                Arguments::from_trusted_json(args),
            ))
        };
        assert_eq!(packet("[]"), r#"2/chat,["x"]"#);
        assert_eq!(packet(r#"["hi",{"a":1}]"#), r#"2/chat,["x","hi",{"a":1}]"#);
        assert_eq!(packet(" [ 1 , 2 ] "), r#"2/chat,["x",1 , 2]"#);
        assert_eq!(packet("[ ]"), r#"2/chat,["x"]"#);
    }

    #[test]
    fn numeric_and_escaped_event_names() {
        let numeric = Packet::event(
            Namespace::root(),
            EventName::from(7u64),
            Arguments::parse(r#"["x"]"#).unwrap(),
        );
        assert_eq!(encode_text(&numeric), r#"2[7,"x"]"#);
        assert_eq!(EventName::from(7u64).to_string(), "7");
        let quoted = Packet::event(
            Namespace::root(),
            EventName::from("a\"b\n"),
            Arguments::new(),
        );
        assert_eq!(encode_text(&quoted), r#"2["a\"b\n"]"#);
    }

    #[test]
    fn the_root_namespace_with_a_query_is_written() {
        let packet = Packet::Connect {
            namespace: Namespace::root(),
            query: Some("x=y".to_owned()),
            data: None,
        };
        assert_eq!(encode_text(&packet), "0/?x=y,");
    }
}
