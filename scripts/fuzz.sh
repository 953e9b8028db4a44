#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 5s).
# The seed corpus runs in plain 'go test' too; this explores beyond it.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/dev/null
  done
done
echo "fuzz: all targets ran without a failure"
