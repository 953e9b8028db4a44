package e2e

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"assist/internal/netlab"
	"assist/internal/xlab"
)

// TestNATSlowUplink shapes the customer's uplink to 4 Mbit/s (tbf, as a
// home line) and runs a session to a rep behind another NAT on a
// 1920x1080 screen. Typing reaches the rep's viewer page within 100 ms.
// A whole screen in motion, as a video plays, keeps at least 10 frames a
// second with a p95 latency under 300 ms, and when the motion stops the
// last picture arrives within a second: the sender keeps its frames out
// of the link's queue and lowers the photos' resolution and quality
// instead. A photo dragged over the whole screen goes as copies and what
// comes into view, at 20 frames a second or more.
func TestNATSlowUplink(t *testing.T) {
	n := newNATLab(t, netlab.PortPreserving, netlab.PortPreserving)
	n.x = xlab.StartXvfb(t, 1920, 1080)
	n.lab.Exec(n.homeA, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "50ms")
	white := xlab.Fill(1920, 1080, color.RGBA{250, 250, 250, 255})
	paper, err := xlab.ShowImage(n.x.Display, image.Rect(0, 0, 1920, 1080), white)
	if err != nil {
		t.Fatal(err)
	}
	defer paper.Close()
	_, key := n.share(t, n.homeA, quicOnly)
	join := n.join(t, n.homeB, key, quicOnly)
	// Events come in their own order: the viewer, the upgrade to a
	// direct connection, the first frame.
	var url string
	direct, framed := false, false
	deadline := time.After(90 * time.Second)
	for url == "" || !direct || !framed {
		select {
		case e := <-join.Events:
			switch e.Name() {
			case "viewer":
				url = e.Str("url")
			case "connection":
				direct = direct || e.Str("path") == "direct"
			case "frame":
				framed = true
			}
		case <-deadline:
			t.Fatalf("after 90 s: viewer %q, direct %v, a frame %v", url, direct, framed)
		}
	}
	time.Sleep(2 * time.Second) // the first whole screen is through

	frames := startFrameProbe(t, n.homeB, url, 33*time.Second)

	// Typing: a glyph drawn ten times a second.
	var typed []time.Time
	glyph := xlab.Fill(8, 14, color.RGBA{20, 20, 20, 255})
	for i := range 40 {
		r := image.Rect(100+10*i, 200, 108+10*i, 214)
		copyInto(white, r, glyph)
		typed = append(typed, time.Now())
		if err := paper.Paint(r, white); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)

	// A photo dragged over the whole screen (a map, a picture panned):
	// each frame is the last one moved, sent as a copy and the strips
	// that come into view.
	photo, other := bgrxOf(syntheticPhoto(2400, 1400, 7)), bgrxOf(syntheticPhoto(2400, 1400, 8))
	stride := 4 * 2400
	pan := paint(t, paper, 6*time.Second, func(i int) ([]byte, int) {
		return photo, 4*i%300*stride + 4*(8*i%400)
	})
	time.Sleep(time.Second)
	// Then as a video plays: every frame new all over, two photos taking
	// turns, as fast as they can be drawn up to 30 times a second.
	video := paint(t, paper, 10*time.Second, func(i int) ([]byte, int) {
		pix := photo
		if i%2 == 1 {
			pix = other
		}
		return pix, 4*i%300*stride + 4*(8*i%400)
	})
	got := frames.wait(t)
	if out, err := exec.Command("ip", "netns", "exec", n.homeA, "tc", "-s", "qdisc", "show", "dev", "eth0").CombinedOutput(); err == nil {
		t.Logf("the customer's uplink: %s", out)
	}

	var typing []time.Duration
	for _, at := range typed {
		if f, ok := got.firstCapturedAfter(at); ok {
			typing = append(typing, f.arrived.Sub(at))
		} else {
			t.Fatalf("the glyph typed at %v never reached the page", at)
		}
	}
	t.Logf("on 4 Mbit/s: typing p50 %v p95 %v", pct(typing, 50), pct(typing, 95))
	if pct(typing, 95) > 100*time.Millisecond {
		t.Errorf("typing p95 %v, want under 100 ms", pct(typing, 95))
	}
	checkMotion(t, "a pan", got, pan, 20)
	checkMotion(t, "a video", got, video, 10)
}

// motionRun is a stretch of animation: when it ran and how many screens
// it drew.
type motionRun struct {
	start, end time.Time
	painted    int
}

