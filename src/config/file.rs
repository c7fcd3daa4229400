//! The config file: Admiral's DR file as it is (the `dynamoDB:` section), plus an optional
//! `drlease:` section for drlease's own settings.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    #[serde(rename = "dynamoDB")]
    pub dynamodb: Option<AdmiralSection>,
    pub drlease: Option<DrleaseSection>,
}

/// Admiral's `DynamoDBConfig`, field for field. Unknown keys are ignored, as Admiral does.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmiralSection {
    pub lease_name: Option<String>,
    pub pod_identifier: Option<String>,
    pub wait_time_in_seconds: Option<i64>,
    pub failure_threshold: Option<i64>,
    pub table_name: Option<String>,
    pub role: Option<String>,
    pub region: Option<String>,
}

/// drlease's own settings. Unknown keys are refused: a typo here would otherwise be a
/// setting silently not applied.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrleaseSection {
    pub store: Option<String>,
    pub listen: Option<String>,
    pub identity: Option<String>,
    pub endpoint_url: Option<String>,
    pub interval: Option<String>,
    pub renew_deadline: Option<String>,
    pub confirm_delay: Option<String>,
    pub log_format: Option<String>,
    pub app_health_url: Option<String>,
    pub app_health_failures: Option<u32>,
    pub warmup: Option<String>,
    pub heartbeat: Option<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            ConfigError::new(
                "--config",
                format!("cannot read {}: {what}", path.display()),
            )
        })?;
        Self::parse(&text)
            .map_err(|e| ConfigError::new("--config", format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<FileConfig, String> {
        if text.trim().is_empty() {
            return Ok(FileConfig::default());
        }
        serde_norway::from_str(text).map_err(|e| format!("invalid YAML: {e}"))
    }
}
