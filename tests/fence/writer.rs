//! A controller per region: clients/go/fence/cmd/fence-writer as a real process, which
//! asks its sidecar for windows and writes ConfigMaps into both clusters, printing one
//! JSON line per write; and the writer-identity mode's companion (drlease-fence).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde::Deserialize;

use super::cluster::Env;

/// One line of fence-writer's output.
#[derive(Clone, Debug, Deserialize)]
pub struct Record {
    /// Wall-clock milliseconds when the request was sent, and when its answer came.
    pub sent: i64,
    pub ms: i64,
    /// "write", "raise" or "enforced".
    pub event: String,
    pub cluster: usize,
    pub epoch: u64,
    pub ok: bool,
    #[serde(default)]
    pub stale: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub took_ms: i64,
}

pub struct Writer {
    child: Option<Child>,
    out: PathBuf,
}

/// How a writer behaves: `burst` rounds per window (0: never asks again), with `interval`.
pub struct Plan<'a> {
    pub lease: &'a str,
    pub sidecar_port: u16,
    pub mode: &'a str,
    pub context: &'a str,
    pub namespace: &'a str,
    pub burst: u32,
    pub interval: &'a str,
}

fn log_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fence-logs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Writer {
    pub fn start(env: &Env, name: &str, plan: &Plan) -> Writer {
        let out = log_dir().join(format!("{name}-{}.jsonl", plan.lease));
        let stdout = std::fs::File::create(&out).unwrap();
        let child = Command::new(&env.writer)
            .args(["-gate", &format!("http://127.0.0.1:{}", plan.sidecar_port)])
            .args(["-kubeconfigs", &env.kubeconfigs.join(",")])
            .args([
                "-context",
                plan.context,
                "-lease",
                plan.lease,
                "-mode",
                plan.mode,
            ])
            .args(["-namespace", plan.namespace, "-pod", name, "-objects", "2"])
            .args([
                "-burst",
                &plan.burst.to_string(),
                "-interval",
                plan.interval,
            ])
            .arg("-wait-enforced")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fence-writer");
        Writer {
            child: Some(child),
            out,
        }
    }

    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// Every complete line written so far.
    pub fn records(&self) -> Vec<Record> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn writes(&self) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| r.event == "write")
            .collect()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        self.stop();
    }
}

/// The writer-identity mode's companion: raises the fence naming `writer` whenever the
/// sidecar on `sidecar_port` holds the lease.
pub fn raiser(env: &Env, lease: &str, sidecar_port: u16, writer: &str) -> Child {
    let out = log_dir().join(format!("raiser-{writer}-{lease}.jsonl"));
    Command::new(&env.raiser)
        .args(["-sidecar", &format!("http://127.0.0.1:{sidecar_port}")])
        .args(["-kubeconfigs", &env.kubeconfigs.join(",")])
        .args(["-context", "admin", "-lease", lease, "-writer", writer])
        .args([
            "-writers",
            "fence-writer-a,fence-writer-b",
            "-every",
            "20ms",
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start drlease-fence")
}
