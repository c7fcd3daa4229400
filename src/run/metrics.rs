//! Prometheus metrics (prefix `drlease_`). Every series carries the lease name as a
//! constant label. Role-derived gauges are set at scrape time from the published view,
//! so a stalled loop cannot leave `is_active` at 1.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::lease::Role;
#[cfg(test)]
use crate::lease::View;
use crate::run::eligibility::AppHealth;
use crate::run::state::Snapshot;
use crate::sys::clock::Mono;

pub struct Metrics {
    registry: Registry,
    is_active: IntGauge,
    role: IntGaugeVec,
    epoch: IntGauge,
    transitions: IntCounterVec,
    store_requests: IntCounterVec,
    store_duration: HistogramVec,
    validity: Gauge,
    holder_age: Gauge,
    conflict: IntGauge,
    epoch_exhausted: IntGauge,
    region_conflicts: IntCounter,
    rollbacks: IntCounter,
    eligible: IntGauge,
    app_healthy: IntGauge,
    frozen: IntGauge,
    handover_pending: IntGauge,
    priority: IntGauge,
    failbacks: IntCounterVec,
}

fn opts(name: &str, help: &str, lease: &str) -> Opts {
    Opts::new(name, help)
        .namespace("drlease")
        .const_label("lease", lease)
}

impl Metrics {
    pub fn region_conflict(&self) {
        self.region_conflicts.inc();
    }

