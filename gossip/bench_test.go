package gossip_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"assist/gossip"
)

// BenchmarkAlertLatency measures how long a portal invite takes from the
// host's publish to each rep's agent showing it: real libp2p hosts on
// loopback, the mesh formed through a real rendezvous node, all in one
// process sharing this machine's cores. Reported: p50 and p99 over every
// (alert, rep) pair.
func BenchmarkAlertLatency(b *testing.B) {
	// The portal is set up once per size, outside the measured runs:
	// starting 100 agents in one process takes a while.
	for _, n := range []int{10, 100} {
		ctx, cancel := context.WithCancel(context.Background())
		host, reps := portalOf(b, ctx, n)
		b.Run(fmt.Sprintf("reps=%d", n), func(b *testing.B) { alertLatency(b, ctx, host, reps) })
		cancel()
		for _, r := range append(reps, host) {
			r.agent.Close()
			r.host.Close()
		}
	}
}

// portalOf starts a host rep and n reps, and waits until every rep has
// heard the host's presence: the mesh has formed.
func portalOf(b *testing.B, ctx context.Context, n int) (*rep, []*rep) {
	l := newLab(b)
	host := l.startRepEvery(b, ctx, "Host", nil, nil, time.Hour)
	reps := make([]*rep, n)
	for i := range reps {
		reps[i] = l.startRepEvery(b, ctx, fmt.Sprintf("Rep %03d", i), nil, nil, time.Hour)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for _, r := range reps {
		for !hasRep(r.agent, "Host") {
			if time.Now().After(deadline) {
				b.Fatalf("%s never heard the host", r.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return host, reps
}

func alertLatency(b *testing.B, ctx context.Context, host *rep, reps []*rep) {
	ctx, cancel := context.WithCancel(ctx) // ends this run's event readers
	defer cancel()
	n := len(reps)
	_, cred, err := host.agent.Membership("Acme")
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	sent := map[string]time.Time{}
	got := make(chan struct{}, n*8)
	for _, r := range reps {
		go func() {
			for {
				var e gossip.Event
				select {
				case <-ctx.Done():
					return
				case e = <-r.events:
				}
				if e.Kind != gossip.EvAlert {
					continue
				}
				now := time.Now()
				mu.Lock()
				if t0, ok := sent[e.Alert.ID]; ok {
					lat = append(lat, now.Sub(t0))
				}
				mu.Unlock()
				got <- struct{}{}
			}
		}()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d-%d", b.N, i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		al := gossip.Alert{ID: id, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Ticket: []byte("t"), Expires: time.Now().Add(time.Minute)}
		if err := host.agent.Invite(ctx, cred.Portal, al); err != nil {
			b.Fatal(err)
		}
		for range n {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				b.Fatalf("alert %s: not every rep got it", id)
			}
		}
		host.agent.CloseAlert(id, "", "bench")
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func hasRep(a *gossip.Agent, name string) bool {
	for _, r := range a.Reps("", "") {
		if r.Name == name {
			return true
		}
	}
	return false
}
