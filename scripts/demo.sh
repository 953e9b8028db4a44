#!/usr/bin/env bash
# Local demo: a rendezvous node on loopback. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill 0 2>/dev/null; rm -rf "$work"' EXIT
./bin/assist rendezvous --data-dir "$work/rendezvous" --listen /ip4/127.0.0.1/udp/0/quic-v1 --listen /ip4/127.0.0.1/tcp/0
