//go:build unix

package ipc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// SocketPath is where the process for configDir listens. Unix socket
// paths are short (108 bytes), so a long config path maps to a hashed
// name in a private directory under the system's temp dir.
func SocketPath(configDir string) string {
	p := filepath.Join(configDir, "agent.sock")
	if len(p) < 100 {
		return p
	}
	sum := sha256.Sum256([]byte(configDir))
	return filepath.Join(os.TempDir(), fmt.Sprintf("assist-%d", os.Getuid()), hex.EncodeToString(sum[:8])+".sock")
}

// checkPrivate makes sure a socket in the shared temp dir (the fallback
// for long config paths) is in a directory this user alone owns: its name
// is predictable, and a directory another user made first could hold
// their socket, which would then hear the codes and commands sent to it.
func checkPrivate(configDir, socket string) error {
	dir := filepath.Dir(socket)
	if dir == filepath.Clean(configDir) {
		return nil
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	owner, known := ownerOf(st)
	switch {
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory (a link?): remove it; assist keeps its socket there", dir)
	case known && owner != os.Getuid():
		return fmt.Errorf("%s belongs to user %d, not to you: remove it (assist keeps its socket there), or set ASSIST_HOME to a shorter path", dir, owner)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s can be used by other users (mode %04o): run 'chmod 700 %s'", dir, st.Mode().Perm(), dir)
	}
	return nil
}

// endpoint names the socket, for messages.
func endpoint(configDir string) string { return SocketPath(configDir) }

// listen makes the socket, readable and writable by this user alone.
func listen(configDir string) (net.Listener, string, error) {
	path := SocketPath(configDir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", err
	}
	if err := checkPrivate(configDir, path); err != nil {
		return nil, "", err
	}
	_ = os.Remove(path) // stale: nobody answered
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", path, err)
	}
	return ln, path, nil
}

// dial connects to the socket; ErrNotRunning if nobody listens. A socket
// in a directory that is not this user's alone is refused: someone else's
// socket would hear our codes.
func dial(ctx context.Context, configDir string, timeout time.Duration) (net.Conn, error) {
	path := SocketPath(configDir)
	if err := checkPrivate(configDir, path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotRunning
		}
		return nil, err
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, ErrNotRunning
	}
	return c, nil
}

// ownerOf is the user that owns a file.
func ownerOf(st os.FileInfo) (uid int, known bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(sys.Uid), true
}
