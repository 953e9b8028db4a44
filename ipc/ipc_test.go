//go:build unix

package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOneProcessPerDirectoryAndRequests(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Call(ctx, dir, req("x", nil), nil, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("nobody running: %v", err)
	}
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if fi, err := os.Stat(SocketPath(dir)); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("socket mode %v %v: others could connect", fi.Mode(), err)
	}
	if _, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second process: %v", err)
	}
	go srv.Serve(ctx, func(ctx context.Context, req Request, in io.Reader, send func(any) error) error {
		switch req.Op {
		case "echo":
			var n int
			_ = json.Unmarshal(req.Args, &n)
			for i := range n {
				if err := send(i); err != nil {
					return err
				}
			}
			return nil
		case "stream":
			first := make([]byte, len("typed"))
			if _, err := io.ReadFull(in, first); err != nil {
				return err
			}
			if err := send("ready"); err != nil {
				return err
			}
			rest, _ := io.ReadAll(in) // until the client goes away
			return send(string(first) + string(rest))
		}
		return errors.New("unknown request")
	})
	var got []int
	err = Call(ctx, dir, req("echo", 3), nil, func(d json.RawMessage) error {
		var i int
		_ = json.Unmarshal(d, &i)
		got = append(got, i)
		return nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("echo: %v %v", got, err)
	}
	if err := Call(ctx, dir, req("nonsense", nil), nil, nil); err == nil || err.Error() != "unknown request" {
		t.Fatalf("server error not passed on: %v", err)
	}
	// A cancelled streaming call still gets the server's last words.
	// (Cancelled once the server has the input, as Ctrl-C after typing.)
	sctx, scancel := context.WithCancel(ctx)
	var last string
	err = Call(sctx, dir, req("stream", nil), strings.NewReader("typed"), func(d json.RawMessage) error {
		if err := json.Unmarshal(d, &last); err != nil {
			return err
		}
		if last == "ready" {
			scancel()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if last != "typed" {
		t.Fatalf("stream: got %q", last)
	}
}

func req(op string, args any) Request {
	r := Request{Op: op, V: 1}
	if args != nil {
		r.Args, _ = json.Marshal(args)
	}
	return r
}

func TestStaleSocketIsReplacedAndLongPathsFit(t *testing.T) {
	dir := t.TempDir()
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv.ln.Close() // as after a crash: the file stays, nobody answers
	srv2, err := Listen(dir)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	srv2.Close()
	long := dir + "/" + strings.Repeat("d", 120)
	if p := SocketPath(long); len(p) >= 100 {
		t.Fatalf("socket path %q too long for a Unix socket", p)
	}
}

// TestASocketDirectoryOthersCanUseIsRefused: the fallback directory in
// the shared temp dir has a predictable name. Before, one that another
// user made first (or left open to all) was used as found, so their
// socket could hear our codes.
func TestASocketDirectoryOthersCanUseIsRefused(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	long := t.TempDir() + "/" + strings.Repeat("d", 120)
	dir := filepath.Dir(SocketPath(long))
	if !strings.HasPrefix(dir, tmp) {
		t.Fatalf("fallback socket dir %s is not under TMPDIR", dir)
	}
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if srv, err := Listen(long); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		if srv != nil {
			srv.Close()
		}
		t.Fatalf("listening in a directory open to all: %v", err)
	}
	if err := Call(context.Background(), long, Request{Op: "x"}, nil, nil); err == nil || errors.Is(err, ErrNotRunning) {
		t.Fatalf("calling through a directory open to all: %v", err)
	}
	if os.Getuid() == 0 { // as root, make it someone else's
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(long); err == nil || !strings.Contains(err.Error(), "belongs to user 4242") {
			t.Fatalf("listening in another user's directory: %v", err)
		}
	}
}
