//go:build linux

package desktop

import (
	"strings"
	"testing"
)

func TestTheLinuxDesktopIsTheSessionsKind(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DISPLAY": ":0"}, "x11"},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, "wayland"},
		// Xwayland sets DISPLAY in a Wayland session; X11 capture there
		// would see only the X programs.
		{map[string]string{"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "wayland"},
		{map[string]string{"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "x11"},
		{map[string]string{"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "wayland"},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0", "ASSIST_DESKTOP": " X11 "}, "x11"},
		{map[string]string{}, "x11"},
	} {
		if got := linuxDesktop(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: %s, want %s", c.env, got, c.want)
		}
	}
}

func TestAnUnknownDesktopIsRefusedPlainly(t *testing.T) {
	t.Setenv("ASSIST_DESKTOP", "mir")
	_, err := Open()
	if err == nil || !strings.Contains(err.Error(), "say x11 or wayland") {
		t.Fatalf("ASSIST_DESKTOP=mir: %v", err)
	}
}

func TestAWaylandDesktopThatCannotBeCapturedSaysWhatWould(t *testing.T) {
	for desk, want := range map[string]string{
		"GNOME":        `"GNOME on Xorg"`,
		"ubuntu:GNOME": `"GNOME on Xorg"`,
		"KDE":          `"Plasma (X11)"`,
		"Weston":       "wlroots compositor",
		"":             "this Wayland desktop",
	} {
		t.Setenv("XDG_CURRENT_DESKTOP", desk)
		if got := noScreencopyAdvice(); !strings.Contains(got, want) {
			t.Errorf("%q: %q lacks %q", desk, got, want)
		}
	}
}

// With no compositor behind WAYLAND_DISPLAY, the error says so.
func TestAMissingCompositorIsSaid(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("WAYLAND_DISPLAY", "wayland-9")
	t.Setenv("ASSIST_DESKTOP", "")
	_, err := Open()
	if err == nil || !strings.Contains(err.Error(), "Wayland compositor") {
		t.Fatalf("no compositor: %v", err)
	}
}
