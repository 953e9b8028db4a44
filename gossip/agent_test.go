package gossip_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/gossip"
	"assist/internal/p2ptest"
	"assist/internal/redislab"
	"assist/internal/rvtest"
	"assist/internal/sessiontest"
	"assist/pairing"
	"assist/portal"
	"assist/rendezvous"
	"assist/session"
	"assist/shortcode"
)

// lab is a rendezvous node and a portal whose manager enrolls reps.
type lab struct {
	node   *rendezvous.Node
	rv     []peer.AddrInfo
	mgrDir string
	portal *portal.Manager
}

func newLab(t testing.TB) *lab {
	t.Helper()
	node, rv := rvtest.StartNode(t, func(cfg *rendezvous.NodeConfig) {
		// Hundreds of reps on one machine share an IP, join at once and
		// (here) refresh revocation lists several times a second.
		cfg.LookupPerPeer = rendezvous.Rate{Per: 100, Burst: 100}
		cfg.LookupPerIP, cfg.LookupPerNet = rendezvous.Rate{Per: 100000, Burst: 100000}, rendezvous.Rate{Per: 100000, Burst: 100000}
		cfg.RegisterPerPeer = rendezvous.Rate{Per: 100, Burst: 100}
	})
	dir := t.TempDir()
	m, err := portal.CreatePortal(dir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &lab{node: node, rv: rv, mgrDir: dir, portal: m}
}

// rep is one enrolled rep with a running agent.
type rep struct {
	name   string
	host   host.Host
	ms     *portal.Membership
	agent  *gossip.Agent
	events chan gossip.Event
}

func (l *lab) enroll(t testing.TB, h host.Host, name string) *portal.Membership {
	t.Helper()
	ms, err := portal.Enroll(l.mgrDir, "Acme", h.ID(), name, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (l *lab) startRep(t testing.TB, ctx context.Context, name string, ms *portal.Membership, h host.Host) *rep {
	t.Helper()
	return l.startRepEvery(t, ctx, name, ms, h, 300*time.Millisecond)
}

// startRepEvery starts a rep whose agent fetches revocation lists every
// refresh (tests of revocation want it quick, benchmarks want it quiet).
func (l *lab) startRepEvery(t testing.TB, ctx context.Context, name string, ms *portal.Membership, h host.Host, refresh time.Duration, tune ...func(*gossip.Config)) *rep {
	t.Helper()
	if h == nil {
		h = p2ptest.NewHost(t, l.rv)
	}
	if ms == nil {
		ms = l.enroll(t, h, name)
	}
	r := &rep{name: name, host: h, ms: ms, events: make(chan gossip.Event, 256)}
	cfg := gossip.Config{Host: h, Memberships: []*portal.Membership{ms},
		Bootstrap: rendezvous.NewClient(h, l.rv), RefreshInterval: refresh,
		OnEvent: func(e gossip.Event) {
			select {
			case r.events <- e:
			default:
			}
		}}
	for _, f := range tune {
		f(&cfg)
	}
	a, err := gossip.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.agent = a
	t.Cleanup(a.Close)
	return r
}

func waitEvent(t testing.TB, r *rep, kind string, match func(gossip.Event) bool) gossip.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind && (match == nil || match(e)) {
				return e
			}
		case <-timeout:
			t.Fatalf("%s: no %s event", r.name, kind)
		}
	}
}

// noEvent fails if r gets an event of kind (for id) within d.
func noEvent(t *testing.T, r *rep, kind, id string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind && e.Alert != nil && e.Alert.ID == id {
				t.Fatalf("%s got %s %s", r.name, kind, id)
			}
		case <-deadline:
			return
		}
	}
}

