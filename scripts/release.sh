#!/usr/bin/env bash
# Cross-compiles assist for every platform it runs on into dist/, one
# static binary each (no cgo, so no C toolchain per platform), and writes
# their SHA-256 sums to dist/SHA256SUMS.
set -euo pipefail
GO=${GO:-go}
PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64"}
rm -rf dist
mkdir -p dist
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  out=dist/assist-$os-$arch
  [ "$os" = windows ] && out=$out.exe
  echo "building $out" >&2
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=auto -ldflags='-s -w' -o "$out" ./cmd/assist
done
(cd dist && sha256sum assist-* > SHA256SUMS)
cat dist/SHA256SUMS
