package e2e

import (
	"image"
	"image/color"
	"syscall"
	"testing"
	"time"

	"assist/internal/netlab"
	"assist/internal/proctest"
	"assist/internal/xlab"
	"assist/p2p"
)

// The NAT lab: an "internet" bridge (198.18.0.0/24, a range reserved for
// network tests) with the rendezvous node on it, and two homes, each a LAN
// (100.64.x.0/24) behind a NAT router with a home-router firewall.
//
//	rendezvous 198.18.0.1 ── br0 ── 198.18.0.11 router A ── 100.64.1.0/24 ── customer 100.64.1.2
//	                            └── 198.18.0.12 router B ── 100.64.2.0/24 ── rep 100.64.2.2, LAN peer 100.64.2.3
//
// Every process gets ASSIST_LAB_PUBLIC_NETS so that libp2p treats the
// reserved 198.18.0.0/15 as public, as real WAN addresses would be.
type natLab struct {
	lab                 *netlab.Lab
	homeA, homeB, lanB2 string
	rvNS                string
	rv                  *proctest.Proc
	rvAddr              string // QUIC
	rvTCP               string
	x                   *xlab.Xvfb
}

const labSwitch = p2p.EnvLabPublic + "=198.18.0.0/15"

var labDebug = "GOLOG_LOG_LEVEL=holepunch=debug,p2p-holepunch=debug"

func newNATLab(t *testing.T, natA, natB netlab.NAT) *natLab {
	t.Helper()
	lab := netlab.New(t)
	inet := lab.Internet("inet", "198.18.0.254/24")
	rvNS := lab.Server("rv", inet, "198.18.0.1/24")
	ra := lab.Router("ra", inet, "198.18.0.11/24", "100.64.1.1/24", natA)
	rb := lab.Router("rb", inet, "198.18.0.12/24", "100.64.2.1/24", natB)
	n := &natLab{
		lab:   lab,
		homeA: lab.Home("a", ra, "100.64.1.2/24", "100.64.1.1"),
		homeB: lab.Home("b", rb, "100.64.2.2/24", "100.64.2.1"),
		lanB2: lab.Home("b2", rb, "100.64.2.3/24", "100.64.2.1"),
		rvNS:  rvNS,
		x:     xlab.StartXvfb(t, 640, 480),
	}
	n.rv = inNS(t, rvNS, []string{labSwitch}, "rendezvous", "--json", "--data-dir", t.TempDir(),
		"--listen", "/ip4/198.18.0.1/udp/4001/quic-v1", "--listen", "/ip4/198.18.0.1/tcp/4001")
	ev := n.rv.WaitEvent("listening", 20*time.Second)
	n.rvAddr = "/ip4/198.18.0.1/udp/4001/quic-v1/p2p/" + ev.Str("peer")
	n.rvTCP = "/ip4/198.18.0.1/tcp/4001/p2p/" + ev.Str("peer")
	return n
}

// share starts the customer in ns and returns it with its key, once the
// customer is reachable (directly or through the relay).
func (n *natLab) share(t *testing.T, ns string, listen []string, flags ...string) (*proctest.Proc, string) {
	t.Helper()
	args := []string{"share", "--json", "--allow-view", "--rendezvous", n.rendezvousFor(listen)}
	for _, l := range listen {
		args = append(args, "--listen", l)
	}
	p := inNS(t, ns, []string{labSwitch, labDebug, n.x.Env(), "ASSIST_HOME=" + t.TempDir()}, append(args, flags...)...)
	return p, p.WaitEvent("key", 30*time.Second).Str("key")
}

func (n *natLab) join(t *testing.T, ns, key string, listen []string) *proctest.Proc {
	t.Helper()
	args := []string{"join", "--json", "--no-browser", "--name", "Alice", "--rendezvous", n.rendezvousFor(listen)}
	for _, l := range listen {
		args = append(args, "--listen", l)
	}
	return inNS(t, ns, []string{labSwitch, labDebug, "DISPLAY=", "ASSIST_HOME=" + t.TempDir()}, append(args, key)...)
}

// rendezvousFor picks the rendezvous address of the peers' transport: a
// peer learns its public address from the connection to the rendezvous,
// and only for a transport it listens on (a TCP-only peer would otherwise
// reach the node over QUIC from an unbound port and learn nothing).
func (n *natLab) rendezvousFor(listen []string) string {
	if len(listen) == 1 && listen[0] == tcpOnly[0] {
		return n.rvTCP
	}
	return n.rvAddr
}

