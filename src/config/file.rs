//! The config file: Admiral's DR file as it is (the `dynamoDB:` section), plus an optional
//! `drlease:` section for drlease's own settings.

use std::path::Path;

use serde::Deserialize;

use super::{file_keys, file_values, ConfigError};

#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    #[serde(rename = "dynamoDB")]
    pub dynamodb: Option<AdmiralSection>,
    pub drlease: Option<DrleaseSection>,
    /// The keys that are no setting, anywhere in the file, each saying what it is closest
    /// to or where it belongs (taken out of the sections read). Refused unless
    /// `--allow-unknown-keys` makes them warnings: see [`super::file_keys`].
    #[serde(skip)]
    pub unknown: Vec<String>,
}

/// Admiral's `DynamoDBConfig`, field for field (Admiral's file has no other section).
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

/// drlease's own settings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    pub gate_listen: Option<String>,
    pub write_window: Option<String>,
    pub max_watchers: Option<u32>,
    pub priority: Option<i32>,
    pub failback_after: Option<String>,
    pub never_acquire: Option<bool>,
    pub peer_regions: Option<String>,
    pub longest_lease: Option<String>,
    pub pod_role_label: Option<bool>,
    pub kubeconfig: Option<String>,
    pub table_mode: Option<String>,
    pub accept_outside_rule: Option<bool>,
}

