//go:build windows

package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// On Windows the endpoint is a named pipe: one process per configuration
// (whatever the path's case), requests and their replies, and the name is
// free again once the process closes it. (make test runs this under Wine.)
func TestTheNamedPipeServesOneProcessPerDirectory(t *testing.T) {
	// Not t.TempDir: Wine 8 cannot remove a directory the way Go 1.27 asks.
	dir, err := os.MkdirTemp("", "assist-ipc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Call(ctx, dir, Request{Op: "x"}, nil, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("nobody running: %v", err)
	}
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(strings.ToUpper(dir)); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second process, the path spelt in capitals: %v", err)
	}
	go srv.Serve(ctx, func(ctx context.Context, req Request, in io.Reader, send func(any) error) error {
		if req.Op != "echo" {
			return errors.New("no such op")
		}
		var n int
		_ = json.Unmarshal(req.Args, &n)
		for i := range n {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	var got []int
	err = Call(ctx, dir, Request{Op: "echo", Args: json.RawMessage("3")}, nil, func(d json.RawMessage) error {
		var i int
		err := json.Unmarshal(d, &i)
		got = append(got, i)
		return err
	})
	if err != nil || len(got) != 3 || got[2] != 2 {
		t.Fatalf("echo 3: %v %v", got, err)
	}
	short, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	err = Call(short, dir, Request{Op: "nope"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no such op") {
		t.Fatalf("an unknown op: %v", err)
	}
	srv.Close()
	if err := Call(ctx, dir, Request{Op: "x"}, nil, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after close: %v", err)
	}
	again, err := Listen(dir)
	if err != nil {
		t.Fatalf("listen again after close: %v", err)
	}
	again.Close()
}