var (
	quicOnly = []string{"/ip4/0.0.0.0/udp/0/quic-v1"}
	tcpOnly  = []string{"/ip4/0.0.0.0/tcp/0"}
)

// holePunch runs a session from home A to home B and checks that it
// starts relayed and turns direct over the given transport.
func holePunch(t *testing.T, listen []string, transport string) (n *natLab, share, join *proctest.Proc, linkDirect bool) {
	n = newNATLab(t, netlab.PortPreserving, netlab.PortPreserving)
	// The rep joins as soon as the key is shown, as on the phone.
	share, key := n.share(t, n.homeA, listen)
	start := time.Now()
	join = n.join(t, n.homeB, key, listen)
	url := ""
	// Events arrive in their own order: the first frame may come over the
	// relay or after the upgrade.
	var relayedAt, directAt, frameAt time.Duration
	var latency any
	deadline := time.After(90 * time.Second)
	for directAt == 0 || frameAt == 0 || url == "" {
		var e proctest.Event
		select {
		case e = <-join.Events:
		case <-deadline:
			t.Fatalf("after 90 s: relayed %v, direct %v, first frame %v", relayedAt, directAt, frameAt)
		}
		switch {
		case e.Name() == "viewer":
			url = e.Str("url")
		case e.Name() == "link" && e.Str("path") == "direct":
			linkDirect = true
		case e.Name() == "connection" && e.Str("path") == "relayed" && relayedAt == 0:
			relayedAt = time.Since(start)
		case e.Name() == "connection" && e.Str("path") == "direct":
			if relayedAt == 0 {
				t.Fatal("direct before relayed: behind two NATs the session must start on the relay")
			}
			if e.Str("transport") != transport {
				t.Fatalf("direct over %q, want %q", e.Str("transport"), transport)
			}
			directAt = time.Since(start)
		case e.Name() == "frame" && frameAt == 0:
			frameAt, latency = time.Since(start), e["latency_ms"]
		}
	}
	t.Logf("%s: relayed after %v, direct after %v (upgrade took %v), first frame after %v (latency %v ms)",
		transport, relayedAt.Round(time.Millisecond), directAt.Round(time.Millisecond),
		(directAt - relayedAt).Round(time.Millisecond), frameAt.Round(time.Millisecond), latency)

	if got := probeViewer(t, n.homeB, url, "path", "direct"); got != transport {
		t.Fatalf("viewer shows direct over %q, want %q", got, transport)
	}
	return n, share, join, linkDirect
}

func TestNATHolePunchQUIC(t *testing.T) { holePunch(t, quicOnly, "quic") }

func TestNATHolePunchTCP(t *testing.T) { holePunch(t, tcpOnly, "tcp") }

// TestNATDirectSessionSurvivesRendezvousShutdown stops the rendezvous node
// (and with it the relay) once the session is direct.
func TestNATDirectSessionSurvivesRendezvousShutdown(t *testing.T) {
	n, share, join, linkDirect := holePunch(t, quicOnly, "quic")
	// The session's own link is on the direct connection (opened there,
	// or moved there after the upgrade) before the relay goes away.
	if !linkDirect {
		join.WaitEventWhere("link", 30*time.Second, func(e proctest.Event) bool { return e.Str("path") == "direct" })
	}
	n.rv.Signal(syscall.SIGTERM)
	n.rv.Wait(20 * time.Second)

	join.Say("still here without the relay")
	share.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool { return chatText(e) == "still here without the relay" })
	share.Say("so am I")
	join.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool { return chatText(e) == "so am I" })
	// The screen keeps flowing: change it and see new bytes arrive.
	var seenBytes float64
	drain := func() {
		for {
			select {
			case e := <-join.Events:
				if e.Name() == "reconnecting" || e.Name() == "ended" {
					t.Fatalf("the session was interrupted: %v", e)
				}
				if b, _ := e["bytes"].(float64); b > seenBytes {
					seenBytes = b
				}
				continue
			default:
			}
			return
		}
	}
	drain()
	win, err := xlab.ShowImage(n.x.Display, image.Rect(0, 0, 200, 200), xlab.Fill(200, 200, color.RGBA{255, 128, 0, 255}))
	if err != nil {
		t.Fatal(err)
	}
	defer win.Close()
	join.WaitEventWhere("frame", 30*time.Second, func(e proctest.Event) bool {
		b, _ := e["bytes"].(float64)
		return b > seenBytes
	})
	drain()
}

