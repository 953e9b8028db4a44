//go:build windows

package ipc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// endpoint is the named pipe of configDir: the same for every spelling of
// the path (Windows paths ignore case).
func endpoint(configDir string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(configDir)))
	return `\\.\pipe\assist-` + hex.EncodeToString(sum[:12])
}

// listen makes the pipe, which only this user may open. It is the pipe's
// first instance or nothing: a pipe of that name made before, by anyone,
// makes it fail.
func listen(configDir string) (net.Listener, string, error) {
	sid, err := ownSID()
	if err != nil {
		return nil, "", err
	}
	// Protected DACL: full access for this user alone.
	ln, err := winio.ListenPipe(endpoint(configDir), &winio.PipeConfig{
		SecurityDescriptor: "D:P(A;;GA;;;" + sid.String() + ")",
		MessageMode:        true, // so a client can half-close
	})
	if err != nil {
		return nil, "", fmt.Errorf("%w for %s (pipe %s: %v)", ErrBusy, configDir, endpoint(configDir), err)
	}
	return ln, "", nil
}

// dial opens the pipe and makes sure this user's process serves it: a
// pipe another user made first would hear our codes.
func dial(ctx context.Context, configDir string, timeout time.Duration) (net.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := winio.DialPipeContext(ctx, endpoint(configDir))
	if err != nil {
		return nil, ErrNotRunning
	}
	if err := servedByMe(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// servedByMe checks that the pipe's server process runs as this user.
func servedByMe(c net.Conn) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return errors.New("cannot tell who serves the assist pipe")
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return fmt.Errorf("who serves the assist pipe: %w", err)
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Errorf("the assist pipe is served by process %d, which this user cannot look at: %w", pid, err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("the assist pipe's server (process %d): %w", pid, err)
	}
	defer tok.Close()
	user, err := tok.GetTokenUser()
	if err != nil {
		return err
	}
	me, err := ownSID()
	if err != nil {
		return err
	}
	if !user.User.Sid.Equals(me) {
		return fmt.Errorf("the assist pipe is served by another user's process (%d): refusing to talk to it", pid)
	}
	return nil
}

func ownSID() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("this process's user: %w", err)
	}
	return user.User.Sid, nil
}
