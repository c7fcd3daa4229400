//! What the benchmark reads off the machine: wrk's throughput and latency, and a
//! process's resident memory and CPU time from /proc.

use std::process::Command;

pub struct Wrk {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn parse_latency(v: &str) -> f64 {
    let v = v.trim();
    if let Some(x) = v.strip_suffix("us") {
        x.parse::<f64>().unwrap_or(f64::NAN) / 1000.0
    } else if let Some(x) = v.strip_suffix("ms") {
        x.parse().unwrap_or(f64::NAN)
    } else if let Some(x) = v.strip_suffix('s') {
        x.parse::<f64>().unwrap_or(f64::NAN) * 1000.0
    } else {
        f64::NAN
    }
}

pub fn wrk(port: u16, path: &str, secs: u32) -> Wrk {
    let out = Command::new("taskset")
        .args([
            "-c",
            "1",
            "wrk",
            "-t2",
            "-c64",
            &format!("-d{secs}s"),
            "--latency",
        ])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("run wrk (scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            .unwrap_or_default()
    };
    Wrk {
        rps: find("Requests/sec:").parse().unwrap_or(0.0),
        p50_ms: parse_latency(&find("50%")),
        p99_ms: parse_latency(&find("99%")),
    }
}

// --- 4: footprint --------------------------------------------------------------------------

pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}
