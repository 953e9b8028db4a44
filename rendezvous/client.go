package rendezvous

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	relayclient "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"assist/p2p"
	"assist/shortcode"
)

// ErrUnreachable means no configured rendezvous node answered.
var ErrUnreachable = errors.New("cannot reach any rendezvous node")

// UnreachableError says which node could not be reached and what to do;
// libp2p's details (dial backoff, every address tried) go to the log.
type UnreachableError struct {
	Node peer.AddrInfo
}

func (e *UnreachableError) Error() string {
	where := e.Node.ID.ShortString()
	if len(e.Node.Addrs) > 0 {
		where = e.Node.Addrs[0].String() + "/p2p/" + e.Node.ID.String()
	}
	return "cannot reach the rendezvous node " + where + ": it may be down or the address wrong; check --rendezvous, $ASSIST_RENDEZVOUS or config.json (--log-level debug shows why)"
}

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// Client talks to the configured rendezvous nodes.
type Client struct {
	host    host.Host
	servers []peer.AddrInfo
	// Timeout bounds one request, connection included.
	Timeout time.Duration
	// Logger gets what a person need not read (why a dial failed).
	Logger *slog.Logger

	mu      sync.Mutex
	circuit []ma.Multiaddr // relay addresses from ReserveRelay
}

// ReserveRelay reserves a slot at every rendezvous node's relay and
// returns when the first reservation expires. Records published after it
// carry the circuit addresses, so a peer behind NAT is reachable at once,
// without waiting for AutoNAT to find out (about 17 s) and autorelay to
// reserve on its own.
func (c *Client) ReserveRelay(ctx context.Context) (time.Time, error) {
	type result struct {
		server peer.AddrInfo
		res    *relayclient.Reservation
		err    error
	}
	results := make(chan result, len(c.servers))
	for _, server := range c.servers { // at once: a dead node delays no other
		go func() {
			rctx, cancel := context.WithTimeout(ctx, c.Timeout)
			defer cancel()
			err := c.host.Connect(rctx, server)
			var res *relayclient.Reservation
			if err == nil {
				res, err = relayclient.Reserve(rctx, c.host, server)
			}
			results <- result{server, res, err}
		}()
	}
	var addrs []ma.Multiaddr
	var expires time.Time
	var errs []error
	// Once one node holds a slot, a node slower than nodeTimeout (dead,
	// most likely) is not waited for: the next renewal asks it again.
	var late <-chan time.Time
collect:
	for range c.servers {
		select {
		case r := <-results:
			if r.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.server.ID.ShortString(), r.err))
				continue
			}
			if late == nil {
				late = time.After(nodeTimeout)
			}
			if expires.IsZero() || r.res.Expiration.Before(expires) {
				expires = r.res.Expiration
			}
			circuit := ma.StringCast("/p2p/" + r.server.ID.String() + "/p2p-circuit")
			for _, a := range r.server.Addrs {
				addrs = append(addrs, a.Encapsulate(circuit))
			}
		case <-late:
			break collect
		}
	}
	if len(addrs) == 0 {
		return time.Time{}, fmt.Errorf("reserve a relay slot: %w", errors.Join(errs...))
	}
	c.mu.Lock()
	c.circuit = addrs
	c.mu.Unlock()
	return expires, nil
}

// KeepRelay reserves relay slots (see ReserveRelay) and keeps them
// reserved until ctx ends: renewed two minutes before they expire (half
// way through a reservation shorter than four minutes), every 30 s while
// renewing fails. The error is the first attempt's; renewed, if not nil,
// hears of every later attempt (the new expiry, or why it failed).
func (c *Client) KeepRelay(ctx context.Context, renewed func(expires time.Time, err error)) error {
	expires, err := c.ReserveRelay(ctx)
	first := err
	lost := c.watchNodes(ctx)
	go func() {
		for {
			wait := relayRenewIn(time.Until(expires))
			if err != nil {
				wait = 30 * time.Second
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			case <-lost: // a node went away: reserve at the others now
			}
			expires, err = c.ReserveRelay(ctx)
			if renewed != nil && ctx.Err() == nil {
				renewed(expires, err)
			}
		}
	}()
	return first
}

// watchNodes signals when this host loses its last connection to one of
// the rendezvous nodes, until ctx ends.
func (c *Client) watchNodes(ctx context.Context) <-chan struct{} {
	lost := make(chan struct{}, 1)
	isNode := map[peer.ID]bool{}
	for _, s := range c.servers {
		isNode[s.ID] = true
	}
	n := &network.NotifyBundle{DisconnectedF: func(net network.Network, conn network.Conn) {
		p := conn.RemotePeer()
		if isNode[p] && net.Connectedness(p) != network.Connected {
			select {
			case lost <- struct{}{}:
			default:
			}
		}
	}}
	c.host.Network().Notify(n)
	context.AfterFunc(ctx, func() { c.host.Network().StopNotify(n) })
	return lost
}

