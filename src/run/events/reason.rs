//! The reason given with an event: the one line an operator reads to learn why the role
//! changed. Pure: the previous and the new facts and views in, a sentence out.

use super::Facts;
use crate::lease::{Role, View, FROZEN_OWNER, HANDOVER_ANY};
use crate::run::eligibility::{AppHealth, Eligibility};

/// What the loop knows beside the facts.
pub struct Context<'a> {
    pub identity: &'a str,
    /// This pod's priority (for the failback reasons).
    pub priority: i32,
    /// The view the previous event was recorded from, if any.
    pub before: Option<&'a View>,
    pub view: &'a View,
    pub eligibility: Eligibility,
    /// Wall-clock time the store has been failing since, when it is.
    pub unreachable_since: Option<&'a str>,
}

pub fn describe(prev: Option<&Facts>, next: &Facts, cx: &Context<'_>) -> String {
    let was = prev.map(|p| p.role).unwrap_or(Role::Unknown);
    match (was, next.role) {
        (Role::Active, Role::Active) => other_change(prev, next, cx),
        (_, Role::Active) => became_active(prev, next, cx),
        (Role::Active, _) => stopped_being_active(next, cx),
        (Role::Unknown, _) => match holder_phrase(next) {
            Some(h) => format!("first decision: passive; {h}"),
            None => "first decision: passive".into(),
        },
        _ => other_change(prev, next, cx),
    }
}

fn became_active(prev: Option<&Facts>, next: &Facts, cx: &Context<'_>) -> String {
    let Some(prev) = prev else {
        return "acquired the lease".into();
    };
    if prev.holder == next.holder && prev.epoch == next.epoch {
        return "renewed: the store confirmed this pod's lease again".into();
    }
    let handed_by = cx
        .before
        .filter(|v| v.handover_to.as_deref() == Some(cx.identity))
        .and_then(|v| v.handover_from.clone());
    if let Some(from) = handed_by {
        if cx.before.is_some_and(|v| v.handover_is_failback) {
            return format!(
                "acquired by failback: {from} handed the lease back to this preferred pod (priority {})",
                cx.priority
            );
        }
        return format!("acquired: handed over by {from}");
    }
    match prev.holder.as_deref() {
        None => "acquired the lease".into(),
        Some("") => "acquired the released lease".into(),
        Some(FROZEN_OWNER) => "acquired the lease after it was unfrozen".into(),
        Some(h) if h == cx.identity => "acquired the lease again (a new tenure)".into(),
        Some(h) => format!("took over from {h} after its lease ran out"),
    }
}

fn stopped_being_active(next: &Facts, cx: &Context<'_>) -> String {
    let view = cx.view;
    if view.releasing {
        return "shutting down: no more write windows; releasing once the last one ends".into();
    }
    if let Some(target) = &view.stepping_down {
        if !cx.eligibility.eligible() {
            return format!("stepping down: {}", ineligible_why(cx.eligibility));
        }
        return if target == HANDOVER_ANY {
            "releasing for handover to any other candidate".into()
        } else if view.handover_is_failback {
            format!("releasing for failback to {target}, which has a higher priority")
        } else {
            format!("releasing for handover to {target}")
        };
    }
    if next.frozen {
        return "frozen by an operator: the renewal was refused".into();
    }
    match next.holder.as_deref() {
        Some(h) if !h.is_empty() && h != cx.identity => {
            format!("lost the lease: {h} holds it now")
        }
        Some("") => "released".into(),
        _ => match cx.unreachable_since {
            Some(since) => format!("validity ran out: store unreachable since {since}"),
            None => "validity ran out before a renewal was confirmed".into(),
        },
    }
}

fn other_change(prev: Option<&Facts>, next: &Facts, cx: &Context<'_>) -> String {
    let Some(prev) = prev else {
        return holder_phrase(next).unwrap_or_else(|| "state changed".into());
    };
    if prev.eligible != next.eligible {
        return if next.eligible {
            "eligible again: may hold the lease".into()
        } else {
            format!("not eligible: {}", ineligible_why(cx.eligibility))
        };
    }
    if prev.frozen != next.frozen {
        return if next.frozen {
            "frozen by an operator: nobody acquires until it is unfrozen".into()
        } else {
            "unfrozen".into()
        };
    }
    if prev.holder != next.holder {
        if next.holder.as_deref() == Some("") {
            let by = prev.holder.as_deref().unwrap_or("the holder");
            return match cx.view.handover_to.as_deref() {
                Some(HANDOVER_ANY) => format!("released by {by} for handover to any candidate"),
                Some(to) if cx.view.handover_is_failback => {
                    format!("released by {by} for failback to {to}")
                }
                Some(to) => format!("released by {by} for handover to {to}"),
                None => format!("released by {by}"),
            };
        }
        return match (prev.holder.as_deref(), next.holder.as_deref()) {
            (Some(p), Some(n)) if !p.is_empty() && p != FROZEN_OWNER => {
                format!("{n} took over from {p} (epoch {})", epoch(next))
            }
            _ => holder_phrase(next).unwrap_or_else(|| "the lease item is gone".into()),
        };
    }
    if prev.epoch != next.epoch {
        return format!("new tenure of {} (epoch {})", holder_of(next), epoch(next));
    }
    "state changed".into()
}

