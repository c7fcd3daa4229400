//! Text from outside (a `leaseOwner` in the table, a heartbeat's identity) on its way to a
//! log line or a terminal. A newline in it would forge a log line; an escape sequence
//! would retitle the operator's window or clear the screen. Shown escaped instead, the
//! way Rust writes them (`\n`, `\u{1b}`), so what was there is still readable.

use std::fmt;

/// Writes the text with every control character (C0, DEL, C1) and every bidirectional
/// override escaped; anything else as it is.
#[derive(Clone, Copy, Debug)]
pub struct Printable<'a>(pub &'a str);

/// Characters that change how a terminal shows the rest of the line.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(is_unprintable) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().expect("found at i");
            write!(f, "{}", c.escape_default())?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// The escaped text as a `String` (for tables, whose columns are padded).
pub fn printable(text: &str) -> String {
    Printable(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_terminal_escapes_come_out_escaped() {
        assert_eq!(printable("pod-a"), "pod-a");
        assert_eq!(printable("région-ü"), "région-ü", "plain Unicode stays");
        assert_eq!(
            printable("evil\nINFO forged line"),
            "evil\\nINFO forged line"
        );
        assert_eq!(
            printable("x\u{1b}]0;pwned\u{7}\u{1b}[2J"),
            "x\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"
        );
        assert_eq!(printable("a\u{9b}b\u{202e}c\r"), "a\\u{9b}b\\u{202e}c\\r");
        for s in ["\n", "\u{1b}", "\u{7f}", "\u{85}", "\u{2066}"] {
            assert!(!printable(s).chars().any(is_unprintable), "{s:?}");
        }
    }
}
