//! Random faults on four real sidecars (two per region) on the emulated MREC
//! table, within the rule (no partition): kill -9, SIGSTOP/SIGCONT, SIGTERM, `drlease
//! handover` (to a pod or to anyone) and freeze/unfreeze at the holder's region. The
//! observer judges overlaps of granted write windows on the sidecars' own decision clock.
//! Run: `DRLEASE_FAULT_ROUNDS=40 DRLEASE_FAULT_SEED=1 scripts/test.sh --test global_table -- random_faults --include-ignored --nocapture`.

use crate::*;

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn cli(gt: &GlobalTable, region: usize, table: &str, sub: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(BIN)
        .args(sub)
        .args(args(gt, region, table))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_string(),
    )
}

#[test]
#[ignore = "long: random faults for minutes (DRLEASE_FAULT_ROUNDS)"]
fn random_faults_never_give_two_windows() {
    let Some(gt) = GlobalTable::start(LAG, JITTER) else {
        return;
    };
    let rounds: usize = std::env::var("DRLEASE_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut seed: u64 = std::env::var("DRLEASE_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        | 1;
    let table = common::unique("faults");
    gt.create_table(&table);
    let mut pods: Vec<Sidecar> = (0..4)
        .map(|i| Sidecar::start(&format!("pod-{i}"), &args(&gt, i % 2, &table)))
        .collect();
    let obs = Observer::start(&pods.iter().map(|p| p.port).collect::<Vec<_>>());
    let mut dead = [false; 4];
    let mut counts = std::collections::BTreeMap::<&str, u32>::new();
    for round in 0..rounds {
        std::thread::sleep(Duration::from_millis(300 + rng(&mut seed) % 2500));
        let holder = (0..4).find(|&i| !dead[i] && pods[i].is_active());
        let alive: Vec<usize> = (0..4).filter(|&i| !dead[i]).collect();
        if alive.is_empty() {
            for i in 0..4 {
                pods[i].restart();
                dead[i] = false;
            }
            continue;
        }
        let victim = holder.unwrap_or(alive[(rng(&mut seed) % alive.len() as u64) as usize]);
        let what = one_fault(&gt, &table, &mut pods, &mut dead, victim, &mut seed);
        *counts.entry(what).or_default() += 1;
        eprintln!("round {round}: {what} (holder {holder:?}, victim {victim})");
        // Restart the dead ones at random moments.
        for i in 0..4 {
            if dead[i] && rng(&mut seed).is_multiple_of(2) {
                pods[i].restart();
                dead[i] = false;
            }
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    let obs = obs.finish();
    let samples: usize = (0..4).map(|i| obs.runs(i).len()).sum();
    let overlap = obs.dual_active();
    eprintln!(
        "| random faults | {counts:?} | {samples} active runs | {} overlaps, {:?} |",
        overlap.events, overlap.total
    );
    assert_eq!(
        overlap.events, 0,
        "two write windows overlapped for {:?}",
        overlap.total
    );
}

/// One fault on the pod `victim` (the holder, when there is one), or an operator's command
/// in its region: what it was.
fn one_fault(
    gt: &GlobalTable,
    table: &str,
    pods: &mut [Sidecar],
    dead: &mut [bool; 4],
    victim: usize,
    seed: &mut u64,
) -> &'static str {
    match rng(seed) % 7 {
        0 => {
            pods[victim].kill9();
            dead[victim] = true;
            "kill -9"
        }
        1 => {
            pods[victim].signal(19);
            std::thread::sleep(Duration::from_millis(200 + rng(seed) % 3500));
            pods[victim].signal(18);
            "SIGSTOP/SIGCONT"
        }
        2 => {
            pods[victim].signal(15);
            pods[victim].wait_exit(Duration::from_secs(10));
            dead[victim] = true;
            "SIGTERM"
        }
        3 | 4 => {
            let region = victim % 2;
            let to = format!("pod-{}", rng(seed) % 4);
            let sub: Vec<&str> = if rng(seed).is_multiple_of(2) {
                vec!["handover", "--to", &to, "--timeout", "4s"]
            } else {
                vec!["handover", "--timeout", "4s"]
            };
            let (code, err) = cli(gt, region, table, &sub);
            eprintln!(
                "    handover {sub:?} in {}: {code:?} {err}",
                gt.region(region)
            );
            "handover"
        }
        5 => {
            let region = victim % 2;
            let (code, err) = cli(gt, region, table, &["freeze"]);
            eprintln!("    freeze in {}: {code:?} {err}", gt.region(region));
            std::thread::sleep(Duration::from_millis(rng(seed) % 1500));
            let (code, err) = cli(gt, region, table, &["unfreeze"]);
            eprintln!("    unfreeze in {}: {code:?} {err}", gt.region(region));
            "freeze/unfreeze"
        }
        _ => "nothing",
    }
}
