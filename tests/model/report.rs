//! Runs one world through stateright's breadth-first checker and says what it found.

use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, Model};

use super::world::World;
use super::LeaseModel;

pub struct Outcome {
    pub world: &'static str,
    pub settings: String,
    /// States generated (with repeats), distinct states, deepest state reached.
    pub states: usize,
    pub unique: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
    /// Safety or liveness properties that failed, each with its shortest trace.
    pub violations: Vec<(&'static str, String)>,
    /// `sometimes` properties never seen: the world did not do what it is for.
    pub vacuous: Vec<&'static str>,
}

impl Outcome {
    pub fn summary(&self) -> String {
        format!(
            "{}\n  settings: {}\n  {} states generated, {} unique, max depth {}, {:.1}s; {}",
            self.world,
            self.settings,
            self.states,
            self.unique,
            self.max_depth,
            self.elapsed.as_secs_f64(),
            if self.violations.is_empty() {
                "no violation".to_string()
            } else {
                let names: Vec<_> = self.violations.iter().map(|(n, _)| *n).collect();
                format!("VIOLATED: {}", names.join(", "))
            }
        )
    }
}

/// Explores every state `world.depth` actions deep, breadth first on one thread, so the
/// first path found to a violation is a shortest one.
pub fn check(world: World) -> Outcome {
    let model = LeaseModel::new(world);
    let name = model.world.name;
    let settings = model.world.settings_names();
    // stateright counts the initial state as depth 1 and does not evaluate states at the
    // target depth itself: this target checks every state `depth` actions away.
    let target = model.world.depth + 2;
    let started = Instant::now();
    let checker = model.checker().target_max_depth(target).spawn_bfs().join();
    let elapsed = started.elapsed();
    let discoveries = checker.discoveries();
    let model = checker.model();
    let mut violations = Vec::new();
    let mut vacuous = Vec::new();
    for p in model.properties() {
        let found = discoveries.get(p.name);
        match (p.expectation, found) {
            (Expectation::Sometimes, None) => vacuous.push(p.name),
            (Expectation::Sometimes, Some(_)) => {}
            (_, Some(path)) => violations.push((p.name, model.format_path(path))),
            (_, None) => {}
        }
    }
    Outcome {
        world: name,
        settings,
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        violations,
        vacuous,
    }
}
