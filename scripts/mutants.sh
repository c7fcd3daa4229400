#!/usr/bin/env bash
# Mutation testing of the lease core (the crate crates/drlease-core) with cargo-mutants: each
# mutant (an operator flipped, a function body replaced by a default, ...) is built and run
# against the fast checks: the core's unit tests (--lib), the model check's CI worlds
# (--test model) and a short simulation (--test simulation, 200 seeds). A mutant no check
# fails is a survivor: a test is missing, or the mutant cannot change behaviour (then say
# why in docs/reliability.md, "Mutation testing").
#
#   scripts/mutants.sh              every mutant of the core crate
#   scripts/mutants.sh 3/40         shard 3 of 40 (0-based)
#   DRLEASE_MUTANTS_FILES='crates/drlease-core/src/core/*.rs' scripts/mutants.sh 0/8
#                                   the decision core only
#   DRLEASE_MUTANTS_RE='on_read|wants_to_hold' scripts/mutants.sh
#                                   only the mutants whose names match (cargo mutants --re),
#                                   e.g. to check again the functions where some survived
#
# Only the core crate and its tests are rebuilt per mutant: the binary crate (the AWS SDK,
# kube, axum) is not built at all.
#
# Runs in a worktree of its own (target/mutants-tree, at HEAD) so the tree you work in is
# never mutated; results in target/mutants/<shard>/mutants.out (caught.txt, missed.txt,
# timeout.txt, unviable.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -qF "$VERSION"; then
  echo "== installing cargo-mutants $VERSION from crates.io"
  cargo install --locked cargo-mutants --version "$VERSION"
fi

shard="${1:-0/1}"
files="${DRLEASE_MUTANTS_FILES:-crates/drlease-core/src/**/*.rs}"
out="$PWD/target/mutants/${shard/\//-of-}${DRLEASE_MUTANTS_RE:+-selected}"
tree="$PWD/target/mutants-tree"
if [ ! -e "$tree/.git" ]; then
  git worktree add --detach "$tree" HEAD >/dev/null
else
  git -C "$tree" checkout --detach --quiet HEAD
  git -C "$tree" reset --hard --quiet "$(git rev-parse HEAD)"
fi
mkdir -p "$out"
export DRLEASE_SIM_SEEDS="${DRLEASE_SIM_SEEDS:-200}"
cd "$tree"
# A mutant can turn a loop into one that never ends, or one that allocates without end: each
# test run stops after 100 s (the unmutated checks take about 40 s) and within 8 GB of
# address space, so no mutant takes the machine down.
ulimit -v 8000000
# --in-place: the worktree is ours alone, and its build stays warm from one mutant to the
# next (a copy per run would rebuild everything). rules.rs is the switchboard of the
# reverts (scripts/reverts.sh), not a rule: its mutants are the reverts themselves. For
# the same reason a mutant of an `applies(Rn)` guard alone (`!applies(R4)` made `false`)
# is equivalent by construction: `applies` is `true` in every build without the feature.
select=()
if [ -n "${DRLEASE_MUTANTS_RE:-}" ]; then
  select=(--re "$DRLEASE_MUTANTS_RE")
fi
cargo mutants "${select[@]}" --in-place --no-shuffle --package drlease-core --shard "$shard" --file "$files" \
  --exclude crates/drlease-core/src/rules.rs --exclude 'crates/drlease-core/src/**/tests/**' \
  --exclude-re 'guard !?applies\(R[0-9]+\) with' \
  --exclude 'crates/drlease-core/src/**/tests.rs' --timeout 100 --output "$out" \
  --profile mutants \
  -- --lib --test model --test simulation
