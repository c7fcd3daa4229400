//! Watching the sidecars: a poller per sidecar, and the overlaps of their active answers on
//! one timeline (each answer carries the instant the sidecar decided it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::sidecar::{decided_at, http_with_head};

#[derive(Clone, Copy)]
pub struct Sample {
    recv: Instant,
    /// When the sidecar computed the answer, on the host's shared CLOCK_BOOTTIME.
    at_ns: u64,
    active: bool,
}

/// Polls every sidecar's /active on its own thread (a stopped process must not slow the
/// others' sampling) every ~3 ms. Each answer carries the instant the sidecar decided it,
/// so answers from all sidecars sit on one exact timeline.
pub struct Observer {
    stop: Arc<AtomicBool>,
    samples: Vec<Arc<Mutex<Vec<Sample>>>>,
    threads: Vec<JoinHandle<()>>,
}

/// Where two sidecars were both active.
pub struct Overlap {
    pub events: u32,
    pub total: Duration,
}

impl Observer {
    pub fn start(ports: &[u16]) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let mut all = Vec::new();
        let mut threads = Vec::new();
        for &port in ports {
            let samples = Arc::new(Mutex::new(Vec::new()));
            let (s, st) = (samples.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    if let Some((status, head, _)) = http_with_head(port, "GET", "/active") {
                        if let Some(at_ns) = decided_at(&head) {
                            s.lock().unwrap().push(Sample {
                                recv: Instant::now(),
                                at_ns,
                                active: status == 200,
                            });
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }));
            all.push(samples);
        }
        Observer {
            stop,
            samples: all,
            threads,
        }
    }

    /// Runs of consecutive active answers of sidecar `i`, as [first, last] decision
    /// instants (ns). A single active answer is a run of length zero.
    pub fn runs(&self, i: usize) -> Vec<(u64, u64)> {
        let mut samples = self.samples[i].lock().unwrap().clone();
        samples.sort_by_key(|s| s.at_ns);
        let mut runs = Vec::new();
        let mut open: Option<(u64, u64)> = None;
        for s in &samples {
            match (s.active, &mut open) {
                (true, Some((_, end))) => *end = s.at_ns,
                (true, None) => open = Some((s.at_ns, s.at_ns)),
                (false, Some(run)) => {
                    runs.push(*run);
                    open = None;
                }
                (false, None) => {}
            }
        }
        runs.extend(open);
        runs
    }

    /// Every pair of runs from two sidecars that share an instant.
    pub fn dual_active(&self) -> Overlap {
        let mut o = Overlap {
            events: 0,
            total: Duration::ZERO,
        };
        for i in 0..self.samples.len() {
            for j in i + 1..self.samples.len() {
                for (a0, a1) in self.runs(i) {
                    for (b0, b1) in self.runs(j) {
                        let (start, end) = (a0.max(b0), a1.min(b1));
                        if start <= end {
                            o.events += 1;
                            o.total += Duration::from_nanos(end - start);
                            eprintln!(
                                "  overlap: sidecar {i} active {a0}..{a1} ns, sidecar {j} active {b0}..{b1} ns"
                            );
                        }
                    }
                }
            }
        }
        o
    }

    /// When sidecar `i` was first seen active in an answer received after `t`.
    pub fn first_active_after(&self, i: usize, t: Instant) -> Option<Instant> {
        let samples = self.samples[i].lock().unwrap();
        samples
            .iter()
            .find(|s| s.active && s.recv >= t)
            .map(|s| s.recv)
    }

    pub fn finish(mut self) -> Self {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
        self
    }
}
