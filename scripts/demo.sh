#!/usr/bin/env bash
# The whole story on one machine, as one command:
#  - a virtual screen (Xvfb) with a terminal, a clock and the customer's own
#    'assist share' in a window, so the viewer shows what the customer sees
#    and answers (the demo answers the customer's questions "yes" for them);
#  - a rendezvous node with its join page for specialists;
#  - a portal "Demo Support" with two reps: you (Alice) and Bob, whose
#    console runs here and accepts invitations at once;
#  - you join the customer's session in this terminal.
# It prints the commands that invite Bob, the whole portal and an external
# specialist. Ctrl-C tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ASSIST_BIN:-$(pwd)/bin/assist} # tests run their own build
work=$(mktemp -d)
user_display=${DISPLAY:-}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f -- "$work" 2>/dev/null || true # the helpers' tails and the customer's window
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
waitfor() { # waitfor FILE PATTERN: until FILE has a line matching PATTERN
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo: timed out waiting for $2 in $1" >&2
  return 1
}
say() { printf '\033[1m%s\033[0m\n' "$*"; }

# A virtual screen; Xvfb picks a free display number and reports it.
exec 3> >(cat > "$work/display")
Xvfb -displayfd 3 -screen 0 1280x800x24 -noreset -nolisten tcp 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -1 "$work/display")"
xterm -geometry 80x20+20+20 -bg '#1d2026' -fg '#e6e6e6' -e bash -c 'while true; do date; uptime; sleep 1; done' &
pids+=($!)
xclock -geometry 160x160+1080+20 -update 1 &
pids+=($!)

"$bin" rendezvous --json --data-dir "$work/rendezvous" --http 127.0.0.1:0 \
  --listen /ip4/127.0.0.1/udp/0/quic-v1 --listen /ip4/127.0.0.1/tcp/0 >"$work/rv.json" 2>"$work/rv.log" &
pids+=($!)
waitfor "$work/rv.json" '"addrs"'
rv=$(sed -n 's/.*"addrs":\["\([^"]*\)".*/\1/p' "$work/rv.json" | head -1)
joinpage=$(sed -n 's/.*"join_page":"\([^"]*\)".*/\1/p' "$work/rv.json" | head -1)
export ASSIST_RENDEZVOUS="$rv"

# The portal: its manager enrolls Alice (you) and Bob, and lets reps invite
# external specialists with control rights who may share their screen.
mgr="$work/manager" alice="$work/alice" bob="$work/bob"
ASSIST_HOME=$mgr "$bin" portal create "Demo Support" >/dev/null
for who in Alice Bob; do
  home="$work/$(echo "$who" | tr A-Z a-z)"
  id=$(ASSIST_HOME=$home "$bin" id)
  token=$(ASSIST_HOME=$mgr "$bin" portal enroll "Demo Support" --name "$who" --peer "$id" 2>/dev/null)
  ASSIST_HOME=$home "$bin" login "$token" >/dev/null
done
ASSIST_HOME=$mgr "$bin" portal settings "Demo Support" --externals on --max-rights control --specialist-share on >/dev/null

# Bob's console: online in the portal; a little helper accepts whatever
# invitation reaches him, as a colleague would.
mkfifo "$work/bob.in"
sleep infinity >"$work/bob.in" &
pids+=($!)
DISPLAY= ASSIST_HOME=$bob "$bin" console --json --no-browser <"$work/bob.in" >"$work/bob.json" 2>"$work/bob.log" &
pids+=($!)
(tail -n +1 -F "$work/bob.json" 2>/dev/null | while read -r line; do
  case $line in *'"event":"alert"'*)
    id=$(sed -n 's/.*"alert":{"id":"\([0-9a-f]*\)".*/\1/p' <<<"$line")
    [ -n "$id" ] && echo "accept $id" >"$work/bob.in"
  esac
done) &
pids+=($!)

# The customer, in a window of the shared screen: what it sees (who joined,
# chat, the questions) is on the screen you watch. Its answers come from
# here: the demo says yes for the customer.
mkfifo "$work/customer.in"
sleep infinity >"$work/customer.in" &
pids+=($!)
xterm -geometry 90x22+20+340 -bg '#fffbe6' -fg '#222' -T "the customer's terminal" -e bash -c \
  "ASSIST_HOME='$work/customer' '$bin' share --rendezvous '$rv' <'$work/customer.in' | tee '$work/customer.log'" &
pids+=($!)
waitfor "$work/customer.log" 'Your support key'
key=$(grep -oE '[0-9]{3}(-[0-9]{3,4}){3,}' "$work/customer.log" | head -1)
(tail -n +1 -F "$work/customer.log" 2>/dev/null | while read -r line; do
  case $line in *'Allow? [y/n]'*) sleep 1; echo y >"$work/customer.in" ;; esac
done) &
pids+=($!)

say "The customer's support key: $key   (rendezvous node: $rv)"
cat <<EOF

You are Alice. In this terminal: type to chat with the customer, /control to
ask for control, /i TEXT for internal chat, /end to end. The viewer opens in
your browser (or open the address printed below). In ANOTHER terminal, as
Alice, bring in help:

  export ASSIST_HOME=$alice ASSIST_RENDEZVOUS=$rv
  $bin reps                                             # Alice and Bob online
  $bin invite --rep Bob --comment "printer driver"      # Bob's console accepts at once
  $bin invite --portal "Demo Support" --mask            # everyone; masked from the customer
  $bin invite --external --access control --email sam@example.com
      # prints a code, a link and the command a specialist runs; try it:
      #   ASSIST_HOME=\$(mktemp -d) $bin join --name Sam CODE   (or open the join page: $joinpage)
  $bin rights Sam control | $bin remove Sam | $bin invite cancel CODE

The customer's terminal is on the shared screen: watch "Bob has joined the
session" and the questions appear there.

EOF
DISPLAY="$user_display" ASSIST_HOME=$alice "$bin" join "$key"
