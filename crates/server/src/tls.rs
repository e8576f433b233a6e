//! TLS on the public listener, with rustls: certificate and key are read at start, so a bad
//! file stops the gateway before it listens.

use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ServerConfigError, TlsFiles};

/// The acceptor for `files`: HTTP/1.1 only (WebSocket upgrades need it).
pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerConfigError> {
    let invalid = |setting: &str, why: String| ServerConfigError::Invalid {
        setting: setting.to_owned(),
        why,
    };
    let certificates: Vec<CertificateDer<'static>> = {
        let file = File::open(&files.cert)
            .map_err(|e| invalid("tls_cert", format!("{}: {e}", files.cert.display())))?;
        rustls_pemfile::certs(&mut BufReader::new(file))
            .collect::<Result<_, _>>()
            .map_err(|e| invalid("tls_cert", format!("{}: {e}", files.cert.display())))?
    };
    if certificates.is_empty() {
        return Err(invalid(
            "tls_cert",
            format!("{}: no PEM certificate in it", files.cert.display()),
        ));
    }
    let key: PrivateKeyDer<'static> = {
        let file = File::open(&files.key)
            .map_err(|e| invalid("tls_key", format!("{}: {e}", files.key.display())))?;
        rustls_pemfile::private_key(&mut BufReader::new(file))
            .map_err(|e| invalid("tls_key", format!("{}: {e}", files.key.display())))?
            .ok_or_else(|| {
                invalid(
                    "tls_key",
                    format!("{}: no PEM private key in it", files.key.display()),
                )
            })?
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = RustlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls_cert", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|e| {
            invalid(
                "tls_key",
                format!("does not match the certificate or is unusable: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
