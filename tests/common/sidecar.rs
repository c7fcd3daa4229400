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
    receive(send(port, method, path)?)
}

/// The request half of `http`: connected and written. The kernel completes both for a
/// stopped process too, so a request sent this way is queued for it for certain.
pub fn send(port: u16, method: &str, path: &str) -> Option<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    // Ask for the decision instant (X-Drlease-Decided-At-Ns) on role answers.
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drlease-Want-Decided-At: 1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    Some(stream)
}

/// The answer half of `http_with_head`, on a stream from `send`.
pub fn receive(mut stream: TcpStream) -> Option<(u16, String, String)> {
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

/// One /role answer: the role, the tenure (epoch) and the holder, decided together. Two
/// separate requests (`/active`, then the epoch) can straddle a change of tenure, so a
/// test that needs both reads them from one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleView {
    pub role: String,
    /// 0 when the sidecar has seen no tenure yet.
    pub epoch: u64,
    pub holder: Option<String>,
}

impl RoleView {
    pub fn active(&self) -> bool {
        self.role == "active"
    }

    /// Past the first decision.
    pub fn decided(&self) -> bool {
        matches!(self.role.as_str(), "active" | "passive")
    }
}

pub fn role_view(port: u16) -> Option<RoleView> {
    let v = role_json(port)?;
    Some(RoleView {
        role: v["role"].as_str()?.to_string(),
        epoch: v["epoch"].as_u64().unwrap_or(0),
        holder: v["holder"].as_str().map(String::from),
    })
}

/// The sidecar's recorded role changes (GET /events), oldest first.
pub fn events(port: u16) -> Vec<serde_json::Value> {
    http(port, "GET", "/events")
        .and_then(|(status, body)| (status == 200).then_some(body))
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v["events"].as_array().cloned())
        .unwrap_or_default()
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
    /// Environment variables beside `RUST_LOG` (e.g. the Downward API's POD_NAME).
    pub env: Vec<(String, String)>,
}

impl Default for Launch {
    fn default() -> Self {
        Launch {
            bin: BIN.to_string(),
            cpus: None,
            log_filter: "drlease=debug".into(),
            nofile: None,
            env: Vec::new(),
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
            .envs(self.launch.env.iter().cloned())
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

    pub fn view(&self) -> Option<RoleView> {
        role_view(self.port)
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        events(self.port)
    }

    /// The reason it gave for its first active answer: tells a release or a handover from
    /// a takeover after expiry without timing either.
    pub fn acquired_because(&self) -> Option<String> {
        self.events()
            .iter()
            .find(|e| e["role"] == "active")
            .and_then(|e| e["reason"].as_str().map(String::from))
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

/// A limit for waits that include starting a process (and its first store call): not a
/// claim about speed, only a guard against a hang. A loaded 2-core machine has taken
/// seconds to start a process.
pub const STARTUP: Duration = Duration::from_secs(30);

/// Waits until exactly one of `sidecars` answers active and all have decided; returns the
/// index of the active one, from the same round of answers (asking again afterwards could
/// meet a lease that has moved since).
pub fn settle(sidecars: &[&Sidecar], limit: Duration) -> usize {
    let mut active = None;
    let settled = super::wait_until(limit, || {
        let views: Vec<Option<RoleView>> = sidecars.iter().map(|s| s.view()).collect();
        let decided = views
            .iter()
            .all(|v| v.as_ref().is_some_and(RoleView::decided));
        let actives: Vec<usize> = (0..views.len())
            .filter(|&i| views[i].as_ref().is_some_and(RoleView::active))
            .collect();
        active = (decided && actives.len() == 1).then(|| actives[0]);
        active.is_some()
    });
    match (settled, active) {
        (Some(_), Some(i)) => i,
        _ => {
            let logs: Vec<String> = sidecars.iter().map(|s| s.logs()).collect();
            panic!("no single active:\n{}", logs.join("\n-----\n"));
        }
    }
}

/// Waits for `s` to answer active; returns that answer (role and tenure together). A
/// holder can miss a renewal's deadline for a moment on a loaded machine and answer
/// passive until the renewal lands, in the same tenure: compare tenures, not one look.
pub fn wait_active(s: &Sidecar, limit: Duration) -> Option<RoleView> {
    let mut view = None;
    super::wait_until(limit, || {
        view = s.view().filter(RoleView::active);
        view.is_some()
    })?;
    view
}

/// Waits for a sidecar to answer active with an epoch above `above`: a tenure that began
/// after the one with that epoch. Right after a fault the old holder may still answer
/// active, with its old epoch, until its own deadline; "someone is active" would be that
/// tenure. Returns the new holder's index and epoch, and the time it took.
pub fn wait_new_tenure(
    sidecars: &[&Sidecar],
    above: u64,
    limit: Duration,
) -> Option<(usize, u64, Duration)> {
    let mut found = None;
    let took = super::wait_until(limit, || {
        found = sidecars.iter().enumerate().find_map(|(i, s)| {
            s.view()
                .filter(|v| v.active() && v.epoch > above)
                .map(|v| (i, v.epoch))
        });
        found.is_some()
    })?;
    found.map(|(i, epoch)| (i, epoch, took))
}
