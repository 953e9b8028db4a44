// Package rendezvous is the rendezvous node and its client. The node maps
// the lookup part of a short code to the signed record of the peer that
// registered it, relays connections that cannot go direct (circuit relay
// v2) and answers AutoNAT probes. It never learns a code's secret part, so
// it can route peers to each other but cannot join a session itself.
package rendezvous

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"assist/config"
	"assist/p2p"
)

// RelayConfig sizes the circuit relay. The libp2p defaults (2 minutes or
// 128 KiB per connection) would cut a screen stream almost at once; a
// support session on the relay must last hours.
type RelayConfig struct {
	// MaxDuration cuts a relayed connection after this long; 0: never.
	MaxDuration time.Duration
	// MaxData cuts it after this many bytes in one direction; 0: never.
	MaxData int64
	// MaxReservations bounds the peers that can be reached through the relay.
	MaxReservations int
	// MaxCircuits bounds the relayed connections of one peer.
	MaxCircuits int
	// ReservationTTL is how long a reservation lasts before it is refreshed.
	ReservationTTL time.Duration
	// BufferSize is the copy buffer per relayed connection and direction.
	BufferSize int
}

// NodeConfig configures a rendezvous node.
type NodeConfig struct {
	// DataDir holds the node's identity and, unless Store is set, its
	// store (codes.db and portals.db, bbolt files).
	DataDir string
	// Store, if set, keeps the node's codes and portals instead of a file
	// in DataDir; the node closes it.
	Store Store
	// Listen addresses; the ports should be fixed so clients' configured
	// addresses stay valid across restarts.
	Listen   []string
	Relay    RelayConfig
	Limits   NodeLimits
	Registry RegistryLimits
	// Rate limits on lookups (per peer, per IP address or IPv6 /64, per
	// IPv6 /56) and on registrations and cancellations (per peer).
	LookupPerPeer   Rate
	LookupPerIP     Rate
	LookupPerNet    Rate
	RegisterPerPeer Rate
	// StreamTimeout bounds how long one request may take to arrive.
	StreamTimeout time.Duration
	// SweepInterval is how often ended records are deleted.
	SweepInterval time.Duration
	Logger        *slog.Logger
	Clock         Clock
	// HTTPListen, if set (host:port), serves the join page for specialists
	// there; JoinURL is its public address (default http://HTTPListen).
	HTTPListen string
	JoinURL    string
	// MetricsListen, if set (host:port), serves Prometheus metrics at
	// /metrics there.
	MetricsListen string
	// PeerInterval is how often a node on a shared store announces
	// itself, connects to the other nodes and re-reads the revocation
	// lists its relayed topics check.
	PeerInterval time.Duration
}

// DefaultListen fixes port 4001 on every interface, QUIC and TCP.
var DefaultListen = []string{
	"/ip4/0.0.0.0/udp/4001/quic-v1",
	"/ip4/0.0.0.0/tcp/4001",
	"/ip6/::/udp/4001/quic-v1",
	"/ip6/::/tcp/4001",
}

// DefaultNodeConfig returns the settings 'assist rendezvous' starts from.
func DefaultNodeConfig() NodeConfig {
	return NodeConfig{
		Listen: DefaultListen,
		Relay: RelayConfig{
			MaxDuration:     12 * time.Hour,
			MaxReservations: 1024,
			MaxCircuits:     64,
			ReservationTTL:  time.Hour,
			BufferSize:      64 << 10,
		},
		Limits:          DefaultNodeLimits(),
		Registry:        DefaultRegistryLimits(),
		LookupPerPeer:   Rate{Per: 2, Burst: 10},
		LookupPerIP:     Rate{Per: 20, Burst: 100},
		LookupPerNet:    Rate{Per: 40, Burst: 200},
		RegisterPerPeer: Rate{Per: 1, Burst: 10},
		StreamTimeout:   5 * time.Second,
		SweepInterval:   time.Minute,
		PeerInterval:    5 * time.Second,
	}
}

