// Package ipc lets one assist command talk to the rep's running assist
// process (the console, or a join hosting a session) over a Unix socket
// that only this user can open.
//
// One request per connection: the client writes a JSON Request line (its
// operation, the version of the protocol the operations speak, and its
// arguments); the server answers with any number of JSON lines, the last
// of which has "done":true (and "error" if it failed). After the request
// line the client may stream more (an operation's input); it half-closes
// the connection when it is cancelled and still reads the server's last
// words for a moment, so the server can say how it ended. The operations
// themselves, their types and their version are the server's (package rep).
package ipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Request is what a command asks of the running process.
type Request struct {
	Op string `json:"op"`
	// V is the version of the protocol the operation speaks.
	V    int             `json:"v"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Reply is one line of an answer.
type Reply struct {
	Done  bool            `json:"done,omitempty"`
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// ErrNotRunning: no assist process is serving this user's socket.
var ErrNotRunning = errors.New("no assist console or session is running for this user")

// maxRequest bounds one request line.
const maxRequest = 64 << 10

// Handler serves one request; it writes replies with send and returns
// when done. in is the rest of the client's stream (its stdin, for "join").
type Handler func(ctx context.Context, req Request, in io.Reader, send func(any) error) error

// Server is a listening socket.
type Server struct {
	ln    net.Listener
	path  string // the socket file to remove, if any
	conns sync.WaitGroup
}

// ErrBusy: another process already serves this configuration.
var ErrBusy = errors.New("another assist process is already running")

// Listen claims the control endpoint for configDir: a socket only this
// user may open (a named pipe on Windows). It fails with ErrBusy if
// another process already serves it; a socket left by a crashed process
// is replaced.
func Listen(configDir string) (*Server, error) {
	if c, err := dial(context.Background(), configDir, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w for %s (%s)", ErrBusy, configDir, endpoint(configDir))
	}
	ln, path, err := listen(configDir)
	if err != nil {
		return nil, err
	}
	return &Server{ln: ln, path: path}, nil
}

// Serve answers requests until ctx ends.
func (s *Server) Serve(ctx context.Context, h Handler) {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			s.serveConn(ctx, c, h)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	r := bufio.NewReader(io.LimitReader(c, 1<<30))
	line, err := readLine(r)
	if err != nil {
		return
	}
	var req Request
	enc := json.NewEncoder(c)
	if err := json.Unmarshal(line, &req); err != nil || req.Op == "" {
		_ = enc.Encode(Reply{Done: true, Error: "malformed request"})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	send := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return enc.Encode(Reply{Data: b})
	}
	err = h(ctx, req, r, send)
	final := Reply{Done: true}
	if err != nil {
		final.Error = err.Error()
	}
	_ = enc.Encode(final)
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, more, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > maxRequest {
			return nil, errors.New("request too long")
		}
		if !more {
			return line, nil
		}
	}
}

// Close stops listening, gives the requests being answered a moment to
// send their last words, and removes the socket.
func (s *Server) Close() {
	s.ln.Close()
	if s.path != "" {
		_ = os.Remove(s.path)
	}
	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(CloseWait):
	}
}

// CloseWait bounds how long Close waits for requests being answered.
const CloseWait = 3 * time.Second

// Call sends a request to the process serving configDir and passes each
// reply's data to onData until the final reply. stdin, if not nil, is
// forwarded after the request. ErrNotRunning means nobody serves it.
// Cancelled, the call half-closes the connection and waits up to
// LastWordsWait for the server's final reply.
func Call(ctx context.Context, configDir string, req Request, stdin io.Reader, onData func(json.RawMessage) error) error {
	c, err := dial(ctx, configDir, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() {
		if hc, ok := c.(interface{ CloseWrite() error }); ok {
			_ = hc.CloseWrite()
			time.AfterFunc(LastWordsWait, func() { c.Close() })
			return
		}
		c.Close()
	})
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return err
	}
	if stdin != nil {
		go func() { _, _ = io.Copy(c, stdin) }()
	}
	dec := json.NewDecoder(c)
	for {
		var rep Reply
		if err := dec.Decode(&rep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("the running assist process went away: %w", err)
		}
		if rep.Done {
			if rep.Error != "" {
				return errors.New(rep.Error)
			}
			return nil
		}
		if onData != nil {
			if err := onData(rep.Data); err != nil {
				return err
			}
		}
	}
}

// LastWordsWait is how long a cancelled Call still reads the server's
// final reply.
const LastWordsWait = 10 * time.Second
