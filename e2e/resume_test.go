package e2e

import (
	"strings"
	"testing"
	"time"

	"assist/internal/netlab"
	"assist/internal/proctest"
	"assist/internal/xlab"
)

// inNS starts the assist binary inside a lab namespace.
func inNS(t *testing.T, ns string, env []string, args ...string) *proctest.Proc {
	t.Helper()
	cmd := netlab.Command(ns, append([]string{assistBin}, args...)...)
	return proctest.Start(t, cmd[0], env, cmd[1:]...)
}

func chatText(e proctest.Event) string {
	c, _ := e["chat"].(map[string]any)
	s, _ := c["text"].(string)
	return s
}

// TestSessionResumesAfterTheNetworkIsCutFor10Seconds puts the customer and
// the rep in two network namespaces joined by one link, cuts the link for
// 10 seconds and restores it: the session goes on without a new consent,
// the chat written during the cut arrives, and frames flow again.
func TestSessionResumesAfterTheNetworkIsCutFor10Seconds(t *testing.T) {
	lab := netlab.New(t)
	cust, rep := lab.Namespace("cust"), lab.Namespace("rep")
	lab.Link(cust, "eth0", "198.18.1.1/24", rep, "eth0", "198.18.1.2/24")
	x := xlab.StartXvfb(t, 320, 240)

	rvProc := inNS(t, rep, nil, "rendezvous", "--json", "--data-dir", t.TempDir(),
		"--listen", "/ip4/198.18.1.2/udp/0/quic-v1", "--listen", "/ip4/198.18.1.2/tcp/0")
	addrs, _ := rvProc.WaitEvent("listening", 20*time.Second)["addrs"].([]any)
	rv := addrs[0].(string)
	share := inNS(t, cust, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()}, "share", "--json", "--allow-view",
		"--rendezvous", rv, "--listen", "/ip4/198.18.1.1/udp/0/quic-v1", "--listen", "/ip4/198.18.1.1/tcp/0")
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	join := inNS(t, rep, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="}, "join", "--json", "--no-browser", "--name", "Alice",
		"--rendezvous", rv, "--listen", "/ip4/198.18.1.2/udp/0/quic-v1", "--listen", "/ip4/198.18.1.2/tcp/0", key)
	join.WaitEvent("consent", 30*time.Second)
	before := join.WaitEvent("frame", 30*time.Second)

	// Cut the only link for 10 seconds: the scenario itself, not a wait.
	lab.SetLink(cust, "eth0", false)
	cutAt := time.Now()
	share.Say("written while the network was down")
	time.Sleep(10*time.Second - time.Since(cutAt))
	lab.SetLink(cust, "eth0", true)

	// The chat written during the cut arrives, and frames flow again (the
	// frame count grows past the count before the cut), in either order:
	// the new screen stream starts with a full frame at once.
	framesBefore, _ := before["frames"].(float64)
	var chatSeen, frameSeen bool
	deadline := time.After(60 * time.Second)
	for !chatSeen || !frameSeen {
		select {
		case e := <-join.Events:
			switch e.Name() {
			case "chat":
				chatSeen = chatSeen || chatText(e) == "written while the network was down"
			case "frame":
				n, _ := e["frames"].(float64)
				frameSeen = frameSeen || n > framesBefore
			}
		case <-deadline:
			t.Fatalf("60 s after the link came back: the chat written during the cut arrived: %v; frames flowed again: %v", chatSeen, frameSeen)
		}
	}
	t.Logf("chat arrived %v after the link came back", time.Since(cutAt)-10*time.Second)
	join.Say("and this after it")
	share.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool { return chatText(e) == "and this after it" })

	// Nobody was asked to consent again, and nothing ended.
	for {
		select {
		case e := <-share.Events:
			if e.Name() == "consent_request" || e.Name() == "ended" {
				t.Fatalf("after the cut the customer saw %v", e)
			}
			continue
		default:
		}
		break
	}
	if strings.Contains(join.Stderr(), "panic") || strings.Contains(share.Stderr(), "panic") {
		t.Fatal("a process panicked")
	}
}
