//! How one setting is resolved: the flag or environment value, else the file's, else the
//! default; parsed, and recorded with its source for `check-config` and the log.

use super::{CommandLine, ConfigError, Source};

/// One raw value and where it came from, so an error can name the exact flag, variable
/// or file key the user has to fix.
pub(super) struct Raw {
    pub(super) text: String,
    pub(super) source: Source,
    pub(super) name: String,
}

pub(super) struct Resolver<'a> {
    pub(super) cli: &'a CommandLine,
    pub(super) file_path: String,
    pub(super) provenance: Vec<(&'static str, String, Source)>,
}

impl Resolver<'_> {
    /// The flag or environment value of setting `id`, else the file's.
    pub(super) fn pick(
        &self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(&str, String)>,
    ) -> Option<Raw> {
        if let Some(text) = cli {
            let source = self
                .cli
                .sources
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, s)| *s)
                .unwrap_or(Source::Flag);
            let name = match source {
                Source::Env => format!("DRLEASE_{}", id.to_uppercase().replace('-', "_")),
                _ => format!("--{id}"),
            };
            return Some(Raw {
                text: text.clone(),
                source,
                name,
            });
        }
        file.map(|(key, text)| Raw {
            text,
            source: Source::File,
            name: format!("{key} in {}", self.file_path),
        })
    }

    pub(super) fn record(&mut self, id: &'static str, value: String, source: Source) {
        self.provenance.push((id, value, source));
    }

    /// One setting: the flag or environment value, else the file's (`file`: key and text),
    /// parsed by `parse`; records the effective value (as `show` writes it) and its source.
    /// `None` when it is set nowhere.
    pub(super) fn setting<T>(
        &mut self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
        parse: impl FnOnce(&Raw) -> Result<T, ConfigError>,
        show: impl Fn(&T) -> String,
    ) -> Result<Option<T>, ConfigError> {
        let file = file.as_ref().map(|(k, v)| (k.as_str(), v.clone()));
        let Some(raw) = self.pick(id, cli, file) else {
            return Ok(None);
        };
        let value = parse(&raw)?;
        self.record(id, show(&value), raw.source);
        Ok(Some(value))
    }

    /// As [`Resolver::setting`], with a default (recorded as the default) when unset.
    pub(super) fn setting_or<T>(
        &mut self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
        parse: impl FnOnce(&Raw) -> Result<T, ConfigError>,
        show: impl Fn(&T) -> String,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.setting(id, cli, file, parse, &show)? {
            Some(value) => Ok(value),
            None => {
                self.record(id, show(&default), Source::Default);
                Ok(default)
            }
        }
    }

    /// As [`Resolver::pick`], with the file's key and text owned (as the groups build them).
    pub(super) fn pick_owned(
        &self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
    ) -> Option<Raw> {
        self.pick(id, cli, file.as_ref().map(|(k, v)| (k.as_str(), v.clone())))
    }

    /// As [`Resolver::setting_or`], also handing back the name of the flag, variable or
    /// key the value came from (`None`: the default), so that a relation checked later can
    /// name what to change.
    pub(super) fn setting_or_named<T>(
        &mut self,
        id: &'static str,
        cli: &Option<String>,
        file: Option<(String, String)>,
        parse: impl FnOnce(&Raw) -> Result<T, ConfigError>,
        show: impl Fn(&T) -> String,
        default: T,
    ) -> Result<(T, Option<String>), ConfigError> {
        let name = self.pick_owned(id, cli, file.clone()).map(|raw| raw.name);
        let value = self.setting_or(id, cli, file, parse, show, default)?;
        Ok((value, name))
    }
}

/// The file key `dynamoDB.<key>` (Admiral's section) with its text, when set.
pub(super) fn admiral_key(key: &str, v: Option<&String>) -> Option<(String, String)> {
    v.map(|v| (format!("dynamoDB.{key}"), v.clone()))
}

/// The file key `drlease.<key>` (drlease's own section) with its text, when set.
pub(super) fn own_key(key: &str, v: Option<&String>) -> Option<(String, String)> {
    v.map(|v| (format!("drlease.{key}"), v.clone()))
}
