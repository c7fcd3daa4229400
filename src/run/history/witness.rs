//! What the new holder knows about the change it just made: who held the lease before,
//! at which epoch, how it let go, and when this pod last saw a sign of life of it. Pure:
//! fed every view the loop publishes, it names the change once, at the first active
//! answer of a new epoch. It reads only the published view, so the lease core's `Step`
//! protocol knows nothing of history and the steady state sends nothing more.

use std::time::Duration;

use crate::lease::history::How;
use crate::lease::{Role, View, FROZEN_OWNER, HANDOVER_ANY};
use crate::sys::clock::Mono;

/// One epoch as this pod saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tenure {
    epoch: u64,
    /// The last owner seen holding it (not released, not frozen).
    owner: Option<String>,
    /// When the latest version of this epoch was first received: the last renewal seen,
    /// or the release.
    last_sign: Option<Mono>,
    released: bool,
    frozen: bool,
    handover_from: Option<String>,
    handover_to: Option<String>,
    failback: bool,
}

/// A change of owner to this pod, as it saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Noticed {
    pub epoch: u64,
    pub previous_epoch: Option<u64>,
    pub previous_owner: Option<String>,
    pub how: How,
    pub reason: String,
    pub gap: Option<Duration>,
}

#[derive(Debug)]
pub struct Witness {
    identity: String,
    priority: i32,
    /// The newest epoch seen below the one being held or acquired, and the one after it.
    before: Option<Tenure>,
    latest: Option<Tenure>,
    /// The epoch this process last named a change for.
    named: Option<u64>,
}

impl Witness {
    pub fn new(identity: &str, priority: i32) -> Self {
        Witness {
            identity: identity.to_string(),
            priority,
            before: None,
            latest: None,
            named: None,
        }
    }

    /// Takes in one published view; returns the change once this pod first answers
    /// active at an epoch it has not named yet.
    pub fn observe(&mut self, view: &View, role: Role, now: Mono) -> Option<Noticed> {
        let epoch = view.epoch?;
        let mine = view.holder.as_deref() == Some(self.identity.as_str());
        if role == Role::Active && mine && self.named != Some(epoch) {
            self.named = Some(epoch);
            let before = [&self.latest, &self.before]
                .into_iter()
                .flatten()
                .find(|t| t.epoch < epoch);
            return Some(notice(&self.identity, self.priority, epoch, before, now));
        }
        // While this pod acquires (before its first active answer), the item already shows
        // it at the new epoch: no tenure yet to learn from. Once named, its own tenure is
        // learned like any other (it is the previous one of the next change).
        let acquiring = mine && self.named != Some(epoch);
        if acquiring && self.latest.as_ref().is_some_and(|t| epoch > t.epoch) {
            return None;
        }
        if self.latest.as_ref().is_none_or(|t| t.epoch != epoch) {
            self.before = self.latest.take();
            self.latest = Some(Tenure {
                epoch,
                ..Tenure::default()
            });
        }
        if let Some(t) = self.latest.as_mut() {
            learn(t, view);
        }
        None
    }
}

fn learn(t: &mut Tenure, view: &View) {
    let holder = view.holder.as_deref().unwrap_or("");
    t.frozen |= holder == FROZEN_OWNER || view.released_by_operator;
    t.released = holder.is_empty();
    if !holder.is_empty() && holder != FROZEN_OWNER {
        t.owner = Some(holder.to_string());
    }
    t.last_sign = view.holder_since.or(t.last_sign);
    if view.handover_to.is_some() {
        t.handover_from = view.handover_from.clone();
        t.handover_to = view.handover_to.clone();
        t.failback = view.handover_is_failback;
    } else if holder.is_empty() {
        t.handover_to = None;
    }
}

