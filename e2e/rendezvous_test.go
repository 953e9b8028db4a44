package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"assist/internal/p2ptest"
	"assist/internal/proctest"
	"assist/p2p"
	"assist/pairing"
	"assist/rendezvous"
	"assist/shortcode"
)

// rendezvousProc is a real 'assist rendezvous' process.
type rendezvousProc struct {
	*proctest.Proc
	Addrs []ma.Multiaddr
	Info  peer.AddrInfo
	// JoinPage is the specialists' join page, when started with --http.
	JoinPage string
}

func startRendezvous(t *testing.T, dataDir string, listen []string, extra ...string) *rendezvousProc {
	t.Helper()
	args := []string{"rendezvous", "--json", "--data-dir", dataDir}
	for _, l := range listen {
		args = append(args, "--listen", l)
	}
	p := proctest.Start(t, assistBin, nil, append(args, extra...)...)
	ev := p.WaitEvent("listening", 20*time.Second)
	raw, _ := ev["addrs"].([]any)
	rp := &rendezvousProc{Proc: p, JoinPage: ev.Str("join_page")}
	for _, r := range raw {
		a, err := ma.NewMultiaddr(r.(string))
		if err != nil {
			t.Fatalf("listening event has bad address %v: %v", r, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			t.Fatalf("address %s lacks /p2p/ID", a)
		}
		rp.Addrs = append(rp.Addrs, a)
	}
	infos, err := p2p.ParseAddrInfos(rp.Addrs)
	if err != nil || len(infos) != 1 {
		t.Fatalf("listening addrs %v: %v", rp.Addrs, err)
	}
	rp.Info = infos[0]
	return rp
}

// listenOf turns the node's printed addresses back into listen addresses
// with the same ports, for a restart.
func listenOf(addrs []ma.Multiaddr) []string {
	var out []string
	for _, a := range addrs {
		bare, _ := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_P2P })
		out = append(out, bare.String())
	}
	return out
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// codeOwner is an in-process peer that registers codes and guards them the
// way 'assist share' does: a burned code is cancelled at the rendezvous.
type codeOwner struct {
	host   host.Host
	client *rendezvous.Client
	guard  *pairing.Guard
	regs   map[string]*rendezvous.Registration
	paired chan peer.ID
}

func newCodeOwner(t *testing.T, rv peer.AddrInfo) *codeOwner {
	h := p2ptest.NewHost(t, nil)
	o := &codeOwner{host: h, client: rendezvous.NewClient(h, []peer.AddrInfo{rv}), regs: map[string]*rendezvous.Registration{}, paired: make(chan peer.ID, 8)}
	o.guard = pairing.NewGuard(h, pairing.Hooks{
		Paired: func(p pairing.Pairing) { o.paired <- p.Peer },
		Burned: func(lookup string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := o.client.Cancel(ctx, o.regs[lookup], rendezvous.ReasonBurned); err != nil {
				t.Errorf("cancel burned code: %v", err)
			}
		},
	})
	return o
}

func (o *codeOwner) register(t *testing.T, ttl time.Duration) *rendezvous.Registration {
	t.Helper()
	reg, err := o.client.Register(ctxFor(t, 20*time.Second), ttl)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	o.regs[reg.Code.Lookup] = reg
	o.guard.Add(reg.Code, pairing.KindSupport, 1)
	return reg
}

// join does what 'assist join' does before the session starts.
func join(ctx context.Context, h host.Host, rv peer.AddrInfo, typed string) (*pairing.Pairing, error) {
	code, err := shortcode.Parse(typed)
	if err != nil {
		return nil, err
	}
	rec, err := rendezvous.NewClient(h, []peer.AddrInfo{rv}).Resolve(ctx, code.Lookup)
	if err != nil {
		return nil, err
	}
	return pairing.Claim(ctx, h, peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}, code)
}

func TestRendezvousProcessRegisterResolveConnectAndRestart(t *testing.T) {
	dataDir := t.TempDir()
	rv := startRendezvous(t, dataDir, p2ptest.LoopbackListen)
	owner := newCodeOwner(t, rv.Info)
	reg := owner.register(t, time.Hour)

	joiner := p2ptest.NewHost(t, nil)
	if _, err := join(ctxFor(t, 20*time.Second), joiner, rv.Info, reg.Code.String()); err != nil {
		t.Fatalf("join: %v", err)
	}
	if got := <-owner.paired; got != joiner.ID() {
		t.Fatalf("owner paired with %s, want %s", got, joiner.ID())
	}
	if path := p2p.CurrentPath(joiner, owner.host.ID()); path.Kind() != "direct" {
		t.Fatalf("joiner reaches owner %s, want direct on loopback", path.Kind())
	}

	// Restart the node on the same ports: same identity, code still there.
	second := owner.register(t, time.Hour)
	rv.Signal(syscall.SIGTERM)
	if code := rv.Wait(20 * time.Second); code != 0 {
		t.Fatalf("rendezvous exited %d on SIGTERM", code)
	}
	rv2 := startRendezvous(t, dataDir, listenOf(rv.Addrs))
	if rv2.Info.ID != rv.Info.ID {
		t.Fatalf("node identity changed across restart: %s -> %s", rv.Info.ID, rv2.Info.ID)
	}
	other := p2ptest.NewHost(t, nil)
	rec, err := rendezvous.NewClient(other, []peer.AddrInfo{rv.Info}).Resolve(ctxFor(t, 20*time.Second), second.Code.Lookup)
	if err != nil {
		t.Fatalf("resolve after restart (old address): %v", err)
	}
	if rec.Owner != owner.host.ID() {
		t.Fatalf("after restart the code points at %s", rec.Owner)
	}
}