// startHostedSession runs a customer and makes hostRep the session's host,
// admitting reps its agent verifies.
func (l *lab) startHostedSession(t *testing.T, ctx context.Context, hostRep *rep) *session.Host {
	t.Helper()
	key := sessiontest.StartCustomer(t, ctx, l.rv)
	code, err := shortcode.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rendezvous.NewClient(hostRep.host, l.rv).Resolve(ctx, code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	owner := peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}
	if _, err := pairing.Claim(ctx, hostRep.host, owner, code); err != nil {
		t.Fatal(err)
	}
	hub := session.NewHost(session.HostConfig{Host: hostRep.host, Name: hostRep.name, Customer: owner,
		VerifyRep: hostRep.agent.VerifyRep,
		OnInvitationUsed: func(inv session.Invitation, name string) {
			go hostRep.agent.CloseAlert(inv.ID, name, "")
		}})
	go func() { _ = hub.Run(ctx) }()
	return hub
}

// invite opens an invitation at the hub and alerts the portal (or target).
func invite(t *testing.T, ctx context.Context, hostRep *rep, hub *session.Host, id string, target peer.ID, comment string) gossip.Alert {
	t.Helper()
	return inviteIn(t, ctx, "Acme", hostRep, hub, id, target, comment)
}

// inviteIn is invite through the host's membership of portalName.
func inviteIn(t *testing.T, ctx context.Context, portalName string, hostRep *rep, hub *session.Host, id string, target peer.ID, comment string) gossip.Alert {
	t.Helper()
	ticket := make([]byte, 16)
	_, _ = rand.Read(ticket)
	exp := time.Now().Add(time.Minute)
	hub.AddInvitation(session.Invitation{ID: id, Ticket: ticket, Target: target, Expires: exp, Comment: comment})
	addrs := make([]string, 0)
	for _, a := range hostRep.host.Addrs() {
		addrs = append(addrs, a.String())
	}
	al := gossip.Alert{ID: id, Session: hub.ID(), Addrs: addrs, Target: target, Comment: comment, Ticket: ticket, Expires: exp}
	_, c, err := hostRep.agent.Membership(portalName)
	if err != nil {
		t.Fatal(err)
	}
	if err := hostRep.agent.Invite(ctx, c.Portal, al); err != nil {
		t.Fatal(err)
	}
	return al
}

func accept(ctx context.Context, r *rep, al gossip.Alert) (*session.Guest, error) {
	info := peer.AddrInfo{ID: al.Host}
	for _, s := range al.Addrs {
		if a, err := peer.AddrInfoFromString(s + "/p2p/" + al.Host.String()); err == nil {
			info.Addrs = append(info.Addrs, a.Addrs...)
		}
	}
	return session.JoinSession(ctx, session.GuestConfig{Host: r.host, Session: info, Invite: al.ID, Ticket: al.Ticket,
		Credential: r.ms.Credential, Name: r.name})
}

// TestPortalInviteReachesEveryRepAndOneWins: 20 reps on loopback; all get
// the alert, all accept at once, exactly one joins and the others see who.
func TestPortalInviteReachesEveryRepAndOneWins(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	const n = 20
	reps := make([]*rep, n)
	for i := range reps {
		reps[i] = l.startRep(t, ctx, fmt.Sprintf("Rep %02d", i), nil, nil)
	}
	hub := l.startHostedSession(t, ctx, alice)
	al := invite(t, ctx, alice, hub, "portal-alert-1", "", "printer driver")

	alerts := make([]gossip.Alert, n)
	for i, r := range reps {
		e := waitEvent(t, r, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == al.ID })
		if e.Alert.Comment != "printer driver" || e.Alert.HostName != "Alice" || e.Alert.PortalName != "Acme" {
			t.Fatalf("alert as received: %+v", e.Alert)
		}
		alerts[i] = *e.Alert
	}
	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i, r := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			g, err := accept(ctx, r, alerts[i])
			if err == nil {
				go func() { _ = g.Run(ctx) }()
			}
			results[i] = err
		}()
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range results {
		if err == nil {
			if winner != "" {
				t.Fatalf("both %s and %s joined", winner, reps[i].name)
			}
			winner = reps[i].name
		}
	}
	if winner == "" {
		t.Fatalf("nobody joined: %v", results[0])
	}
	for i, err := range results {
		if err == nil {
			continue
		}
		var d *session.DeniedError
		if !errors.As(err, &d) || d.TakenBy != winner {
			t.Fatalf("%s: %v, want taken by %s", reps[i].name, err, winner)
		}
		// The alert disappears for everyone, naming who took it.
		e := waitEvent(t, reps[i], gossip.EvAlertClosed, func(e gossip.Event) bool { return e.AlertID == al.ID })
		if e.By != winner {
			t.Fatalf("%s: alert closed by %q, want %q", reps[i].name, e.By, winner)
		}
	}
	found := false
	for _, a := range hub.Attendees() {
		found = found || a.Name == winner
	}
	if !found {
		t.Fatalf("%s not in the attendee list %+v", winner, hub.Attendees())
	}
	// Every rep is listed online, with the host in one session... as far
	// as presence says: the agent here counts no sessions.
	if got := len(alice.agent.Reps("Acme", "")); got != n+1 {
		t.Fatalf("alice sees %d reps online, want %d", got, n+1)
	}
	if got := alice.agent.Reps("", "rep 1"); len(got) != 10 {
		t.Fatalf("search 'rep 1' found %d reps, want 10 (Rep 10-19)", len(got))
	}
}

