//! A real `drlease run` process for end-to-end tests, and a tiny HTTP client for its API.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_drlease");

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// GET (or another method) on 127.0.0.1:port; `None` if nothing answers.
pub fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    http_with_head(port, method, path).map(|(status, _, body)| (status, body))
}

/// Like `http`, with the response head (status line and headers, lower-cased) too.
pub fn http_with_head(port: u16, method: &str, path: &str) -> Option<(u16, String, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    // Ask for the decision instant (X-Drlease-Decided-At-Ns) on role answers.
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drlease-Want-Decided-At: 1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    Some((status, head.to_ascii_lowercase(), body.to_string()))
}

/// The sidecar's CLOCK_BOOTTIME reading (ns) at which it computed this answer.
pub fn decided_at(head: &str) -> Option<u64> {
    head.lines()
        .find_map(|l| l.strip_prefix("x-drlease-decided-at-ns:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The write window an active answer granted (X-Drlease-Valid-For-Ms).
pub fn valid_for_ms(head: &str) -> Option<u64> {
    head.lines()
        .find_map(|l| l.strip_prefix("x-drlease-valid-for-ms:"))
        .and_then(|v| v.trim().parse().ok())
}

pub fn role_json(port: u16) -> Option<serde_json::Value> {
    let (status, body) = http(port, "GET", "/role")?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

pub struct Sidecar {
    pub identity: String,
    pub port: u16,
    pub args: Vec<String>,
    pub log: PathBuf,
    launch: Launch,
    child: Option<Child>,
}

/// How a sidecar process is launched: the tests' build with debug logs by default; the
/// benchmarks pass the release binary, a CPU to pin it to, and quiet logs.
#[derive(Clone, Debug)]
pub struct Launch {
    pub bin: String,
    /// `taskset -c` CPU list.
    pub cpus: Option<String>,
    /// `RUST_LOG` for the process.
    pub log_filter: String,
    /// Start it with this open-file limit, soft and hard (`prlimit --nofile`).
    pub nofile: Option<u64>,
}

impl Default for Launch {
    fn default() -> Self {
        Launch {
            bin: BIN.to_string(),
            cpus: None,
            log_filter: "drlease=debug".into(),
            nofile: None,
        }
    }
}

impl Sidecar {
    /// Starts `drlease run` with `args` plus `--identity` and a free `--listen` port.
    pub fn start(identity: &str, args: &[String]) -> Sidecar {
        Self::start_with(Launch::default(), identity, args)
    }

    pub fn start_with(launch: Launch, identity: &str, args: &[String]) -> Sidecar {
        let mut s = Sidecar {
            identity: identity.into(),
            port: free_port(),
            args: args.to_vec(),
            log: PathBuf::new(),
            launch,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sidecar-logs");
        std::fs::create_dir_all(&dir).unwrap();
        self.log = dir.join(format!("{}-{}.log", self.identity, self.port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = match (&self.launch.cpus, self.launch.nofile) {
            (Some(cpus), _) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", cpus, &self.launch.bin]);
                taskset
            }
            (None, Some(n)) => {
                let mut prlimit = Command::new("prlimit");
                prlimit.args([&format!("--nofile={n}:{n}"), "--", &self.launch.bin]);
                prlimit
            }
            (None, None) => Command::new(&self.launch.bin),
        };
        let child = cmd
            .arg("run")
            .args(&self.args)
            .args(["--identity", &self.identity])
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", &self.launch.log_filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn drlease");
        self.child = Some(child);
    }

    /// Starts it again with the same identity, port and arguments.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn();
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with a pid we spawned and still own.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({sig}) failed");
    }

    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        self.child.take().unwrap().wait().unwrap();
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn role(&self) -> Option<String> {
        role_json(self.port).and_then(|v| v["role"].as_str().map(String::from))
    }

    pub fn is_active(&self) -> bool {
        matches!(http(self.port, "GET", "/active"), Some((200, _)))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until exactly one of `sidecars` answers active and all have decided; returns the
/// index of the active one.
pub fn settle(sidecars: &[&Sidecar], limit: Duration) -> usize {
    let settled = super::wait_until(limit, || {
        let roles: Vec<Option<String>> = sidecars.iter().map(|s| s.role()).collect();
        roles
            .iter()
            .filter(|r| r.as_deref() == Some("active"))
            .count()
            == 1
            && roles
                .iter()
                .all(|r| matches!(r.as_deref(), Some("active" | "passive")))
    });
    if settled.is_none() {
        let logs: Vec<String> = sidecars.iter().map(|s| s.logs()).collect();
        panic!("no single active:\n{}", logs.join("\n-----\n"));
    }
    sidecars
        .iter()
        .position(|s| s.role().as_deref() == Some("active"))
        .expect("settled on one active")
}