func TestRendezvousProcessCodeErrors(t *testing.T) {
	rv := startRendezvous(t, t.TempDir(), p2ptest.LoopbackListen)
	owner := newCodeOwner(t, rv.Info)
	joiner := p2ptest.NewHost(t, nil)
	ctx := ctxFor(t, 60*time.Second)

	t.Run("wrong secret counted then burned", func(t *testing.T) {
		reg := owner.register(t, time.Hour)
		wrong := reg.Code
		wrong.Secret = map[bool]string{true: "0000000", false: "1111111"}[reg.Code.Secret != "0000000"]
		for left := 2; left >= 1; left-- {
			_, err := join(ctx, joiner, rv.Info, wrong.String())
			var wc *pairing.WrongCodeError
			if !errors.As(err, &wc) || wc.AttemptsLeft != left {
				t.Fatalf("wrong secret: %v, want %d attempts left", err, left)
			}
		}
		if _, err := join(ctx, joiner, rv.Info, wrong.String()); !errors.Is(err, pairing.ErrBurned) {
			t.Fatalf("third wrong secret: %v, want burned", err)
		}
		// Now the rendezvous itself answers "burned", even for the right code.
		if _, err := join(ctx, joiner, rv.Info, reg.Code.String()); !errors.Is(err, rendezvous.ErrBurned) {
			t.Fatalf("right code after burn: %v, want rendezvous.ErrBurned", err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		reg := owner.register(t, time.Hour)
		if err := owner.client.Cancel(ctx, reg, rendezvous.ReasonCancelled); err != nil {
			t.Fatal(err)
		}
		if _, err := join(ctx, joiner, rv.Info, reg.Code.String()); !errors.Is(err, rendezvous.ErrCancelled) {
			t.Fatalf("cancelled code: %v", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		reg := owner.register(t, time.Second)
		// The node runs on its own clock: wait out the code's lifetime
		// (the scenario itself), then ask once.
		select {
		case <-time.After(time.Until(reg.Expires) + 20*time.Millisecond):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		_, err := rendezvous.NewClient(joiner, []peer.AddrInfo{rv.Info}).Resolve(ctx, reg.Code.Lookup)
		if !errors.Is(err, rendezvous.ErrExpired) {
			t.Fatalf("expired code: %v", err)
		}
	})

	t.Run("unknown and mistyped", func(t *testing.T) {
		unknown, err := shortcode.WithLookup("99999")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := join(ctx, joiner, rv.Info, unknown.String()); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("unknown code: %v", err)
		}
		reg := owner.register(t, time.Hour)
		typo := []byte(reg.Code.Digits())
		typo[2] = '0' + (typo[2]-'0'+1)%10
		if _, err := join(ctx, joiner, rv.Info, string(typo)); !errors.Is(err, shortcode.ErrMistyped) {
			t.Fatalf("mistyped code: %v", err)
		}
	})
}

func TestRendezvousProcessLookupFlood(t *testing.T) {
	rv := startRendezvous(t, t.TempDir(),
		[]string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.2/tcp/0"},
		"--lookup-rate", "1", "--lookup-burst", "5")
	owner := newCodeOwner(t, rv.Info)
	reg := owner.register(t, time.Hour)
	ctx := ctxFor(t, 60*time.Second)

	flooder := rendezvous.NewClient(p2ptest.NewHost(t, nil), []peer.AddrInfo{rv.Info})
	limited := 0
	for range 40 {
		if _, err := flooder.Resolve(ctx, reg.Code.Lookup); errors.Is(err, rendezvous.ErrRateLimited) {
			limited++
		}
	}
	if limited < 30 {
		t.Fatalf("only %d of 40 flood lookups were rate-limited", limited)
	}
	// Another client, from another address, is served during the flood.
	second := peer.AddrInfo{ID: rv.Info.ID}
	for _, a := range rv.Info.Addrs {
		if ip, _ := a.ValueForProtocol(ma.P_IP4); ip == "127.0.0.2" {
			second.Addrs = append(second.Addrs, a)
		}
	}
	other := rendezvous.NewClient(p2ptest.NewHost(t, nil, "/ip4/127.0.0.2/tcp/0"), []peer.AddrInfo{second})
	if _, err := other.Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatalf("other client during flood: %v", err)
	}
}

func TestRendezvousProcessRefusesBadSetup(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/identity.key", []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, assistBin, nil, "rendezvous", "--data-dir", dir, "--listen", "/ip4/127.0.0.1/tcp/0")
	if code := p.Wait(20 * time.Second); code == 0 {
		t.Fatal("rendezvous started with a corrupt identity")
	}
	if err := p.Stderr(); !strings.Contains(err, "corrupt") {
		t.Fatalf("stderr does not say the key is corrupt:\n%s", err)
	}
}

// TestRendezvousProcessSaysWhenItsStoreIsMissing: a store URL that is not
// Redis's, and a Redis that is not there, stop the node at once with a
// message that names the problem.
func TestRendezvousProcessSaysWhenItsStoreIsMissing(t *testing.T) {
	for store, want := range map[string]string{
		"postgres://db/assist":     "expected redis://HOST:PORT/DB",
		"redis://127.0.0.1:1/0":    "127.0.0.1:1",
		"redis://127.0.0.1:1/nine": "expected redis://HOST:PORT/DB",
	} {
		start := time.Now()
		p := proctest.Start(t, assistBin, nil, "rendezvous", "--data-dir", t.TempDir(), "--listen", "/ip4/127.0.0.1/tcp/0", "--store", store)
		if code := p.Wait(20 * time.Second); code == 0 {
			t.Fatalf("--store %s: the node started", store)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("--store %s: took %v to give up", store, took)
		}
		if err := p.Stderr(); !strings.Contains(err, want) {
			t.Errorf("--store %s: stderr does not say %q:\n%s", store, want, err)
		}
	}
}
