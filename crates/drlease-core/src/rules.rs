//! The rules of the promise by id (`docs/design.md`, "The rules"), so that every place the
//! code applies one names it: `applies(R14)` reads "here rule R14 is applied".
//!
//! In the product `applies` is the constant `true`, which the compiler folds away. With the
//! test-only Cargo feature `reverts`, a check can take rules out (`DRLEASE_REVERT=R14`, or
//! several: `R14,R24`) and show that it notices: that is how `scripts/reverts.sh` proves the
//! model check has teeth for each rule (docs/reliability.md, "Every rule guarded"). A rule
//! taken out is taken out at every place it is applied, by the smallest change that undoes
//! it; each site says what its revert does.

/// A rule of `docs/design.md`, by its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Validity deadline: from the send time of the write's first attempt.
    R1,
    /// Full hold from receipt: every new version restarts the clock.
    R2,
    /// Conditional writes.
    R3,
    /// Read back a lost answer.
    R4,
    /// A tenure ends when the store says so.
    R5,
    /// One process, one session.
    R6,
    /// No decision before the first read.
    R7,
    /// Renew in time.
    R8,
    /// Only the holder's own release opens the item.
    R9,
    /// One release, one claim.
    R10,
    /// The longest lease anyone could be timing.
    R11,
    /// Absence has no version.
    R12,
    /// History counts only while continuous.
    R13,
    /// A sent release ends the tenure.
    R14,
    /// Windows end before a release.
    R15,
    /// Eligibility, afresh at every step.
    R16,
    /// Handovers and failbacks are requests.
    R17,
    /// Epochs only go up.
    R18,
    /// The switch across regions.
    R19,
    /// The confirm delay.
    R20,
    /// Region marks.
    R21,
    /// Marks before acquiring.
    R22,
    /// Per-region epochs.
    R23,
    /// The renewal budget.
    R24,
    /// A request on a version re-times it.
    R25,
    /// The timing relations.
    R26,
    /// A takeover expects the request it read.
    R27,
    /// Each request write is told apart.
    R28,
}

pub use Rule::*;

impl Rule {
    /// Every rule, in order.
    pub const ALL: [Rule; 28] = [
        R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R18, R19, R20,
        R21, R22, R23, R24, R25, R26, R27, R28,
    ];

    /// The rule named `id` (`R14`, case-insensitive).
    pub fn parse(id: &str) -> Option<Rule> {
        Rule::ALL
            .into_iter()
            .find(|r| format!("{r:?}").eq_ignore_ascii_case(id.trim()))
    }
}

/// Whether `rule` is applied: always, except in a test build that took it out.
#[cfg(not(feature = "reverts"))]
#[inline(always)]
pub const fn applies(_rule: Rule) -> bool {
    true
}

/// Whether `rule` is applied: not when `DRLEASE_REVERT` names it (read once per process).
#[cfg(feature = "reverts")]
pub fn applies(rule: Rule) -> bool {
    !reverted().contains(&rule)
}

/// The rules `DRLEASE_REVERT` takes out. An id that names no rule stops the test run: a
/// typo would otherwise prove nothing while looking like a pass.
#[cfg(feature = "reverts")]
pub fn reverted() -> &'static [Rule] {
    static REVERTED: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    REVERTED.get_or_init(|| {
        let ids = std::env::var("DRLEASE_REVERT").unwrap_or_default();
        ids.split(',')
            .filter(|id| !id.trim().is_empty())
            .map(|id| {
                Rule::parse(id).unwrap_or_else(|| {
                    panic!("DRLEASE_REVERT names {id:?}, which is no rule: use R1 to R28")
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_parses_from_its_id() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(&format!("{rule:?}")), Some(rule));
        }
        assert_eq!(Rule::parse("r14"), Some(R14));
        assert_eq!(Rule::parse("R29"), None);
    }
}
