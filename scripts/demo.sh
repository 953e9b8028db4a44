#!/usr/bin/env bash
# The whole product on one machine: a rendezvous node, a customer sharing a
# virtual screen (Xvfb with a terminal and a clock on it), and a rep joining
# it. Prints the viewer's address; Ctrl-C tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/assist
work=$(mktemp -d)
user_display=${DISPLAY:-}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A virtual screen; Xvfb picks a free display number and reports it.
exec 3> >(cat > "$work/display")
Xvfb -displayfd 3 -screen 0 1280x800x24 -noreset -nolisten tcp 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -1 "$work/display")"
echo "virtual screen on $DISPLAY"
xterm -geometry 100x30+20+20 -bg '#1d2026' -fg '#e6e6e6' -e bash -c 'while true; do date; uptime; sleep 1; done' &
pids+=($!)
xclock -geometry 200x200+1000+40 -update 1 &
pids+=($!)

"$bin" rendezvous --json --data-dir "$work/rendezvous" \
  --listen /ip4/127.0.0.1/udp/0/quic-v1 --listen /ip4/127.0.0.1/tcp/0 >"$work/rv.json" 2>"$work/rv.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/rv.json" ] && break; sleep 0.1; done
rv=$(sed -n 's/.*"addrs":\["\([^"]*\)".*/\1/p' "$work/rv.json" | head -1)
echo "rendezvous node: $rv"

mkfifo "$work/customer.in"
sleep infinity >"$work/customer.in" &
pids+=($!)
ASSIST_HOME="$work/customer" "$bin" share --json --allow-view --allow-control --rendezvous "$rv" \
  <"$work/customer.in" >"$work/customer.json" 2>"$work/customer.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '"event":"key"' "$work/customer.json" 2>/dev/null && break; sleep 0.1; done
key=$(sed -n 's/.*"key":"\([0-9-]*\)".*/\1/p' "$work/customer.json" | head -1)
echo "customer's support key: $key"

# The rep joins in this terminal: type to chat, /control, /end. On a
# desktop the viewer opens in your browser; otherwise open the address.
echo "rep: assist join $key  (type a line to chat, /control to ask for control, /end to stop)"
DISPLAY="$user_display" ASSIST_HOME="$work/rep" "$bin" join --name "Demo Rep" --rendezvous "$rv" "$key"
