//! The controller's health URL: parsed once, here, when the settings are resolved.

/// An `http://host[:port]/path` URL. Only plain HTTP: the controller is in the same pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthUrl {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl HealthUrl {
    pub fn parse(url: &str) -> Result<HealthUrl, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("'{url}' must start with http:// (the controller is in the same pod; https is not supported)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("'{url}' has no host"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("'{url}' has an invalid port '{p}'"))?;
                (h.trim_start_matches('[').trim_end_matches(']'), port)
            }
            _ => (authority, 80),
        };
        Ok(HealthUrl {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_http_urls() {
        let u = HealthUrl::parse("http://127.0.0.1:8080/health/ready").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/health/ready")
        );
        let u = HealthUrl::parse("http://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert!(HealthUrl::parse("https://x/")
            .unwrap_err()
            .contains("http://"));
        assert!(HealthUrl::parse("http://x:notaport/")
            .unwrap_err()
            .contains("port"));
        assert!(HealthUrl::parse("http:///health")
            .unwrap_err()
            .contains("no host"));
    }
}
