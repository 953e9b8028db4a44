#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when missing.
# As root it runs apt-get; otherwise it says what to install and fails.
# Another package manager at work (unattended upgrades on a fresh machine)
# holds apt's lock: wait for it, up to APT_WAIT seconds, instead of failing.
set -euo pipefail
APT_GET=${APT_GET:-apt-get}
DPKG_QUERY=${DPKG_QUERY:-dpkg-query}
APT_WAIT=${APT_WAIT:-900}
APT_RETRY=${APT_RETRY:-5} # seconds between tries
missing=()
for pkg in "$@"; do
  "$DPKG_QUERY" -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

# apt runs "$@" with apt-get, waiting while another one holds the lock.
apt() {
  local deadline=$((SECONDS + APT_WAIT)) out said=""
  while :; do
    if out=$("$APT_GET" -o DPkg::Lock::Timeout=60 "$@" 2>&1); then
      return 0
    fi
    if ! grep -qiE 'could not get lock|unable to acquire|is another process using it' <<<"$out" || [ $SECONDS -ge $deadline ]; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    [ -n "$said" ] || echo "another package manager is running; waiting for it to finish…" >&2
    said=1
    sleep "$APT_RETRY"
  done
}

echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt update -qq
apt install -y -qq --no-install-recommends "${missing[@]}"
