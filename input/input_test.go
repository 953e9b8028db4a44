package input

import (
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"assist/internal/xlab"
	"assist/screen"
)

func waitEvents(t *testing.T, rec *xlab.Recorder, n int, kind string) []xlab.InputEvent {
	t.Helper()
	var got []xlab.InputEvent
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case e := <-rec.Events:
			if e.Kind == kind && (kind != "key" || e.Text != "") {
				got = append(got, e)
			}
		case <-deadline:
			t.Fatalf("got %d of %d %s events: %+v", len(got), n, kind, got)
		}
	}
	return got
}

func TestInjectorClicksAndTypesIntoAWindow(t *testing.T) {
	x := xlab.StartXvfb(t, 800, 600)
	t.Setenv("DISPLAY", x.Display)
	rec, err := xlab.RecordInput(x.Display, image.Rect(100, 50, 500, 350))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	inj, err := NewX11Injector(image.Rect(0, 0, 800, 600))
	if err != nil {
		t.Fatal(err)
	}
	defer inj.Close()
	if err := inj.Apply(Event{Type: Click, X: 150, Y: 120, Button: "left"}); err != nil {
		t.Fatal(err)
	}
	press := waitEvents(t, rec, 1, "press")[0]
	if press.X != 50 || press.Y != 70 || press.Button != 1 {
		t.Fatalf("click arrived as %+v, want left at window (50,70)", press)
	}
	if err := inj.Apply(Event{Type: Text, Text: "Hello, World 42!"}); err != nil {
		t.Fatal(err)
	}
	var typed strings.Builder
	for _, e := range waitEvents(t, rec, len("Hello, World 42!"), "key") {
		typed.WriteString(e.Text)
	}
	if typed.String() != "Hello, World 42!" {
		t.Fatalf("typed %q", typed.String())
	}
	if err := inj.Apply(Event{Type: Key, Key: "a", Mods: []string{"ctrl"}}); err != nil {
		t.Fatal(err)
	}
	for {
		e := waitEvents(t, rec, 1, "key")[0]
		if e.Text == "a" {
			if !e.Ctrl {
				t.Fatalf("ctrl+a arrived without ctrl: %+v", e)
			}
			break
		}
	}
}

func TestInjectorMapsCoordinatesToTheChosenMonitor(t *testing.T) {
	x := xlab.StartXvfb(t, 800, 600)
	t.Setenv("DISPLAY", x.Display)
	rec, err := xlab.RecordInput(x.Display, image.Rect(400, 300, 800, 600))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	// Pretend the shared monitor is the bottom-right quarter.
	inj, err := NewX11Injector(image.Rect(400, 300, 800, 600))
	if err != nil {
		t.Fatal(err)
	}
	defer inj.Close()
	if err := inj.Apply(Event{Type: Click, X: 10, Y: 20}); err != nil {
		t.Fatal(err)
	}
	if p := waitEvents(t, rec, 1, "press")[0]; p.X != 10 || p.Y != 20 {
		t.Fatalf("click at monitor (10,20) arrived at window (%d,%d)", p.X, p.Y)
	}
}

func TestNoDisplayIsAClearError(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := NewX11Injector(image.Rect(0, 0, 10, 10)); !errors.Is(err, screen.ErrNoDisplay) {
		t.Fatalf("err = %v, want ErrNoDisplay", err)
	}
}

func TestGate(t *testing.T) {
	var g Gate
	if err := g.Check("host"); !errors.Is(err, ErrNotHost) {
		t.Fatalf("no host yet: %v", err)
	}
	g.SetHost("host")
	if err := g.Check("host"); !errors.Is(err, ErrNoControl) {
		t.Fatalf("before consent: %v", err)
	}
	g.SetControl(true)
	if err := g.Check("host"); err != nil {
		t.Fatalf("with consent: %v", err)
	}
	if err := g.Check("someone-else"); !errors.Is(err, ErrNotHost) {
		t.Fatalf("other peer: %v", err)
	}
	g.SetControl(false)
	if err := g.Check("host"); !errors.Is(err, ErrNoControl) {
		t.Fatalf("after taking control back: %v", err)
	}
}

func TestDecodeRejectsBadEvents(t *testing.T) {
	for _, raw := range []string{
		`{"type":"explode"}`, `{"type":"click","button":"fourth"}`, `{"type":"key","key":"notakey"}`,
		`{"type":"key","key":"a","mods":["hyper"]}`, `{"type":"move","x":-1}`, `{"type":"scroll","dy":1000}`, `nope`,
	} {
		if _, err := Decode([]byte(raw)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%s) = %v, want ErrInvalid", raw, err)
		}
	}
	if _, err := Decode([]byte(`{"type":"key","key":"c","mods":["ctrl"]}`)); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"click","x":10,"y":20,"button":"left","double":true}`))
	f.Add([]byte(`{"type":"text","text":"hello"}`))
	f.Add([]byte(`{"type":"key","key":"enter","mods":["shift"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err == nil && e.Validate() != nil {
			t.Fatal("Decode accepted an invalid event")
		}
	})
}
