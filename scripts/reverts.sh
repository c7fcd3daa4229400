#!/usr/bin/env bash
# Takes each rule of the promise out in turn (crates/drlease-core/src/rules.rs: the test-only feature
# `reverts` and DRLEASE_REVERT=<id>) and runs the model check against it: a rule's revert
# must fail the check. One line per rule: caught or MISSED, the first property violated,
# the shortest trace's length, the world, the time. docs/reliability.md ("Every rule
# guarded") has the figures and what each revert is.
#
#   scripts/reverts.sh             every rule against every CI world, release build (about
#                                  10 minutes on 2 cores): re-derives the table below
#   scripts/reverts.sh --quick     every rule against the one world that catches it, debug
#                                  build (what scripts/test.sh runs; about 2 minutes)
#   scripts/reverts.sh R14 R24     only these rules (with or without --quick)
#   scripts/reverts.sh --unit      each rule against the core's unit tests instead: which
#                                  tests fail without it; each one docs/design.md lists
#                                  under "Fails without it" must (about 3 minutes)
#
# Exits non-zero when a rule the table says is caught is not (a regression), or when a
# rule listed as not caught by the model is caught now (update the table and the docs).
set -euo pipefail
cd "$(dirname "$0")/.."

# The world (part of its name, DRLEASE_MODEL_WORLD) whose check catches each rule's revert.
declare -A CATCHER=(
  [R1]="from a holder, equal short settings; its controller's health flips"
  [R2]="liveness: no faults but a kill -9 or SIGTERM"
  [R3]="from a holder, equal short settings; its controller's health flips"
  [R4]="from a holder, equal short settings; its controller's health flips"
  [R5]="MREC within the rules: the second region's pod starts at any moment"
  [R6]="twins: two processes under one identity"
  [R7]="equal short settings; lost messages"
  [R8]="liveness: from a holder that renews at half its deadline"
  [R9]="long and short settings; operator (short settings) freezes"
  [R10]="long and short settings; restores from a backup"
  [R11]="long and short settings; operator (short settings) freezes"
  [R12]="long and short settings; operator (short settings) deletes"
  [R13]="a pause (SIGSTOP) of either, a restore"
  [R14]="from a holder, equal short settings; its controller's health flips"
  [R15]="short and long settings; lost messages"
  [R16]="equal short settings; lost messages"
  [R17]="long and short settings; operator (short settings) freezes"
  [R18]="MREC partitioned from the start, then the heal"
  [R19]="a confirm delay without --peer-regions (no region marks), from a holder in west cut off"
  [R20]="MREC within the rules (lag 1, confirm 3: above twice the lag): both start at once"
  [R21]="MREC partitioned from the start, then the heal"
  [R22]="seed over region marks an earlier item left"
  [R23]="MREC partitioned from the start, then the heal"
  [R24]="MREC from a holder in west cut off until past its renewal budget"
  [R25]="two renewals landed, a handover request at east's replica on the version before them; the holder's messages lost"
  [R26]="at the longest renew deadline allowed"
  [R27]="a handover request at east's replica on the version before them; lost messages"
  [R28]="written again five times behind its renewals"
)
# Rules whose revert no CI world catches yet (none today; keep the spaces around ids added
# here); docs/reliability.md says what guards each.
NOT_BY_MODEL=" "

quick=false
unit=false
rules=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=true ;;
    --unit) unit=true ;;
    R[0-9]*) rules+=("$arg") ;;
    *) echo "usage: $0 [--quick | --unit] [R1 ... R28]" >&2; exit 2 ;;
  esac