/// The largest config file read. Admiral's DR file with a drlease section is well under
/// a kilobyte.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        use std::io::Read;
        let cannot_read = |e: std::io::Error| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                _ => e.to_string(),
            };
            ConfigError::new(
                "--config",
                format!("cannot read {}: {what}", path.display()),
            )
        };
        // Read no more than the cap (plus one byte, to tell): a wrong path pointing at a
        // large file, or /dev/zero, must not be read whole.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
            .map_err(cannot_read)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(ConfigError::new(
                "--config",
                format!(
                    "{} is over {} KiB; a drlease or Admiral DR file is a few lines: is it the right file?",
                    path.display(),
                    MAX_FILE_BYTES / 1024
                ),
            ));
        }
        Self::parse(&text)
            .map_err(|e| ConfigError::new("--config", format!("{}: {e}", path.display())))
    }

    /// The YAML rules drlease applies, beyond YAML itself:
    /// * an empty file, one with only comments, and a `~` (null) document configure
    ///   nothing;
    /// * merge keys (`<<: *anchor`) are merged, as YAML 1.1 and Admiral's Go parser do;
    /// * each setting must have its type: see [`super::file_values`].
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        if text.trim().is_empty() {
            return Ok(FileConfig::default());
        }
        let mut doc: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
        doc.apply_merge()
            .map_err(|e| format!("invalid YAML merge key (<<): {e}"))?;
        let sections = [
            ("dynamoDB", file_keys::field_names::<AdmiralSection>()),
            ("drlease", file_keys::field_names::<DrleaseSection>()),
        ];
        let unknown = file_keys::take_unknown(&mut doc, &sections);
        let doc = file_values::normalize(doc)?;
        let mut config: FileConfig = match doc {
            serde_norway::Value::Null => FileConfig::default(),
            doc => serde_norway::from_value(doc).map_err(|e| e.to_string())?,
        };
        config.unknown = unknown;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_taken_out_and_named_with_the_closest_known_one() {
        let c = FileConfig::parse("dynamoDB:\n  waitTimeInSecnds: 5\n  leaseName: l\n").unwrap();
        assert_eq!(
            c.unknown,
            ["dynamoDB.waitTimeInSecnds is not a setting; did you mean waitTimeInSeconds?"]
        );
        assert_eq!(c.dynamodb.unwrap().lease_name.as_deref(), Some("l"));
        let c = FileConfig::parse("drlease:\n  intervall: [1s]\n  renewDeadLine: 2s\n").unwrap();
        assert_eq!(
            c.unknown,
            [
                "drlease.intervall is not a setting; did you mean interval?",
                "drlease.renewDeadLine is not a setting; did you mean renewDeadline?"
            ],
            "the unknown key's value is not judged"
        );
    }

    #[test]
    fn merge_keys_are_merged_as_admirals_parser_merges_them() {
        let c = FileConfig::parse(
            "x-common: &common\n  interval: 2s\n  store: memory\n\
             drlease:\n  <<: *common\n  store: dynamodb\n",
        )
        .unwrap();
        let own = c.drlease.unwrap();
        assert_eq!(own.interval.as_deref(), Some("2s"));
        assert_eq!(
            own.store.as_deref(),
            Some("dynamodb"),
            "the section's own key wins"
        );
        let c = FileConfig::parse("x-a: &a\n  intervall: 2s\ndrlease:\n  <<: *a\n").unwrap();
        assert_eq!(
            c.unknown,
            ["drlease.intervall is not a setting; did you mean interval?"]
        );
    }

    #[test]
    fn whole_numbers_must_be_plain_and_each_refusal_says_what_to_write() {
        let c = FileConfig::parse("dynamoDB:\n  waitTimeInSeconds: !!int \"15\"\n").unwrap();
        assert_eq!(c.dynamodb.unwrap().wait_time_in_seconds, Some(15));
        let cases = [
            (
                "dynamoDB:\n  waitTimeInSeconds: 010\n",
                "dynamoDB.waitTimeInSeconds: '010' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 as decimal; write it without the zero, e.g. 10",
            ),
            (
                "drlease:\n  maxWatchers: \"15\"\n",
                "drlease.maxWatchers: \"15\" is quoted text; write the number without quotes: maxWatchers 15",
            ),
            (
                "drlease:\n  maxWatchers: -1\n",
                "drlease.maxWatchers: -1 is not a whole number of at least 0",
            ),
            (
                "drlease:\n  priority: 1.5\n",
                "drlease.priority: 1.5 is not a whole number from -2147483648 to 2147483647",
            ),
            (
                "dynamoDB:\n  failureThreshold: [3]\n",
                "dynamoDB.failureThreshold: expected a whole number",
            ),
            ("drlease:\n  interval: [1s]\n", "drlease.interval: expected a single value, not a list"),
            ("drlease:\n  neverAcquire: maybe\n", "drlease.neverAcquire: 'maybe' is not true or false"),
            ("drlease:\n  store: !mine memory\n", "drlease.store: the YAML tag !mine is not supported"),
            ("drlease: 5\n", "drlease must be a mapping of settings"),
            ("[1, 2]\n", "the file must be a mapping with a dynamoDB: and/or a drlease: section, not a list"),
        ];
        for (text, expected) in cases {
            let e = FileConfig::parse(text).unwrap_err();
            assert!(e.starts_with(expected), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let c = FileConfig::parse("drlease:\n  neverAcquire: yes\n  interval: 15\n").unwrap();
        let own = c.drlease.unwrap();
        assert_eq!(
            (own.never_acquire, own.interval.as_deref()),
            (Some(true), Some("15"))
        );
    }

    #[test]
    fn an_empty_file_a_comment_and_a_null_document_all_configure_nothing() {
        for text in [
            "",
            "\n\n",
            "# nothing yet\n",
            "~\n",
            "--- ~\n",
            "null\n",
            "drlease: ~\n",
        ] {
            let c = FileConfig::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(c.drlease.is_none() && c.dynamodb.is_none(), "{text:?}");
        }
    }

    #[test]
    fn a_yaml_bomb_is_refused_in_one_line() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (name, prev) in "bcdefghi".chars().zip("abcdefgh".chars()) {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        bomb.push_str("drlease:\n  store: memory\n");
        let e = FileConfig::parse(&bomb).unwrap_err();
        assert!(e.starts_with("invalid YAML: "), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_without_reading_it_whole() {
        let e = FileConfig::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--config: /dev/zero is over 1024 KiB") && e.contains("the right file"),
            "{e}"
        );
    }
}