// TestNATSameLANConnectsDirectly puts the customer on the rep's LAN.
func TestNATSameLANConnectsDirectly(t *testing.T) {
	n := newNATLab(t, netlab.PortPreserving, netlab.PortPreserving)
	share, key := n.share(t, n.lanB2, quicOnly)
	start := time.Now()
	join := n.join(t, n.homeB, key, quicOnly)
	first := join.WaitEvent("connection", 60*time.Second)
	if first.Str("path") != "direct" {
		t.Fatalf("same-LAN customer reached over %q, want direct without the relay", first.Str("path"))
	}
	join.WaitEvent("frame", 60*time.Second)
	t.Logf("same LAN: direct from the start, first frame after %v", time.Since(start).Round(time.Millisecond))
	_ = share
}

// TestNATSymmetricStaysRelayedForMinutes puts the customer behind a
// symmetric NAT, where hole punching cannot work: the session runs on the
// relay for 3 minutes and far past the 128 KiB a default libp2p relay
// allows, with chat and input still working at the end.
func TestNATSymmetricStaysRelayedForMinutes(t *testing.T) {
	const duration = 3 * time.Minute
	n := newNATLab(t, netlab.Symmetric, netlab.PortPreserving)
	share, key := n.share(t, n.homeA, quicOnly, "--allow-control")
	rec, err := xlab.RecordInput(n.x.Display, image.Rect(320, 0, 640, 240))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	painter, err := xlab.ShowImage(n.x.Display, image.Rect(0, 0, 256, 256), xlab.Desktop(256, 256, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer painter.Close()

	joinedAt := time.Now()
	join := n.join(t, n.homeB, key, quicOnly)
	url := join.WaitEvent("viewer", 60*time.Second).Str("url")
	join.WaitEvent("frame", 60*time.Second)
	t.Logf("symmetric NAT: first frame over the relay %v after join started", time.Since(joinedAt).Round(time.Millisecond))
	start := time.Now()
	paint := time.NewTicker(250 * time.Millisecond)
	defer paint.Stop()
	var bytes float64
	var lastFrame time.Time
	seed := uint8(2)
	for time.Since(start) < duration {
		select {
		case <-paint.C: // the customer's screen keeps changing
			seed++
			img := xlab.Desktop(256, 256, seed)
			if err := painter.Paint(img.Bounds(), img); err != nil {
				t.Fatal(err)
			}
		case e, ok := <-join.Events:
			if !ok {
				t.Fatalf("join exited after %v: %s", time.Since(start), join.Stderr())
			}
			switch e.Name() {
			case "connection":
				if e.Str("path") != "relayed" {
					t.Fatalf("path %q behind a symmetric NAT after %v", e.Str("path"), time.Since(start))
				}
			case "frame":
				bytes, _ = e["bytes"].(float64)
				lastFrame = time.Now()
			case "ended", "reconnecting":
				t.Fatalf("session interrupted after %v: %v", time.Since(start), e)
			}
		}
	}
	if time.Since(lastFrame) > 10*time.Second {
		t.Fatalf("no frame in the last %v of the run", time.Since(lastFrame))
	}
	if bytes < 16*128<<10 {
		t.Fatalf("only %.0f bytes of screen crossed the relay in %v", bytes, duration)
	}
	t.Logf("symmetric NAT: %v on the relay, %.1f MiB of screen, frames until the end", duration, bytes/(1<<20))

	join.Say("still with you after three minutes")
	share.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool { return chatText(e) == "still with you after three minutes" })
	share.Say("thanks")
	join.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool { return chatText(e) == "thanks" })
	probeViewer(t, n.homeB, url, "click", "400", "100")
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-rec.Events:
			if e.Kind == "press" {
				if e.X != 80 || e.Y != 100 {
					t.Fatalf("click arrived at window %d,%d, want 80,100", e.X, e.Y)
				}
				return
			}
		case <-deadline:
			t.Fatal("the rep's click never reached the customer's display over the relay")
		}
	}
}
