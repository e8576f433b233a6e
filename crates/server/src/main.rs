//! The `ferrio` binary: flags, logging, signals, and [`ferrio_server::Server`].

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser;
use ferrio_server::Cli;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("FERRIO_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let settings = match cli.settings() {
        Ok(settings) => settings,
        Err(error) => return invalid_configuration(error),
    };
    let config = match settings.server_config() {
        Ok(config) => config,
        Err(error) => return invalid_configuration(error),
    };
    if cli.healthcheck {
        return healthcheck(&config).await;
    }
    let listen = settings.listen();
    // Built before binding: certificate and key files are read here, so a bad one is refused
    // as a configuration error before the gateway says it listens.
    let app = config.app;
    let tls = config.tls.is_some();
    let server = match ferrio_server::Server::new(config) {
        Ok(server) => server,
        Err(error) => return invalid_configuration(error),
    };
    ferrio_server::apps::install(app, server.hub());
    // Before the gateway says it listens: a node that cannot join its cluster never serves.
    if let Err(error) = server.join_cluster().await {
        eprintln!("ferrio: {error}");
        return ExitCode::from(1);
    }
    let listener = match TcpListener::bind((listen.bind, listen.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "ferrio: cannot listen on {}:{}: {error}",
                listen.bind, listen.port
            );
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        // Scripts and tests read this line to learn the port when they ask for port 0.
        Ok(addr) => {
            let scheme = if tls { "https" } else { "http" };
            println!("ferrio listening on {scheme}://{addr}");
            let _ = std::io::stdout().flush();
        }
        Err(error) => eprintln!("ferrio: {error}"),
    }
    match server
        .serve(listener, ferrio_server::shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferrio: {error}");
            ExitCode::from(1)
        }
    }
}

/// Refuses to start: the message names the setting at fault, and exit code 2 tells a
/// supervisor that retrying will not help.
fn invalid_configuration(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("ferrio: invalid configuration: {error}");
    ExitCode::from(2)
}

/// Asks the admin listener for `/healthz`; the image has no curl, so the binary checks itself.
async fn healthcheck(config: &ferrio_server::ServerConfig) -> ExitCode {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Some(admin) = &config.admin else {
        eprintln!("ferrio: healthcheck needs the admin listener (admin_port is 0)");
        return ExitCode::from(2);
    };
    let mut addr = admin.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<bool, std::io::Error>(answer.starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), check).await {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => {
            eprintln!("ferrio: {addr}/healthz did not answer 200");
            ExitCode::from(1)
        }
        Ok(Err(error)) => {
            eprintln!("ferrio: {addr}/healthz: {error}");
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!("ferrio: {addr}/healthz timed out");
            ExitCode::from(1)
        }
    }
}
