//! The `origins` allow-list (docs/protocol.md §2.6): `host:port` patterns where either side may be
//! `*`.

use std::fmt;
use std::str::FromStr;

/// One `host:port` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OriginPattern {
    host: String,
    port: String,
}

/// The origins a handshake or WebSocket upgrade may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    patterns: Vec<OriginPattern>,
}

/// A pattern that is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("origin pattern `{0}` is not host:port (either may be *)")]
pub struct OriginsParseError(String);

impl Origins {
    /// Everything is allowed (`*:*`), the default.
    pub fn any() -> Self {
        Origins {
            patterns: vec![OriginPattern {
                host: "*".into(),
                port: "*".into(),
            }],
        }
    }

    /// Whether every origin is allowed.
    pub fn allows_any(&self) -> bool {
        self.patterns.iter().any(|p| p.host == "*" && p.port == "*")
    }

    /// The `(host, port)` patterns, for the Flash socket policy that mirrors this list.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, &str)> {
        self.patterns
            .iter()
            .map(|p| (p.host.as_str(), p.port.as_str()))
    }

    /// Checks a request's `Origin` header, falling back to `Referer` as the reference does.
    ///
    /// The port of an origin without one is the scheme's default (443 for `https`/`wss`, 80
    /// otherwise); the reference always assumes 80, which refuses `https` pages listed as
    /// `host:443`. The literal origin `null` matches only `*:*`.
    ///
    /// ```
    /// use ferrio_hub::Origins;
    /// let origins: Origins = "good.example:80".parse().unwrap();
    /// assert!(origins.allows(Some("http://good.example"), None));
    /// assert!(origins.allows(None, Some("http://good.example/x")));
    /// assert!(!origins.allows(Some("http://evil.example"), None));
    /// assert!(!origins.allows(None, None));
    /// ```
    pub fn allows(&self, origin: Option<&str>, referer: Option<&str>) -> bool {
        if self.allows_any() {
            return true;
        }
        let Some(source) = origin.or(referer) else {
            return false;
        };
        let Some((host, port)) = host_and_port(source) else {
            return false;
        };
        self.patterns.iter().any(|p| {
            (p.host == "*" || p.host.eq_ignore_ascii_case(&host))
                && (p.port == "*" || p.port == port)
        })
    }
}

impl Default for Origins {
    fn default() -> Self {
        Origins::any()
    }
}

/// The host and port of an origin or URL such as `http://a.example:8080/path`.
fn host_and_port(url: &str) -> Option<(String, String)> {
    if url == "null" {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, port.to_owned())
        }
        _ => {
            let default = if matches!(scheme.to_ascii_lowercase().as_str(), "https" | "wss") {
                "443"
            } else {
                "80"
            };
            (authority, default.to_owned())
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

impl FromStr for Origins {
    type Err = OriginsParseError;

    /// Parses a list separated by commas or spaces, such as `a.example:80, *:8080`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut patterns = Vec::new();
        for item in s.split([',', ' ']).filter(|item| !item.is_empty()) {
            let (host, port) = item
                .rsplit_once(':')
                .filter(|(host, port)| {
                    !host.is_empty() && (*port == "*" || port.parse::<u16>().is_ok())
                })
                .ok_or_else(|| OriginsParseError(item.to_owned()))?;
            patterns.push(OriginPattern {
                host: host.to_ascii_lowercase(),
                port: port.to_owned(),
            });
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
            write!(f, "{}:{}", p.host, p.port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_everything_even_without_origin() {
        assert!(Origins::any().allows(None, None));
        assert!(Origins::any().allows(Some("null"), None));
    }

    #[test]
    fn patterns_match_host_and_port_with_wildcards() {
        let origins: Origins = "good.example:*, *:8080".parse().unwrap();
        assert!(origins.allows(Some("https://good.example"), None));
        assert!(origins.allows(Some("http://other.example:8080"), None));
        assert!(!origins.allows(Some("http://other.example:8081"), None));
        assert!(!origins.allows(Some("null"), None));
    }

    #[test]
    fn https_defaults_to_port_443() {
        let origins: Origins = "good.example:443".parse().unwrap();
        assert!(origins.allows(Some("https://good.example"), None));
        assert!(!origins.allows(Some("http://good.example"), None));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!("good.example".parse::<Origins>().is_err());
        assert!(":80".parse::<Origins>().is_err());
        assert!("a:port".parse::<Origins>().is_err());
        assert!("".parse::<Origins>().is_err());
    }
}
