//! Watching the sidecars as their controllers would: a poller per sidecar asking /active,
//! and the overlaps of the write windows those answers granted, on one timeline (each
//! answer carries the instant the sidecar decided it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::sidecar::{decided_at, http_with_head, valid_for_ms};

#[derive(Clone, Copy)]
pub struct Sample {
    recv: Instant,
    /// When the sidecar computed the answer, on the host's shared CLOCK_BOOTTIME.
    at_ns: u64,
    active: bool,
    /// The write window the answer granted (0 unless active).
    valid_for_ns: u64,
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
                            let active = status == 200;
                            let valid_for_ns = valid_for_ms(&head).unwrap_or(0) * 1_000_000;
                            assert!(
                                !active || valid_for_ns > 0,
                                "an active answer without a write window: {head}"
                            );
                            s.lock().unwrap().push(Sample {
                                recv: Instant::now(),
                                at_ns,
                                active,
                                valid_for_ns,
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

    /// When the controller beside sidecar `i` may write, as merged [start, end] intervals
    /// (ns): every active answer opens a window from its decision instant for the time it
    /// granted, and the window stays open whatever the sidecar answers (or whether it
    /// lives) afterwards.
    pub fn runs(&self, i: usize) -> Vec<(u64, u64)> {
        let mut windows: Vec<(u64, u64)> = self.samples[i]
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.active)
            .map(|s| (s.at_ns, s.at_ns + s.valid_for_ns))
            .collect();
        windows.sort();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (start, end) in windows {
            match runs.last_mut() {
                Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
                _ => runs.push((start, end)),
            }
        }
        runs
    }

    /// Every pair of runs from two sidecars that share an instant: two controllers that may
    /// both write. A window's end is exclusive, so a takeover decided at the very instant
    /// the old window ends is not an overlap.
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
                        if start < end {
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
