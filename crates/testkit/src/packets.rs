//! Packet texts the tests send and read: `echo` events of a chosen size, the unframing of a
//! polling body.

/// An `echo` event the conformance application answers with the very same packet: what the
/// tests send to check that a session still works.
pub const ECHO_PING: &str = r#"5:::{"name":"echo","args":["ping"]}"#;

/// The text of an `echo` event whose packet is exactly `total` bytes long (at least 31).
pub fn echo_of_length(total: usize) -> String {
    let envelope = r#"5:::{"name":"echo","args":[""]}"#.len();
    let packet = format!(
        r#"5:::{{"name":"echo","args":["{}"]}}"#,
        "a".repeat(total - envelope)
    );
    assert_eq!(packet.len(), total);
    packet
}

/// The packets of a polling body: the body itself when it is one bare packet, else the
/// unframed payload. Panics on a body whose framing does not add up.
pub fn packets_of(body: &str) -> Vec<String> {
    ferrio_protocol::unframe(body)
        .unwrap_or_else(|error| panic!("body {body:?} is not a valid payload: {error}"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}
