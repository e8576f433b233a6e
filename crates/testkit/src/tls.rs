//! TLS clients for the gateway's HTTPS listener: a self-signed certificate generated for the
//! test ([`SelfSigned`]), connectors that trust it or nothing ([`connector_trusting`]), and
//! requests over TLS ([`tls_connect`], [`tls_request`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::http::REQUEST_TIMEOUT;
use crate::{HttpResponse, TempDir, request_on};

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files into a
/// fresh temporary directory (removed on drop).
#[derive(Debug)]
pub struct SelfSigned {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The PEM certificate.
    pub cert_path: PathBuf,
    /// The PEM private key (PKCS#8).
    pub key_path: PathBuf,
    /// The certificate, DER, for clients to trust.
    pub cert_der: CertificateDer<'static>,
    /// Owns `dir`: removes it on drop.
    _scratch: TempDir,
}

impl SelfSigned {
    /// Generates the certificate and writes `cert.pem` and `key.pem`.
    pub fn generate() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("generate a self-signed certificate");
        let scratch = TempDir::new("tls");
        let dir = scratch.path().to_path_buf();
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, certified.cert.pem()).expect("write cert.pem");
        std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key.pem");
        SelfSigned {
            dir,
            cert_path,
            key_path,
            cert_der: certified.cert.der().clone(),
            _scratch: scratch,
        }
    }

    /// The gateway's TLS setting for these files.
    pub fn files(&self) -> ferrio_server::TlsFiles {
        ferrio_server::TlsFiles {
            cert: self.cert_path.clone(),
            key: self.key_path.clone(),
        }
    }

    /// A client connector that trusts only this certificate.
    pub fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert_der.clone())
            .expect("trust the test certificate");
        connector_trusting(roots)
    }
}

/// A client connector with the ring provider and the default protocol versions that trusts
/// exactly `roots` (none, for a client that must refuse the gateway's certificate).
pub fn connector_trusting(roots: RootCertStore) -> TlsConnector {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Connects to `addr` and completes a TLS handshake for the name `localhost`.
pub async fn tls_connect(addr: SocketAddr, connector: &TlsConnector) -> TlsStream<TcpStream> {
    let connect = async {
        let stream = TcpStream::connect(addr).await.expect("tcp connect");
        let name = ServerName::try_from("localhost").expect("server name");
        connector
            .connect(name, stream)
            .await
            .expect("TLS handshake")
    };
    tokio::time::timeout(REQUEST_TIMEOUT, connect)
        .await
        .expect("TLS connect timed out")
}

/// One HTTPS request to `addr` on a fresh TLS connection.
pub async fn tls_request(
    addr: SocketAddr,
    connector: &TlsConnector,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpResponse {
    let stream = tls_connect(addr, connector).await;
    let host = format!("localhost:{}", addr.port());
    request_on(stream, &host, method, path, headers, body).await
}
