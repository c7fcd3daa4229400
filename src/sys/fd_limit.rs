//! The open-file limit, and how many HTTP connections fit under it.
//!
//! Container runtimes start processes with a soft limit as low as 1024 (containerd 2)
//! and a much higher hard limit; Go's runtime raises the soft limit to the hard one at
//! start, and so does drlease. Every connection costs a file; the HTTP listeners share
//! what is left after a reserve for the store's connections, the health probe and the
//! process itself.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Files kept back from the HTTP listeners.
pub const RESERVED: u64 = 128;
/// No listener needs more connections than this, however high the limit.
pub const MAX_CONNECTIONS: u64 = 16_384;

/// Raises the soft open-file limit to the hard one. Returns the limit now in force
/// (`None`: unlimited) and, if raising failed, why.
pub fn raise() -> (Option<u64>, Option<String>) {
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return (limit.current, None);
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => (limit.maximum, None),
        Err(e) => (limit.current, Some(e.to_string())),
    }
}

/// Connection caps for the main listener and the gate listener (if any), from the
/// open-file limit: the gate listener gets an eighth (at least 16), the main one the rest.
pub fn connection_caps(open_files: Option<u64>, gate_listener: bool) -> (usize, usize) {
    let budget = open_files
        .unwrap_or(MAX_CONNECTIONS * 2)
        .saturating_sub(RESERVED)
        .clamp(32, MAX_CONNECTIONS * 2);
    let gate = if gate_listener {
        (budget / 8).max(16)
    } else {
        0
    };
    let main = (budget - gate).min(MAX_CONNECTIONS);
    (main as usize, gate.min(MAX_CONNECTIONS) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_stay_under_the_limit_with_files_to_spare() {
        let (main, gate) = connection_caps(Some(1024), true);
        assert_eq!((main, gate), (784, 112));
        assert!((main + gate) as u64 + RESERVED <= 1024);
        assert_eq!(connection_caps(Some(1024), false), (896, 0));
        assert_eq!(connection_caps(None, false).0, MAX_CONNECTIONS as usize);
        let (main, gate) = connection_caps(Some(100), true);
        assert!(main >= 16 && gate >= 16, "a tiny limit still serves");
    }
}
