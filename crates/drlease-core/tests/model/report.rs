//! Runs one world through stateright's breadth-first checker and says what it found.

use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, HasDiscoveries, Model, Path};

use super::world::World;
use super::{Action, LeaseModel, State, SOUGHT};

/// A shortest path to `target`: breadth first again, stopping once it is reached. States
/// are deduplicated, so the one path stateright records to it is the first found.
fn path_to(model: &LeaseModel, target: State) -> Option<Path<State, Action>> {
    let mut seeker = LeaseModel::new(model.world.clone());
    seeker.seeking = Some(target);
    let checker = seeker
        .checker()
        .target_max_depth(model.world.depth + 2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    checker.discoveries().remove(SOUGHT)
}

pub struct Outcome {
    pub world: &'static str,
    pub settings: String,
    /// States generated (with repeats), distinct states, deepest state reached.
    pub states: usize,
    pub unique: usize,
    pub max_depth: usize,
    /// Actions deep the run looked.
    pub depth: usize,
    /// The exploration, and then the searches for shortest traces.
    pub elapsed: Duration,
    pub tracing: Duration,
    /// Safety or liveness properties that failed, each with its shortest trace. The time
    /// includes finding those traces.
    pub violations: Vec<(&'static str, String)>,
    /// `sometimes` properties never seen: the world did not do what it is for.
    pub vacuous: Vec<&'static str>,
}

impl Outcome {
    pub fn summary(&self) -> String {
        format!(
            "{}\n  settings: {}\n  every state up to {} actions deep: {} states generated, {} unique \
             (stateright's max depth {}), {:.1}s (+{:.1}s for shortest traces); {}",
            self.world,
            self.settings,
            self.depth,
            self.states,
            self.unique,
            self.max_depth,
            self.elapsed.as_secs_f64(),
            self.tracing.as_secs_f64(),
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
    let first = model
        .first_violations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut violations = Vec::new();
    let mut vacuous = Vec::new();
    for p in model.properties() {
        let found = discoveries.get(p.name);
        match (p.expectation, found) {
            (Expectation::Sometimes, None) => vacuous.push(p.name),
            (Expectation::Sometimes, Some(_)) => {}
            (_, Some(latest)) => {
                let shortest = first
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .and_then(|(_, s)| path_to(model, s.clone()));
                let path = shortest.as_ref().unwrap_or(latest);
                let trace = format!(
                    "{} actions:\n{}",
                    path.clone().into_actions().len(),
                    model.format_path(path)
                );
                violations.push((p.name, trace));
            }
            (_, None) => {}
        }
    }
    let tracing = started.elapsed() - elapsed;
    Outcome {
        world: name,
        settings,
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        depth: model.world.depth,
        elapsed,
        tracing,
        violations,
        vacuous,
    }
}