func TestRepInviteAlertsOnlyThatRepAndLateRepsSeeOpenAlerts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	bob := l.startRep(t, ctx, "Bob", nil, nil)
	carol := l.startRep(t, ctx, "Carol", nil, nil)
	hub := l.startHostedSession(t, ctx, alice)
	al := invite(t, ctx, alice, hub, "for-bob", bob.host.ID(), "")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == al.ID })
	noEvent(t, carol, gossip.EvAlert, al.ID, 2*time.Second)

	// A portal alert published before Dave came online reaches him.
	wide := invite(t, ctx, alice, hub, "wide", "", "")
	waitEvent(t, carol, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == wide.ID })
	dave := l.startRep(t, ctx, "Dave", nil, nil)
	waitEvent(t, dave, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == wide.ID })

	// Bob declines his: Alice is told.
	if err := bob.agent.Decline(ctx, al.ID); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, alice, gossip.EvDeclined, nil)
	if e.Name != "Bob" || e.AlertID != al.ID {
		t.Fatalf("declined event %+v", e)
	}
}

// stranger is a peer with gossipsub on a portal's topic but no membership.
func stranger(t *testing.T, ctx context.Context, l *lab, topic string, connectTo ...host.Host) (host.Host, *pubsub.Topic, *pubsub.Subscription) {
	t.Helper()
	h := p2ptest.NewHost(t, nil)
	ps, err := gossip.NewPubSub(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range append(connectTo, l.node.Host) {
		if err := h.Connect(ctx, p2ptest.Info(o)); err != nil {
			t.Fatal(err)
		}
	}
	return h, tp, sub
}

// waitTopicPeers waits until n peers are known on the stranger's topic:
// only then do its messages reach the reps.
func waitTopicPeers(t *testing.T, ctx context.Context, tp *pubsub.Topic, n int) {
	t.Helper()
	for len(tp.ListPeers()) < n {
		select {
		case <-ctx.Done():
			t.Fatal("the stranger never saw the reps on the topic")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestNonMembersCanNeitherReadNorPublishNorJoin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	bob := l.startRep(t, ctx, "Bob", nil, nil)
	hub := l.startHostedSession(t, ctx, alice)
	topic := gossip.Topic(l.portal.ID)
	eve, eveTopic, eveSub := stranger(t, ctx, l, topic, alice.host, bob.host)
	// Eve is in the topic once the reps know her subscription.
	waitTopicPeers(t, ctx, eveTopic, 2)

	al := invite(t, ctx, alice, hub, "secret-alert", "", "the-secret-comment")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == al.ID })
	// Eve gets the bytes (gossip is open) but cannot read them.
	var raw *pubsub.Message
	for raw == nil {
		m, err := eveSub.Next(ctx)
		if err != nil {
			t.Fatal("eve received nothing: the test would prove nothing")
		}
		if bytes.Contains(m.Data, []byte("the-secret-comment")) || bytes.Contains(m.Data, al.Ticket) {
			t.Fatal("alert readable in the clear")
		}
		if author, _ := peer.IDFromBytes(m.From); author == alice.host.ID() {
			raw = m
		}
	}
	env, _, err := gossip.Check(topic, alice.host.ID(), raw.Data, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	guess := &portal.Membership{AlertKey: make([]byte, portal.KeySize), Epoch: env.Epoch}
	if _, err := gossip.Open(topic, alice.host.ID(), env, guess, time.Now()); err == nil {
		t.Fatal("opened an alert without the portal's key")
	}

	// Eve publishes an alert with Bob's (public) credential and with a
	// credential from a portal she made up: both dropped by validators.
	fake, _ := portal.NewManager("Acme")
	eveCred, _ := fake.Issue(eve.ID(), "Eve", 1, time.Hour, time.Now())
	for i, cred := range [][]byte{bob.ms.Credential, eveCred} {
		ms := &portal.Membership{Credential: cred, Epoch: bob.ms.Epoch, AlertKey: bob.ms.AlertKey} // even with the key
		forged := gossip.Alert{ID: fmt.Sprintf("forged-%d", i), Host: eve.ID(), Addrs: []string{"/ip4/127.0.0.1/tcp/1"},
			Ticket: []byte("t"), Expires: time.Now().Add(time.Minute)}
		data, err := gossip.Seal(topic, ms, eve.ID(), gossip.Payload{Type: gossip.TypeAlert, Alert: &forged}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := eveTopic.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	// Eve replays Alice's real alert as her own message: the author is
	// not the rep the credential names.
	if err := eveTopic.Publish(ctx, raw.Data); err != nil {
		t.Fatal(err)
	}
	marker := invite(t, ctx, alice, hub, "marker", "", "")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == marker.ID })
	noEvent(t, bob, gossip.EvAlert, "forged-0", time.Second)
	noEvent(t, bob, gossip.EvAlert, "forged-1", time.Second)
	for _, a := range bob.agent.Alerts() {
		if a.Host == eve.ID() {
			t.Fatalf("bob shows eve's alert %s", a.ID)
		}
	}

	// Even with a leaked ticket, Eve's accept is refused by the host.
	evil := &rep{name: "Eve", host: eve, ms: &portal.Membership{Credential: bob.ms.Credential}}
	if _, err := accept(ctx, evil, al); err == nil {
		t.Fatal("a non-member joined the session")
	}
	evil.ms.Credential = eveCred
	if _, err := accept(ctx, evil, al); err == nil {
		t.Fatal("a rep of a made-up portal joined the session")
	}
}

func TestRevokedRepGetsNoNewReadableAlerts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	bob := l.startRep(t, ctx, "Bob", nil, nil)
	mallory := l.startRep(t, ctx, "Mallory", nil, nil)
	hub := l.startHostedSession(t, ctx, alice)
	before := invite(t, ctx, alice, hub, "before", "", "")
	waitEvent(t, mallory, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == before.ID })

	signed, _, err := portal.Revoke(l.mgrDir, "Acme", "Mallory")
	if err != nil {
		t.Fatal(err)
	}
	if err := rendezvous.NewClient(alice.host, l.rv).PublishPortal(ctx, signed); err != nil {
		t.Fatal(err)
	}
	// Mallory's own agent learns it; Alice and Bob move to the new key.
	waitEvent(t, mallory, gossip.EvRevoked, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, _, _ := alice.agent.Membership("Acme")
		b, _, _ := bob.agent.Membership("Acme")
		if a.Epoch == 2 && b.Epoch == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reps did not move to the rotated key")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := invite(t, ctx, alice, hub, "after", "", "after-revocation")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == after.ID })
	noEvent(t, mallory, gossip.EvAlert, after.ID, 2*time.Second)

	// Her messages are dropped by validators, even sealed with the new
	// key, and no host admits her.
	bobMs, _, _ := bob.agent.Membership("Acme")
	al := gossip.Alert{ID: "from-mallory", Host: mallory.host.ID(), Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Ticket: []byte("t"),
		Expires: time.Now().Add(time.Minute)}
	ms := &portal.Membership{Credential: mallory.ms.Credential, Epoch: bobMs.Epoch, AlertKey: bobMs.AlertKey}
	topic := gossip.Topic(l.portal.ID)
	data, err := gossip.Seal(topic, ms, mallory.host.ID(), gossip.Payload{Type: gossip.TypeAlert, Alert: &al}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	list, err := portal.VerifyRevocations(signed, l.portal.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gossip.Check(topic, mallory.host.ID(), data, list.Revoked, time.Now()); !errors.Is(err, gossip.ErrNotMember) {
		t.Fatalf("a revoked rep's message passed the check: %v", err)
	}
	if _, err := bob.agent.VerifyRep(mallory.host.ID(), mallory.ms.Credential); err == nil {
		t.Fatal("bob still admits mallory")
	}
}

// TestAnAlertWhoseHostVanishedGoesAway: the host quits without closing its
// alert (or its closing was lost); reps drop it once it is no longer
// republished, instead of showing it until it expires.
func TestAnAlertWhoseHostVanishedGoesAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLab(t)
	quick := func(c *gossip.Config) { c.PresenceInterval = 300 * time.Millisecond }
	alice := l.startRepEvery(t, ctx, "Alice", nil, nil, time.Minute, quick)
	bob := l.startRepEvery(t, ctx, "Bob", nil, nil, time.Minute, quick)
	_, c, _ := alice.agent.Membership("Acme")
	al := gossip.Alert{ID: "orphan", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Ticket: []byte("t"), Expires: time.Now().Add(time.Hour)}
	if err := alice.agent.Invite(ctx, c.Portal, al); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == "orphan" })
	alice.host.Close() // gone, without a word
	e := waitEvent(t, bob, gossip.EvAlertClosed, func(e gossip.Event) bool { return e.AlertID == "orphan" })
	if e.By != "" {
		t.Fatalf("closed as taken by %q", e.By)
	}
}

