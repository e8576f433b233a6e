//! The Flash socket policy (docs/protocol.md §5.2): Flash refuses raw TCP until it has read a
//! policy naming the origins and ports it may reach. Answered on its own port and inline on the
//! main port, where the 23-byte request is recognised before any HTTP parsing (docs/protocol.md §8
//! #10).

use std::sync::Arc;
use std::time::Duration;

use ferrio_hub::Origins;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// What Flash sends: `<policy-file-request/>` and a NUL.
pub(crate) const POLICY_REQUEST: &[u8; 23] = b"<policy-file-request/>\0";

/// How long a connection that starts with `<` may take to finish the request.
const SNIFF_TIMEOUT: Duration = Duration::from_secs(2);

/// The policy document for `origins`, with the trailing NUL Adobe asks for (docs/protocol.md §8
/// #11).
///
/// Each pattern that Flash can express becomes `<allow-access-from domain="H" to-ports="*"/>`.
/// The host maps as written: Flash reads `*` and `*.example.com` (the domain itself included)
/// exactly as the origins list does. The two ports mean different things, though: the list's is
/// the page's port, Flash's `to-ports` names the ports of this host that the SWF may open.
/// The list says nothing about the latter, so `to-ports` is `*` (from a policy served on a port
/// of 1024 or above Flash grants only ports of 1024 or above anyway). The former Flash cannot
/// express at all: a pattern with a page port (`app.example.com:443`) would, as a domain
/// alone, also admit SWFs from that host on every other port, so it is left out (and said so
/// at start) rather than widened; `app.example.com:*` is the pattern that lets Flash pages of a
/// host in. Left out, such pages fall back to the next transport.
pub(crate) fn policy_document(origins: &Origins) -> Arc<[u8]> {
    let mut document = String::from(
        "<?xml version=\"1.0\"?><!DOCTYPE cross-domain-policy SYSTEM \
         \"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd\"><cross-domain-policy>",
    );
    for (host, port) in origins.patterns() {
        if let Some(port) = port {
            warn!(
                pattern = %format_args!("{host}:{port}"),
                "the Flash socket policy leaves out an origin pattern with a page port, which \
                 Flash cannot express; list {host}:* to let Flash pages of that host connect"
            );
            continue;
        }
        document.push_str("<allow-access-from domain=\"");
        document.push_str(&xml_attribute(host));
        document.push_str("\" to-ports=\"*\"/>");
    }
    document.push_str("</cross-domain-policy>\0");
    Arc::from(document.into_bytes())
}

fn xml_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Whether a new connection on the main port is a policy request. Looks only at bytes the
/// kernel already holds (peeking, so an HTTP request is left untouched for the HTTP parser):
/// a first byte other than `<` decides at once, so HTTP pays one extra peek per connection.
pub(crate) async fn is_policy_request(stream: &TcpStream) -> bool {
    let mut buffer = [0u8; POLICY_REQUEST.len()];
    let sniff = async {
        loop {
            let seen = match stream.peek(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(seen) => seen,
            };
            if buffer[..seen] != POLICY_REQUEST[..seen] {
                return false;
            }
            if seen == POLICY_REQUEST.len() {
                return true;
            }
            // A prefix of the request: give the rest a moment to arrive.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(SNIFF_TIMEOUT, sniff)
        .await
        .unwrap_or(false)
}

/// Writes the policy and closes the connection.
pub(crate) async fn answer(mut stream: TcpStream, policy: &[u8]) {
    if let Err(error) = stream.write_all(policy).await {
        debug!(%error, "policy answer failed");
    }
    let _ = stream.shutdown().await;
}

/// Serves the policy on its own port: every connection gets it at once, as the reference
/// does, whatever it sends.
pub(crate) async fn serve_policy_port(listener: TcpListener, policy: Arc<[u8]>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "flash policy responder listening");
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let policy = Arc::clone(&policy);
                tokio::spawn(async move { answer(stream, &policy).await });
            }
            Err(error) => {
                warn!(%error, "policy port accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_allows_everything_and_ends_with_nul() {
        let policy = policy_document(&Origins::any());
        let text = std::str::from_utf8(&policy).unwrap();
        assert!(text.contains(r#"<allow-access-from domain="*" to-ports="*"/>"#));
        assert!(text.starts_with("<?xml version=\"1.0\"?>"));
        assert!(text.ends_with("</cross-domain-policy>\0"));
        assert_eq!(policy.len(), 207, "the reference's 206 bytes plus the NUL");
    }

    #[test]
    fn wildcard_hosts_map_as_written_and_page_ports_are_left_out() {
        let origins: Origins = "good.example:80,*.example.org:*,app.example.net:*,*:8080"
            .parse()
            .unwrap();
        let text = String::from_utf8(policy_document(&origins).to_vec()).unwrap();
        assert!(text.contains(r#"<allow-access-from domain="*.example.org" to-ports="*"/>"#));
        assert!(text.contains(r#"<allow-access-from domain="app.example.net" to-ports="*"/>"#));
        assert_eq!(text.matches("<allow-access-from").count(), 2, "{text}");
        assert!(
            !text.contains("good.example"),
            "a page port cannot be expressed"
        );
        assert!(!text.contains(r#"domain="*""#), "*:8080 is not every page");
    }

    #[test]
    fn a_list_of_page_ports_only_gives_a_policy_that_allows_nothing() {
        let origins: Origins = "app.example.com:443".parse().unwrap();
        let text = String::from_utf8(policy_document(&origins).to_vec()).unwrap();
        assert!(!text.contains("<allow-access-from"), "{text}");
        assert!(text.ends_with("<cross-domain-policy></cross-domain-policy>\0"));
    }
}
