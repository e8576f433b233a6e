//! The process helpers against the real binary: a gateway started from the command line is
//! found through its listening line and answers a handshake; a free port can be bound.

use std::time::Duration;

use ferrio_testkit::{GatewayProcess, HANDSHAKE_PATH, free_port, wait_exit, xhr_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_gateway_answers_on_the_address_it_printed() {
    let mut gateway = GatewayProcess::start(
        &[
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--app",
            "conformance",
        ],
        &[],
    );
    assert!(gateway.addr.ip().is_loopback(), "{}", gateway.addr);
    let handshake = gateway.get(HANDSHAKE_PATH).await;
    assert_eq!(handshake.status, 200, "{}", gateway.stderr());
    let sid = ferrio_protocol::HandshakeBody::parse(&handshake.text())
        .expect("handshake body")
        .sid;
    let first = gateway.get(&xhr_path(&sid)).await.text();
    assert_eq!(first, "1::");
    assert_eq!(gateway.post(&xhr_path(&sid), "0::").await.text(), "1");
    gateway.child.kill().expect("kill");
    assert!(wait_exit(&mut gateway.child, Duration::from_secs(5)).is_some());
}

#[test]
fn a_free_port_can_be_bound() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
}
