package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"assist/internal/proctest"
	"assist/internal/redislab"
	"assist/internal/xlab"
)

// TestNodesOnOneRedisOutliveOneOfThem: three 'assist rendezvous --store'
// processes on one redis-server. The customer registers at the first of
// them that answers, the rep resolves at another. The node that took the
// registration is killed with SIGKILL mid-session: the direct session
// carries on, and a new key is registered and joined through the two
// left.
func TestNodesOnOneRedisOutliveOneOfThem(t *testing.T) {
	rd := redislab.Start(t)
	loop := []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"}
	var nodes []*rendezvousProc
	for range 3 {
		nodes = append(nodes, startRendezvous(t, t.TempDir(), loop, "--store", rd.URL()))
	}
	x := xlab.StartXvfb(t, 640, 480)
	peerListen := []string{"--listen", loop[0], "--listen", loop[1]}
	var allNodes []string
	for _, n := range nodes {
		allNodes = append(allNodes, "--rendezvous", n.Addrs[0].String())
	}
	share := func() (*proctest.Proc, string) {
		args := append(append([]string{"share", "--json", "--allow-view"}, allNodes...), peerListen...)
		start := time.Now()
		p := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()}, args...)
		key := p.WaitEvent("key", 30*time.Second).Str("key")
		t.Logf("'assist share' had its key after %v", time.Since(start).Round(time.Millisecond))
		return p, key
	}
	join := func(node *rendezvousProc, key string) *proctest.Proc {
		args := append([]string{"join", "--json", "--no-browser", "--name", "Alice", "--rendezvous", node.Addrs[0].String()}, peerListen...)
		p := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="}, append(args, key)...)
		p.WaitEvent("frame", 30*time.Second)
		return p
	}

	cust, key := share()
	held := registeredAt(t, nodes)
	resolver, survivor := nodes[(held+1)%3], nodes[(held+2)%3]
	rep := join(resolver, key)
	rep.Say("before")
	cust.WaitEventWhere("chat", 20*time.Second, func(e proctest.Event) bool { return chatText(e) == "before" })

	nodes[held].Signal(syscall.SIGKILL)
	nodes[held].Wait(10 * time.Second)
	rep.Say("after the node died")
	cust.WaitEventWhere("chat", 20*time.Second, func(e proctest.Event) bool { return chatText(e) == "after the node died" })
	cust.Say("still here")
	rep.WaitEventWhere("chat", 20*time.Second, func(e proctest.Event) bool { return chatText(e) == "still here" })

	_, key2 := share() // one node dead, its address still given
	join(survivor, key2)
	for {
		select {
		case e := <-rep.Events:
			if e.Name() == "reconnecting" || e.Name() == "ended" {
				t.Fatalf("the session was interrupted: %v", e)
			}
			continue
		default:
		}
		return
	}
}

// registeredAt is the index of the node whose log says it registered a
// code (its log is read as it comes).
func registeredAt(t *testing.T, nodes []*rendezvousProc) int {
	t.Helper()
	for range 50 {
		for i, n := range nodes {
			if strings.Contains(n.Stderr(), "code registered") {
				return i
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no node logged the customer's registration")
	return -1
}
