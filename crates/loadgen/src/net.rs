//! Where the load goes and where it comes from.
//!
//! Targets must be IPv4 loopback (`127.0.0.0/8`): the loadgen never sends anything elsewhere.
//! Client sockets are bound in turn to several loopback source addresses (`127.0.0.2`,
//! `127.0.0.3`, …) before they connect, so the number of connections is not capped by the
//! ephemeral ports of one address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::net::{TcpSocket, TcpStream};

use crate::error::{Error, Result};

/// The most source addresses `--sources` may ask for (`127.0.0.2` … `127.0.0.201`).
pub(crate) const MAX_SOURCES: usize = 200;

/// Fails unless `addr` is an IPv4 loopback address.
pub(crate) fn check_loopback(addr: SocketAddr, what: &str) -> Result<()> {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => Ok(()),
        _ => Err(Error::Setup(format!(
            "{what} {addr} is not an IPv4 loopback address (127.0.0.0/8); the loadgen only \
             talks to local servers"
        ))),
    }
}

/// Connects client sockets to loopback servers from a rotating set of source addresses.
#[derive(Debug)]
pub(crate) struct Net {
    sources: Vec<Ipv4Addr>,
    next: AtomicUsize,
    connects: AtomicU64,
}

impl Net {
    /// Uses `sources` source addresses starting at `127.0.0.2`; 0 lets the kernel choose.
    pub(crate) fn new(sources: usize) -> Result<Self> {
        if sources > MAX_SOURCES {
            return Err(Error::Setup(format!(
                "--sources {sources} is above the maximum of {MAX_SOURCES}"
            )));
        }
        let sources = (0..sources)
            .map(|index| {
                // index < 200, so the last octet stays within 2..=201.
                let octet = u8::try_from(index + 2).unwrap_or(u8::MAX);
                Ipv4Addr::new(127, 0, 0, octet)
            })
            .collect();
        Ok(Net {
            sources,
            next: AtomicUsize::new(0),
            connects: AtomicU64::new(0),
        })
    }

    /// Opens a TCP connection to `target` (which must be loopback), with Nagle off.
    pub(crate) async fn connect(&self, target: SocketAddr) -> Result<TcpStream> {
        check_loopback(target, "target")?;
        let socket = TcpSocket::new_v4().map_err(Error::io("creating a socket"))?;
        if !self.sources.is_empty() {
            let index = self.next.fetch_add(1, Ordering::Relaxed) % self.sources.len();
            socket
                .bind(SocketAddr::new(IpAddr::V4(self.sources[index]), 0))
                .map_err(Error::io("binding a source address"))?;
        }
        let stream = socket
            .connect(target)
            .await
            .map_err(Error::io("connecting"))?;
        stream
            .set_nodelay(true)
            .map_err(Error::io("setting nodelay"))?;
        self.connects.fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }

    /// How many connections were opened so far.
    pub(crate) fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
}