// Node is a running rendezvous node.
type Node struct {
	Host host.Host
	cfg  NodeConfig
	reg  Codes
	// store keeps portal state (and, unless shared, the codes).
	store Store
	// shared is the store when several nodes share it (nil: a file).
	shared SharedStore
	log    *slog.Logger

	lookups      lookupLimits
	registerPeer *keyedLimiter
	portals      *portalBoard
	inflight     *inflight
	stop         context.CancelFunc
	httpLn       net.Listener
	metricsLn    net.Listener
	joinURL      string
	metrics      *nodeMetrics
}

// NewNode opens the store, loads (or creates) the node's identity in
// DataDir, and starts serving.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if err := config.EnsureDir(cfg.DataDir); err != nil {
		return nil, err
	}
	key, err := config.LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("rendezvous identity: %w", err)
	}
	store := cfg.Store
	if store == nil {
		fs, err := OpenFileStore(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if fs.Recovered != "" {
			cfg.Logger.Warn("the code store was damaged", "what", fs.Recovered)
		}
		store = fs
	}
	reg, shared, err := openCodes(store, cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	metrics := newNodeMetrics()
	if rs, ok := store.(*RedisStore); ok {
		rs.Observe = metrics.observeStore
	}
	limits, err := cfg.Limits.options(cfg.Relay)
	if err != nil {
		reg.Close()
		return nil, err
	}
	h, err := p2p.NewHost(p2p.HostConfig{
		Identity: key,
		Listen:   cfg.Listen,
		ExtraOptions: append(limits,
			libp2p.EnableRelayService(relayv2.WithResources(cfg.Relay.resources()), relayv2.WithMetricsTracer(metrics.relayTracer())),
			libp2p.PrometheusRegisterer(metrics.reg),
			libp2p.EnableNATService(),
			// The relay service only starts once the node believes it is
			// public; a rendezvous node is public by definition.
			libp2p.ForceReachabilityPublic(),
		),
	})
	if err != nil {
		reg.Close()
		return nil, err
	}
	n := &Node{
		Host:   h,
		cfg:    cfg,
		reg:    reg,
		store:  store,
		shared: shared,
		log:    cfg.Logger.With("component", "rendezvous"),
		lookups: lookupLimits{peer: newKeyedLimiter(cfg.LookupPerPeer, 65536),
			host: newKeyedLimiter(cfg.LookupPerIP, 65536), network: newKeyedLimiter(cfg.LookupPerNet, 65536)},
		registerPeer: newKeyedLimiter(cfg.RegisterPerPeer, 65536),
		inflight:     newInflight(cfg.Limits.RequestsPerIP, cfg.Limits.RequestsPerPeer),
		metrics:      metrics,
	}
	metrics.watchNode(n)
	ctx, stop := context.WithCancel(context.Background())
	n.stop = stop
	if n.portals, err = newPortalBoard(ctx, n); err != nil {
		stop()
		h.Close()
		reg.Close()
		return nil, err
	}
	if cfg.HTTPListen != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			n.Close()
			return nil, fmt.Errorf("join page: %w", err)
		}
		n.joinURL = cfg.JoinURL
		if n.joinURL == "" {
			n.joinURL = "http://" + n.httpLn.Addr().String() + "/"
		}
		go n.serveJoinPage(n.httpLn)
	}
	if cfg.MetricsListen != "" {
		if n.metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			n.Close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		go n.serveMetrics(n.metricsLn)
	}
	if shared != nil {
		go n.followNodes(ctx)
	}
	h.SetStreamHandler(ProtocolID, n.handle)
	return n, nil
}

// openCodes is the code registry in store: Redis's own for a shared
// store, else the node's in memory, written through to the store.
func openCodes(store Store, cfg NodeConfig) (Codes, SharedStore, error) {
	if shared, ok := store.(SharedStore); ok {
		return shared.Codes(cfg.Registry, cfg.Clock), shared, nil
	}
	reg, err := NewRegistry(store, cfg.Registry, cfg.Clock)
	return reg, nil, err
}

