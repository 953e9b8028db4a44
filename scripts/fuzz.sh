#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 5s).
# The seed corpus runs in plain 'go test' too; this explores beyond it.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" at the -fuzztime boundary when a worker is busy (for
# example minimizing a slow input) as the deadline fires: go.dev/issue/75804,
# fixed in Go 1.27. No input failed in that case, so the script tells it apart
# from a finding: a finding writes a reproducer under testdata/fuzz/ or
# prints a failure of its own, and then the run fails with the whole output.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
# A short run should not spend its time shrinking slow inputs (an envelope
# whose signature is checked on every try takes ~40 s at the default 60 s).
minimizetime=${FUZZMINIMIZETIME:-2s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# reproducers lists the inputs the fuzzer has written for pkg's target.
reproducers() {
  local dir
  dir="$(go list -f '{{.Dir}}' "$1")/testdata/fuzz/$2"
  if [ -d "$dir" ]; then ls "$dir"; fi
}

# only_deadline_race reports whether the log's one complaint is the
# coordinator's deadline error.
only_deadline_race() {
  grep -q '^    context deadline exceeded$' "$log" &&
    ! grep -Eq 'panic:|Failing input written|fuzz_test.go|_test.go:[0-9]+:' "$log"
}

for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    before=$(reproducers "$pkg" "$target")
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg" >"$log" 2>&1; then
      continue
    fi
    if [ "$before" = "$(reproducers "$pkg" "$target")" ] && only_deadline_race; then
      echo "  stopped by Go's fuzz-deadline race (go.dev/issue/75804), no input failed; running its seeds and reproducers again"
      go test -run "^${target}\$" "$pkg" >/dev/null
      continue
    fi
    cat "$log"
    echo "fuzz: $pkg $target found a failing input (see above; the reproducer is under testdata/fuzz/$target)"
    exit 1
  done
done
echo "fuzz: all targets ran without a failure"