// TestARepInSeveralPortals: Zoe is enrolled in Acme and in Globex (two
// managers, two topics). She sees the reps and alerts of both, each rep of
// one portal sees nothing of the other, and losing one membership leaves
// the other working.
func TestARepInSeveralPortals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	globexDir := t.TempDir()
	if _, err := portal.CreatePortal(globexDir, "Globex"); err != nil {
		t.Fatal(err)
	}
	enrollGlobex := func(h host.Host, name string) *portal.Membership {
		ms, err := portal.Enroll(globexDir, "Globex", h.ID(), name, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	zoeHost := p2ptest.NewHost(t, l.rv)
	zoe := l.startRepEvery(t, ctx, "Zoe", l.enroll(t, zoeHost, "Zoe"), zoeHost, 300*time.Millisecond, func(c *gossip.Config) {
		c.Memberships = append(c.Memberships, enrollGlobex(zoeHost, "Zoe G."))
	})
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	gusHost := p2ptest.NewHost(t, l.rv)
	gus := l.startRep(t, ctx, "Gus", enrollGlobex(gusHost, "Gus"), gusHost)

	lists := func(r *rep, want ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var got []string
			for _, rp := range r.agent.Reps("", "") {
				got = append(got, rp.PortalName+"/"+rp.Name)
			}
			if fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %v, want %v", r.name, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	lists(zoe, "Acme/Alice", "Acme/Zoe", "Globex/Gus", "Globex/Zoe G.")
	lists(alice, "Acme/Alice", "Acme/Zoe")
	lists(gus, "Globex/Gus", "Globex/Zoe G.")
	if got := zoe.agent.Standings(); len(got) != 2 || got[0].Name != "Zoe" || got[1].Name != "Zoe G." {
		t.Fatalf("Zoe's standings %+v", got)
	}

	// Each portal's alert reaches Zoe, and nobody of the other portal.
	acmeHub := l.startHostedSession(t, ctx, alice)
	fromAcme := inviteIn(t, ctx, "Acme", alice, acmeHub, "from-acme", "", "acme-only")
	e := waitEvent(t, zoe, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == fromAcme.ID })
	if e.Alert.PortalName != "Acme" || e.Alert.Comment != "acme-only" {
		t.Fatalf("Zoe's Acme alert %+v", e.Alert)
	}
	globexHub := l.startHostedSession(t, ctx, gus)
	fromGlobex := inviteIn(t, ctx, "Globex", gus, globexHub, "from-globex", "", "globex-only")
	waitEvent(t, zoe, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == fromGlobex.ID && e.Alert.PortalName == "Globex" })
	noEvent(t, alice, gossip.EvAlert, fromGlobex.ID, time.Second)
	noEvent(t, gus, gossip.EvAlert, fromAcme.ID, time.Second)

	// Globex revokes Zoe: she stays in Acme and still gets its alerts.
	signed, _, err := portal.Revoke(globexDir, "Globex", "Zoe G.")
	if err != nil {
		t.Fatal(err)
	}
	if err := rendezvous.NewClient(gus.host, l.rv).PublishPortal(ctx, signed); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, zoe, gossip.EvRevoked, nil); e.Portal != "Globex" {
		t.Fatalf("revoked in %q, want Globex", e.Portal)
	}
	again := inviteIn(t, ctx, "Acme", alice, acmeHub, "acme-again", "", "")
	waitEvent(t, zoe, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == again.ID })
}

