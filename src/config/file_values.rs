//! Each file setting's type, checked on the parsed YAML before it is read into the
//! sections, so that a wrong one is refused with the key and what to write instead
//! (serde's own "invalid type: string \"010\", expected u32" names no fix).
//!
//! * Whole numbers must be plain YAML integers: `15`. A quoted `"15"` is refused (Admiral's
//!   Go parser refuses it too), and so is `010`: YAML 1.1 reads it as octal 8, YAML 1.2 as
//!   10, so drlease does not guess. A tag that resolves to an integer (`!!int "15"`) is
//!   the integer.
//! * `true`/`false` settings also take `yes`/`no`/`on`/`off`, as the flags do.
//! * Text settings take any scalar (`interval: 15` is the text `15`, which the setting's
//!   own parser then judges); a list or a mapping is refused.
//! * Custom tags (`!foo`) are refused. A key set to `~` is unset.

use serde_norway::{Mapping, Value};

#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// A whole number within these bounds.
    Whole(i64, i64),
    Bool,
}

const I32: Kind = Kind::Whole(i32::MIN as i64, i32::MAX as i64);
const U32: Kind = Kind::Whole(0, u32::MAX as i64);
const I64: Kind = Kind::Whole(i64::MIN, i64::MAX);

fn kind_of(section: &str, key: &str) -> Kind {
    match (section, key) {
        ("dynamoDB", "waitTimeInSeconds" | "failureThreshold") => I64,
        ("drlease", "appHealthFailures" | "maxWatchers") => U32,
        ("drlease", "priority") => I32,
        ("drlease", "neverAcquire" | "podRoleLabel") => Kind::Bool,
        _ => Kind::Text,
    }
}

/// The document with every known section's values in the type its setting reads; an
/// error names the key (`drlease.maxWatchers`) and what to write.
pub(super) fn normalize(doc: Value) -> Result<Value, String> {
    let mut top = match doc {
        Value::Null => return Ok(Value::Null),
        Value::Mapping(m) => m,
        other => {
            return Err(format!(
                "the file must be a mapping with a dynamoDB: and/or a drlease: section, not {}",
                describe(&other)
            ))
        }
    };
    for section in ["dynamoDB", "drlease"] {
        let Some(value) = top.get_mut(section) else {
            continue;
        };
        match value {
            Value::Null => {}
            Value::Mapping(m) => normalize_section(section, m)?,
            other => {
                return Err(format!(
                    "{section} must be a mapping of settings (key: value lines indented under it), not {}",
                    describe(other)
                ))
            }
        }
    }
    Ok(Value::Mapping(top))
}

fn normalize_section(section: &str, map: &mut Mapping) -> Result<(), String> {
    for (key, value) in map.iter_mut() {
        // Keys that are not text are reported as unknown by the caller.
        let Some(key) = key.as_str() else { continue };
        let name = format!("{section}.{key}");
        *value = typed(&name, kind_of(section, key), std::mem::take(value))?;
    }
    Ok(())
}

fn typed(name: &str, kind: Kind, value: Value) -> Result<Value, String> {
    if let Value::Tagged(t) = &value {
        return Err(format!(
            "{name}: the YAML tag {} is not supported; write the plain value",
            t.tag
        ));
    }
    if value.is_null() {
        return Ok(value);
    }
    match kind {
        Kind::Text => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(format!(
                "{name}: expected a single value, not {}",
                describe(&other)
            )),
        },
        Kind::Whole(min, max) => whole(name, value, min, max),
        Kind::Bool => match &value {
            Value::Bool(_) => Ok(value),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "yes" | "on" | "true" => Ok(Value::Bool(true)),
                "no" | "off" | "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{name}: '{s}' is not true or false")),
            },
            other => Err(format!(
                "{name}: expected true or false, not {}",
                describe(other)
            )),
        },
    }
}

fn whole(name: &str, value: Value, min: i64, max: i64) -> Result<Value, String> {
    let range = || {
        if min == 0 {
            "a whole number of at least 0".to_string()
        } else {
            format!("a whole number from {min} to {max}")
        }
    };
    match &value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(value),
            _ => Err(format!("{name}: {n} is not {}", range())),
        },
        Value::String(s) => {
            let digits = s.trim_start_matches(['+', '-']);
            if digits.len() > 1
                && digits.starts_with('0')
                && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
            {
                return Err(format!(
                    "{name}: '{s}' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 as \
                     decimal; write it without the zero, e.g. {}",
                    s.replacen('0', "", 1)
                ));
            }
            if s.trim().parse::<i64>().is_ok() {
                return Err(format!(
                    "{name}: \"{s}\" is quoted text; write the number without quotes: {} {}",
                    name.rsplit('.').next().unwrap_or(name),
                    s.trim()
                ));
            }
            Err(format!("{name}: '{s}' is not {}, e.g. 15", range()))
        }
        other => Err(format!(
            "{name}: expected {}, not {}",
            range(),
            describe(other)
        )),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (~)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text '{s}'"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}
