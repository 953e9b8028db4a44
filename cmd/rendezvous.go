package cmd

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"assist/config"
	"assist/rendezvous"
)

// RendezvousOptions are the flags of 'assist rendezvous'.
type RendezvousOptions struct {
	IO       *IO
	JSON     bool
	LogLevel string
	// Store is a shared store's URL ("": the files in --data-dir).
	Store string
	Node  rendezvous.NodeConfig
}

// NewCmdRendezvous builds 'assist rendezvous'. runF replaces the run
// function in tests of flag parsing.
func NewCmdRendezvous(io *IO, runF func(context.Context, *RendezvousOptions) error) *cobra.Command {
	opts := &RendezvousOptions{IO: io, Node: rendezvous.DefaultNodeConfig()}
	n := &opts.Node
	c := &cobra.Command{
		Use:   "rendezvous",
		Short: "Run a rendezvous node: code registry, relay of last resort, AutoNAT",
		Long: `Run a rendezvous node. It maps the lookup part of support keys and
invitation codes to the peers that registered them, relays connections that
cannot go direct, and tells peers whether they are reachable. It never sees
the secret part of a code, so it cannot join a session.

Give clients one of the addresses it prints (with /p2p/ID) as --rendezvous.
Its identity and codes live in --data-dir and survive restarts.

Several nodes share one Redis with --store redis://HOST:PORT/DB (rediss://
for TLS; a password in the URL or in $ASSIST_REDIS_PASSWORD): each then
answers every code, finds the others through the store, and relays portal
alerts between its reps and theirs. Give clients every node's address.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if n.DataDir == "" {
				dir, err := config.Dir()
				if err != nil {
					return err
				}
				n.DataDir = filepath.Join(dir, "rendezvous")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runRendezvous(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print events as JSON lines")
	f.StringVar(&opts.LogLevel, "log-level", "info", "log level on stderr: debug, info, warn, error")
	f.StringArrayVar(&n.Listen, "listen", n.Listen, "multiaddr to listen on (repeatable)")
	f.StringVar(&n.DataDir, "data-dir", "", "identity and code store (default: config dir/rendezvous)")
	f.StringVar(&opts.Store, "store", "", "keep codes and portals in this Redis, shared with other nodes: redis://HOST:PORT/DB, or a Sentinel's redis://HOST:PORT/DB?master_name=NAME")
	f.StringVar(&n.MetricsListen, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	f.DurationVar(&n.Relay.MaxDuration, "relay-max-duration", n.Relay.MaxDuration, "cut a relayed connection after this long (0: never)")
	f.Int64Var(&n.Relay.MaxData, "relay-max-data", n.Relay.MaxData, "cut a relayed connection after this many bytes each way (0: never)")
	f.IntVar(&n.Relay.MaxReservations, "relay-max-reservations", n.Relay.MaxReservations, "peers reachable through the relay at once")
	f.IntVar(&n.Relay.MaxCircuits, "relay-max-circuits", n.Relay.MaxCircuits, "relayed connections per peer")
	f.DurationVar(&n.Registry.MaxTTL, "code-max-ttl", n.Registry.MaxTTL, "longest lifetime of a code")
	f.DurationVar(&n.Registry.Tombstone, "tombstone", n.Registry.Tombstone, "how long an ended code still answers why")
	f.IntVar(&n.Registry.MaxPerOwner, "codes-per-peer", n.Registry.MaxPerOwner, "live codes one peer may hold")
	f.Float64Var(&n.LookupPerPeer.Per, "lookup-rate", n.LookupPerPeer.Per, "lookups per second per peer")
	f.IntVar(&n.LookupPerPeer.Burst, "lookup-burst", n.LookupPerPeer.Burst, "lookup burst per peer")
	f.Float64Var(&n.LookupPerIP.Per, "lookup-ip-rate", n.LookupPerIP.Per, "lookups per second per IP address")
	f.IntVar(&n.LookupPerIP.Burst, "lookup-ip-burst", n.LookupPerIP.Burst, "lookup burst per IP address")
	f.Float64Var(&n.LookupPerNet.Per, "lookup-net-rate", n.LookupPerNet.Per, "lookups per second per IPv6 /56 (an IPv4 address counts as its own)")
	f.IntVar(&n.LookupPerNet.Burst, "lookup-net-burst", n.LookupPerNet.Burst, "lookup burst per IPv6 /56")
	f.Float64Var(&n.RegisterPerPeer.Per, "register-rate", n.RegisterPerPeer.Per, "registrations and cancellations per second per peer")
	f.IntVar(&n.RegisterPerPeer.Burst, "register-burst", n.RegisterPerPeer.Burst, "registration burst per peer")
	f.DurationVar(&n.StreamTimeout, "stream-timeout", n.StreamTimeout, "longest wait for one request")
	f.IntVar(&n.Limits.Conns, "max-conns", n.Limits.Conns, "inbound connections in all")
	f.IntVar(&n.Limits.ConnsPerIP, "conns-per-ip", n.Limits.ConnsPerIP, "inbound connections per IPv4 address or IPv6 /56")
	f.IntVar(&n.Limits.RequestsPerIP, "requests-per-ip", n.Limits.RequestsPerIP, "requests one IP address may have in flight")
	f.DurationVar(&n.SweepInterval, "sweep-interval", n.SweepInterval, "how often ended codes are deleted")
	f.StringVar(&n.HTTPListen, "http", "", "serve the join page for specialists on this host:port (e.g. :8080)")
	f.StringVar(&n.JoinURL, "join-url", "", "the join page's public address, given to reps (default http://<--http>/)")
	return c
}

func runRendezvous(ctx context.Context, opts *RendezvousOptions) error {
	log, err := newLogger(opts.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	if opts.Node.StreamTimeout <= 0 || opts.Node.SweepInterval <= 0 {
		return usageErrorf("--stream-timeout and --sweep-interval must be positive")
	}
	opts.Node.Logger = log
	if opts.Store != "" {
		store, err := rendezvous.OpenRedisStore(ctx, opts.Store)
		if err != nil {
			return err
		}
		opts.Node.Store = store
	}
	node, err := rendezvous.NewNode(opts.Node)
	if err != nil {
		return err
	}
	addrs := node.Addrs()
	strs := make([]string, len(addrs))
	for i, a := range addrs {
		strs[i] = a.String()
	}
	ev := NewEvents(opts.IO.Out, opts.JSON)
	human := fmt.Sprintf("assist rendezvous node %s\nrelay limits: %s per connection\nlistening on:", node.Host.ID(), relayLimitText(opts.Node.Relay))
	for _, s := range strs {
		human += "\n  " + s
	}
	human += "\nclients: assist --rendezvous ADDR (one of the above), or ASSIST_RENDEZVOUS=ADDR"
	fields := map[string]any{"peer": node.Host.ID().String(), "addrs": strs}
	if opts.Store != "" {
		human += "\ncodes and portals kept in the shared store " + redactURL(opts.Store)
		fields["store"] = redactURL(opts.Store)
	}
	if opts.Node.MetricsListen != "" {
		human += "\nmetrics: http://" + opts.Node.MetricsListen + "/metrics"
		fields["metrics"] = "http://" + opts.Node.MetricsListen + "/metrics"
	}
	if u := node.JoinURL(); u != "" {
		human += "\njoin page for specialists: " + u
		fields["join_page"] = u
	}
	ev.Emit("listening", fields, human)
	err = node.Run(ctx)
	ev.Emit("stopped", nil, "rendezvous node stopped")
	return err
}

func relayLimitText(r rendezvous.RelayConfig) string {
	d, b := "no time limit", "no data limit"
	if r.MaxDuration > 0 {
		d = r.MaxDuration.Round(time.Second).String()
	}
	if r.MaxData > 0 {
		b = fmt.Sprintf("%d bytes each way", r.MaxData)
	}
	return d + ", " + b
}

// redactURL hides a password in a store URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
