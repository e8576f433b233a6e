//! Embedding ferrio in a Rust program: your own handlers on the hub, the gateway's transports
//! and files around them. Run with `cargo run -p ferrio-server --example embed`, then open
//! http://127.0.0.1:3000/ or connect any Socket.IO 0.9 client.

use ferrio_hub::Authorization;
use ferrio_server::{Server, ServerConfig};
use serde_json::json;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = Server::new(ServerConfig::default())?;
    let io = server.hub();

    // Refuse handshakes without a `name` query parameter (`io.connect('/?name=ana')`).
    io.authorize(|handshake| {
        if handshake.query("name").is_some_and(|name| !name.is_empty()) {
            Authorization::Accept
        } else {
            Authorization::Refuse
        }
    });

    io.sockets().on_connection(|socket| {
        let name = socket
            .handshake()
            .query("name")
            .unwrap_or_default()
            .to_owned();
        socket.join("lobby");
        socket.to("lobby").emit("joined", vec![json!(name)]);
    });

    // The chat of the demo page, with an ack telling the sender how many others got it.
    io.sockets().on("toServer", |socket, args, ack| {
        let data = args.first().cloned().unwrap_or_default();
        let line = format!(
            "{}:{}",
            data["nome"].as_str().unwrap_or("?"),
            data["msg"].as_str().unwrap_or("")
        );
        socket.emit("toClient", vec![json!(line)]);
        let others = socket.broadcast().emit("toClient", vec![json!(line)]);
        if let Some(ack) = ack {
            ack.send(vec![json!(others)]);
        }
    });

    io.sockets().on_disconnect(|socket, reason| {
        tracing::info!(sid = socket.id(), %reason, "left");
    });

    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    server
        .serve(listener, ferrio_server::shutdown_signal())
        .await?;
    Ok(())
}
