//! How a multi-Region eventually consistent (MREC) table settles two writes of one item:
//! last writer wins. Not used by the core, which must stay safe whatever a replica shows;
//! written once here for every model of such a table the tests build (the core's
//! `core/tests/replicas.rs`, the simulation's replicas, the model checker's, and the
//! replicating proxy in front of moto, `tests/common/global_table.rs`).

/// Whether a replicated write stamped `incoming` replaces what a replica has, stamped
/// `there` (`None`: the replica has nothing of that item): only a later write does. Stamps
/// must be totally ordered the same way at every replica (the write time, then ties broken
/// alike everywhere), so that replicas agree once replication has caught up, as
/// DynamoDB's regions do.
pub fn later_write_wins<S: Ord>(there: Option<&S>, incoming: &S) -> bool {
    there.is_none_or(|t| incoming > t)
}

#[cfg(test)]
mod tests {
    use super::later_write_wins;

    #[test]
    fn only_a_later_write_replaces_a_replicas_copy() {
        assert!(later_write_wins(None, &1));
        assert!(later_write_wins(Some(&1), &2));
        assert!(
            !later_write_wins(Some(&2), &2),
            "the same write arriving again"
        );
        assert!(
            !later_write_wins(Some(&3), &2),
            "an older write arriving late"
        );
    }
}
