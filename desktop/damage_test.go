//go:build linux

package desktop

import (
	"io"
	"strings"
	"testing"
	"time"

	"assist/internal/swaylab"
	"assist/internal/xlab"
	"assist/screen"
)

// On sway, the sender learns from the compositor what changed: a still
// screen gives no tiles and no capture of its own, a window that opens
// gives tiles, and the picture is the output's.
func TestAStillWaylandScreenIsNotCaptured(t *testing.T) {
	want := xlab.Desktop(320, 240, 6)
	s := swaylab.Start(t, want)
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	scr, err := wayland{}.OpenScreen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	if _, ok := scr.(screen.DamageSource); !ok {
		t.Fatal("the Wayland screen reports no damage")
	}
	snd := screen.NewSender(scr, screen.DefaultSenderConfig())
	defer snd.Close()
	st, err := snd.Step(io.Discard)
	if err != nil || st.Tiles != len(screen.Grid(320, 240)) {
		t.Fatalf("first frame: %d tiles, %v", st.Tiles, err)
	}
	// The wallpaper may still be coming (swaybg draws it after sway starts).
	for deadline := time.Now().Add(5 * time.Second); ; {
		time.Sleep(100 * time.Millisecond)
		if st, err := snd.Step(io.Discard); err != nil || st.Tiles == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the screen never went still")
		}
	}
	// Still: the compositor has nothing to say, the sender nothing to send.
	for range 3 {
		time.Sleep(50 * time.Millisecond)
		if st, err := snd.Step(io.Discard); err != nil || st.Tiles != 0 || st.Capture != 0 {
			t.Fatalf("a still screen: %d tiles, %v of capture, %v", st.Tiles, st.Capture, err)
		}
	}
	s.Record(t) // a window opens over the wallpaper
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := snd.Step(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if st.Tiles > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a window opened and the sender saw no change")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
