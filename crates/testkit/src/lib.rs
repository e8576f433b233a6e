//! Test helpers shared by ferrio's tests. Everything is re-exported here, at the crate root;
//! each helper lives in the module of its concern:
//!
//! | module | what |
//! |---|---|
//! | `server` | [`TestServer`]: the gateway with the conformance app on `127.0.0.1:0`, its observation log and hub; [`short_timers`]; [`clustered`] nodes; handshakes; the URL of every transport ([`xhr_path`], [`ws_path`]…) |
//! | `observation` | predicates over what the app observed ([`disconnected`], [`any_connection`], [`is_connection`]…) and [`TestServer::assert_observed`] |
//! | `http` | one request per connection ([`request`], [`HttpResponse`]), hand-written heads and chunked bodies ([`request_head`], [`chunk`]), reads of raw connections with a deadline ([`read_for`], [`read_until_closed`], [`read_at_least`], [`read_response_head`]), preflights |
//! | `polling` | packets POSTed on the HTTP transports, xhr-polling sessions and polls, [`TestServer::assert_polling_echo`] |
//! | `packets` | packet texts: [`ECHO_PING`], [`echo_of_length`], [`packets_of`] |
//! | `websocket` | WebSocket sessions through tungstenite ([`WsClient`], [`websocket_at`], [`next_packet_within`], [`assert_websocket_echo`]) |
//! | `rfc6455` | RFC 6455 byte by byte: [`opcode`], [`Frame`], [`encode_frame`], [`parse_frame`], [`RawUpgrade`], [`RawWs`] |
//! | `hixie` | draft 76: [`hixie_upgrade`], the sample keys, [`HixieWs`], [`assert_c51_reply`] |
//! | `streaming` | htmlfile, xhr-multipart and jsonp-polling: [`StreamingResponse`], [`MultipartStream`], their decoders and form encoding |
//! | `heartbeats` | the heartbeat timelines of streaming transports under the short timers |
//! | `es3` | the ES3 parse of script answers by acorn under Node ([`es3_string_literals`]) |
//! | `admin` | the admin listener and its Prometheus metrics ([`Metrics`], [`TestServer::metrics_until`]) |
//! | `attack` | clients that never read ([`stalled_request`], [`TestServer::stalled_websocket`]) and the gateway's allocated memory ([`TestServer::allocated_bytes`], [`weighing_memory`]) |
//! | `backend` | a webhook [`Backend`] recording every call |
//! | `crowd` | a [`Crowd`] of healthy xhr-polling and WebSocket clients chatting beside an attack, [`Crowd::finish`] proving nothing was lost and nobody disconnected |
//! | `ledger` | a [`ChatLedger`] of xhr-polling and WebSocket clients chatting through the chat application on any gateway address until their sessions end, [`ChatLedger::finish`] proving every accepted line reached everyone and saying how each session ended |
//! | `tls` | a [`SelfSigned`] certificate and TLS clients |
//! | `wait` | [`within`] (a bounded test body) and [`retry_until`] |
//! | `logs` | the test process's log lines ([`captured_logs`], [`numeric_field`]) |
//! | `process` | the real `ferrio` binary as a process: [`ferrio_command`], [`GatewayProcess`], [`free_port`], [`wait_exit`] |
//! | `redis` | a real `redis-server` on a free port ([`RedisServer`]): commands, `SCAN`, kills and restarts on the same port with or without persistence, paused and cut clients |
//! | `nginx` | a real nginx balancing round-robin over ferrio nodes ([`Nginx`]): per request over HTTP with WebSocket upgrades, or per connection at L4; its access log names the node of each |
//! | `tempdir` | a [`TempDir`] removed on drop, for the files of the helpers above and of [`SelfSigned`] |

mod admin;
mod attack;
mod backend;
mod crowd;
mod es3;
mod heartbeats;
mod hixie;
mod http;
mod ledger;
mod logs;
pub mod nginx;
mod observation;
mod packets;
mod polling;
mod process;
pub mod redis;
mod rfc6455;
mod server;
mod streaming;
mod tempdir;
mod tls;
mod wait;
mod websocket;

pub use admin::{Metrics, Sample};
pub use attack::{
    STALLING_PACKET_BYTES, assert_held_then_freed, stalled_request, weighing_memory,
    write_timeout_config,
};
pub use backend::{Backend, BackendCall, BackendReply};
pub use crowd::{Crowd, CrowdReport};
pub use es3::es3_string_literals;
pub use heartbeats::assert_unanswered_heartbeat_timeline;
pub use hixie::{
    HIXIE_DIGEST, HIXIE_KEY1, HIXIE_KEY2, HIXIE_KEY3, HixieMessage, HixieWs, assert_c51_reply,
    hixie_headers_with, hixie_request_head, hixie_sample_headers, hixie_text, hixie_upgrade,
    parse_hixie,
};
pub use http::{
    HttpResponse, LAST_CHUNK, ResponseHead, assert_preflight_allows, await_answer, chunk,
    raw_exchange, read_at_least, read_for, read_response_head, read_until_closed, request,
    request_head, request_on, status_code, status_line,
};
pub use ledger::{ChatLedger, Ending, LedgerReport};
pub use logs::{CapturedLogs, captured_logs, numeric_field};
pub use nginx::Nginx;
pub use observation::{
    any_connection, any_disconnect, any_disconnect_of, connected_to, disconnected,
    disconnected_from, is_connection,
};
pub use packets::{ECHO_PING, echo_of_length, packets_of};
pub use process::{
    GatewayProcess, LISTENING_PREFIX, PipeText, START_TIMEOUT, ferrio_command, free_port, wait_exit,
};
pub use redis::RedisServer;
pub use rfc6455::{
    Frame, LengthForm, RawUpgrade, RawWs, SAMPLE_MASK, SAMPLE_WS_KEY, encode_frame,
    encode_frame_with, opcode, parse_frame, raw_upgrade, raw_upgrade_version,
};
pub use server::{
    HANDSHAKE_PATH, TestServer, clustered, flashsocket_path, forced_disconnect_path, htmlfile_path,
    jsonp_path, multipart_path, short_timers, ws_path, xhr_path,
};
pub use streaming::{
    MultipartEvent, MultipartStream, StreamEvent, StreamingResponse, form_urlencode,
    htmlfile_payload, jsonp_form, jsonp_payload,
};
pub use tempdir::TempDir;
pub use tls::{SelfSigned, connector_trusting, tls_connect, tls_request};
pub use wait::{retry_until, within};
pub use websocket::{
    WsClient, assert_websocket_echo, next_packet_within, next_text, next_text_within, send_text,
    websocket_at,
};
