//! Parsers for single settings: each takes the raw text and where it came from, and
//! returns the value or an error naming that flag, variable or file key.

use std::net::SocketAddr;
use std::time::Duration;

use super::{parse_duration, ConfigError, LogFormat, Raw, DEFAULT_LISTEN};

pub(super) fn non_empty(raw: &Raw, what: &str) -> Result<String, ConfigError> {
    let v = raw.text.trim();
    if v.is_empty() {
        return Err(ConfigError::new(&raw.name, format!("{what} is empty")));
    }
    Ok(v.to_string())
}

pub(super) fn listen(raw: &Raw) -> Result<SocketAddr, ConfigError> {
    raw.text.trim().parse().map_err(|_| {
        ConfigError::new(
            &raw.name,
            format!(
                "cannot parse listen address '{}'; expected IP:PORT such as {DEFAULT_LISTEN} or 127.0.0.1:9797",
                raw.text
            ),
        )
    })
}

pub(super) fn endpoint_url(raw: &Raw) -> Result<String, ConfigError> {
    let v = non_empty(raw, "endpoint URL")?;
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err(ConfigError::new(
            &raw.name,
            format!("endpoint URL '{v}' must start with http:// or https://"),
        ));
    }
    Ok(v)
}

pub(super) fn log_format(raw: &Raw) -> Result<LogFormat, ConfigError> {
    match raw.text.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(ConfigError::new(
            &raw.name,
            format!("unknown log format '{other}'; choose text or json"),
        )),
    }
}

pub(super) fn on_off(raw: &Raw) -> Result<bool, ConfigError> {
    match raw.text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        other => Err(ConfigError::new(
            &raw.name,
            format!("'{other}' is not true or false"),
        )),
    }
}

pub(super) fn at_least_one(raw: &Raw) -> Result<u32, ConfigError> {
    raw.text
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ConfigError::new(
                &raw.name,
                format!("'{}' is not a whole number of at least 1", raw.text),
            )
        })
}

pub(super) fn parse_positive_duration(raw: &Raw, what: &str) -> Result<Duration, ConfigError> {
    let d = parse_duration(&raw.text)
        .map_err(|e| ConfigError::new(&raw.name, format!("{what} {e}")))?;
    if d.is_zero() {
        return Err(ConfigError::new(
            &raw.name,
            format!("{what} must be greater than zero"),
        ));
    }
    Ok(d)
}