fn ineligible_why(e: Eligibility) -> &'static str {
    if !e.warm {
        "warming up"
    } else if e.app == AppHealth::Unhealthy {
        "controller unhealthy"
    } else {
        "controller health not known yet"
    }
}

fn holder_phrase(f: &Facts) -> Option<String> {
    match f.holder.as_deref()? {
        "" => Some("the lease is released".into()),
        FROZEN_OWNER => Some("the lease is frozen".into()),
        h => Some(format!("{h} holds the lease (epoch {})", epoch(f))),
    }
}

fn holder_of(f: &Facts) -> &str {
    f.holder.as_deref().unwrap_or("nobody")
}

fn epoch(f: &Facts) -> String {
    f.epoch.map_or("unknown".into(), |e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(role: Role, holder: &str, epoch: u64) -> Facts {
        Facts {
            role,
            holder: Some(holder.into()),
            epoch: Some(epoch),
            frozen: holder == FROZEN_OWNER,
            eligible: true,
        }
    }

    fn cx<'a>(view: &'a View, before: Option<&'a View>) -> Context<'a> {
        Context {
            identity: "a",
            priority: 10,
            before,
            view,
            eligibility: Eligibility {
                warm: true,
                app: AppHealth::NotChecked,
            },
            unreachable_since: None,
        }
    }

    #[test]
    fn each_way_of_becoming_active_is_told_apart() {
        let v = View::default();
        let active = facts(Role::Active, "a", 5);
        let from_b = facts(Role::Passive, "b", 4);
        assert_eq!(
            describe(Some(&from_b), &active, &cx(&v, None)),
            "took over from b after its lease ran out"
        );
        let released = facts(Role::Passive, "", 4);
        assert_eq!(
            describe(Some(&released), &active, &cx(&v, None)),
            "acquired the released lease"
        );
        let handover = View {
            handover_to: Some("a".into()),
            handover_from: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            describe(Some(&released), &active, &cx(&v, Some(&handover))),
            "acquired: handed over by b"
        );
        let failback = View {
            handover_is_failback: true,
            ..handover.clone()
        };
        assert_eq!(
            describe(Some(&released), &active, &cx(&v, Some(&failback))),
            "acquired by failback: b handed the lease back to this preferred pod (priority 10)"
        );
        let lapsed = facts(Role::Passive, "a", 5);
        assert!(describe(Some(&lapsed), &active, &cx(&v, None)).starts_with("renewed"));
    }

    #[test]
    fn each_way_of_losing_active_is_told_apart() {
        let active = facts(Role::Active, "a", 5);
        let passive_us = facts(Role::Passive, "a", 5);
        let stepping = View {
            stepping_down: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            describe(Some(&active), &passive_us, &cx(&stepping, None)),
            "releasing for handover to b"
        );
        let failing_back = View {
            handover_is_failback: true,
            ..stepping.clone()
        };
        assert_eq!(
            describe(Some(&active), &passive_us, &cx(&failing_back, None)),
            "releasing for failback to b, which has a higher priority"
        );
        let stopping = View {
            releasing: true,
            ..Default::default()
        };
        assert!(
            describe(Some(&active), &passive_us, &cx(&stopping, None)).starts_with("shutting down")
        );
        let v = View::default();
        let mut c = cx(&v, None);
        c.unreachable_since = Some("Sun, 22 Nov 2026 03:12:00 GMT");
        assert_eq!(
            describe(Some(&active), &passive_us, &c),
            "validity ran out: store unreachable since Sun, 22 Nov 2026 03:12:00 GMT"
        );
        let frozen = facts(Role::Passive, FROZEN_OWNER, 5);
        assert!(describe(Some(&active), &frozen, &cx(&v, None)).starts_with("frozen"));
        let unhealthy = View {
            stepping_down: Some(HANDOVER_ANY.into()),
            ..Default::default()
        };
        let mut c = cx(&unhealthy, None);
        c.eligibility.app = AppHealth::Unhealthy;
        assert_eq!(
            describe(Some(&active), &passive_us, &c),
            "stepping down: controller unhealthy"
        );
    }

    #[test]
    fn passive_changes_name_the_holder() {
        let v = View::default();
        let b = facts(Role::Passive, "b", 4);
        let c = facts(Role::Passive, "c", 5);
        assert_eq!(
            describe(Some(&b), &c, &cx(&v, None)),
            "c took over from b (epoch 5)"
        );
        assert_eq!(
            describe(None, &b, &cx(&v, None)),
            "first decision: passive; b holds the lease (epoch 4)"
        );
    }
}
