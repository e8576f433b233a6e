//! The `origins` allow-list (docs/protocol.md §2.6): `host:port` patterns.
//!
//! The pattern language:
//!
//! - host `*`: any host;
//! - host `*.example.com`: `example.com` itself and every name under it (`app.example.com`,
//!   `a.b.example.com`), never a name that merely ends in the same letters
//!   (`badexample.com`). The apex is included because it is the same site under the same
//!   owner, and because the Flash socket policy, which must agree with this list, reads
//!   `*.example.com` that way and cannot say "subdomains only";
//! - any other host: that host, IP addresses included (`[::1]` in brackets), without regard
//!   to case;
//! - port `*`: any port, or none; a number: that port, where an origin that names no port
//!   has its scheme's default (80 for `http`/`ws`, 443 for `https`/`wss`; other schemes have
//!   none and match only `*`).
//!
//! The literal origin `null` (sandboxed and local pages) matches only `*:*`.

use std::fmt;
use std::str::FromStr;

/// One `host:port` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OriginPattern {
    /// Lower-cased, as written: `*`, `*.` and a domain, or one host.
    host: String,
    /// `None` for `*`.
    port: Option<u16>,
}

impl OriginPattern {
    fn matches(&self, host: &str, port: Option<u16>) -> bool {
        let host_matches = if self.host == "*" {
            true
        } else if let Some(domain) = self.host.strip_prefix("*.") {
            host == domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|label| label.ends_with('.'))
        } else {
            host == self.host
        };
        host_matches && self.port.is_none_or(|wanted| port == Some(wanted))
    }
}

/// The origins a page may connect from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    patterns: Vec<OriginPattern>,
}

/// A pattern that is not `host:port` in the language of [`Origins`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "origin pattern `{0}` is not host:port (host `*`, `*.example.com` or a name without a \
     scheme; port `*` or 1-65535)"
)]
pub struct OriginsParseError(String);

impl Origins {
    /// Everything is allowed (`*:*`), the default.
    pub fn any() -> Self {
        Origins {
            patterns: vec![OriginPattern {
                host: "*".into(),
                port: None,
            }],
        }
    }

    /// Whether every origin is allowed.
    pub fn allows_any(&self) -> bool {
        self.patterns
            .iter()
            .any(|p| p.host == "*" && p.port.is_none())
    }

    /// The patterns as `(host, port)`: the host pattern as written (lower-cased) and the port,
    /// `None` for `*`. For the Flash socket policy that mirrors this list.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, Option<u16>)> {
        self.patterns.iter().map(|p| (p.host.as_str(), p.port))
    }

    /// The handshake's check: the origin is taken from `Origin`, falling back to `Referer` as
    /// the reference does, and a request that names neither is refused unless everything is
    /// allowed.
    ///
    /// ```
    /// use ferrio_hub::Origins;
    /// let origins: Origins = "good.example:80, *.example.com:*".parse().unwrap();
    /// assert!(origins.allows(Some("http://good.example"), None));
    /// assert!(origins.allows(None, Some("http://good.example/x")));
    /// assert!(origins.allows(Some("https://app.example.com:8443"), None));
    /// assert!(origins.allows(Some("http://example.com"), None));
    /// assert!(!origins.allows(Some("http://badexample.com"), None));
    /// assert!(!origins.allows(Some("https://good.example"), None));
    /// assert!(!origins.allows(None, None));
    /// ```
    pub fn allows(&self, origin: Option<&str>, referer: Option<&str>) -> bool {
        if self.allows_any() {
            return true;
        }
        origin.or(referer).is_some_and(|named| self.admits(named))
    }

    /// The check of a request on an issued session: refused only when it names an origin
    /// (`Origin`, else `Referer`) outside the list. A request that names none is not refused:
    /// same-origin GETs, old browsers and pages under a no-referrer policy send neither, and
    /// the session id, issued only to a handshake that passed [`Origins::allows`], is what
    /// authorizes it.
    ///
    /// ```
    /// use ferrio_hub::Origins;
    /// let origins: Origins = "good.example:*".parse().unwrap();
    /// assert!(origins.refuses(Some("http://evil.example"), None));
    /// assert!(origins.refuses(None, Some("http://evil.example/page")));
    /// assert!(origins.refuses(Some("null"), None));
    /// assert!(!origins.refuses(Some("http://good.example:8080"), None));
    /// assert!(!origins.refuses(None, None));
    /// ```
    pub fn refuses(&self, origin: Option<&str>, referer: Option<&str>) -> bool {
        if self.allows_any() {
            return false;
        }
        origin.or(referer).is_some_and(|named| !self.admits(named))
    }

    /// Whether one origin or URL (`http://a.example:8080`, `https://a.example/page`) is in the
    /// list. Anything that does not parse as `scheme://host[:port]…` is not.
    fn admits(&self, named: &str) -> bool {
        let Some((host, port)) = host_and_port(named) else {
            return false;
        };
        self.patterns.iter().any(|p| p.matches(&host, port))
    }
}

