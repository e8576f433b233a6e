//! The real Redis that tests of several ferrio nodes run on: `RedisServer` answers, forgets or
//! keeps its data across a restart as configured, pauses and cuts its clients.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ferrio_testkit::RedisServer;

const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn redis_answers_commands_and_scans_keys() {
    let redis = RedisServer::start();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port()));
    assert_eq!(
        redis.command(&["SET", "ferrio:a", "one"]).as_deref(),
        Ok("OK")
    );
    assert_eq!(redis.command(&["GET", "ferrio:a"]).as_deref(), Ok("one"));
    assert_eq!(
        redis.command(&["GET", "ferrio:none"]).as_deref(),
        Ok("(nil)")
    );
    assert_eq!(redis.command(&["INCR", "ferrio:n"]).as_deref(), Ok("1"));
    assert_eq!(
        redis
            .command(&["RPUSH", "other", "x", "with space", ""])
            .as_deref(),
        Ok("3")
    );
    assert_eq!(
        redis.command(&["LRANGE", "other", "0", "-1"]).as_deref(),
        Ok("x\nwith space\n")
    );
    assert_eq!(redis.keys("ferrio:*"), ["ferrio:a", "ferrio:n"]);
    assert_eq!(redis.keys("nothing:*"), Vec::<String>::new());
    let error = redis
        .command(&["NO-SUCH-COMMAND"])
        .expect_err("an error reply");
    assert!(error.contains("unknown command"), "{error}");
}

#[test]
fn a_restart_loses_the_data_of_a_server_without_persistence() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["GET", "k"]).as_deref(), Ok("(nil)"));
}

#[test]
fn a_restart_keeps_what_a_persistent_server_acknowledged() {
    let mut redis = RedisServer::start_persistent();
    let port = redis.port();
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    let id = redis
        .command(&["XADD", "ferrio:broadcasts", "*", "packet", "5:::{}"])
        .expect("XADD");
    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["GET", "k"]).as_deref(), Ok("v"));
    let entries = redis
        .command(&["XRANGE", "ferrio:broadcasts", "-", "+"])
        .expect("XRANGE");
    assert_eq!(entries, format!("{id}\npacket\n5:::{{}}"));
}

#[test]
fn a_stopped_server_refuses_until_started_again_on_its_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.stop();
    assert!(!redis.is_running());
    let refused = redis.command(&["PING"]).expect_err("nothing listens");
    assert!(refused.contains("connect"), "{refused}");
    redis.start_again();
    assert!(redis.is_running());
    assert_eq!(redis.port(), port);
    assert_eq!(redis.command(&["PING"]).as_deref(), Ok("PONG"));
}

#[test]
fn client_kill_counts_the_connections_of_the_kind_it_cuts() {
    let redis = RedisServer::start();
    let mut normal: Vec<BufReader<TcpStream>> = (0..2).map(|_| connect(redis.addr())).collect();
    for client in &mut normal {
        send(client, "PING\r\n");
        assert_eq!(read_line(client), "+PONG\r\n");
    }
    let mut subscriber = connect(redis.addr());
    send(&mut subscriber, "SUBSCRIBE ferrio:channel\r\n");
    // *3 $9 subscribe $14 ferrio:channel :1
    while !read_line(&mut subscriber).starts_with(':') {}

    assert_eq!(redis.kill_clients("pubsub"), 1);
    assert_eq!(redis.kill_clients("normal"), 2);
    assert_eq!(redis.kill_clients("normal"), 0);
    for client in normal.iter_mut().chain([&mut subscriber]) {
        assert_eq!(client.read_line(&mut String::new()).expect("EOF"), 0);
    }
}

#[test]
fn paused_clients_wait_until_the_pause_ends() {
    let redis = RedisServer::start();
    let paused = Instant::now();
    redis.pause_clients(Duration::from_millis(300));
    assert_eq!(redis.command(&["SET", "k", "v"]).as_deref(), Ok("OK"));
    assert!(paused.elapsed() >= Duration::from_millis(250), "{paused:?}");
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    BufReader::new(stream)
}

fn send(client: &mut BufReader<TcpStream>, text: &str) {
    client.get_mut().write_all(text.as_bytes()).expect("write");
}

fn read_line(client: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    client.read_line(&mut line).expect("a line");
    line
}