// paint draws frame(i) over the whole window as fast as it can be drawn,
// up to 30 times a second, for d.
func paint(t *testing.T, w *xlab.Window, d time.Duration, frame func(i int) (pix []byte, offset int)) motionRun {
	t.Helper()
	run := motionRun{start: time.Now()}
	for time.Since(run.start) < d {
		t0 := time.Now()
		pix, off := frame(run.painted)
		if err := w.PaintPixels(pix, off, 4*2400); err != nil {
			t.Fatal(err)
		}
		run.end = time.Now()
		run.painted++
		time.Sleep(max(0, time.Second/30-time.Since(t0)))
	}
	return run
}

// checkMotion checks the page kept up with a motion: at least minFPS
// frames a second, p95 latency under 300 ms, and the last picture within
// a second of the motion stopping (no backlog).
func checkMotion(t *testing.T, name string, got pageFrames, run motionRun, minFPS float64) {
	t.Helper()
	var latency []time.Duration
	for _, f := range got {
		if f.captured.After(run.start) && !f.captured.After(run.end) {
			latency = append(latency, f.arrived.Sub(f.captured))
		}
	}
	fps := float64(len(latency)) / run.end.Sub(run.start).Seconds()
	last, ok := got.firstCapturedAfter(run.end)
	if !ok {
		t.Fatalf("%s: the last picture never reached the page", name)
	}
	backlog := last.arrived.Sub(run.end)
	t.Logf("on 4 Mbit/s, %s (%.1f screens/s drawn): %.1f frames/s, latency p50 %v p95 %v; last picture %v after the motion",
		name, float64(run.painted)/run.end.Sub(run.start).Seconds(), fps, pct(latency, 50), pct(latency, 95), backlog)
	if fps < minFPS {
		t.Errorf("%s at %.1f frames/s, want at least %.0f", name, fps, minFPS)
	}
	if pct(latency, 95) > 300*time.Millisecond {
		t.Errorf("%s: latency p95 %v, want under 300 ms", name, pct(latency, 95))
	}
	if backlog > time.Second {
		t.Errorf("%s: the last picture came %v after the motion stopped, want under a second", name, backlog)
	}
}

// bgrxOf is img's pixels in the X server's order.
func bgrxOf(img *image.RGBA) []byte {
	out := make([]byte, len(img.Pix))
	for i := 0; i < len(out); i += 4 {
		out[i], out[i+1], out[i+2] = img.Pix[i+2], img.Pix[i+1], img.Pix[i]
	}
	return out
}

func copyInto(dst *image.RGBA, r image.Rectangle, src *image.RGBA) {
	for y := 0; y < r.Dy(); y++ {
		copy(dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):dst.PixOffset(r.Max.X, r.Min.Y+y)],
			src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):src.PixOffset(src.Rect.Min.X+r.Dx(), src.Rect.Min.Y+y)])
	}
}

// syntheticPhoto is smooth like a photo (soft shapes, gentle gradients)
// with a little grain, so no two neighbouring tiles are alike.
func syntheticPhoto(w, h int, seed uint32) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			seed = seed*1664525 + 1013904223
			grain := float64(seed>>24)/32 - 4
			fx, fy := float64(x), float64(y)
			r := 128 + 90*math.Sin(fx/97)*math.Cos(fy/71) + grain
			g := 128 + 80*math.Sin((fx+fy)/131) + grain
			b := 128 + 70*math.Cos(fx/53-fy/89) + grain
			img.SetRGBA(x, y, color.RGBA{uint8(r), uint8(g), uint8(b), 255})
		}
	}
	return img
}

type pageFrame struct{ arrived, captured time.Time }

type pageFrames []pageFrame

func (fs pageFrames) firstCapturedAfter(at time.Time) (pageFrame, bool) {
	for _, f := range fs {
		if !f.captured.Before(at) {
			return f, true
		}
	}
	return pageFrame{}, false
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// frameProbe is a viewer client in a namespace recording every frame end
// the page gets (probeFrames).
type frameProbe struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func startFrameProbe(t *testing.T, ns, viewerURL string, d time.Duration) *frameProbe {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &frameProbe{cmd: exec.Command("ip", netlab.Command(ns, self, "-test.run=^$")[1:]...)}
	p.cmd.Env = append(os.Environ(), probeEnv+"=frames", "PROBE_URL="+viewerURL, "PROBE_ARG0="+d.String())
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

func (p *frameProbe) wait(t *testing.T) pageFrames {
	t.Helper()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("frame probe: %v\n%s", err, p.out.String())
	}
	var fs pageFrames
	sc := bufio.NewScanner(&p.out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "frame" {
			continue
		}
		a, _ := strconv.ParseInt(f[1], 10, 64)
		c, _ := strconv.ParseInt(f[2], 10, 64)
		fs = append(fs, pageFrame{time.UnixMicro(a), time.UnixMicro(c)})
	}
	return fs
}
