#!/usr/bin/env bash
# govulncheck against a local copy of the Go vulnerability database: the
# online one (vuln.go.dev) may be out of reach, while the module proxy
# serves golang.org/x/vulndb, whose OSV reports are turned into a
# database here once per version (a couple of minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
vulndb=${VULNDB:?VULNDB=module@version}
govulncheck=${GOVULNCHECK:?GOVULNCHECK=package@version}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/assist/vulndb-${vulndb##*@}
if [ ! -f "$cache/index/db.json" ]; then
  src=$(go mod download -json "$vulndb" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/data/osv" ] || { echo "vulncheck: no data/osv in $vulndb" >&2; exit 1; }
  echo "vulncheck: building the vulnerability database from $vulndb into $cache" >&2
  rm -rf "$cache.tmp" && mkdir -p "$(dirname "$cache")"
  go run "${vulndb%@*}/cmd/indexdb@${vulndb##*@}" -vulns "$src/data/osv" -out "$cache.tmp"
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
go run "$govulncheck" -db "file://$cache" ./...
