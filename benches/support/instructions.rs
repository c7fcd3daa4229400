//! Section 3b: instructions per request, counted by callgrind. Throughput under wrk swings
//! by half from run to run on a shared machine; the instructions a request costs do not
//! (they are the same to within a few tenths of a percent on every run).
//!
//! Each server runs under `valgrind --tool=callgrind`, on one keep-alive connection from
//! the small client below. After a warm-up, `callgrind_control --zero` starts a count,
//! the client sends N requests one after the other, `callgrind_control --dump` ends it;
//! once with N = 1,000 and once with N = 6,000. The figure is the difference of the two
//! counts over 5,000: what the process spends anyway (start-up, the warm-up, the lease
//! loop and timers ticking, the cost of zeroing and dumping) is in both counts and
//! cancels out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::sidecar::free_port;

const WARM_UP: usize = 300;
const SHORT: usize = 1_000;
const LONG: usize = 6_000;

/// Instructions per request (callgrind's `Ir`) for each server.
pub struct Instructions {
    pub base: f64,
    pub axum: f64,
    pub active: f64,
    pub role: f64,
}

/// Every server, one after the other (each takes a few seconds under callgrind).
pub fn instructions(bin: &str, baseline: &str) -> Instructions {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("callgrind");
    std::fs::create_dir_all(&dir).expect("callgrind output directory");
    let drlease = |port: u16| -> Vec<String> {
        let listen = format!("127.0.0.1:{port}");
        [
            bin,
            "run",
            "--store",
            "memory",
            "--identity",
            "bench",
            "--listen",
            &listen,
        ]
        .map(String::from)
        .to_vec()
    };
    let static_server = |port: u16, axum: bool| -> Vec<String> {
        let mut args = vec![baseline.to_string(), format!("127.0.0.1:{port}")];
        if axum {
            args.push("axum".into());
        }
        args
    };
    Instructions {
        base: per_request(&dir, "base", "/", |p| static_server(p, false)),
        axum: per_request(&dir, "axum", "/", |p| static_server(p, true)),
        active: per_request(&dir, "active", "/active", drlease),
        role: per_request(&dir, "role", "/role", drlease),
    }
}

/// One server under callgrind: (count over LONG - count over SHORT) / (LONG - SHORT).
fn per_request(dir: &Path, name: &str, path: &str, command: impl Fn(u16) -> Vec<String>) -> f64 {
    let port = free_port();
    let out = dir.join(format!("{name}.%p"));
    let mut child = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .args(command(port))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run valgrind (scripts/bench.sh installs it)");
    let pid = child.id();
    let mut client = Client::connect(port, path);
    // Until the server answers 200 (drlease: once the memory store's lease is held).
    let ready = Instant::now();
    while client.get() != 200 {
        assert!(ready.elapsed() < Duration::from_secs(30), "{name}: no 200");
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..WARM_UP {
        client.get();
    }
    // callgrind numbers its dumps from 1: the short count, then the long one.
    count(pid, &mut client, SHORT);
    count(pid, &mut client, LONG);
    stop(&mut child);
    let read = |part: u32| summary(&dir.join(format!("{name}.{pid}.{part}")));
    let (short_ir, long_ir) = (read(1), read(2));
    let per = (long_ir - short_ir) as f64 / (LONG - SHORT) as f64;
    println!(
        "{name} {path}: {short_ir} instructions over {SHORT} requests, {long_ir} over {LONG}: {per:.0} a request"
    );
    per
}

/// Zeroes the counters, sends `n` requests, dumps.
fn count(pid: u32, client: &mut Client, n: usize) {
    control(pid, "--zero");
    for _ in 0..n {
        assert_eq!(client.get(), 200, "every counted request answers 200");
    }
    control(pid, "--dump");
}

fn control(pid: u32, what: &str) {
    let ok = Command::new("callgrind_control")
        .args([what, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "callgrind_control {what} {pid}");
}

fn stop(child: &mut Child) {
    // SAFETY: kill has no preconditions; the pid is our own child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

/// The `summary:` line of a callgrind dump: the instructions counted.
fn summary(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix("summary: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{file:?}: no summary line"))
}

/// One keep-alive HTTP/1.1 connection, one request at a time (no pipelining).
struct Client {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Client {
    fn connect(port: u16, path: &str) -> Client {
        let started = Instant::now();
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("connect to {port}: {e}"),
            }
        };
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            request: format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes(),
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends the request and reads the whole answer; returns its status.
    fn get(&mut self) -> u16 {
        self.stream.write_all(&self.request).expect("send");
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((status, len)) = parse(&self.buf) {
                self.buf.drain(..len);
                return status;
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A whole response at the start of `buf`: its status and length (head and body).
fn parse(buf: &[u8]) -> Option<(u16, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let body: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= end + body).then_some((status, end + body))
}
