package e2e

import (
	"testing"
	"time"

	"assist/internal/proctest"
	"assist/internal/swaylab"
	"assist/internal/xlab"
)

// TestAWaylandCustomerOnSway: 'assist share' on a headless sway, with no
// X server anywhere, shares the output pixel for pixel where lossless
// (wlr-screencopy), and the rep's click and typed text reach a Wayland
// window through the virtual pointer and keyboard, text beyond a US
// keyboard included.
func TestAWaylandCustomerOnSway(t *testing.T) {
	const w, h = 640, 480
	want := xlab.Desktop(w, h, 4)
	sway := swaylab.Start(t, want)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/tcp/0"}).Addrs[0].String()
	tcp := []string{"--listen", "/ip4/127.0.0.1/tcp/0"}

	share := proctest.Start(t, assistBin, append([]string{"ASSIST_HOME=" + t.TempDir()}, sway.Env...),
		append([]string{"share", "--json", "--rendezvous", rv}, tcp...)...)
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	join := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY=", "WAYLAND_DISPLAY="},
		append([]string{"join", "--json", "--no-browser", "--name", "Alice", "--rendezvous", rv}, append(tcp, key)...)...)
	share.WaitEventWhere("consent_request", 30*time.Second, func(e proctest.Event) bool { return e.Str("what") == "view" })
	share.Say("y")
	v := dialViewer(t, join.WaitEvent("viewer", 30*time.Second).Str("url"))
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)

	// A window to click and type into: sway gives it the whole output
	// and the keyboard.
	rec := sway.Record(t)
	v.send(map[string]any{"type": "request_control"})
	share.WaitEventWhere("consent_request", 30*time.Second, func(e proctest.Event) bool { return e.Str("what") == "control" })
	share.Say("y")
	v.waitEvent("consent", 30*time.Second, func(e map[string]any) bool { return e["control"] == true })
	// This seat has no mouse or keyboard but the rep's: a client takes
	// their events once it has seen them come.
	for deadline := time.Now().Add(20 * time.Second); ; {
		v.send(map[string]any{"type": "input", "input": map[string]any{"type": "move", "x": 300, "y": 100}})
		if rec.Pointed(500*time.Millisecond) && rec.Focused(5*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rep's pointer and keyboard never came to the Wayland window")
		}
	}
	const text = "Hi, Ünïcødé €5!"
	v.sendClickAndText(321, 123, text)
	if p := rec.Next(t, "press", 20*time.Second); p.X != 321 || p.Y != 123 {
		t.Fatalf("the click reached the Wayland window at %d,%d, want 321,123", p.X, p.Y)
	}
	typed := ""
	for len([]rune(typed)) < len([]rune(text)) {
		typed += rec.Next(t, "key", 20*time.Second).Text
	}
	if typed != text {
		t.Fatalf("the Wayland window got %q, the rep typed %q", typed, text)
	}
}
