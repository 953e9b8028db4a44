#!/usr/bin/env bash
# Registers assist as the handler of assist:// links (assist://join/CODE),
# so clicking one in a browser or an email runs 'assist join' in a terminal.
# Usage: install-url-handler.sh PREFIX [DESTDIR]
set -euo pipefail
prefix=$1
destdir=${2:-}
apps="$destdir$prefix/share/applications"
mkdir -p "$apps"
cat > "$apps/assist.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=assist
Comment=Join a remote support session
Exec=$prefix/bin/assist join %u
Terminal=true
NoDisplay=true
Categories=Network;RemoteAccess;
MimeType=x-scheme-handler/assist;
DESKTOP
echo "installed $apps/assist.desktop"
# Only for a real install: DESTDIR is a staging area for packages.
if [ -z "$destdir" ]; then
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database "$apps" || true
  fi
  if command -v xdg-mime >/dev/null; then
    XDG_DATA_DIRS="$prefix/share:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}" \
      xdg-mime default assist.desktop x-scheme-handler/assist
    echo "assist:// links now open with assist join"
  else
    echo "xdg-mime not found: install xdg-utils to register assist:// links" >&2
  fi
fi