func (c RelayConfig) resources() relayv2.Resources {
	r := relayv2.DefaultResources()
	r.MaxReservations = c.MaxReservations
	r.MaxCircuits = c.MaxCircuits
	r.ReservationTTL = c.ReservationTTL
	r.BufferSize = c.BufferSize
	r.Limit = nil // unlimited: the relayed connection is not "limited" for clients
	if c.MaxDuration > 0 || c.MaxData > 0 {
		r.Limit = &relayv2.RelayLimit{Duration: c.MaxDuration, Data: c.MaxData}
		if r.Limit.Duration <= 0 {
			r.Limit.Duration = math.MaxInt64
		}
		if r.Limit.Data <= 0 {
			r.Limit.Data = math.MaxInt64
		}
	}
	return r
}

// Addrs returns the node's full addresses (with /p2p/ID).
func (n *Node) Addrs() []ma.Multiaddr { return p2p.FullAddrs(n.Host) }

// JoinURL is the join page's address ("" without one).
func (n *Node) JoinURL() string { return n.joinURL }

// Registry gives access to the node's code registry.
func (n *Node) Registry() Codes { return n.reg }

// Run sweeps ended records until ctx ends, then closes the node.
func (n *Node) Run(ctx context.Context) error {
	defer n.Close()
	t := time.NewTicker(n.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if gone, err := n.reg.Sweep(); err != nil {
				n.log.Error("sweep", "err", err)
			} else if gone > 0 {
				n.log.Info("swept ended codes", "count", gone)
			}
			if gone, err := n.portals.sweep(); err != nil {
				n.log.Error("sweep portals", "err", err)
			} else if gone > 0 {
				n.log.Info("freed idle portals", "count", gone)
			}
		}
	}
}

// Close stops the host and closes the store.
func (n *Node) Close() error {
	n.stop()
	if n.httpLn != nil {
		n.httpLn.Close()
	}
	if n.metricsLn != nil {
		n.metricsLn.Close()
	}
	err := errors.Join(n.Host.Close(), n.reg.Close())
	if n.shared != nil {
		err = errors.Join(err, n.shared.Close())
	}
	return err
}

func (n *Node) handle(s network.Stream) {
	src, from := remoteSource(s.Conn().RemoteMultiaddr()), s.Conn().RemotePeer()
	switch n.inflight.enter(src, from) {
	case sourceFull:
		s.Reset()
		return
	case peerMisbehave:
		s.Reset()
		n.log.Debug("peer holds too many requests: disconnected", "peer", from)
		go n.Host.Network().ClosePeer(from)
		return
	}
	defer n.inflight.leave(src, from)
	r := bufio.NewReader(io.LimitReader(s, MaxMessageSize+16))
	if err := awaitFirstByte(s, r, n.cfg.Limits.FirstByte, n.cfg.StreamTimeout); err != nil {
		s.Reset()
		return
	}
	raw, err := p2p.ReadFrame(r, MaxMessageSize)
	if err != nil {
		n.log.Debug("bad request", "peer", s.Conn().RemotePeer(), "err", err)
		// Say why, then close: a reset could overtake the answer.
		_ = p2p.WriteJSON(s, response{Status: StatusBadRequest, Message: "malformed request: " + err.Error()})
		s.Close()
		return
	}
	resp := n.answer(from, src, raw)
	if err := p2p.WriteJSON(s, resp); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// answer decodes one request from the network and serves it.
func (n *Node) answer(from peer.ID, src source, raw []byte) response {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return response{Status: StatusBadRequest, Message: "malformed request"}
	}
	return n.serve(from, src, req)
}

func remoteSource(a ma.Multiaddr) source {
	if p2p.IsRelayed(a) {
		return relayedSource
	}
	ip, err := manet.ToIP(a)
	if err != nil {
		return source{host: a.String(), network: a.String()}
	}
	return sourceOf(ip)
}

