//! The chat app's lines as the loadgen writes them: a client emits `toServer` with
//! `{nome: NAME, msg: "SEQ:MICROS:PAD"}` and the app sends everyone `toClient`
//! `"NAME:SEQ:MICROS:PAD"` (ferrio's `--app chat`, the Node bench's `chat.js`). SEQ numbers a
//! speaker's lines from 1 (or 0) up; MICROS is when it was said, on the run's clock.

use ferrio_protocol::{Packet, PacketBody};
use serde_json::json;

use crate::client::excerpt;
use crate::error::{Error, Result};

/// The `toServer` event packet that says line `seq` of speaker `nome`.
pub(crate) fn say(nome: &str, seq: u64, micros: u64, pad: &str) -> String {
    let event = json!({
        "name": "toServer",
        "args": [{ "nome": nome, "msg": format!("{seq}:{micros}:{pad}") }],
    });
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
    if name != "toClient" || !packet.endpoint.is_empty() || args.len() != 1 {
        return Err(unexpected());
    }
    let text = args[0].as_str().ok_or_else(unexpected)?;
    let mut fields = text.splitn(4, ':');
    let nome = fields.next().filter(|nome| !nome.is_empty());
    let seq = fields.next().and_then(|f| f.parse().ok());
    let micros = fields.next().and_then(|f| f.parse().ok());
    match (nome, seq, micros, fields.next()) {
        (Some(nome), Some(seq), Some(micros), Some(_pad)) => Ok(Line { nome, seq, micros }),
        _ => Err(unexpected()),
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
                micros: 3456
            }
        );
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