fn notice(
    identity: &str,
    priority: i32,
    epoch: u64,
    before: Option<&Tenure>,
    now: Mono,
) -> Noticed {
    let gap = before.and_then(|t| t.last_sign).map(|at| now.since(at));
    let Some(t) = before else {
        return Noticed {
            epoch,
            previous_epoch: None,
            previous_owner: None,
            how: How::First,
            reason: "first holder of the lease (no item before it)".into(),
            gap,
        };
    };
    let owner = t.owner.clone().or_else(|| t.handover_from.clone());
    let who = owner
        .clone()
        .unwrap_or_else(|| "the previous holder".into());
    let handed = t.released
        && t.handover_to
            .as_deref()
            .is_some_and(|to| to == identity || to == HANDOVER_ANY);
    let (how, reason) = if t.frozen {
        (
            How::AfterUnfreeze,
            format!(
                "acquired after an operator unfroze the lease (held by {who} before the freeze)"
            ),
        )
    } else if handed && t.failback {
        (
            How::Failback,
            format!(
                "failback: {who} handed the lease back to this preferred pod (priority {priority})"
            ),
        )
    } else if handed {
        (How::Handover, format!("planned handover from {who}"))
    } else if t.released && owner.is_none() && t.epoch == 0 {
        (
            How::First,
            "first holder of the lease (nobody held it before)".into(),
        )
    } else if t.released {
        (
            How::AcquiredRelease,
            format!("acquired the lease {who} released"),
        )
    } else {
        (
            How::Takeover,
            format!("took over from {who} after its lease ran out"),
        )
    };
    Noticed {
        epoch,
        previous_epoch: Some(t.epoch),
        previous_owner: owner,
        how,
        reason,
        gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Mono {
        Mono::from_duration(Duration::from_millis(ms))
    }

    fn view(holder: &str, epoch: u64, since_ms: u64) -> View {
        View {
            initialized: true,
            holder: Some(holder.into()),
            epoch: Some(epoch),
            holder_since: Some(at(since_ms)),
            ..View::default()
        }
    }

    /// Feeds passive views, then this pod's own (acquiring, then active) at `epoch`.
    fn acquire(w: &mut Witness, seen: &[View], epoch: u64, now_ms: u64) -> Noticed {
        for v in seen {
            assert_eq!(w.observe(v, Role::Passive, at(0)), None);
        }
        let own = view("me", epoch, now_ms - 1);
        assert_eq!(
            w.observe(&own, Role::Passive, at(now_ms - 1)),
            None,
            "confirming"
        );
        let noticed = w.observe(&own, Role::Active, at(now_ms)).expect("named");
        assert_eq!(w.observe(&own, Role::Active, at(now_ms + 5)), None, "once");
        noticed
    }

    #[test]
    fn a_takeover_counts_the_gap_from_the_last_renewal_seen() {
        let mut w = Witness::new("me", 0);
        let seen = [view("a", 4, 1000), view("a", 4, 2000)];
        let n = acquire(&mut w, &seen, 5, 9500);
        assert_eq!(n.how, How::Takeover);
        assert_eq!(n.previous_owner.as_deref(), Some("a"));
        assert_eq!(n.previous_epoch, Some(4));
        assert_eq!(n.gap, Some(Duration::from_millis(7500)));
        assert!(n.reason.contains("took over from a"), "{}", n.reason);
    }

    #[test]
    fn a_release_a_handover_and_a_failback_are_told_apart() {
        let released = |to: Option<&str>, failback| View {
            handover_to: to.map(Into::into),
            handover_from: to.map(|_| "a".into()),
            handover_is_failback: failback,
            ..view("", 4, 3000)
        };
        for (to, failback, how) in [
            (None, false, How::AcquiredRelease),
            (Some("me"), false, How::Handover),
            (Some("*"), false, How::Handover),
            (Some("me"), true, How::Failback),
            (Some("other"), false, How::AcquiredRelease),
        ] {
            let mut w = Witness::new("me", 10);
            let n = acquire(
                &mut w,
                &[view("a", 4, 1000), released(to, failback)],
                5,
                3200,
            );
            assert_eq!(n.how, how, "{to:?} {failback}");
            assert_eq!(n.previous_owner.as_deref(), Some("a"));
            assert_eq!(n.gap, Some(Duration::from_millis(200)), "from the release");
        }
    }

    #[test]
    fn a_freeze_in_between_is_an_acquire_after_unfreeze() {
        let mut w = Witness::new("me", 0);
        let seen = [
            view("a", 4, 1000),
            view(FROZEN_OWNER, 4, 2000),
            view("", 4, 8000),
        ];
        let n = acquire(&mut w, &seen, 5, 8100);
        assert_eq!(n.how, How::AfterUnfreeze);
        assert_eq!(n.previous_owner.as_deref(), Some("a"));
        assert_eq!(n.previous_epoch, Some(4));
    }

    #[test]
    fn after_this_pods_own_tenure_is_frozen_it_is_the_previous_owner() {
        let mut w = Witness::new("me", 0);
        acquire(&mut w, &[view("a", 4, 1000)], 5, 2000);
        let mut mine = view("me", 5, 2500);
        mine.active_until = Some(at(9000));
        assert_eq!(w.observe(&mine, Role::Active, at(2600)), None, "renewed");
        let seen = [view(FROZEN_OWNER, 5, 3000), view("", 5, 7000)];
        for v in &seen {
            w.observe(v, Role::Passive, at(0));
        }
        let own = view("me", 6, 7300);
        let n = w.observe(&own, Role::Active, at(7400)).expect("named");
        assert_eq!((n.how, n.previous_epoch), (How::AfterUnfreeze, Some(5)));
        assert_eq!(n.previous_owner.as_deref(), Some("me"));
        assert_eq!(n.gap, Some(Duration::from_millis(400)), "from the unfreeze");
    }

    #[test]
    fn an_unfreeze_the_holder_never_saw_frozen_is_still_named() {
        let mut w = Witness::new("me", 0);
        let unfrozen = View {
            released_by_operator: true,
            ..view("", 4, 3000)
        };
        let n = acquire(&mut w, &[view("a", 4, 1000), unfrozen], 5, 3600);
        assert_eq!(n.how, How::AfterUnfreeze);
        assert_eq!(n.gap, Some(Duration::from_millis(600)));
    }

    #[test]
    fn the_first_holder_and_this_pods_own_earlier_tenure() {
        let mut w = Witness::new("me", 0);
        let absent = View {
            initialized: true,
            ..View::default()
        };
        assert_eq!(w.observe(&absent, Role::Passive, at(0)), None);
        let n = acquire(&mut w, &[], 1, 10);
        assert_eq!((n.how, n.previous_epoch, n.gap), (How::First, None, None));
        let mut w = Witness::new("me", 0);
        let n = acquire(&mut w, &[view("", 0, 5)], 1, 10);
        assert_eq!(n.how, How::First, "the seed create-table writes");
        // Restarted: the item still names this pod's previous process.
        let mut w = Witness::new("me", 0);
        let n = acquire(&mut w, &[view("me", 7, 100)], 8, 4100);
        assert_eq!(n.how, How::Takeover);
        assert_eq!(n.previous_owner.as_deref(), Some("me"));
        assert_eq!(n.gap, Some(Duration::from_secs(4)));
        // Lost to b, then back: linked to b's epoch, not to this pod's own.
        let n2 = acquire(&mut w, &[view("b", 9, 5000)], 10, 6000);
        assert_eq!(n2.previous_epoch, Some(9));
        assert_eq!(n2.previous_owner.as_deref(), Some("b"));
    }
}
