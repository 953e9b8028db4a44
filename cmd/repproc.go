package cmd

import (
	"context"
	"errors"
	"fmt"

	"assist/config"
	"assist/desktop"
	"assist/ipc"
	"assist/rep"
)

// errBusy: another assist process already runs for this identity.
type errBusy struct {
	dir string
	err error
}

func (e *errBusy) Error() string { return e.err.Error() }

// openRep is how every long-running rep command starts: claim this
// identity's local socket (one process per identity), start the libp2p
// host, open the rep's process (show gets its news) and answer the other
// commands on the socket. close undoes it all.
func openRep(ctx context.Context, io *IO, f *PeerFlags, show func(rep.Event)) (p *rep.Process, close func(), err error) {
	log, err := newLogger(io.ErrOut, f.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	dir, err := config.Dir()
	if err != nil {
		return nil, nil, err
	}
	srv, err := ipc.Listen(dir)
	if errors.Is(err, ipc.ErrBusy) {
		return nil, nil, &errBusy{dir: dir, err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the control socket for %s: %w", dir, err)
	}
	node, err := startPeer(f, log)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	p, err = rep.Open(ctx, rep.Config{Host: node.host, Rendezvous: node.rv, ConfigDir: dir, Logger: log,
		OnEvent: show, OpenURL: func(url string) { openBrowser(url, log) }})
	if err != nil {
		node.close()
		srv.Close()
		return nil, nil, err
	}
	go p.Serve(ctx, srv)
	return p, func() {
		p.Close()
		node.close()
		srv.Close()
	}, nil
}

// runningRep is the client of this identity's running process.
func runningRep() (rep.Client, error) {
	dir, err := config.Dir()
	return rep.Client{ConfigDir: dir}, err
}

// notRunning says what to start when no rep process answers.
func notRunning(err error) error {
	return fmt.Errorf("%w: start 'assist join KEY' (to host a session) or 'assist console' first", err)
}

// openBrowser opens url where a graphical session can show it.
func openBrowser(url string, log interface{ Debug(string, ...any) }) {
	if !desktop.OpenURL(url) {
		log.Debug("no browser opened", "url", url)
	}
}
