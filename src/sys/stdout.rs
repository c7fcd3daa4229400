//! Lines for the operator's terminal or pipe. `println!` panics when the reader has gone
//! (`drlease check-config | head -1`, `drlease status --watch | grep -m1 active`); a Unix
//! tool ends quietly instead, and so does this.

use std::io::{ErrorKind, Write};

/// Writes one line to standard output. A closed pipe ends the process with exit code 0
/// (the reader chose to stop reading: not a failure a script should see); any other write
/// error (a full disk behind a redirect) is said once on standard error, exit code 1.
pub fn line(text: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{text}").and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(
            std::io::stderr(),
            "drlease: cannot write to standard output: {e}"
        );
        std::process::exit(1);
    }
}