// TestOnlyTheAlertsHostClosesIt: a member of the portal who is not the
// alert's host publishes a "taken by Mallory" and a withdrawal for it;
// Bob's alert stays open, and closes when its host says so.
func TestOnlyTheAlertsHostClosesIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRep(t, ctx, "Alice", nil, nil)
	bob := l.startRep(t, ctx, "Bob", nil, nil)
	hub := l.startHostedSession(t, ctx, alice)
	topic := gossip.Topic(l.portal.ID)
	mallory, malTopic, _ := stranger(t, ctx, l, topic, alice.host, bob.host)
	malMs := l.enroll(t, mallory, "Mallory")
	waitTopicPeers(t, ctx, malTopic, 2)
	al := invite(t, ctx, alice, hub, "alice-alert", "", "")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == al.ID })
	for _, p := range []gossip.Payload{
		{Type: gossip.TypeTaken, AlertID: al.ID, By: "Mallory"},
		{Type: gossip.TypeWithdrawn, AlertID: al.ID, Reason: "cancelled"},
	} {
		data, err := gossip.Seal(topic, malMs, mallory.ID(), p, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := malTopic.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	// A marker from Alice, published after Mallory's closings, has
	// reached Bob once it shows: the closings had their chance.
	marker := invite(t, ctx, alice, hub, "marker", "", "")
	waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == marker.ID })
	if _, err := bob.agent.Alert(al.ID); err != nil {
		t.Fatalf("a closing by another member closed Alice's alert: %v", err)
	}
	alice.agent.CloseAlert(al.ID, "Carol", "")
	if e := waitEvent(t, bob, gossip.EvAlertClosed, func(e gossip.Event) bool { return e.AlertID == al.ID }); e.By != "Carol" {
		t.Fatalf("closed by %q, want Carol (the host's word)", e.By)
	}
}

