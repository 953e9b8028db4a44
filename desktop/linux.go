//go:build linux

package desktop

import (
	"fmt"
	"os"
	"strings"
)

// detect picks the Linux desktop: the session type the login manager set,
// then which display server's socket is named. ASSIST_DESKTOP=x11 or
// wayland overrides both, for a session that says one thing and is another.
func detect() (Backend, error) {
	switch kind := linuxDesktop(os.Getenv); kind {
	case "wayland":
		return openWayland()
	case "x11":
		return x11{}, nil
	default:
		return nil, fmt.Errorf("ASSIST_DESKTOP=%s: say x11 or wayland", kind)
	}
}

// linuxDesktop says which desktop the environment describes. A Wayland
// session usually has DISPLAY too (Xwayland), but X11 capture there sees
// only the X programs' windows, so Wayland wins.
func linuxDesktop(getenv func(string) string) string {
	if o := strings.ToLower(strings.TrimSpace(getenv("ASSIST_DESKTOP"))); o != "" {
		return o
	}
	switch getenv("XDG_SESSION_TYPE") {
	case "x11":
		return "x11"
	case "wayland":
		return "wayland"
	}
	if getenv("WAYLAND_DISPLAY") != "" {
		return "wayland"
	}
	return "x11"
}
