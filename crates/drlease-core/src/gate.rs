//! The role gate: what every "may I write?" is answered from, and the write windows those
//! answers grant.
//!
//! An "active" answer is a promise that lasts beyond the instant it is made: the controller
//! writes a moment after it asked. So every active answer grants a window (how long from
//! the decision the pod stays active: at most the validity left, at most the configured
//! write window unless the caller asked for more with `min_validity`), and the gate
//! remembers where the latest window ends. The lease loop publishes through [`Gate::set`],
//! which hands that instant back; the core sends no release before it (see the core's
//! "write windows" rule). Grants and publishes take the same lock, so a grant either
//! happens before a publish that stops granting (and the loop sees it) or after (and is
//! refused): nothing slips between.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Mono;
use crate::view::role_at;
use crate::{Role, View};

/// A window granted with an "active" answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// From the decision instant: the caller may write for this long.
    pub valid_for: Duration,
    /// The fencing token of the tenure the window belongs to.
    pub epoch: u64,
}

/// One answer from the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub role: Role,
    /// The clock reading the answer was decided at.
    pub at: Mono,
    /// Present exactly when the answer says "you may write".
    pub grant: Option<Grant>,
}

#[derive(Debug, Default)]
struct State {
    initialized: bool,
    active_until: Option<Mono>,
    epoch: u64,
    /// Every window granted so far ends by here.
    granted_until: Mono,
    /// Shutting down: no more windows, whatever the loop last published.
    revoked: bool,
}

#[derive(Debug)]
pub struct Gate {
    state: Mutex<State>,
    window: Duration,
}

impl Gate {
    pub const SMALLEST_GRANT: Duration = Duration::from_millis(1);

    /// `window`: the longest window granted to a caller that does not ask for more.
    pub fn new(window: Duration) -> Self {
        Gate {
            state: Mutex::new(State::default()),
            window,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing under this lock can panic half-way; a poisoned lock still holds good data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes the loop's latest view. Returns where the latest window granted ends,
    /// read under the same lock: once a view that stops granting is set, it cannot grow.
    pub fn set(&self, view: &View) -> Mono {
        let mut s = self.lock();
        s.initialized = view.initialized;
        s.active_until = view.active_until;
        s.epoch = view.epoch.unwrap_or(0);
        s.granted_until
    }

    /// Stops granting for good (shutdown). Returns where the latest window granted ends.
    pub fn revoke(&self) -> Mono {
        let mut s = self.lock();
        s.revoked = true;
        s.granted_until
    }

    pub fn granted_until(&self) -> Mono {
        self.lock().granted_until
    }

    /// The role at `now`, granting nothing (for observers: probes, heartbeats, metrics).
    pub fn role_at(&self, now: Mono) -> Role {
        let s = self.lock();
        role_of(&s, now)
    }

    /// The answer to a caller that may write on it: grants a window when active and at
    /// least `min_validity` of validity is left. An active pod with less left answers
    /// active without a grant, which the endpoints turn into a refusal.
    pub fn ask(&self, now: Mono, min_validity: Duration) -> Answer {
        let mut s = self.lock();
        let role = role_of(&s, now);
        let mut answer = Answer {
            role,
            at: now,
            grant: None,
        };
        let Some(until) = s.active_until.filter(|_| role == Role::Active) else {
            return answer;
        };
        // A window is granted in whole milliseconds (the header's unit): under one left,
        // there is nothing to grant.
        let left = until.since(now);
        if s.revoked || left < min_validity.max(Self::SMALLEST_GRANT) {
            return answer;
        }
        let valid_for = left.min(self.window.max(min_validity));
        s.granted_until = s.granted_until.max(now.plus(valid_for));
        answer.grant = Some(Grant {
            valid_for,
            epoch: s.epoch,
        });
        answer
    }
}

/// The view's rule, with a revoked gate holding no validity.
fn role_of(s: &State, now: Mono) -> Role {
    role_at(s.initialized, s.active_until.filter(|_| !s.revoked), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Mono {
        Mono::from_duration(Duration::from_millis(ms))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn active_until(until: u64, epoch: u64) -> View {
        View {
            initialized: true,
            active_until: Some(at(until)),
            epoch: Some(epoch),
            ..Default::default()
        }
    }

    #[test]
    fn a_window_is_the_configured_one_capped_by_the_validity_left() {
        let gate = Gate::new(ms(2000));
        gate.set(&active_until(10_000, 7));
        let a = gate.ask(at(1000), Duration::ZERO);
        assert_eq!(a.role, Role::Active);
        assert_eq!(
            a.grant,
            Some(Grant {
                valid_for: ms(2000),
                epoch: 7
            })
        );
        assert_eq!(gate.granted_until(), at(3000));
        let late = gate.ask(at(9500), Duration::ZERO);
        assert_eq!(
            late.grant.unwrap().valid_for,
            ms(500),
            "never past validity"
        );
        assert_eq!(gate.granted_until(), at(10_000));
    }

    #[test]
    fn min_validity_is_granted_in_full_or_refused() {
        let gate = Gate::new(ms(2000));
        gate.set(&active_until(10_000, 1));
        let long = gate.ask(at(1000), ms(5000));
        assert_eq!(long.grant.unwrap().valid_for, ms(5000));
        assert_eq!(gate.granted_until(), at(6000));
        let short = gate.ask(at(8000), ms(5000));
        assert_eq!(short.role, Role::Active);
        assert_eq!(short.grant, None, "only 2 s left");
        assert_eq!(gate.granted_until(), at(6000), "a refusal grants nothing");
    }

    #[test]
    fn the_publish_that_stops_granting_returns_every_window_granted_before_it() {
        let gate = Gate::new(ms(2000));
        gate.set(&active_until(10_000, 1));
        gate.ask(at(1000), Duration::ZERO);
        let stop = View {
            initialized: true,
            ..Default::default()
        };
        assert_eq!(gate.set(&stop), at(3000));
        assert_eq!(gate.ask(at(1001), Duration::ZERO).grant, None);
        assert_eq!(gate.granted_until(), at(3000));
    }

    #[test]
    fn revoking_stops_grants_whatever_the_loop_published() {
        let gate = Gate::new(ms(2000));
        gate.set(&active_until(10_000, 1));
        gate.ask(at(1000), Duration::ZERO);
        assert_eq!(gate.revoke(), at(3000));
        let a = gate.ask(at(1500), Duration::ZERO);
        assert_eq!((a.role, a.grant), (Role::Passive, None));
        gate.set(&active_until(20_000, 1));
        assert_eq!(gate.role_at(at(1600)), Role::Passive, "a late publish");
    }

    #[test]
    fn under_a_millisecond_left_grants_nothing() {
        let gate = Gate::new(ms(2000));
        gate.set(&active_until(10_000, 1));
        let almost = Mono::from_duration(Duration::from_micros(9_999_600));
        let a = gate.ask(almost, Duration::ZERO);
        assert_eq!((a.role, a.grant), (Role::Active, None));
    }

    #[test]
    fn no_decision_yet_is_unknown_and_grants_nothing() {
        let gate = Gate::new(ms(2000));
        let a = gate.ask(at(1), Duration::ZERO);
        assert_eq!((a.role, a.grant), (Role::Unknown, None));
    }
}