// TestARevokedRepIsRefusedAtOnce: the host's agent refreshes revocation
// lists only every hour here. Before, it admitted a rep revoked a moment
// ago until that refresh (30 s by default, for ever if the node withheld
// the list); now admitting checks the newest list first, and so does
// sealing an alert, which then uses the rotated key.
func TestARevokedRepIsRefusedAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRepEvery(t, ctx, "Alice", nil, nil, time.Hour)
	mallory := l.startRepEvery(t, ctx, "Mallory", nil, nil, time.Hour)
	if _, err := alice.agent.VerifyRep(mallory.host.ID(), mallory.ms.Credential); err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	signed, _, err := portal.Revoke(l.mgrDir, "Acme", "Mallory")
	if err != nil {
		t.Fatal(err)
	}
	if err := rendezvous.NewClient(alice.host, l.rv).PublishPortal(ctx, signed); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.agent.VerifyRep(mallory.host.ID(), mallory.ms.Credential); err == nil {
		t.Fatal("a rep revoked a moment ago is still admitted")
	}
	hub := l.startHostedSession(t, ctx, alice)
	invite(t, ctx, alice, hub, "after", "", "")
	if ms, _, _ := alice.agent.Membership("Acme"); ms.Epoch != 2 {
		t.Fatalf("the alert after the revocation was sealed under epoch %d, not the rotated key's", ms.Epoch)
	}
}

