//! The process helpers, on small shell programs that act as a gateway would: one prints the
//! listening line of a gateway that runs in this test, another exits, another says something
//! else first.

use std::process::Command;
use std::time::Duration;

use ferrio_testkit::{
    GatewayProcess, HANDSHAKE_PATH, LISTENING_PREFIX, TestServer, ferrio_command, free_port,
    retry_until, wait_exit,
};

/// A shell running `script`.
fn shell(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_is_found_through_its_listening_line_and_its_log_is_kept() {
    let server = TestServer::start_default().await;
    let script = format!(
        "echo '{LISTENING_PREFIX}{}'; echo 'a log line' >&2; exec sleep 30",
        server.addr
    );
    let mut gateway = GatewayProcess::spawn(shell(&script));
    assert_eq!(gateway.addr, server.addr);
    let handshake = gateway.get(HANDSHAKE_PATH).await;
    assert_eq!(handshake.status, 200, "{}", handshake.text());
    let logged = retry_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        async || gateway.stderr(),
        |stderr| stderr.contains("a log line"),
    )
    .await;
    assert!(logged.is_ok(), "{logged:?}");
    assert_eq!(
        wait_exit(&mut gateway.child, Duration::from_millis(100)),
        None
    );
    gateway.child.kill().expect("kill");
    assert!(wait_exit(&mut gateway.child, Duration::from_secs(5)).is_some());
}

#[test]
#[should_panic(expected = "unexpected first line")]
fn another_first_line_fails_the_test() {
    GatewayProcess::spawn(shell("echo 'starting up'; exec sleep 30"));
}

#[test]
fn wait_exit_gives_the_status_of_a_process_that_ends() {
    let mut child = shell("exit 3").spawn().expect("sh");
    let status = wait_exit(&mut child, Duration::from_secs(5)).expect("exited");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn a_ferrio_command_sets_its_log_level_and_the_given_variables() {
    let output = ferrio_command("env", &[], &[("FERRIO_PORT", "1")])
        .output()
        .expect("env");
    let variables = String::from_utf8_lossy(&output.stdout);
    let mut ferrio: Vec<&str> = variables
        .lines()
        .filter(|line| line.starts_with("FERRIO_"))
        .collect();
    ferrio.sort_unstable();
    assert_eq!(ferrio, ["FERRIO_LOG=info", "FERRIO_PORT=1"], "{variables}");
}

#[test]
fn a_free_port_can_be_bound() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
}