impl Default for Origins {
    fn default() -> Self {
        Origins::any()
    }
}

/// The lower-cased host and the port of an origin or URL such as
/// `http://a.example:8080/path`; the port is the scheme's default when none is written, and
/// `None` when the scheme has no default.
fn host_and_port(url: &str) -> Option<(String, Option<u16>)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    // An IPv6 address keeps its brackets; its colons are not a port separator.
    let (host, port) = match authority.strip_prefix('[') {
        Some(inside) => {
            let (address, after) = inside.split_once(']')?;
            (&authority[..address.len() + 2], after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        // A port that is written must be a port: `host:99999` or `host:x` is no origin.
        Some(port) if !port.is_empty() => Some(port.parse::<u16>().ok()?),
        _ => match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        },
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Whether `host` is a host pattern of the language: `*`, `*.` and a domain, or one host.
fn is_host_pattern(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    if let Some(inside) = name.strip_prefix('[') {
        // An IPv6 address, never under a wildcard.
        return name == host
            && inside
                .strip_suffix(']')
                .is_some_and(|address| address.parse::<std::net::Ipv6Addr>().is_ok());
    }
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl FromStr for Origins {
    type Err = OriginsParseError;

    /// Parses a list separated by commas or white space, such as
    /// `app.example.com:443, *.example.com:*`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut patterns = Vec::new();
        for item in s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            let invalid = || OriginsParseError(item.to_owned());
            let (host, port) = item.rsplit_once(':').ok_or_else(invalid)?;
            let host = host.to_ascii_lowercase();
            if !is_host_pattern(&host) {
                return Err(invalid());
            }
            let port = match port {
                "*" => None,
                port => Some(
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(invalid)?,
                ),
            };
            patterns.push(OriginPattern { host, port });
        }
        if patterns.is_empty() {
            return Err(OriginsParseError(s.to_owned()));
        }
        Ok(Origins { patterns })
    }
}

impl fmt::Display for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, p) in self.patterns.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            match p.port {
                Some(port) => write!(f, "{}:{port}", p.host)?,
                None => write!(f, "{}:*", p.host)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Origins {
        text.parse().unwrap()
    }

    #[test]
    fn default_allows_everything_even_without_origin() {
        assert!(Origins::any().allows(None, None));
        assert!(Origins::any().allows(Some("null"), None));
        assert!(!Origins::any().refuses(Some("null"), None));
        assert!(!Origins::any().refuses(Some("garbage"), None));
    }

    #[test]
    fn patterns_match_host_and_port_with_wildcards() {
        let origins = list("good.example:*, *:8080");
        assert!(origins.allows(Some("https://good.example"), None));
        assert!(origins.allows(Some("http://GOOD.example:1234"), None));
        assert!(origins.allows(Some("http://other.example:8080"), None));
        assert!(!origins.allows(Some("http://other.example:8081"), None));
        assert!(!origins.allows(Some("null"), None));
    }

