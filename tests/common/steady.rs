//! A stretch of steady state with real processes: the holder keeps its tenure and nobody
//! else answers active, unless the store stalled past the holder's renew deadline. At
//! 200 ms / 600 ms, a moto stall of half a second on a loaded machine ends a tenure by the
//! rules (seen in the chaos runs: both pods' calls timing out together), and the lease may
//! then move; what must never happen is a takeover while the holder is still renewing, or
//! anyone answering active in a tenure that is not the newest.

use std::time::{Duration, Instant};

use super::sidecar::{wait_active, RoleView, Sidecar};

/// How a steady stretch ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Steady {
    /// The holder kept its tenure throughout, and nobody else answered active.
    Held,
    /// The holder's validity ran out (no renewal confirmed before its deadline), and the
    /// lease moved on to a later tenure, or may yet: by the rules, not a fault.
    Lapsed,
}

/// Whether `s` ever recorded its validity running out (its deadline passing with no
/// renewal confirmed), from its events.
pub fn validity_ran_out(s: &Sidecar) -> bool {
    s.events().iter().any(|e| {
        e["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("validity ran out"))
    })
}

/// Watches `others` every 20 ms for `span` while `holder` holds `tenure`, then checks the
/// holder is still in it. Panics, with the logs, if another pod answers active in the
/// holder's tenure or an earlier one, or in a later one while the holder never lost its
/// validity; or if the holder lost its tenure without its validity running out.
pub fn steady(holder: &Sidecar, tenure: &RoleView, others: &[&Sidecar], span: Duration) -> Steady {
    let logs = || {
        std::iter::once(holder)
            .chain(others.iter().copied())
            .map(|s| format!("--- {} ---\n{}", s.identity, s.logs()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let start = Instant::now();
    while start.elapsed() < span {
        for o in others {
            let Some(v) = o.view().filter(RoleView::active) else {
                continue;
            };
            assert!(
                v.epoch > tenure.epoch,
                "{} answered active in tenure {} while {} held tenure {}\n{}",
                o.identity,
                v.epoch,
                holder.identity,
                tenure.epoch,
                logs()
            );
            assert!(
                validity_ran_out(holder),
                "{} took over (tenure {}) while {} was still renewing tenure {}\n{}",
                o.identity,
                v.epoch,
                holder.identity,
                tenure.epoch,
                logs()
            );
            eprintln!(
                "  steady state ended by a store stall: {}'s validity ran out, {} holds tenure {}",
                holder.identity, o.identity, v.epoch
            );
            return Steady::Lapsed;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    match wait_active(holder, Duration::from_secs(2)) {
        Some(v) if v.epoch == tenure.epoch => Steady::Held,
        now => {
            assert!(
                validity_ran_out(holder),
                "{} left tenure {} (now {now:?}) without its validity running out\n{}",
                holder.identity,
                tenure.epoch,
                logs()
            );
            eprintln!(
                "  steady state ended by a store stall: {}'s validity ran out",
                holder.identity
            );
            Steady::Lapsed
        }
    }
}
