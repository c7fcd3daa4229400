//! Prometheus metrics (prefix `drlease_`). Every series carries the lease name as a
//! constant label. Role-derived gauges are set at scrape time from the published view,
//! so a stalled loop cannot leave `is_active` at 1.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::lease::Role;
#[cfg(test)]
use crate::lease::View;
use crate::run::eligibility::AppHealth;
use crate::run::publish::Snapshot;
use crate::sys::clock::Mono;

pub struct Metrics {
    registry: Registry,
    is_active: IntGauge,
    role: IntGaugeVec,
    epoch: IntGauge,
    transitions: IntCounterVec,
    store_requests: IntCounterVec,
    store_duration: HistogramVec,
    failover_gap: HistogramVec,
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
    outside_rule: IntGauge,
    table_changed: IntGauge,
}

fn opts(name: &str, help: &str, lease: &str) -> Opts {
    Opts::new(name, help)
        .namespace("drlease")
        .const_label("lease", lease)
}

/// Makes each series and registers it at once, so none is made and left unregistered.
/// The names are constants: a failure here is a bug caught by any test that builds one.
struct Series<'a> {
    registry: &'a Registry,
    lease: &'a str,
}

impl Series<'_> {
    fn register<C: Collector + Clone + 'static>(&self, c: C) -> C {
        self.registry
            .register(Box::new(c.clone()))
            .expect("metric names are unique");
        c
    }

    fn int_gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::with_opts(opts(name, help, self.lease)).unwrap())
    }

    fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(Gauge::with_opts(opts(name, help, self.lease)).unwrap())
    }

    fn int_counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::with_opts(opts(name, help, self.lease)).unwrap())
    }

    fn int_gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(opts(name, help, self.lease), labels).unwrap())
    }

    fn int_counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(opts(name, help, self.lease), labels).unwrap())
    }
    fn store_duration(&self) -> HistogramVec {
        self.register(
            HistogramVec::new(
                HistogramOpts::new("store_request_duration_seconds", "Store call latency")
                    .namespace("drlease")
                    .const_label("lease", self.lease)
                    .buckets(vec![
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                &["op"],
            )
            .unwrap(),
        )
    }

    /// Every `how` exists from the start, so a panel shows 0 rather than nothing.
    fn failover_gap(&self) -> HistogramVec {
        let gap = self.register(
            HistogramVec::new(
                HistogramOpts::new(
                    "failover_gap_seconds",
                    "Changes of owner to this pod, by how, and how long nobody was active before each (from the previous holder's last sign of life this pod saw)",
                )
                .namespace("drlease")
                .const_label("lease", self.lease)
                .buckets(vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0]),
                &["how"],
            )
            .unwrap(),
        );
        for how in crate::lease::history::How::ALL {
            gap.with_label_values(&[how.as_str()]);
        }
        gap
    }

    /// Both directions exist from the start, at 0, so alerts on a rate see them.
    fn failbacks(&self) -> IntCounterVec {
        let failbacks = self.int_counter_vec(
            "failbacks_total",
            "Failbacks by priority: gained (this pod took the lease on its own request) or lost (it handed the lease to a preferred pod)",
            &["direction"],
        );
        for direction in ["gained", "lost"] {
            failbacks.with_label_values(&[direction]);
        }
        failbacks
    }

    /// Series set once: the build, and the process's own (CPU, memory, open files).
    fn build_info_and_process(&self) {
        self.int_gauge_vec("build_info", "Build information", &["version"])
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        #[cfg(target_os = "linux")]
        self.registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process collector registers once");
    }
}

impl Metrics {
    pub fn region_conflict(&self) {
        self.region_conflicts.inc();
    }

    /// Started with `--accept-outside-rule` where the promise is outside its rule.
    pub fn set_outside_rule(&self, outside: bool) {
        self.outside_rule.set(outside as i64);
    }

    /// The table's description differs from the one read at start (restart to follow it).
    pub fn set_table_changed(&self, changed: bool) {
        self.table_changed.set(changed as i64);
    }

    pub fn new(lease: &str) -> Metrics {
        let registry = Registry::new();
        let s = Series {
            registry: &registry,
            lease,
        };
        s.build_info_and_process();
        Metrics {
            is_active: s.int_gauge("is_active", "1 while this pod may write"),
            role: s.int_gauge_vec("role", "1 for the current role", &["role"]),
            epoch: s.int_gauge("epoch", "Fencing token of the current holder"),
            transitions: s.int_counter_vec(
                "transitions_total",
                "Role changes seen by this pod",
                &["from", "to"],
            ),
            store_requests: s.int_counter_vec(
                "store_requests_total",
                "Store calls by operation and result",
                &["op", "result"],
            ),
            store_duration: s.store_duration(),
            failover_gap: s.failover_gap(),
            validity: s.gauge(
                "lease_validity_seconds",
                "Seconds this pod stays active without another renewal (0 when passive)",
            ),
            holder_age: s.gauge(
                "holder_last_change_age_seconds",
                "Seconds since the lease item last changed, as observed by this pod",
            ),
            conflict: s.int_gauge(
                "identity_conflict",
                "1 while another live process uses this pod's identity",
            ),
            epoch_exhausted: s.int_gauge(
                "epoch_exhausted",
                "1 while the lease epoch is at its limit and no new owner can be fenced above it",
            ),
            region_conflicts: s.int_counter(
                "region_conflicts_total",
                "Times this pod stopped holding because another region's holder outranked it (MREC: a partition, or a lag past the confirm delay)",
            ),
            rollbacks: s.int_counter(
                "store_rollbacks_total",
                "Times the lease item went backwards (lower epoch, or vanished)",
            ),
            eligible: s.int_gauge(
                "eligible",
                "1 while this pod may hold the lease (warm-up over, controller healthy)",
            ),
            app_healthy: s.int_gauge(
                "app_healthy",
                "1 while the controller answers 2xx on its health URL (or none is configured)",
            ),
            frozen: s.int_gauge(
                "frozen",
                "1 while the lease is frozen (SKIP-LEASE-POD), as last seen by this pod",
            ),
            handover_pending: s.int_gauge(
                "handover_pending",
                "1 while the lease item carries a planned handover, as last seen by this pod",
            ),
            priority: s.int_gauge(
                "priority",
                "This pod's failover priority (--priority; higher is preferred)",
            ),
            failbacks: s.failbacks(),
            outside_rule: s.int_gauge(
                "outside_rule",
                "1 while this pod runs where the promise is outside its rule (accepted with --accept-outside-rule: confirmDelay 0 on an MREC table)",
            ),
            table_changed: s.int_gauge(
                "table_changed",
                "1 while the table's description differs from the one read at start (a replica added or removed): restart the pods to follow it",
            ),
            registry,
        }
    }

    /// A change of owner to this pod, with its gap when it saw the previous holder.
    pub fn failover(&self, how: crate::lease::history::How, gap: Option<std::time::Duration>) {
        if let Some(gap) = gap {
            self.failover_gap
                .with_label_values(&[how.as_str()])
                .observe(gap.as_secs_f64());
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