// serve answers one request and counts it.
func (n *Node) serve(from peer.ID, src source, req request) response {
	resp := n.serveOp(from, src, req)
	op := string(req.Op)
	switch req.Op {
	case opRegister, opResolve, opCancel, opPortalJoin, opPortalPut, opPortalGet:
	default:
		op = "unknown"
	}
	n.metrics.requests.WithLabelValues(op, string(resp.Status)).Inc()
	if resp.Status == StatusRateLimited {
		n.metrics.rateLimited.WithLabelValues(op).Inc()
	}
	return resp
}

func (n *Node) serveOp(from peer.ID, src source, req request) response {
	now := n.cfg.Clock.Now()
	switch req.Op {
	case opResolve:
		if ok, wait := n.lookups.allow(string(from), src, now); !ok {
			return rateLimited(wait)
		}
		env, err := n.reg.Resolve(req.Lookup)
		if err != nil {
			return errResponse(err)
		}
		return response{Status: StatusOK, Envelope: env}
	case opRegister:
		if ok, wait := n.registerPeer.reserve(string(from), now); !ok {
			return rateLimited(wait)
		}
		res, err := n.reg.Register(from, src.host, req.Envelope)
		if err != nil {
			r := errResponse(err)
			r.MinDigits = res.MinDigits
			return r
		}
		n.log.Info("code registered", "peer", from)
		return response{Status: StatusOK, JoinPage: n.joinURL}
	case opCancel:
		if ok, wait := n.registerPeer.reserve(string(from), now); !ok {
			return rateLimited(wait)
		}
		if err := n.reg.Cancel(from, req.Envelope); err != nil {
			return errResponse(err)
		}
		return response{Status: StatusOK}
	case opPortalGet:
		if ok, wait := n.lookups.allow(string(from), src, now); !ok {
			return rateLimited(wait)
		}
		return n.servePortal(from, src, req)
	case opPortalJoin, opPortalPut:
		if ok, wait := n.registerPeer.reserve(string(from), now); !ok {
			return rateLimited(wait)
		}
		return n.servePortal(from, src, req)
	}
	return response{Status: StatusBadRequest, Message: fmt.Sprintf("unknown op %q", req.Op)}
}

func (n *Node) servePortal(from peer.ID, src source, req request) response {
	switch req.Op {
	case opPortalJoin:
		if err := n.portals.join(from, src.network, req.Envelope); err != nil {
			return errResponse(err)
		}
	case opPortalPut:
		if err := n.portals.put(src.network, req.Envelope); err != nil {
			return errResponse(err)
		}
	case opPortalGet:
		pid, err := peer.Decode(req.Portal)
		if err != nil {
			return response{Status: StatusBadRequest, Message: "portal: not a portal ID"}
		}
		signed, err := n.portals.revocations(pid)
		if req.What == "settings" {
			signed, err = n.portals.signedSettings(pid)
		}
		if err != nil {
			return errResponse(err)
		}
		if signed == nil {
			return response{Status: StatusNotFound}
		}
		return response{Status: StatusOK, Envelope: signed}
	}
	return response{Status: StatusOK}
}

func rateLimited(wait time.Duration) response {
	return response{Status: StatusRateLimited, RetryAfterMs: max(1, wait.Milliseconds())}
}

var errStatuses = []struct {
	err    error
	status Status
}{
	{ErrNotFound, StatusNotFound},
	{ErrExpired, StatusExpired},
	{ErrCancelled, Status(ReasonCancelled)},
	{ErrBurned, Status(ReasonBurned)},
	{ErrUsed, Status(ReasonUsed)},
	{ErrEnded, Status(ReasonEnded)},
	{ErrTaken, StatusTaken},
	{ErrForbidden, StatusForbidden},
	{ErrFull, StatusFull},
	{ErrBadRequest, StatusBadRequest},
	{ErrUnavailable, StatusUnavailable},
}

func errResponse(err error) response {
	for _, es := range errStatuses {
		if errors.Is(err, es.err) {
			return response{Status: es.status, Message: err.Error()}
		}
	}
	return response{Status: "error", Message: err.Error()}
}
