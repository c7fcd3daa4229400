//! When this candidate may hold the lease: warm-up and the controller's health.

use std::time::Duration;

use super::non_empty;
use super::{file, format_duration, parse, parse_duration, ConfigError, HealthUrl, Resolver};

/// When this candidate may hold the lease.
#[derive(Clone, Debug, Default)]
pub struct EligibilitySettings {
    /// Acquire only while the controller answers 2xx here (plain http://).
    pub app_health_url: Option<HealthUrl>,
    /// Step down after this many consecutive failed health checks.
    pub app_health_failures: u32,
    /// Do not acquire for this long after start.
    pub warmup: Duration,
}

pub(super) fn resolve_eligibility(
    r: &mut Resolver<'_>,
    own: Option<&file::DrleaseSection>,
) -> Result<EligibilitySettings, ConfigError> {
    let url_file = own
        .and_then(|o| o.app_health_url.clone())
        .map(|v| ("drlease.appHealthUrl", v));
    let app_health_url = match r.pick("app-health-url", &r.cli.app_health_url, url_file) {
        Some(raw) => {
            let v = non_empty(&raw, "app health URL")?;
            let url = HealthUrl::parse(&v).map_err(|e| ConfigError::new(&raw.name, e))?;
            r.record("app-health-url", v, raw.source);
            Some(url)
        }
        None => None,
    };
    let app_health_failures = r.setting_or(
        "app-health-failures",
        &r.cli.app_health_failures,
        own.and_then(|o| o.app_health_failures)
            .map(|n| ("drlease.appHealthFailures".to_string(), n.to_string())),
        parse::at_least_one,
        u32::to_string,
        3,
    )?;
    let warmup = r.setting_or(
        "warmup",
        &r.cli.warmup,
        own.and_then(|o| o.warmup.clone())
            .map(|v| ("drlease.warmup".to_string(), v)),
        |raw| {
            parse_duration(&raw.text)
                .map_err(|e| ConfigError::new(&raw.name, format!("warm-up {e}")))
        },
        |d| format_duration(*d),
        Duration::ZERO,
    )?;
    Ok(EligibilitySettings {
        app_health_url,
        app_health_failures,
        warmup,
    })
}
