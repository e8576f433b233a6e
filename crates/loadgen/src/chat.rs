//! The chat app's lines as the loadgen writes them: a client emits `toServer` with
//! `{nome: NAME, msg: "SEQ:MICROS:PAD"}` and the app sends everyone `toClient`
//! `"NAME:SEQ:MICROS:PAD"` (ferrio's `--app chat`, the Node bench's `chat.js`). SEQ numbers a
//! speaker's lines from 1 (or 0) up; MICROS is when it was said, on the run's clock.
//!
//! A line may carry binary data, `{nome, msg, data: <buffer>}`; the app hands it on as a
//! second argument, `toClient(line, data)`. The loadgen writes and reads the buffer as the mark
//! `{"_bytes": N}` ([`crate::modern`]); a 0.9 receiver gets it in ferrio's JSON form,
//! `{"type":"Buffer","data":[…]}`.

use ferrio_protocol::{Packet, PacketBody};
use serde_json::{Value, json};

use crate::client::excerpt;
use crate::error::{Error, Result};
use crate::modern::{bytes_mark, bytes_of};

/// The `toServer` event packet that says line `seq` of speaker `nome`.
pub(crate) fn say(nome: &str, seq: u64, micros: u64, pad: &str) -> String {
    say_with(nome, seq, micros, pad, None)
}

/// As [`say`], the line carrying `attached` bytes of binary data when given.
pub(crate) fn say_with(
    nome: &str,
    seq: u64,
    micros: u64,
    pad: &str,
    attached: Option<usize>,
) -> String {
    let mut line = json!({ "nome": nome, "msg": format!("{seq}:{micros}:{pad}") });
    if let Some(length) = attached {
        line["data"] = bytes_of(length);
    }
    let event = json!({ "name": "toServer", "args": [line] });
    format!("5:::{event}")
}

/// One line as the chat app hands it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Who said it.
    pub(crate) nome: &'a str,
    /// Its number among its speaker's lines.
    pub(crate) seq: u64,
    /// When it was said, in microseconds of the run's clock.
    pub(crate) micros: u64,
    /// The length of the binary data it carries, if any.
    pub(crate) attached: Option<usize>,
}

/// The line a `toClient` event carries; any other packet is a protocol error.
pub(crate) fn heard(packet: &Packet) -> Result<Line<'_>> {
    let unexpected = || {
        Error::protocol(format!(
            "expected a toClient event, got {}",
            excerpt(&packet.encode())
        ))
    };
    let PacketBody::Event { name, args } = &packet.body else {
        return Err(unexpected());
    };
    if name != "toClient" || !packet.endpoint.is_empty() || !(1..=2).contains(&args.len()) {
        return Err(unexpected());
    }
    let attached = match args.get(1) {
        None => None,
        Some(data) => Some(attached_length(data).ok_or_else(unexpected)?),
    };
    let text = args[0].as_str().ok_or_else(unexpected)?;
    let mut fields = text.splitn(4, ':');
    let nome = fields.next().filter(|nome| !nome.is_empty());
    let seq = fields.next().and_then(|f| f.parse().ok());
    let micros = fields.next().and_then(|f| f.parse().ok());
    match (nome, seq, micros, fields.next()) {
        (Some(nome), Some(seq), Some(micros), Some(_pad)) => Ok(Line {
            nome,
            seq,
            micros,
            attached,
        }),
        _ => Err(unexpected()),
    }
}

/// The length of binary data as the loadgen hears it: its mark, or ferrio's JSON form for 0.9.
fn attached_length(data: &Value) -> Option<usize> {
    let map = data.as_object()?;
    if let Some(length) = bytes_mark(map) {
        return Some(length);
    }
    match (map.get("type").and_then(Value::as_str), map.get("data")) {
        (Some("Buffer"), Some(Value::Array(bytes))) if map.len() == 2 => Some(bytes.len()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrio_protocol::decode;

    #[test]
    fn to_client_text_is_parsed() {
        let packet = decode(r#"5:::{"name":"toClient","args":["s:12:3456:xx"]}"#).expect("valid");
        assert_eq!(
            heard(&packet).expect("a toClient"),
            Line {
                nome: "s",
                seq: 12,
                micros: 3456,
                attached: None,
            }
        );
        let packet =
            decode(r#"5:::{"name":"toClient","args":["s:1:2:",{"_bytes":9}]}"#).expect("valid");
        assert_eq!(heard(&packet).expect("a line with data").attached, Some(9));
        let packet =
            decode(r#"5:::{"name":"toClient","args":["s:1:2:",{"type":"Buffer","data":[1,2]}]}"#)
                .expect("valid");
        assert_eq!(heard(&packet).expect("0.9's form").attached, Some(2));
        let packet = decode(r#"5:::{"name":"toClient","args":["c7:1:2:"]}"#).expect("valid");
        assert_eq!(heard(&packet).expect("an empty pad").nome, "c7");
    }

    #[test]
    fn other_packets_are_protocol_errors() {
        for text in [
            r#"5:::{"name":"other","args":["s:1:2:x"]}"#,
            r#"5:::{"name":"toClient","args":[":1:2:x"]}"#,
            r#"5:::{"name":"toClient","args":["s:x:2:x"]}"#,
            r#"5:::{"name":"toClient","args":["s:1:2"]}"#,
            r#"5:::{"name":"toClient","args":[1]}"#,
            r#"5:::{"name":"toClient","args":["s:1:2:x",{"other":1}]}"#,
            r#"5::/chat:{"name":"toClient","args":["s:1:2:x"]}"#,
            "3:::s:1:2:x",
        ] {
            let packet = decode(text).expect("valid");
            assert!(heard(&packet).is_err(), "{text}");
        }
    }

    #[test]
    fn what_is_said_is_heard_back() {
        let said = say("h3", 9, 1234, "pad");
        let packet = decode(&said).expect("valid");
        let PacketBody::Event { name, args } = &packet.body else {
            panic!("an event: {said}");
        };
        assert_eq!(name, "toServer");
        assert_eq!(args[0]["nome"], "h3");
        assert_eq!(args[0]["msg"], "9:1234:pad");
    }
}