done
if [ ${#rules[@]} -eq 0 ]; then
  # Every rule: the table above has one line per rule (crates/drlease-core/src/rules.rs).
  for i in $(seq 1 ${#CATCHER[@]}); do rules+=("R$i"); done
fi
if $unit; then
  # The unit tests docs/design.md says fail without each rule ("Fails without it") must.
  named=$(python3 scripts/rule_tests.py)
  cargo test --locked -p drlease-core --features reverts --lib --no-run 2>&1 | tail -1
  mkdir -p target/reverts
  unguarded=()
  for rule in "${rules[@]}"; do
    log="target/reverts/$rule.unit.log"
    # A revert can make a test loop for ever: after two minutes the run is stopped, and
    # the tests still running count as failing (cargo test names them after 60 s).
    # The same for a test whose loop grows without end: 4 GB of address space at most.
    (ulimit -v 4000000
     DRLEASE_REVERT="$rule" timeout 120 cargo test --locked -p drlease-core --features reverts \
       --lib >"$log" 2>&1) || true
    failing=$(sed -nE 's/^test ([a-z_:0-9]+) (\.\.\. FAILED|has been running for over 60 seconds)$/\1/p' \
      "$log" | \
      sed -E 's/^core::tests:://' | sort -u | tr '\n' ' ' || true)
    printf '%-4s %3s failing: %s\n' "$rule" "$(echo "$failing" | wc -w)" "${failing:-none}"
    for test in $(echo "$named" | awk -v r="$rule" '$1 == r {print $2}'); do
      if ! echo " $failing" | grep -qF " $test "; then
        unguarded+=("$rule $test")
      fi
    done
  done
  if [ ${#unguarded[@]} -gt 0 ]; then
    echo "listed in docs/design.md as failing without a rule, but passing without it:"
    printf '  %s\n' "${unguarded[@]}"
    exit 1
  fi
  echo "every unit test docs/design.md lists for these rules fails without its rule"
  exit 0
fi
profile=(--release)
if $quick; then
  profile=()
fi
test_name=no_two_actives_no_two_windows_no_repeated_epoch_and_failover_in_time
cargo test --locked "${profile[@]}" -p drlease-core --features reverts --test model --no-run 2>&1 | tail -1
mkdir -p target/reverts
failed=()
for rule in "${rules[@]}"; do
  world=""
  if $quick; then
    if [[ "$NOT_BY_MODEL" == *" $rule "* ]]; then
      printf '%-4s %-7s not caught by the model (docs/reliability.md)\n' "$rule" skipped
      continue
    fi
    world="${CATCHER[$rule]}"
  fi
  log="target/reverts/$rule.log"
  start=$(date +%s)
  if DRLEASE_REVERT="$rule" DRLEASE_MODEL_WORLD="$world" cargo test --locked "${profile[@]}" \
      -p drlease-core --features reverts --test model -- --exact "$test_name" --nocapture >"$log" 2>&1; then
    outcome=MISSED
  else
    outcome=caught
  fi
  secs=$(($(date +%s) - start))
  first=$(grep -m1 -E '^  violated: ' "$log" | sed -E 's/^  violated: //; s/; shortest trace://' || true)
  if [ -z "$first" ] && [ "$outcome" = caught ]; then
    # Not a violation: a world became vacuous, or an assertion of the model failed.
    first="no violation: $(grep -m1 -E 'vacuous|panicked at' "$log" | cut -c1-120)"
  fi
  caught_in=$(awk '/^  violated: |^  never happened: /{print w; exit} /^[^ ]/{w=$0}' "$log" | cut -c1-70)
  actions=$(grep -m1 -oE '^[0-9]+ actions:' "$log" | grep -oE '[0-9]+' || true)
  printf '%-4s %-7s %4ss  %s%s  %s\n' "$rule" "$outcome" "$secs" "${actions:+$actions actions, }" \
    "$first" "$caught_in"
  expected=caught
  if [[ "$NOT_BY_MODEL" == *" $rule "* ]]; then
    expected=MISSED
  fi
  if [ "$outcome" != "$expected" ]; then
    failed+=("$rule ($outcome, expected $expected)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "the table in scripts/reverts.sh does not hold for: ${failed[*]}"
  exit 1
fi
if [ -z "${NOT_BY_MODEL// /}" ]; then
  echo "every revert as the table says: each caught by the model"
else
  echo "every revert as the table says: caught, but for${NOT_BY_MODEL% }"
fi
