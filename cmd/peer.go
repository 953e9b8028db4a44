package cmd

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/spf13/pflag"

	"assist/config"
	"assist/p2p"
	"assist/rendezvous"
)

// PeerFlags are the flags every command that talks to peers takes.
type PeerFlags struct {
	Rendezvous []string
	Listen     []string
	JSON       bool
	LogLevel   string
}

func (f *PeerFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.Rendezvous, "rendezvous", nil, "rendezvous node multiaddr with /p2p/ID (repeatable; default $"+config.EnvRendezvous+" or config.json)")
	fs.StringArrayVar(&f.Listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, random ports)")
	fs.BoolVar(&f.JSON, "json", false, "print events as JSON lines on stdout")
	fs.StringVar(&f.LogLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
}

// peerNode is this user's libp2p host and rendezvous client.
type peerNode struct {
	host      host.Host
	rv        *rendezvous.Client
	configDir string
}

// startPeer loads the identity and the rendezvous addresses and starts a
// host that uses the rendezvous nodes as relays.
func startPeer(f *PeerFlags, log *slog.Logger) (*peerNode, error) {
	dir, err := config.Dir()
	if err != nil {
		return nil, err
	}
	addrs, err := config.RendezvousAddrs(f.Rendezvous, dir)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	relays, err := p2p.ParseAddrInfos(addrs)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	key, err := config.LoadOrCreateIdentity(dir)
	if err != nil {
		return nil, err
	}
	h, err := p2p.NewHost(p2p.HostConfig{Identity: key, Listen: f.Listen, Relays: relays})
	if err != nil {
		return nil, err
	}
	rv := rendezvous.NewClient(h, relays)
	rv.Logger = log
	return &peerNode{host: h, rv: rv, configDir: dir}, nil
}

func (p *peerNode) close() { _ = p.host.Close() }
