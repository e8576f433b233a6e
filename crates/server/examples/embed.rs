//! Embedding ferrio in a Rust program: your own handlers on the hub, the gateway's transports
//! and files around them. Run with `cargo run -p ferrio-server --example embed [port]`, then
//! open http://127.0.0.1:3000/?name=ana or connect any Socket.IO client with a `name` query.
//!
//! - The handshake waits on an asynchronous lookup of the client's name (where a real
//!   application asks its database), which refuses unknown names and keeps the user's record.
//! - `toServer` is the chat of the demo page, its line read into a struct, with an ack telling
//!   the sender how many others got it.
//! - `hello` asks the sender for its profile and waits for the typed answer, at most two
//!   seconds, then tells the lobby who joined.

// The server ends its own sessions on shutdown: only the port and logging helpers are used.
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::{AckSender, Authorization, Data, Socket};
use ferrio_server::{Server, ServerConfig};
use serde::{Deserialize, Serialize};

/// A chat line as the demo page sends it.
#[derive(Debug, Deserialize)]
struct Line {
    nome: String,
    msg: String,
}

/// What a client answers when asked for its profile.
#[derive(Debug, Deserialize)]
struct Profile {
    color: String,
}

/// Who joined the lobby, as the others are told.
#[derive(Debug, Serialize)]
struct Joined<'a> {
    name: &'a str,
    color: &'a str,
}

/// The users the gateway admits: a stand-in for a database, answering asynchronously as one
/// would.
#[derive(Debug, Default)]
struct Directory {
    banned: HashMap<String, &'static str>,
}

impl Directory {
    async fn find(&self, name: &str) -> Result<Option<String>, String> {
        tokio::task::yield_now().await;
        match self.banned.get(name) {
            Some(why) => Err(format!("{name} is banned: {why}")),
            None if name.is_empty() => Ok(None),
            None => Ok(Some(name.to_owned())),
        }
    }
}

/// How long `hello` waits for a client's profile.
const PROFILE_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    support::init_logging();
    let port = support::port_argument()?;
    let server = Server::new(ServerConfig::default())?;
    let io = server.hub();

    // Admit only names the directory knows (`io.connect('/?name=ana')`); the handshake waits
    // for the lookup, and the name goes into `socket.handshake().data`.
    let directory = Arc::new(Directory {
        banned: HashMap::from([("mallory".to_owned(), "spam")]),
    });
    io.authorize_async(move |mut handshake| {
        let directory = Arc::clone(&directory);
        async move {
            let name = handshake.query("name").unwrap_or_default().to_owned();
            match directory.find(&name).await {
                Ok(Some(user)) => {
                    handshake.data.insert("user".to_owned(), user.into());
                    Ok(handshake)
                }
                Ok(None) => Err(Authorization::Refuse),
                Err(why) => Err(Authorization::Error(why)),
            }
        }
    });

    io.sockets().on_connection(|socket| socket.join("lobby"));

    io.sockets().on(
        "toServer",
        |socket: Socket, Data(line): Data<Line>, ack: Option<AckSender>| async move {
            let text = format!("{}:{}", line.nome, line.msg);
            socket.emit("toClient", &text);
            let others = socket.broadcast().emit("toClient", &text);
            if let Some(ack) = ack {
                ack.send(others);
            }
        },
    );

    io.sockets().on("hello", |socket: Socket| async move {
        let asked = socket
            .timeout(PROFILE_TIMEOUT)
            .emit_with_ack::<Profile>("profile", ())
            .await;
        let color = match asked {
            Ok(profile) => profile.color,
            Err(error) => {
                tracing::info!(sid = socket.id(), %error, "no profile; the default color");
                "gray".to_owned()
            }
        };
        let user = socket.handshake().data.get("user");
        let name = user.and_then(|user| user.as_str()).unwrap_or_default();
        socket.to("lobby").emit(
            "joined",
            Joined {
                name,
                color: &color,
            },
        );
    });

    io.sockets().on_disconnect(|socket, reason| {
        tracing::info!(sid = socket.id(), %reason, "left");
    });

    let listener = support::listen(port).await?;
    server
        .serve(listener, ferrio_server::shutdown_signal())
        .await?;
    Ok(())
}