// relayRenewIn is when to renew a reservation that has left to live.
func relayRenewIn(left time.Duration) time.Duration {
	return max(left-2*time.Minute, left/2, time.Second)
}

// DialAddrs are this host's addresses plus its reserved relay addresses.
// Loopback addresses are left out unless the rendezvous node is on
// loopback too: a peer on another machine can only fail on them.
func (c *Client) DialAddrs() []ma.Multiaddr {
	c.mu.Lock()
	defer c.mu.Unlock()
	local := false
	for _, s := range c.servers {
		for _, a := range s.Addrs {
			local = local || manet.IsIPLoopback(a)
		}
	}
	var out []ma.Multiaddr
	for _, a := range append(c.host.Addrs(), c.circuit...) {
		if local || !manet.IsIPLoopback(a) {
			out = append(out, a)
		}
	}
	return ma.Unique(out)
}

// NewClient returns a client of the given rendezvous nodes.
func NewClient(h host.Host, servers []peer.AddrInfo) *Client {
	return &Client{host: h, servers: servers, Timeout: 10 * time.Second}
}

// Registration is a code this peer owns at a rendezvous node.
type Registration struct {
	Code    shortcode.Code
	Expires time.Time
	// JoinPage is the node's web page where a specialist types the code
	// ("" if the node serves none).
	JoinPage string

	mu     sync.Mutex // guards server and seq, which publishing changes
	server peer.AddrInfo
	seq    uint64
}

func (r *Registration) nextSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq = max(r.seq+1, uint64(time.Now().UnixNano()))
	return r.seq
}

func (r *Registration) node() peer.AddrInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.server
}

func (r *Registration) answeredBy(server peer.AddrInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.server = server
}

// maxRegisterTries bounds retries after random lookups collide.
const maxRegisterTries = 16

// Register creates a fresh code, valid for ttl, pointing at this host's
// current addresses. What it opens is the owner's business alone.
func (c *Client) Register(ctx context.Context, ttl time.Duration) (*Registration, error) {
	lastErr := ErrUnreachable
	for _, server := range c.live(ctx, "") {
		reg, err := c.registerAt(ctx, server, ttl)
		if err == nil {
			return reg, nil
		}
		lastErr = err
		if !tryAnother(err) {
			return nil, err
		}
	}
	return nil, lastErr
}

// tryAnother says whether a request that failed so may succeed at
// another node.
func tryAnother(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrUnavailable)
}

// live orders the nodes for a request: those already connected first
// (prefer ahead of them), else the one whose dial succeeds first, then the
// rest. Nodes are dialled at once, so a dead one costs no dial timeout.
func (c *Client) live(ctx context.Context, prefer peer.ID) []peer.AddrInfo {
	var connected, others []peer.AddrInfo
	for _, s := range c.servers {
		switch {
		case c.host.Network().Connectedness(s.ID) != network.Connected:
			others = append(others, s)
		case s.ID == prefer:
			connected = append([]peer.AddrInfo{s}, connected...)
		default:
			connected = append(connected, s)
		}
	}
	if len(connected) > 0 || len(others) <= 1 {
		return append(connected, others...)
	}
	won := make(chan int, len(others))
	dctx, cancel := context.WithTimeout(ctx, c.Timeout)
	var wg sync.WaitGroup
	for i, s := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.host.Connect(dctx, s) == nil {
				won <- i
			}
		}()
	}
	go func() { wg.Wait(); cancel(); close(won) }()
	i, ok := <-won
	if !ok {
		return others // each fails at once now, on libp2p's dial backoff
	}
	return append([]peer.AddrInfo{others[i]}, append(others[:i:i], others[i+1:]...)...)
}

func (c *Client) registerAt(ctx context.Context, server peer.AddrInfo, ttl time.Duration) (*Registration, error) {
	digits := shortcode.MinLookupDigits
	for range maxRegisterTries {
		code, err := shortcode.New(digits)
		if err != nil {
			return nil, err
		}
		// Records carry whole seconds; round up so a code never lives
		// shorter than asked.
		reg := &Registration{Code: code, Expires: time.Now().Add(ttl + time.Second - 1).Truncate(time.Second), server: server}
		resp, err := c.publish(ctx, reg)
		if err == nil {
			reg.JoinPage = resp.JoinPage
			return reg, nil
		}
		if !errors.Is(err, ErrTaken) {
			return nil, fmt.Errorf("register code: %w", err)
		}
		digits = max(digits, resp.MinDigits)
	}
	return nil, fmt.Errorf("register code: %w after %d tries", ErrTaken, maxRegisterTries)
}

