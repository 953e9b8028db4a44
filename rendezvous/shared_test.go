package rendezvous

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/redis/go-redis/v9"

	"assist/internal/p2ptest"
	"assist/internal/redislab"
	"assist/portal"
)

func openRedis(t testing.TB, url string) *RedisStore {
	t.Helper()
	s, err := OpenRedisStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startSharedNodes starts n nodes on the Redis at url, each with a store
// client of its own, as separate processes would have.
func startSharedNodes(t *testing.T, url string, n int, clock ...Clock) []*Node {
	t.Helper()
	var nodes []*Node
	for range n {
		nodes = append(nodes, startNode(t, func(cfg *NodeConfig) {
			if len(clock) > 0 {
				cfg.Clock = clock[0]
			}
			cfg.Store = openRedis(t, url)
			cfg.PeerInterval = 200 * time.Millisecond
			cfg.RegisterPerPeer = Rate{Per: 1000, Burst: 1000}
		}))
	}
	return nodes
}

func TestRedisCodesKeepTheRegistrysRules(t *testing.T) {
	rd := redislab.Start(t)
	clock := &fakeClock{now: time.Now()}
	s := openRedis(t, rd.URL())
	t.Cleanup(func() { s.Close() })
	checkLifecycle(t, s.Codes(DefaultRegistryLimits(), clock), clock)

	// An expired code says so, by the node's clock.
	alice := newOwner(t)
	codes := s.Codes(DefaultRegistryLimits(), clock)
	if _, err := codes.Register(alice.id, "", alice.record(t, "77777", clock.Now().Add(time.Minute), 1)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := codes.Resolve("77777"); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired code: %v", err)
	}
}

func TestRedisCodesKeepTheOwnersAndSourcesLimits(t *testing.T) {
	rd := redislab.Start(t)
	clock := &fakeClock{now: time.Now()}
	s := openRedis(t, rd.URL())
	t.Cleanup(func() { s.Close() })
	limits := DefaultRegistryLimits()
	limits.MaxPerOwner, limits.MaxPerSource = 3, 4
	codes := s.Codes(limits, clock)
	alice := newOwner(t)
	for i := range 3 {
		if _, err := codes.Register(alice.id, "198.51.100.1", alice.record(t, fmt.Sprint(10000+i), clock.Now().Add(time.Hour), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := codes.Register(alice.id, "198.51.100.1", alice.record(t, "10003", clock.Now().Add(time.Hour), 1)); !errors.Is(err, ErrFull) {
		t.Fatalf("a fourth code of one owner: %v", err)
	}
	// Cancelling one frees its place.
	if err := codes.Cancel(alice.id, alice.cancel(t, "10000", ReasonCancelled)); err != nil {
		t.Fatal(err)
	}
	if _, err := codes.Register(alice.id, "198.51.100.1", alice.record(t, "10003", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
	// Fresh peer IDs from one address stop at the source's limit.
	bob, carol := newOwner(t), newOwner(t)
	if _, err := codes.Register(bob.id, "198.51.100.1", bob.record(t, "20000", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := codes.Register(carol.id, "198.51.100.1", carol.record(t, "20001", clock.Now().Add(time.Hour), 1)); !errors.Is(err, ErrFull) {
		t.Fatalf("a sixth code from one address: %v", err)
	}
	if n, err := codes.Count(); n != 5 || err != nil {
		t.Fatalf("count = %d, %v; want 5 (four live, one cancelled)", n, err)
	}
}

// TestThreeNodesOnOneRedisAnswerEveryCode: registered at A, resolved at
// C, cancelled at B, and every node then gives the same answer.
func TestThreeNodesOnOneRedisAnswerEveryCode(t *testing.T) {
	rd := redislab.Start(t)
	nodes := startSharedNodes(t, rd.URL(), 3)
	a, b, c := nodeInfo(nodes[0]), nodeInfo(nodes[1]), nodeInfo(nodes[2])
	ctx := testContext(t)
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)

	reg, err := NewClient(owner, a).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewClient(joiner, c).Resolve(ctx, reg.Code.Lookup)
	if err != nil || rec.Owner != owner.ID() {
		t.Fatalf("resolve at C: %+v, %v", rec, err)
	}
	if err := NewClient(owner, b).Cancel(ctx, reg, ReasonBurned); err != nil {
		t.Fatalf("cancel at B: %v", err)
	}
	for i, n := range nodes {
		if _, err := NewClient(joiner, nodeInfo(n)).Resolve(ctx, reg.Code.Lookup); !errors.Is(err, ErrBurned) {
			t.Fatalf("node %d after the cancel at B: %v", i, err)
		}
	}
	// A peer that registered at one node cannot take over the lookup at
	// another.
	mallory := newOwner(t)
	if _, err := nodes[2].Registry().Register(mallory.id, "", mallory.record(t, reg.Code.Lookup, time.Now().Add(time.Hour), 1)); !errors.Is(err, ErrTaken) {
		t.Fatalf("another owner's registration at C: %v", err)
	}
}

// TestConcurrentRegistrationsAtThreeNodesNeverShareALookup: thirty
// owners, ten per node, all register the same twenty lookups at once;
// each lookup ends with exactly one owner, the same at every node.
func TestConcurrentRegistrationsAtThreeNodesNeverShareALookup(t *testing.T) {
	rd := redislab.Start(t)
	nodes := startSharedNodes(t, rd.URL(), 3)
	const owners, lookups = 30, 20
	won := make([][]peer.ID, lookups)
	var mu sync.Mutex
	var wg sync.WaitGroup
	exp := time.Now().Add(time.Hour)
	for i := range owners {
		o := newOwner(t)
		envs := make([][]byte, lookups)
		for l := range lookups {
			envs[l] = o.record(t, fmt.Sprint(30000+l), exp, 1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range lookups {
				_, err := nodes[i%3].Registry().Register(o.id, "", envs[l])
				switch {
				case err == nil:
					mu.Lock()
					won[l] = append(won[l], o.id)
					mu.Unlock()
				case !errors.Is(err, ErrTaken):
					t.Errorf("lookup %d: %v", 30000+l, err)
				}
			}
		}()
	}
	wg.Wait()
	for l, ids := range won {
		if len(ids) != 1 {
			t.Fatalf("lookup %d went to %d owners", 30000+l, len(ids))
		}
		for _, n := range nodes {
			env, err := n.Registry().Resolve(fmt.Sprint(30000 + l))
			if err != nil {
				t.Fatal(err)
			}
			var rec CodeRecord
			if _, err := openEnvelope(env, &rec); err != nil || rec.Owner != ids[0] {
				t.Fatalf("lookup %d: a node answers %s, the winner was %s", 30000+l, rec.Owner, ids[0])
			}
		}
	}
}

// TestARedisOutageIsAClearErrorAndTheNodesRecover: Redis killed, clients
// are told within a second; Redis back, the same nodes answer again, and
// the codes registered before are still there (its append-only file).
func TestARedisOutageIsAClearErrorAndTheNodesRecover(t *testing.T) {
	rd := redislab.Start(t)
	nodes := startSharedNodes(t, rd.URL(), 2)
	ctx := testContext(t)
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	reg, err := NewClient(owner, nodeInfo(nodes[0])).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resolver := NewClient(joiner, nodeInfo(nodes[1]))
	if _, err := resolver.Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatal(err)
	}

	rd.Kill()
	start := time.Now()
	_, err = resolver.Resolve(ctx, reg.Code.Lookup)
	if took := time.Since(start); !errors.Is(err, ErrUnavailable) || took > 1500*time.Millisecond {
		t.Fatalf("with Redis down: %v after %v; want %q within a second", err, took, ErrUnavailable)
	}
	if _, err := NewClient(owner, nodeInfo(nodes[0])).Register(ctx, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("registering with Redis down: %v", err)
	}

	rd.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := resolver.Resolve(ctx, reg.Code.Lookup)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not recover after Redis came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := NewClient(owner, nodeInfo(nodes[0])).Register(ctx, time.Hour); err != nil {
		t.Fatalf("registering after Redis came back: %v", err)
	}
}

// silentNode is a configured node that never answers: a UDP socket that
// swallows QUIC handshakes, as a machine that died or a dropped route
// does. Dialling it takes a full dial timeout.
func silentNode(t *testing.T) peer.AddrInfo {
	t.Helper()
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	port := sock.LocalAddr().(*net.UDPAddr).Port
	return peer.AddrInfo{ID: newOwner(t).id, Addrs: []ma.Multiaddr{ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port))}}
}

// TestAClientSkipsADeadNode: with the first configured node silent and
// another gone, a client registers, resolves and cancels through the
// rest without waiting out a dial timeout.
func TestAClientSkipsADeadNode(t *testing.T) {
	rd := redislab.Start(t)
	nodes := startSharedNodes(t, rd.URL(), 3)
	all := append([]peer.AddrInfo{silentNode(t)}, nodeInfo(nodes[0])[0], nodeInfo(nodes[1])[0], nodeInfo(nodes[2])[0])
	ctx := testContext(t)
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	start := time.Now()
	reg, err := NewClient(owner, all).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(joiner, all).Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > 3*time.Second {
		t.Fatalf("registering and resolving past a silent node took %v", took)
	}
	t.Logf("registered and resolved past a silent node in %v", took.Round(time.Millisecond))
	for _, n := range nodes[:2] { // wherever the code was registered
		n.Close()
	}
	if err := NewClient(owner, all).Cancel(ctx, reg, ReasonCancelled); err != nil {
		t.Fatalf("cancel with its node dead: %v", err)
	}
	if _, err := NewClient(joiner, all).Resolve(ctx, reg.Code.Lookup); !errors.Is(err, ErrCancelled) {
		t.Fatalf("after the cancel: %v", err)
	}
}

func TestTheNodeServesPrometheusMetrics(t *testing.T) {
	rd := redislab.Start(t)
	node := startSharedNodes(t, rd.URL(), 1)[0]
	ctx := testContext(t)
	h := p2ptest.NewHost(t, nil)
	cl := NewClient(h, nodeInfo(node))
	reg, err := cl.Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Resolve(ctx, "0000"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`assist_rendezvous_requests_total{op="register",status="ok"} 1`,
		`assist_rendezvous_requests_total{op="resolve",status="ok"} 1`,
		`assist_rendezvous_requests_total{op="resolve",status="not_found"} 1`,
		`assist_rendezvous_codes 1`,
		`assist_rendezvous_store_seconds_count{op="register"} 1`,
		`assist_rendezvous_connected_peers`,
		`libp2p_relaysvc_status`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(string(body))
	}
}

func TestARedisPasswordComesFromTheURLOrTheEnvironment(t *testing.T) {
	rd := redislab.Start(t, "--requirepass", "s3cret")
	ctx := context.Background()
	if _, err := OpenRedisStore(ctx, rd.URL()); err == nil || !strings.Contains(err.Error(), RedisPasswordEnv) {
		t.Fatalf("without the password: %v", err)
	}
	s, err := OpenRedisStore(ctx, "redis://:s3cret@"+rd.Addr+"/0")
	if err != nil {
		t.Fatalf("password in the URL: %v", err)
	}
	s.Close()
	t.Setenv(RedisPasswordEnv, "s3cret")
	s, err = OpenRedisStore(ctx, rd.URL())
	if err != nil {
		t.Fatalf("password from $%s: %v", RedisPasswordEnv, err)
	}
	s.Close()
}

// TestPortalStateIsSharedByTheNodes: a revocation list and settings
// published at A are served by B, a newer list at B replaces A's
// everywhere, and an older one sent later changes nothing; a node does
// not free a portal another node's reps use.
func TestPortalStateIsSharedByTheNodes(t *testing.T) {
	rd := redislab.Start(t)
	clock := &fakeClock{now: time.Now()}
	nodes := startSharedNodes(t, rd.URL(), 2, clock)
	a, b := nodes[0], nodes[1]
	m, v1 := selfMadePortal(t)
	v2, err := m.SignRevocations(portal.Revocations{Version: 2, Epoch: 1, Serials: []uint64{7}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(n *Node) *portal.Revocations {
		t.Helper()
		r := n.serve("p-reader", sourceOf(net.ParseIP("192.0.2.9")), request{Op: opPortalGet, Portal: m.ID.String()})
		if r.Status != StatusOK {
			t.Fatalf("get: %+v", r)
		}
		list, err := portal.VerifyRevocations(r.Envelope, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	if r := putPortal(a, "203.0.113.5", v1); r.Status != StatusOK {
		t.Fatal(r)
	}
	if got := get(b); got.Version != 1 {
		t.Fatalf("B serves version %d of A's list", got.Version)
	}
	clock.Advance(PortalIdle - time.Hour)
	if r := putPortal(b, "203.0.113.5", v2); r.Status != StatusOK { // used at B only
		t.Fatal(r)
	}
	if r := putPortal(b, "203.0.113.5", v1); r.Status != StatusOK { // stale: ignored
		t.Fatal(r)
	}
	for i, n := range nodes {
		if got := get(n); got.Version != 2 || !got.Revoked(7) {
			t.Fatalf("node %d serves %+v, want version 2", i, got)
		}
	}
	clock.Advance(2 * time.Hour)
	if freed, err := a.portals.sweep(); freed != 0 || err != nil {
		t.Fatalf("A freed %d portals (%v), idle in its memory only", freed, err)
	}
	if got := get(b); got.Version != 2 {
		t.Fatal("the list is gone")
	}
}

// TestPortalLimitsHoldAcrossNodes: one address opening portals at two
// nodes of one store gets MaxPortalsPerSource in all, not at each; a
// slot freed at one node counts for both.
func TestPortalLimitsHoldAcrossNodes(t *testing.T) {
	rd := redislab.Start(t)
	clock := &fakeClock{now: time.Now()}
	nodes := startSharedNodes(t, rd.URL(), 2, clock)
	opened := 0
	for i := range 2 * MaxPortalsPerSource {
		_, signed := selfMadePortal(t)
		switch r := putPortal(nodes[i%2], "198.51.100.66", signed); r.Status {
		case StatusOK:
			opened++
		case StatusFull:
		default:
			t.Fatal(r)
		}
	}
	if opened != MaxPortalsPerSource {
		t.Fatalf("one address opened %d portals at two nodes, limit %d", opened, MaxPortalsPerSource)
	}
	// A portal opened at A is known to B, not opened again.
	m, signed := selfMadePortal(t)
	if r := putPortal(nodes[0], "203.0.113.5", signed); r.Status != StatusOK {
		t.Fatal(r)
	}
	if _, from, _ := nodes[1].shared.CountSlots("203.0.113.5"); from != 1 {
		t.Fatalf("%d slots from the second address", from)
	}
	v2, _ := m.SignRevocations(portal.Revocations{Version: 2, Epoch: 1})
	if r := putPortal(nodes[1], "192.0.2.77", v2); r.Status != StatusOK {
		t.Fatal(r)
	}
	if _, from, _ := nodes[1].shared.CountSlots("192.0.2.77"); from != 0 {
		t.Fatal("using a portal at another node opened a second slot for it")
	}
	// Idle, the flood's slots are freed by the node that opened them,
	// and the address may open portals again at either.
	clock.Advance(PortalIdle + time.Hour)
	for _, n := range nodes {
		if _, err := n.portals.sweep(); err != nil {
			t.Fatal(err)
		}
	}
	if _, signed := selfMadePortal(t); putPortal(nodes[1], "198.51.100.66", signed).Status != StatusOK {
		t.Fatal("the address's slots were not freed")
	}
}

// TestANodeFollowsRedisToItsNewPrimary: the node's store is a Redis
// Sentinel's; the primary is killed and the sentinel promotes the replica.
// Codes registered before are still resolved, and new ones registered,
// without restarting the node.
func TestANodeFollowsRedisToItsNewPrimary(t *testing.T) {
	primary := redislab.Start(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := redislab.Start(t, "--replicaof", host, port)
	sentinel := redislab.StartSentinel(t, primary, "assist")
	ctx := testContext(t)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	defer sc.Close()
	waitFor(t, 20*time.Second, "the sentinel to know the replica", func() bool {
		r, err := sc.Replicas(ctx, "assist").Result()
		return err == nil && len(r) == 1
	})
	node := startNode(t, func(cfg *NodeConfig) {
		cfg.Store = openRedis(t, "redis://"+sentinel.Addr+"/0?master_name=assist")
	})
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	reg, err := NewClient(owner, nodeInfo(node)).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rc := replica.Client()
	waitFor(t, 10*time.Second, "the replica to have the code", func() bool {
		return rc.Exists(ctx, "{assist}:code:"+reg.Code.Lookup).Val() == 1
	})

	primary.Kill()
	killed := time.Now()
	resolver := NewClient(joiner, nodeInfo(node))
	waitFor(t, 30*time.Second, "the node to resolve through the new primary", func() bool {
		_, err := resolver.Resolve(ctx, reg.Code.Lookup)
		return err == nil
	})
	t.Logf("Redis failover: the node answered again %v after the primary was killed", time.Since(killed).Round(10*time.Millisecond))
	if _, err := NewClient(owner, nodeInfo(node)).Register(ctx, time.Hour); err != nil {
		t.Fatalf("registering after the failover: %v", err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestARelayingNodeTakesNewerListsFromTheStore: a node re-reads the
// revocation lists of the portals it relays in one round trip, outside
// its lock, and takes those newer than its own: a list published at
// another node reaches the reps this node relays to; a portal with no
// list in the store keeps its own.
func TestARelayingNodeTakesNewerListsFromTheStore(t *testing.T) {
	rd := redislab.Start(t)
	nodes := startSharedNodes(t, rd.URL(), 2)
	a, b := nodes[0], nodes[1]
	m1, v1 := selfMadePortal(t)
	m2, w1 := selfMadePortal(t)
	m3, _ := selfMadePortal(t)
	for _, l := range [][]byte{v1, w1} {
		if r := putPortal(a, "203.0.113.5", l); r.Status != StatusOK {
			t.Fatal(r)
		}
	}
	a.portals.mu.Lock()
	for _, m := range []*portal.Manager{m1, m2, m3} { // as if reps subscribed through A
		a.portals.relayed[m.ID] = relayedTopic{}
	}
	a.portals.mu.Unlock()
	t.Cleanup(func() {
		a.portals.mu.Lock()
		clear(a.portals.relayed)
		a.portals.mu.Unlock()
	})
	v2, err := m1.SignRevocations(portal.Revocations{Version: 2, Epoch: 1, Serials: []uint64{9}})
	if err != nil {
		t.Fatal(err)
	}
	if r := putPortal(b, "203.0.113.5", v2); r.Status != StatusOK {
		t.Fatal(r)
	}
	hget, hmget := commandCalls(t, rd, "hget"), commandCalls(t, rd, "hmget")
	if err := a.portals.reloadRelayed(); err != nil {
		t.Fatal(err)
	}
	// One round trip for the three portals, not one each.
	if n := commandCalls(t, rd, "hget") - hget; n != 0 {
		t.Errorf("reading three portals' lists took %d HGETs", n)
	}
	if n := commandCalls(t, rd, "hmget") - hmget; n < 1 {
		t.Errorf("reading three portals' lists took no HMGET")
	}
	a.portals.mu.Lock()
	defer a.portals.mu.Unlock()
	if got := a.portals.parsed[m1.ID]; got == nil || got.Version != 2 || !got.Revoked(9) {
		t.Fatalf("A holds %+v of the list B took, want version 2", got)
	}
	if got := a.portals.parsed[m2.ID]; got == nil || got.Version != 1 {
		t.Fatalf("A holds %+v of a list nobody changed", got)
	}
	if got := a.portals.parsed[m3.ID]; got != nil {
		t.Fatalf("A holds %+v for a portal with no list", got)
	}
}

// commandCalls is how many times the Redis server has run cmd (from
// INFO commandstats).
func commandCalls(t *testing.T, rd *redislab.Server, cmd string) int {
	t.Helper()
	info, err := rd.Client().Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest+",", ',')])
		if err != nil {
			t.Fatalf("INFO commandstats: %q", line)
		}
		return n
	}
	return 0 // not run yet
}

// TestGetManyReadsKeysInOrder: GetMany answers each key in place, nil
// for a missing one.
func TestGetManyReadsKeysInOrder(t *testing.T) {
	rd := redislab.Start(t)
	s := openRedis(t, rd.URL())
	t.Cleanup(func() { s.Close() })
	if err := s.Put("t", "a", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("t", "c", []byte("three")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany("t", "c", "b", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0]) != "three" || got[1] != nil || string(got[2]) != "one" {
		t.Fatalf("GetMany c, b, a = %q", got)
	}
	if got, err := s.GetMany("t"); err != nil || got != nil {
		t.Fatalf("GetMany of nothing = %q, %v", got, err)
	}
}