    #[test]
    fn a_leading_wildcard_matches_the_domain_and_every_name_under_it() {
        let origins = list("*.example.com:*");
        for allowed in [
            "http://app.example.com",
            "https://app.example.com:8443",
            "http://a.b.example.com:1",
            "http://example.com",
            "HTTP://App.Example.COM",
        ] {
            assert!(origins.allows(Some(allowed), None), "{allowed}");
        }
        for refused in [
            "http://badexample.com",
            "http://example.com.evil.net",
            "http://example.org",
            "http://com",
            "http://xexample.com:80",
        ] {
            assert!(!origins.allows(Some(refused), None), "{refused}");
            assert!(origins.refuses(Some(refused), None), "{refused}");
        }
    }

    #[test]
    fn a_missing_port_is_the_default_of_the_scheme() {
        let origins = list("secure.example:443, plain.example:80");
        assert!(origins.allows(Some("https://secure.example"), None));
        assert!(origins.allows(Some("wss://secure.example"), None));
        assert!(!origins.allows(Some("http://secure.example"), None));
        assert!(origins.allows(Some("http://plain.example"), None));
        assert!(origins.allows(Some("ws://plain.example"), None));
        assert!(!origins.allows(Some("https://plain.example"), None));
        // A scheme without a default port matches only a port wildcard.
        assert!(!origins.allows(Some("chrome-extension://plain.example"), None));
        assert!(list("*:*,x.example:*").allows(Some("file://x.example"), None));
        assert!(list("x.example:*").allows(Some("chrome-extension://x.example"), None));
    }

    #[test]
    fn referers_userinfo_and_ipv6_are_read_as_origins() {
        let origins = list("good.example:80, [::1]:3000, 127.0.0.1:*");
        assert!(origins.allows(None, Some("http://good.example/page?q=1#top")));
        assert!(origins.allows(None, Some("http://user:pw@good.example/")));
        assert!(!origins.allows(None, Some("http://good.example@evil.example/")));
        assert!(origins.allows(Some("http://[::1]:3000"), None));
        assert!(!origins.allows(Some("http://[::1]"), None));
        assert!(origins.allows(Some("http://127.0.0.1:5"), None));
    }

    #[test]
    fn malformed_origins_are_refused_when_named_and_pass_when_absent() {
        let origins = list("good.example:*");
        for named in [
            "",
            "good.example",
            "http://",
            "http://good.example:99999",
            "null",
        ] {
            assert!(origins.refuses(Some(named), None), "{named:?}");
        }
        assert!(!origins.refuses(None, None));
        assert!(!origins.allows(None, None));
        // `Origin` wins over `Referer`.
        assert!(!origins.refuses(Some("http://good.example"), Some("http://evil.example/")));
        assert!(origins.refuses(Some("http://evil.example"), Some("http://good.example/")));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "good.example",
            ":80",
            "a:port",
            "",
            "a:0",
            "a:65536",
            "http://good.example:80",
            "*good.example:80",
            "a.*.example:80",
            "*.:80",
            "*.*:80",
            "good..example:80",
            "[::1:80",
            "*.[::1]:80",
        ] {
            assert!(bad.parse::<Origins>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_list_shows_as_it_parses() {
        let origins = list("App.Example.com:443 *.example.com:*,[::1]:3000");
        assert_eq!(
            origins.to_string(),
            "app.example.com:443,*.example.com:*,[::1]:3000"
        );
        assert_eq!(origins.to_string().parse::<Origins>().unwrap(), origins);
        assert_eq!(
            origins.patterns().collect::<Vec<_>>(),
            [
                ("app.example.com", Some(443)),
                ("*.example.com", None),
                ("[::1]", Some(3000))
            ]
        );
    }
}
