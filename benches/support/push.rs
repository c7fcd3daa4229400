//! The push measurements: role changes reaching SSE watchers, and a controller asking
//! before every write (what makes a handover wait for its windows).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use drlease::sys::clock::{BootClock, Clock};

use crate::common::sidecar::http;
use crate::common::sse::SseReader;

/// A controller health endpoint the benchmark turns on and off: `/health` answers 200
/// while `healthy`, else 503.
pub struct HealthToggle {
    pub port: u16,
    pub healthy: Arc<AtomicBool>,
}

impl HealthToggle {
    pub fn start() -> HealthToggle {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(true));
        let flag = healthy.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let status = if flag.load(Ordering::Relaxed) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        HealthToggle { port, healthy }
    }
}

/// `n` watchers on `/watch`, each on its own thread, noting for every event the delay from
/// the sidecar's decision instant to its arrival (both on CLOCK_BOOTTIME), in ms.
pub struct Watchers {
    delays: Arc<Mutex<Vec<f64>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Watchers {
    pub fn start(port: u16, n: usize) -> Watchers {
        let delays = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for _ in 0..n {
            let (delays, stop) = (delays.clone(), stop.clone());
            let mut reader = SseReader::open(port, "/watch").expect("open /watch");
            assert_eq!(reader.status(), Some(200), "watcher refused");
            // The first event is the state at connection time, not a push.
            reader
                .next(Duration::from_secs(5))
                .expect("the current state");
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(e) = reader.next(Duration::from_millis(200)) {
                        let now = BootClock.now().as_duration().as_nanos() as f64;
                        let at = e["decided_at_ns"].as_f64().unwrap_or(now);
                        delays.lock().unwrap().push((now - at) / 1e6);
                    }
                }
            }));
        }
        Watchers {
            delays,
            stop,
            threads,
        }
    }

    pub fn finish(self) -> Vec<f64> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(self.delays).unwrap().into_inner().unwrap()
    }
}

/// A controller asking `/active` before every write, every millisecond.
pub struct Controller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Controller {
    pub fn start(port: u16) -> Controller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let _ = http(port, "GET", "/active");
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Controller {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// p50 and p99 of `v` (ms).
pub fn p50_p99(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}