// Refresh re-publishes a registration with this host's current addresses,
// for example after it gained a relay address.
func (c *Client) Refresh(ctx context.Context, reg *Registration) error {
	if _, err := c.publish(ctx, reg); err != nil {
		return fmt.Errorf("refresh code: %w", err)
	}
	return nil
}

// Extend keeps a registration alive for ttl from now (at most the node's
// limit): an invitation code lives as long as its session, however long.
func (c *Client) Extend(ctx context.Context, reg *Registration, ttl time.Duration) error {
	before := reg.Expires
	reg.Expires = time.Now().Add(ttl + time.Second - 1).Truncate(time.Second)
	if _, err := c.publish(ctx, reg); err != nil {
		reg.Expires = before
		return fmt.Errorf("extend code: %w", err)
	}
	return nil
}

func (c *Client) publish(ctx context.Context, reg *Registration) (response, error) {
	rec := &CodeRecord{
		Lookup:  reg.Code.Lookup,
		Owner:   c.host.ID(),
		Expires: reg.Expires.Unix(),
		Seq:     reg.nextSeq(),
	}
	for _, a := range c.DialAddrs() { // best first: the node keeps so many
		if s := a.String(); len(rec.Addrs) < maxRecordAddrs && len(s) <= maxAddrLen {
			rec.Addrs = append(rec.Addrs, s)
		}
	}
	env, err := seal(rec, c.host.Peerstore().PrivKey(c.host.ID()))
	if err != nil {
		return response{}, err
	}
	return c.aboutCode(ctx, reg, request{Op: opRegister, Envelope: env})
}

// aboutCode sends a request about one's own code to the node that holds
// it or, if that one fails, to another: nodes that share a store all
// hold it. The one that answered is asked first next time.
func (c *Client) aboutCode(ctx context.Context, reg *Registration, req request) (response, error) {
	nodes := c.live(ctx, reg.node().ID)
	var resp response
	err := ErrUnreachable
	for i, server := range nodes {
		resp, err = c.roundTripWithin(ctx, server, req, i < len(nodes)-1)
		if err == nil {
			err = resp.err()
		}
		if err == nil || !tryAnother(err) {
			reg.answeredBy(server)
			break
		}
	}
	return resp, err
}

// Cancel ends a registration for the given reason; joiners then get the
// error that goes with it.
func (c *Client) Cancel(ctx context.Context, reg *Registration, reason Reason) error {
	rec := &CancelRecord{Lookup: reg.Code.Lookup, Owner: c.host.ID(), Reason: reason, Time: time.Now().Unix()}
	env, err := seal(rec, c.host.Peerstore().PrivKey(c.host.ID()))
	if err != nil {
		return err
	}
	if _, err := c.aboutCode(ctx, reg, request{Op: opCancel, Envelope: env}); err != nil {
		return fmt.Errorf("cancel code: %w", err)
	}
	return nil
}

