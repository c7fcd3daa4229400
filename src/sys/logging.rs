//! Log setup: text or JSON on stderr, filtered by RUST_LOG (default `info`).
//!
//! Log fields carry text from outside (a `leaseOwner` read from the table, store error
//! messages): in the text format every field and message is written through
//! [`Printable`], so a newline cannot forge a log line and an escape sequence cannot reach
//! the terminal of whoever reads the log. The JSON format escapes them already.

use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::EnvFilter;

use crate::sys::printable::Printable;

/// The two log formats (`--log-format`); lives here so logging needs nothing from config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

pub fn init(format: LogFormat) {
    let (filter, bad) = match EnvFilter::try_from_default_env() {
        Ok(f) => (f, None),
        Err(e) => {
            let bad = std::env::var("RUST_LOG").ok().map(|v| (v, e.to_string()));
            (EnvFilter::new("info"), bad)
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.fmt_fields(escaped_fields()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    if let Some((value, why)) = bad.filter(|(v, _)| !v.is_empty()) {
        tracing::warn!(rust_log = %value, error = %why, "ignoring RUST_LOG, logging at info");
    }
}

/// The text format's fields, `name=value` separated by spaces as the default writes them,
/// with control characters escaped.
pub fn escaped_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(|w: &mut Writer<'_>, field, value| {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            write!(w, "{}", Printable(&text))
        } else {
            write!(w, "{field}={}", Printable(&text))
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_from_the_table_cannot_forge_a_log_line_or_reach_the_terminal() {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || out.clone())
            .fmt_fields(escaped_fields())
            .finish();
        let owner = "evil\n2026-11-30T05:00:00Z  INFO drlease: forged\u{1b}]0;pwned\u{7}";
        let reason = format!("took over from {owner} after its lease ran out");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(reason = %reason, holder = owner, "lease event");
            tracing::warn!("store said {owner}");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(
            text.contains("reason=took over from evil\\n2026-11-30T05:00:00Z  INFO drlease: forged\\u{1b}]0;pwned\\u{7} after"),
            "{text}"
        );
        assert!(text.contains("lease event"), "{text}");
        assert!(text.contains("store said evil\\n"), "{text}");
    }
}
