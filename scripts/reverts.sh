#!/usr/bin/env bash
# Takes each rule of the promise out in turn (src/lease/rules.rs: the test-only feature
# `reverts` and DRLEASE_REVERT=<id>) and runs the model check's CI worlds against it: every
# rule's revert must fail the check. Prints one line per rule (caught or MISSED, the
# property, the shortest trace's length, the time) and exits non-zero if any is missed.
#
#   scripts/reverts.sh              every rule (about 10 minutes on 2 cores, release build)
#   scripts/reverts.sh R14 R24      only these
#   DRLEASE_REVERTS_PROFILE=debug   a debug build (what `cargo test` builds; slower runs)
#
# The figures go in docs/reliability.md, "Every rule guarded".
set -euo pipefail
cd "$(dirname "$0")/.."

rules=("$@")
if [ ${#rules[@]} -eq 0 ]; then
  rules=(R1 R2 R3 R4 R5 R6 R7 R8 R9 R10 R11 R12 R13 R14 R15 R16 R17 R18 R19 R20 R21 R22 R23 R24 R25 R26)
fi
profile=(--release)
if [ "${DRLEASE_REVERTS_PROFILE:-release}" = debug ]; then
  profile=()
fi
test_name=no_two_actives_no_two_windows_no_repeated_epoch_and_failover_in_time
cargo test --locked "${profile[@]}" --features reverts --test model --no-run 2>&1 | tail -1
mkdir -p target/reverts
missed=()
for rule in "${rules[@]}"; do
  log="target/reverts/$rule.log"
  start=$(date +%s)
  if DRLEASE_REVERT="$rule" cargo test --locked "${profile[@]}" --features reverts --test model \
      -- --exact "$test_name" --nocapture >"$log" 2>&1; then
    outcome=MISSED
    missed+=("$rule")
  else
    outcome=caught
  fi
  secs=$(($(date +%s) - start))
  # The first violation reported: its world, property and the shortest trace's length.
  first=$(grep -m1 -E '^  violated: ' "$log" | sed -E 's/^  violated: //; s/; shortest trace://' || true)
  if [ -z "$first" ] && [ "$outcome" = caught ]; then
    # Not a violation: a world became vacuous, or the build or the run failed.
    first="no violation: $(grep -m1 -E 'vacuous|panicked|error' "$log" | cut -c1-120)"
  fi
  world=$(awk '/^  violated: /{print w; exit} /^[^ ]/{w=$0}' "$log" | cut -c1-70)
  actions=$(grep -m1 -oE '^[0-9]+ actions:' "$log" | grep -oE '[0-9]+' || true)
  printf '%-4s %-7s %4ss  %s%s  %s\n' "$rule" "$outcome" "$secs" "${actions:+$actions actions, }" "$first" "$world"
done
if [ ${#missed[@]} -gt 0 ]; then
  echo "rules whose revert the model check does not catch: ${missed[*]}"
  exit 1
fi
echo "every rule's revert is caught"
