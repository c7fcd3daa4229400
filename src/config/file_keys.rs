//! Keys that are no setting, anywhere in the file. Each one is a setting silently not
//! applied (a `drlease:` section whose keys are not indented leaves them at the top level,
//! where nothing reads them; `drLease:` is no section at all), so each is refused, naming
//! the closest known key or where it belongs; `--allow-unknown-keys` turns them into
//! warnings, for a fleet where some pods run a version that knows a key others do not.
//!
//! The top level holds the two sections, `dynamoDB:` (Admiral's, field for field) and
//! `drlease:`, and keys starting with `x-`, which nothing reads: a place for YAML anchors
//! that the sections merge (`x-common: &common`, then `<<: *common`).

use serde::Deserialize;
use serde_norway::Value;

use super::{parse, ConfigError, Resolver};

/// The file's sections and the keys each reads, in the file's order.
pub(super) type Sections = [(&'static str, &'static [&'static str])];

/// Top-level keys with this prefix are the file's own (anchors), never read.
pub const FREE_PREFIX: &str = "x-";

/// The section other than `except` that reads `key`: a key put under the wrong section.
fn section_with(sections: &Sections, key: &str, except: &str) -> Option<&'static str> {
    sections
        .iter()
        .find(|(s, keys)| *s != except && keys.contains(&key))
        .map(|(s, _)| *s)
}

fn key_name(k: &Value) -> String {
    match k.as_str() {
        Some(name) => name.to_string(),
        None => format!("{k:?}"),
    }
}

/// One message per key that is no setting, each taken out of its section so that nothing
/// reads it (with `--allow-unknown-keys`, the rest of the file still applies).
pub(super) fn take_unknown(doc: &mut Value, sections: &Sections) -> Vec<String> {
    let Some(top) = doc.as_mapping_mut() else {
        return Vec::new();
    };
    let mut found: Vec<String> = top
        .keys()
        .map(key_name)
        .filter(|k| !sections.iter().any(|(s, _)| s == k) && !k.starts_with(FREE_PREFIX))
        .map(|k| top_level(sections, &k))
        .collect();
    for &(section, known) in sections {
        let Some(map) = top.get_mut(section).and_then(|s| s.as_mapping_mut()) else {
            continue;
        };
        let unknown: Vec<Value> = map
            .keys()
            .filter(|k| !k.as_str().is_some_and(|k| known.contains(&k)))
            .cloned()
            .collect();
        for k in unknown {
            map.remove(&k);
            found.push(in_section(sections, section, &key_name(&k)));
        }
    }
    found
}

fn top_level(sections: &Sections, key: &str) -> String {
    let names: Vec<&str> = sections.iter().map(|(s, _)| *s).collect();
    if let Some(section) = names.iter().find(|s| s.eq_ignore_ascii_case(key)) {
        return format!(
            "{key} is not a section; did you mean {section}? (names are case-sensitive)"
        );
    }
    if let Some(section) = section_with(sections, key, "") {
        return format!(
            "{key} is a {section} setting but sits at the top level of the file, where nothing \
             reads it: indent it under {section}:"
        );
    }
    match closest(key, &names) {
        Some(near) if edit_distance(&key.to_lowercase(), &near.to_lowercase()) <= 3 => {
            format!("{key} is not a section; did you mean {near}?")
        }
        _ => format!(
            "{key} is not a section (the file has {}; keys starting with {FREE_PREFIX} are \
             free for YAML anchors)",
            names
                .iter()
                .map(|n| format!("{n}:"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

fn in_section(sections: &Sections, section: &str, key: &str) -> String {
    let known = sections
        .iter()
        .find(|(s, _)| *s == section)
        .map_or(&[][..], |(_, keys)| *keys);
    if let Some(other) = section_with(sections, key, section) {
        return format!(
            "{section}.{key} is not a setting; it is a {other} setting: move it under {other}:"
        );
    }
    match closest(key, known) {
        Some(near) => format!("{section}.{key} is not a setting; did you mean {near}?"),
        None => format!("{section}.{key} is not a setting"),
    }
}

/// The known name nearest to `name` by edit distance, ignoring case.
pub(super) fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .copied()
        .min_by_key(|k| edit_distance(&name.to_lowercase(), &k.to_lowercase()))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The key names serde accepts for a struct (after `rename_all`), read from its derived
/// `Deserialize`, so the list of settings is never written down twice.
pub(super) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    use serde::forward_to_deserialize_any;

    struct Names(&'static [&'static str]);

    impl<'de> de::Deserializer<'de> for &mut Names {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only structs"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("names read"))
        }

        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

/// The file's unknown keys as the settings take them: an error naming each one, or, with
/// `--allow-unknown-keys`, warnings (which `check-config` lists and `run` logs).
pub(super) fn refuse_or_warn(
    r: &mut Resolver<'_>,
    unknown: &[String],
) -> Result<Vec<String>, ConfigError> {
    let allow = r.setting_or(
        "allow-unknown-keys",
        &r.cli.allow_unknown_keys,
        None,
        parse::on_off,
        bool::to_string,
        false,
    )?;
    if allow || unknown.is_empty() {
        let path = &r.file_path;
        return Ok(unknown.iter().map(|w| format!("{w} (in {path})")).collect());
    }
    Err(ConfigError::new(
        "--config",
        format!(
            "{}: {}; fix the file (or, while a fleet runs versions that know different keys, \
             start with --allow-unknown-keys to only warn)",
            r.file_path,
            unknown.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_names_come_from_the_structs() {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Section {
            wait_time_in_seconds: Option<i64>,
            app_health_url: Option<String>,
        }
        assert_eq!(
            field_names::<Section>(),
            ["waitTimeInSeconds", "appHealthUrl"]
        );
    }
}
