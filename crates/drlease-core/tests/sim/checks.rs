//! What is checked after every event: never two actives, never two controllers inside
//! write windows at once, observers never active, epochs of successive actives going up
//! (unless the store went backwards); across regions, the stated bound instead while
//! replication is disturbed (`regions.rs`).

use super::*;

impl Sim {
    /// Roles as each live, running candidate would answer `/active` right now.
    pub(super) fn actives(&self) -> Vec<(usize, u64)> {
        self.cands
            .iter()
            .enumerate()
            .filter(|(_, k)| k.alive() && k.paused_until <= self.now)
            .filter_map(|(i, k)| {
                let view = k.core.as_ref().unwrap().view();
                (view.role_at(k.local(self.now)) == Role::Active)
                    .then(|| (i, view.epoch.unwrap_or(0)))
            })
            .collect()
    }

    /// Every controller whose sidecar answers active asks for a write window now: the
    /// worst case, a controller asking before every write.
    pub(super) fn grant_windows(&mut self) {
        for (k, s) in self.cands.iter_mut().zip(&self.sc.settings) {
            let window = s.write_window;
            if !k.alive() || k.paused_until > self.now {
                continue;
            }
            let local = k.local(self.now);
            if let Some(until) = k.core.as_ref().unwrap().view().active_until {
                if local < until {
                    k.granted_until = k.granted_until.max(until.min(local.plus(window)));
                }
            }
        }
    }

    /// Who may write now: active, or inside a window it was granted.
    pub(super) fn writers(&self, actives: &[(usize, u64)]) -> Vec<usize> {
        let mut writers: Vec<usize> = actives.iter().map(|(i, _)| *i).collect();
        for (i, k) in self.cands.iter().enumerate() {
            if k.local(self.now) < k.granted_until && !writers.contains(&i) {
                writers.push(i);
            }
        }
        writers
    }

    /// At most one candidate may write: active, or inside a window it was granted.
    pub(super) fn check_windows(&self, writers: &[usize]) -> Result<(), String> {
        if writers.len() > 1 {
            let who: Vec<String> = writers
                .iter()
                .map(|&i| {
                    let k = &self.cands[i];
                    let open = k.granted_until.since(k.local(self.now));
                    format!(
                        "{}#{i} (window open {:.1} ms more)",
                        k.identity,
                        open.as_secs_f64() * 1e3
                    )
                })
                .collect();
            return Err(format!(
                "two writers at once: {}; {}",
                who.join(", "),
                self.explain(writers)
            ));
        }
        Ok(())
    }

    pub(super) fn check(&mut self) -> Result<(), String> {
        self.grant_windows();
        let actives = self.actives();
        self.note_actives(&actives);
        let writers = self.writers(&actives);
        // MREC outside the rule: excused within the stated bound (`regions.rs`).
        let active: Vec<usize> = actives.iter().map(|(i, _)| *i).collect();
        let (excused_actives, excused_writers) = self.excuse_double_holders(&active, &writers)?;
        if !excused_writers {
            self.check_windows(&writers)?;
        }
        if let Some((i, _)) = actives
            .iter()
            .find(|(i, _)| self.sc.affinity[*i].never_acquire)
        {
            return Err(format!(
                "observer {}#{i} became active",
                self.cands[*i].identity
            ));
        }
        if actives.len() > 1 && !excused_actives {
            let who: Vec<String> = actives
                .iter()
                .map(|(i, e)| format!("{}#{i} (epoch {e})", self.cands[*i].identity))
                .collect();
            let who_i: Vec<usize> = actives.iter().map(|(i, _)| *i).collect();
            return Err(format!(
                "two actives at once: {}; {}",
                who.join(", "),
                self.explain(&who_i)
            ));
        }
        // Outside the rule last writer wins can take the item back to an older tenure, and
        // two tenures can share an epoch: only the bound above is promised there.
        if !self.sc.topology.within_rule() {
            return Ok(());
        }
        if let Some(&(i, epoch)) = actives.first() {
            let session = format!("{i}/{}", self.cands[i].generation);
            if let Some((last_session, last_epoch)) = &self.last_active {
                if *last_session != session && epoch <= *last_epoch && !self.rolled_back {
                    return Err(format!(
                        "active {session} has epoch {epoch}, not above the previous active's \
                         {last_epoch}; {}",
                        self.explain(&[i])
                    ));
                }
            }
            self.last_active = Some((session, epoch));
        }
        Ok(())
    }

    pub(super) fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.sc.seed,
            at_ms: self.now as f64 / MS as f64,
            what,
            mode: self.sc.topology.name(),
        }
    }
}
