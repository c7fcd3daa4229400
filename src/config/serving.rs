//! How the HTTP side serves: the gate-only listener, write windows, the watcher cap.

use std::net::SocketAddr;
use std::time::Duration;

use super::{file, format_duration, parse, ConfigError, Resolver};

pub const DEFAULT_WRITE_WINDOW: Duration = Duration::from_secs(2);
pub const DEFAULT_MAX_WATCHERS: u32 = 256;

#[derive(Clone, Debug)]
pub struct ServingSettings {
    /// A second listener serving only the role endpoints and `/watch` (for the controller,
    /// on a loopback address), so probes, scrapes and neighbours cannot crowd it out.
    pub gate_listen: Option<SocketAddr>,
    /// The longest window an "active" answer grants when the caller asks for no more.
    pub write_window: Duration,
    /// At most this many open `/watch` streams and blocking `/role` queries at once.
    pub max_watchers: u32,
}

impl Default for ServingSettings {
    fn default() -> Self {
        ServingSettings {
            gate_listen: None,
            write_window: DEFAULT_WRITE_WINDOW,
            max_watchers: DEFAULT_MAX_WATCHERS,
        }
    }
}

pub(super) fn resolve_serving(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
    listen: SocketAddr,
) -> Result<ServingSettings, ConfigError> {
    let key = |k: &str, v: Option<&String>| v.map(|v| (format!("drlease.{k}"), v.clone()));
    let gate_listen = r.setting(
        "gate-listen",
        &r.cli.gate_listen,
        key("gateListen", own.and_then(|o| o.gate_listen.as_ref())),
        |raw| {
            let addr = parse::listen(raw)?;
            if addr == listen {
                return Err(ConfigError::new(
                    &raw.name,
                    format!("{addr} is the main listen address too; choose another port (e.g. 127.0.0.1:9798)"),
                ));
            }
            Ok(addr)
        },
        SocketAddr::to_string,
    )?;
    let write_window = r.setting_or(
        "write-window",
        &r.cli.write_window,
        key("writeWindow", own.and_then(|o| o.write_window.as_ref())),
        |raw| parse::parse_positive_duration(raw, "write window"),
        |d| format_duration(*d),
        DEFAULT_WRITE_WINDOW,
    )?;
    let max_watchers = r.setting_or(
        "max-watchers",
        &r.cli.max_watchers,
        own.and_then(|o| o.max_watchers)
            .map(|n| ("drlease.maxWatchers".to_string(), n.to_string())),
        parse::at_least_one,
        u32::to_string,
        DEFAULT_MAX_WATCHERS,
    )?;
    Ok(ServingSettings {
        gate_listen,
        write_window,
        max_watchers,
    })
}
