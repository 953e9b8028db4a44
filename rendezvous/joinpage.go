package rendezvous

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// The join page: a specialist who got an invitation code types it on a web
// page the rendezvous node serves and is told exactly how to join. The
// page checks the code's check digit and splits it in the browser, and asks
// the node only about the lookup part, like 'assist join' does: the secret
// part never reaches the node.

//go:embed joinpage.html
var joinPage []byte

// serveJoinPage serves the page until the listener closes.
func (n *Node) serveJoinPage(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
		_, _ = w.Write(joinPage)
	})
	mux.HandleFunc("GET /status", n.codeStatus)
	mux.HandleFunc("GET /info", n.nodeInfo)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
}

// nodeInfo answers {"rendezvous": MULTIADDR}: this node's libp2p address
// under the host name the page was opened with, so the command the page
// shows works as pasted on the specialist's machine.
func (n *Node) nodeInfo(w http.ResponseWriter, r *http.Request) {
	name, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		name = r.Host
	}
	proto := "dns"
	if ip := net.ParseIP(name); ip != nil {
		proto = "ip4"
		if ip.To4() == nil {
			proto = "ip6"
		}
	}
	var tail string
	for _, a := range n.Host.Addrs() {
		if port, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			tail = "/tcp/" + port
			break
		}
		if port, err := a.ValueForProtocol(ma.P_UDP); err == nil && tail == "" {
			tail = "/udp/" + port + "/quic-v1"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"rendezvous": "/" + proto + "/" + name + tail + "/p2p/" + n.Host.ID().String()})
}

// codeStatus answers {"state":"open"|"cancelled"|"ended"|"expired"|"used"|
// "burned"|"not_found"} for ?lookup=DIGITS, under the same limits as
// lookups over libp2p. It cannot say whether a code is a support key or
// an invitation: the node does not know.
func (n *Node) codeStatus(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if ip == nil {
		http.Error(w, "no client address", http.StatusBadRequest)
		return
	}
	if ok, _ := n.lookups.allow("", sourceOf(ip), n.cfg.Clock.Now()); !ok {
		http.Error(w, "too many requests: wait a moment", http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	state := "open"
	_, err := n.reg.Resolve(r.URL.Query().Get("lookup"))
	switch {
	case errors.Is(err, ErrBadRequest):
		http.Error(w, `{"state":"bad_request"}`, http.StatusBadRequest)
		return
	case err != nil:
		state = string(errResponse(err).Status)
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"state": state})
}
