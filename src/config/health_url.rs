//! The controller's health URL: parsed once, here, when the settings are resolved. A URL
//! that would be sent wrong (or not at all) is refused at start with what to write
//! instead: accepted, it would leave the pod never eligible and say so only at each check.

use std::net::Ipv6Addr;

use crate::sys::printable::Printable;

/// An `http://host[:port]/path` URL. Only plain HTTP: the controller is in the same pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthUrl {
    /// A name or an IPv4 address, or an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, as sent in the request line.
    pub path: String,
}

impl HealthUrl {
    pub fn parse(url: &str) -> Result<HealthUrl, String> {
        let shown = Printable(url);
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("'{shown}' must start with http:// (the controller is in the same pod; https is not supported)")
        })?;
        if let Some(c) = rest.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "'{shown}' contains {}, which cannot be sent in a request line; \
                 percent-encode it in the path (%20 for a space)",
                match c {
                    ' ' => "a space".to_string(),
                    c => format!("the character {}", c.escape_default()),
                }
            ));
        }
        // The fragment is never sent.
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        if authority.contains('@') {
            return Err(format!(
                "'{shown}' carries credentials (user:password@): they are not supported; \
                 the controller's health endpoint must answer without them"
            ));
        }
        if authority.is_empty() {
            return Err(format!("'{shown}' has no host"));
        }
        let (host, port) = host_and_port(url, authority)?;
        let port = match port {
            None => 80,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!("'{shown}' has an invalid port '{p}'; expected a number from 1 to 65535")
            })?,
        };
        Ok(HealthUrl {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The `Host` header's value: an IPv6 address goes back in brackets.
    pub fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The host (an IPv6 address without its brackets) and the port text, if any.
fn host_and_port<'a>(url: &str, authority: &'a str) -> Result<(&'a str, Option<&'a str>), String> {
    let shown = Printable(url);
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']').ok_or_else(|| {
            format!("'{shown}' opens an IPv6 address with '[' and never closes it; write http://[::1]:8080/path")
        })?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "'{shown}': '{inside}' in brackets is not an IPv6 address"
            ));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                format!("'{shown}' has '{after}' after the IPv6 address; expected :PORT")
            })?),
        };
        Ok((inside, port))
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err(format!(
                "'{shown}': an IPv6 address goes in brackets, e.g. http://[::1]:8080/path"
            ));
        }
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(format!(
                "'{shown}': host '{host}' contains '{c}'; a host is a name or an IP address"
            ));
        }
        if host.is_empty() {
            return Err(format!("'{shown}' has no host"));
        }
        Ok((host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, u16, String) {
        let u = HealthUrl::parse(url).unwrap();
        (u.host, u.port, u.path)
    }

    fn refused(url: &str, says: &str) {
        let e = HealthUrl::parse(url).unwrap_err();
        assert!(e.contains(says), "{url:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(!e.contains('\r') && !e.contains('\n'), "{e:?}");
    }

    #[test]
    fn parses_plain_http_urls() {
        assert_eq!(
            parts("http://127.0.0.1:8080/health/ready"),
            ("127.0.0.1".into(), 8080, "/health/ready".into())
        );
        assert_eq!(
            parts("http://localhost"),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            parts("http://[::1]:9090/x?y=1#frag"),
            ("::1".into(), 9090, "/x?y=1".into())
        );
        assert_eq!(parts("http://[::1]"), ("::1".into(), 80, "/".into()));
        assert_eq!(parts("http://a?ready"), ("a".into(), 80, "/?ready".into()));
        assert_eq!(
            HealthUrl::parse("http://[::1]:9090/")
                .unwrap()
                .host_header(),
            "[::1]:9090"
        );
        refused("https://x/", "http://");
        refused("http://x:notaport/", "invalid port 'notaport'");
        refused("http://x:0/", "invalid port '0'");
        refused("http://x:/", "invalid port ''");
        refused("http:///health", "no host");
    }

    #[test]
    fn urls_that_would_be_sent_wrong_are_refused_with_what_to_write() {
        refused("http://[::1/x", "never closes it");
        refused("http://[::1]x/", "expected :PORT");
        refused("http://[nope]/", "not an IPv6 address");
        refused("http://::1:8080/", "goes in brackets");
        refused("http://a b/", "a space");
        refused("http://a/b c", "a space");
        refused("http://a/x\r\nX-Evil: 1", "the character \\r");
        refused("http://a/x\u{1b}[2J", "the character \\u{1b}");
        refused("http://user:pw@a/", "credentials");
        refused("http://a%20b/", "host 'a%20b' contains '%'");
    }
}