    pub fn new(lease: &str) -> Metrics {
        let registry = Registry::new();
        let o = |name: &str, help: &str| opts(name, help, lease);
        let is_active = IntGauge::with_opts(o("is_active", "1 while this pod may write")).unwrap();
        let role = IntGaugeVec::new(o("role", "1 for the current role"), &["role"]).unwrap();
        let epoch = IntGauge::with_opts(o("epoch", "Fencing token of the current holder")).unwrap();
        let transitions = IntCounterVec::new(
            o("transitions_total", "Role changes seen by this pod"),
            &["from", "to"],
        )
        .unwrap();
        let store_requests = IntCounterVec::new(
            o(
                "store_requests_total",
                "Store calls by operation and result",
            ),
            &["op", "result"],
        )
        .unwrap();
        let store_duration = HistogramVec::new(
            HistogramOpts::new("store_request_duration_seconds", "Store call latency")
                .namespace("drlease")
                .const_label("lease", lease)
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            &["op"],
        )
        .unwrap();
        let validity = Gauge::with_opts(o(
            "lease_validity_seconds",
            "Seconds this pod stays active without another renewal (0 when passive)",
        ))
        .unwrap();
        let holder_age = Gauge::with_opts(o(
            "holder_last_change_age_seconds",
            "Seconds since the lease item last changed, as observed by this pod",
        ))
        .unwrap();
        let conflict = IntGauge::with_opts(o(
            "identity_conflict",
            "1 while another live process uses this pod's identity",
        ))
        .unwrap();
        let epoch_exhausted = IntGauge::with_opts(o(
            "epoch_exhausted",
            "1 while the lease epoch is at its limit and no new owner can be fenced above it",
        ))
        .unwrap();
        let region_conflicts = IntCounter::with_opts(o(
            "region_conflicts_total",
            "Times this pod stopped holding because another region's holder outranked it (MREC: a partition, or a lag past the confirm delay)",
        ))
        .unwrap();
        let rollbacks = IntCounter::with_opts(o(
            "store_rollbacks_total",
            "Times the lease item went backwards (lower epoch, or vanished)",
        ))
        .unwrap();
        let eligible = IntGauge::with_opts(o(
            "eligible",
            "1 while this pod may hold the lease (warm-up over, controller healthy)",
        ))
        .unwrap();
        let app_healthy = IntGauge::with_opts(o(
            "app_healthy",
            "1 while the controller answers 2xx on its health URL (or none is configured)",
        ))
        .unwrap();
        let frozen = IntGauge::with_opts(o(
            "frozen",
            "1 while the lease is frozen (SKIP-LEASE-POD), as last seen by this pod",
        ))
        .unwrap();
        let handover_pending = IntGauge::with_opts(o(
            "handover_pending",
            "1 while the lease item carries a planned handover, as last seen by this pod",
        ))
        .unwrap();
        let priority = IntGauge::with_opts(o(
            "priority",
            "This pod's failover priority (--priority; higher is preferred)",
        ))
        .unwrap();
        let failbacks = IntCounterVec::new(
            o(
                "failbacks_total",
                "Failbacks by priority: gained (this pod took the lease on its own request) or lost (it handed the lease to a preferred pod)",
            ),
            &["direction"],
        )
        .unwrap();
        for direction in ["gained", "lost"] {
            failbacks.with_label_values(&[direction]);
        }
        let build_info =
            IntGaugeVec::new(o("build_info", "Build information"), &["version"]).unwrap();
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for c in [
            Box::new(is_active.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(role.clone()),
            Box::new(epoch.clone()),
            Box::new(transitions.clone()),
            Box::new(store_requests.clone()),
            Box::new(store_duration.clone()),
            Box::new(validity.clone()),
            Box::new(holder_age.clone()),
            Box::new(conflict.clone()),
            Box::new(epoch_exhausted.clone()),
            Box::new(region_conflicts.clone()),
            Box::new(rollbacks.clone()),
            Box::new(eligible.clone()),
            Box::new(app_healthy.clone()),
            Box::new(frozen.clone()),
            Box::new(handover_pending.clone()),
            Box::new(priority.clone()),
            Box::new(failbacks.clone()),
            Box::new(build_info),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process collector registers once");
        Metrics {
            registry,
            is_active,
            role,
            epoch,
            transitions,
            store_requests,
            store_duration,
            validity,
            holder_age,
            conflict,
            epoch_exhausted,
            region_conflicts,
            rollbacks,
            eligible,
            app_healthy,
            frozen,
            handover_pending,
            priority,
            failbacks,
        }
    }

    pub fn set_priority(&self, priority: i32) {
        self.priority.set(priority.into());
    }

    pub fn store_request(&self, op: &str, result: &str, seconds: f64) {
        self.store_requests.with_label_values(&[op, result]).inc();
        self.store_duration
            .with_label_values(&[op])
            .observe(seconds);
    }

    pub fn transition(&self, from: Role, to: Role) {
        self.transitions
            .with_label_values(&[from.as_str(), to.as_str()])
            .inc();
    }

    pub fn set_rollbacks(&self, total: u64) {
        let seen = self.rollbacks.get();
        if total > seen {
            self.rollbacks.inc_by(total - seen);
        }
    }

    /// Text exposition, with the role-derived gauges computed for `now`. `role` is the
    /// gate's answer at `now` (the one rule every surface reads: after a SIGTERM stops
    /// granting, the view may still say active until the loop publishes again).
    pub fn render(&self, snap: &Snapshot, role: Role, now: Mono) -> Result<String, String> {
        let view = &snap.view;
        self.eligible.set(snap.eligibility.eligible() as i64);
        self.app_healthy.set(matches!(
            snap.eligibility.app,
            AppHealth::NotChecked | AppHealth::Healthy
        ) as i64);
        self.is_active.set((role == Role::Active) as i64);
        for r in Role::ALL {
            self.role
                .with_label_values(&[r.as_str()])
                .set((r == role) as i64);
        }
        self.epoch.set(view.epoch.unwrap_or(0) as i64);
        let validity = match role {
            Role::Active => view.validity_left(now),
            _ => std::time::Duration::ZERO,
        };
        self.validity.set(validity.as_secs_f64());
        self.holder_age.set(
            view.holder_since
                .map(|t| now.since(t).as_secs_f64())
                .unwrap_or(0.0),
        );
        self.conflict.set(view.conflict as i64);
        self.epoch_exhausted.set(view.epoch_exhausted as i64);
        self.frozen.set(view.frozen as i64);
        self.handover_pending.set(view.handover_pending as i64);
        // The core counts; the counters catch up to it.
        for (direction, total) in [
            ("gained", view.failbacks_gained),
            ("lost", view.failbacks_lost),
        ] {
            let counter = self.failbacks.with_label_values(&[direction]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| format!("metrics text is not UTF-8: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn is_active_follows_the_deadline_at_scrape_time() {
        let m = Metrics::new("l1");
        let view = View {
            initialized: true,
            active_until: Some(Mono::from_duration(Duration::from_secs(10))),
            epoch: Some(3),
            ..Default::default()
        };
        let snap = |view: &View| Snapshot {
            view: view.clone(),
            ..Default::default()
        };
        let at = |s| Mono::from_duration(Duration::from_secs(s));
        let text = m.render(&snap(&view), view.role_at(at(9)), at(9)).unwrap();
        assert!(text.contains("drlease_is_active{lease=\"l1\"} 1"), "{text}");
        assert!(text.contains("drlease_epoch{lease=\"l1\"} 3"));
        assert!(text.contains("drlease_build_info{lease=\"l1\",version="));
        let text = m
            .render(&snap(&view), view.role_at(at(11)), at(11))
            .unwrap();
        assert!(text.contains("drlease_is_active{lease=\"l1\"} 0"));
        assert!(text.contains("drlease_role{lease=\"l1\",role=\"passive\"} 1"));
    }

    #[test]
    fn priority_and_failbacks_are_exported() {
        let m = Metrics::new("l1");
        m.set_priority(-3);
        let view = View {
            failbacks_gained: 2,
            failbacks_lost: 1,
            ..Default::default()
        };
        let snap = Snapshot {
            view,
            ..Default::default()
        };
        let text = m.render(&snap, Role::Unknown, Mono::ZERO).unwrap();
        assert!(text.contains("drlease_priority{lease=\"l1\"} -3"), "{text}");
        assert!(
            text.contains("drlease_failbacks_total{direction=\"gained\",lease=\"l1\"} 2"),
            "{text}"
        );
        assert!(text.contains("drlease_failbacks_total{direction=\"lost\",lease=\"l1\"} 1"));
        // Rendered again, the counters stay where they are.
        let text = m.render(&snap, Role::Unknown, Mono::ZERO).unwrap();
        assert!(text.contains("drlease_failbacks_total{direction=\"gained\",lease=\"l1\"} 2"));
    }
}