// TestAListThatCannotBeCheckedIsTrustedForAWhileOnly: the node stops
// answering (down, or withholding the list). For StaleAfter the last list
// serves, with a warning; after it, no rep is admitted on it.
func TestAListThatCannotBeCheckedIsTrustedForAWhileOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLab(t)
	alice := l.startRepEvery(t, ctx, "Alice", nil, nil, time.Hour, func(c *gossip.Config) { c.StaleAfter = 8 * time.Second })
	bob := l.startRepEvery(t, ctx, "Bob", nil, nil, time.Hour)
	if _, err := alice.agent.VerifyRep(bob.host.ID(), bob.ms.Credential); err != nil {
		t.Fatal(err)
	}
	l.node.Close()
	if _, err := alice.agent.VerifyRep(bob.host.ID(), bob.ms.Credential); err != nil {
		t.Fatalf("with a list checked a moment ago: %v", err)
	}
	waitEvent(t, alice, gossip.EvStale, nil)
	time.Sleep(8 * time.Second)
	if _, err := alice.agent.VerifyRep(bob.host.ID(), bob.ms.Credential); err == nil || !strings.Contains(err.Error(), "could not be checked") {
		t.Fatalf("on a list the node has not confirmed for longer than StaleAfter: %v", err)
	}
}

// TestAnAlertCrossesNodesThatShareAStore: Alice's agent knows only node
// B, Bob's only node C; B and C share a Redis, find each other through
// it and relay the portal's topic between them, so Alice's invitation
// reaches Bob, and Bob joins her session.
func TestAnAlertCrossesNodesThatShareAStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rd := redislab.Start(t)
	shared := func(cfg *rendezvous.NodeConfig) {
		store, err := rendezvous.OpenRedisStore(ctx, rd.URL())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = store
		cfg.PeerInterval = 200 * time.Millisecond
	}
	l := newLab(t)
	_, rvB := rvtest.StartNode(t, shared)
	_, rvC := rvtest.StartNode(t, shared)
	l.rv = rvB
	alice := l.startRep(t, ctx, "Alice", nil, p2ptest.NewHost(t, rvB))
	l.rv = rvC
	bob := l.startRep(t, ctx, "Bob", nil, p2ptest.NewHost(t, rvC))
	l.rv = rvB
	hub := l.startHostedSession(t, ctx, alice)

	al := invite(t, ctx, alice, hub, "across-nodes", "", "printer on the third floor")
	e := waitEvent(t, bob, gossip.EvAlert, func(e gossip.Event) bool { return e.Alert.ID == al.ID })
	if e.Alert.HostName != "Alice" || e.Alert.Comment != "printer on the third floor" {
		t.Fatalf("alert as Bob got it: %+v", e.Alert)
	}
	g, err := accept(ctx, bob, *e.Alert)
	if err != nil {
		t.Fatalf("Bob accepting through node C: %v", err)
	}
	go func() { _ = g.Run(ctx) }()
}