// Resolve finds the record behind a lookup part, checking the owner's
// signature. It asks each rendezvous node in turn until one knows the code.
func (c *Client) Resolve(ctx context.Context, lookup string) (*CodeRecord, error) {
	var firstErr error
	nodes := c.live(ctx, "")
	for i, server := range nodes {
		rec, err := c.resolveAt(ctx, server, lookup, i < len(nodes)-1)
		if err == nil {
			return rec, nil
		}
		// "not found" at one node may be found at the next (nodes with
		// stores of their own); any other answer (expired, cancelled,
		// ...) is the code's real state.
		if !errors.Is(err, ErrNotFound) && !tryAnother(err) {
			return nil, err
		}
		if firstErr == nil || tryAnother(firstErr) {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = ErrUnreachable
	}
	return nil, firstErr
}

func (c *Client) resolveAt(ctx context.Context, server peer.AddrInfo, lookup string, more bool) (*CodeRecord, error) {
	resp, err := c.roundTripWithin(ctx, server, request{Op: opResolve, Lookup: lookup}, more)
	if err != nil {
		return nil, err
	}
	if err := resp.err(); err != nil {
		return nil, err
	}
	var rec CodeRecord
	if _, err := openEnvelope(resp.Envelope, &rec); err != nil {
		return nil, fmt.Errorf("rendezvous node sent a bad record: %w", err)
	}
	if rec.Lookup != lookup {
		return nil, fmt.Errorf("rendezvous node sent the record of another code")
	}
	if time.Now().After(rec.ExpiresAt()) {
		return nil, ErrExpired
	}
	return &rec, nil
}

func (c *Client) unreachable(server peer.AddrInfo, err error) error {
	if c.Logger != nil {
		c.Logger.Debug("rendezvous node unreachable", "node", server.ID, "addrs", server.Addrs, "err", err)
	}
	return &UnreachableError{Node: server}
}

// nodeTimeout bounds a request to one node while others are left to
// ask: a node that died keeps its QUIC connection looking alive for up
// to half a minute, and a live one answers in milliseconds.
const nodeTimeout = 2 * time.Second

// roundTripWithin is roundTrip, within nodeTimeout if more nodes are left
// to ask; a node that takes longer counts as unreachable.
func (c *Client) roundTripWithin(ctx context.Context, server peer.AddrInfo, req request, more bool) (response, error) {
	if !more || c.Timeout <= nodeTimeout {
		return c.roundTrip(ctx, server, req)
	}
	nctx, cancel := context.WithTimeout(ctx, nodeTimeout)
	defer cancel()
	resp, err := c.roundTrip(nctx, server, req)
	if err != nil && nctx.Err() != nil && ctx.Err() == nil {
		return resp, c.unreachable(server, err)
	}
	return resp, err
}

func (c *Client) roundTrip(ctx context.Context, server peer.AddrInfo, req request) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	if err := c.host.Connect(ctx, server); err != nil {
		return response{}, c.unreachable(server, err)
	}
	s, err := c.host.NewStream(network.WithAllowLimitedConn(ctx, "rendezvous"), server.ID, ProtocolID)
	if err != nil {
		return response{}, c.unreachable(server, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	// A node that fails mid-request (killed, cut off) is as good as
	// unreachable: another may answer.
	if err := p2p.WriteJSON(s, req); err != nil {
		s.Reset()
		return response{}, c.unreachable(server, fmt.Errorf("send request: %w", err))
	}
	_ = s.CloseWrite()
	var resp response
	if err := p2p.ReadJSON(bufio.NewReader(s), MaxMessageSize, &resp); err != nil {
		s.Reset()
		return response{}, c.unreachable(server, fmt.Errorf("read response: %w", err))
	}
	return resp, nil
}

// Addrs are the configured rendezvous nodes' addresses, each with /p2p/ID,
// as a person would give them to --rendezvous.
func (c *Client) Addrs() []string {
	var out []string
	for _, s := range c.servers {
		for _, a := range s.Addrs {
			out = append(out, a.String()+"/p2p/"+s.ID.String())
		}
	}
	return out
}

// Nodes are the configured rendezvous nodes' peer IDs.
func (c *Client) Nodes() []peer.ID {
	out := make([]peer.ID, len(c.servers))
	for i, s := range c.servers {
		out[i] = s.ID
	}
	return out
}

// JoinPortal asks every rendezvous node to relay the gossip topic of the
// portal cred belongs to; cred must be this peer's own credential.
func (c *Client) JoinPortal(ctx context.Context, cred []byte) error {
	return c.toAll(ctx, request{Op: opPortalJoin, Envelope: cred})
}

// PublishPortal stores a portal's signed revocation list or settings at
// every node.
func (c *Client) PublishPortal(ctx context.Context, signed []byte) error {
	return c.toAll(ctx, request{Op: opPortalPut, Envelope: signed})
}

// Revocations fetches a portal's newest revocation list (nil if none).
func (c *Client) Revocations(ctx context.Context, p peer.ID) ([]byte, error) {
	return c.portalGet(ctx, p, "revocations")
}

// Settings fetches a portal's newest signed settings (nil if none).
func (c *Client) Settings(ctx context.Context, p peer.ID) ([]byte, error) {
	return c.portalGet(ctx, p, "settings")
}

func (c *Client) portalGet(ctx context.Context, p peer.ID, what string) ([]byte, error) {
	var firstErr error
	for _, server := range c.servers {
		resp, err := c.roundTrip(ctx, server, request{Op: opPortalGet, Portal: p.String(), What: what})
		if err == nil {
			err = resp.err()
		}
		if err == nil {
			return resp.Envelope, nil
		}
		if firstErr == nil && !errors.Is(err, ErrNotFound) {
			firstErr = err
		}
	}
	return nil, firstErr
}

// toAll sends req to every node; it succeeds if one node accepted it.
func (c *Client) toAll(ctx context.Context, req request) error {
	var firstErr error
	ok := false
	for _, server := range c.servers {
		resp, err := c.roundTrip(ctx, server, req)
		if err == nil {
			err = resp.err()
		}
		if err == nil {
			ok = true
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if ok {
		return nil
	}
	if firstErr == nil {
		firstErr = ErrUnreachable
	}
	return firstErr
}
