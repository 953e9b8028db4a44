// Package redislab runs a real redis-server for tests: on a free loopback
// port, with its own data directory and an append-only file, so that a
// restart keeps what was written.
package redislab

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process.
type Server struct {
	// Addr is host:port.
	Addr  string
	t     testing.TB
	dir   string
	extra []string
	// sentinel, for a Redis Sentinel, is its configuration file.
	sentinel string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start starts redis-server and stops it when the test ends. Every write
// reaches the disk before Redis answers (appendfsync always), so even a
// SIGKILL loses nothing; extra arguments override that and the rest
// (e.g. "--appendfsync", "everysec", as production runs). Without
// redis-server the test is skipped, or fails under CI (make test
// installs it).
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no redis-server (%v); 'make test' installs it", err)
		}
		t.Skip("SKIPPED: no redis-server; 'make test' installs it")
	}
	s := &Server{t: t, dir: t.TempDir(), extra: extra}
	s.listen()
	t.Cleanup(s.Kill)
	return s
}

// StartSentinel starts a Redis Sentinel watching primary as master name,
// quick to act (down after 500 ms) as a test wants, and stops it when
// the test ends.
func StartSentinel(t testing.TB, primary *Server, name string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir()}
	host, port, _ := net.SplitHostPort(primary.Addr)
	s.sentinel = filepath.Join(s.dir, "sentinel.conf")
	conf := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 1\nsentinel down-after-milliseconds %[1]s 500\nsentinel failover-timeout %[1]s 5000\n", name, host, port)
	if err := os.WriteFile(s.sentinel, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.listen()
	t.Cleanup(s.Kill)
	return s
}

// listen starts the server on a free port. A port found free may be
// taken before redis binds it: it tries again with another.
func (s *Server) listen() {
	t := s.t
	t.Helper()
	var err error
	for range 5 {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// URL is the server's address as 'assist rendezvous --store' takes it.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client is a go-redis client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1",
		"--dir", s.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--logfile", ""}, s.extra...)
	ready := "Ready to accept connections"
	if s.sentinel != "" {
		args = []string{s.sentinel, "--sentinel", "--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
			"--daemonize", "no", "--logfile", ""}
		ready = "+monitor master"
	}
	cmd := exec.Command("redis-server", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	up := make(chan struct{})
	s.cmd, s.done = cmd, make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if log.Len() < 16<<10 {
				log.WriteString(sc.Text() + "\n")
			}
			if !said && strings.Contains(sc.Text(), ready) {
				said = true
				close(up)
			}
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case <-up:
		return nil
	case <-s.done:
		return fmt.Errorf("redis-server on %s exited: %s", s.Addr, log.String())
	case <-time.After(20 * time.Second):
		s.Kill()
		return fmt.Errorf("redis-server on %s not ready after 20 s", s.Addr)
	}
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server (SIGKILL) and waits for it.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.Stop()
	}
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// UsedMemory is Redis's used_memory in bytes.
func (s *Server) UsedMemory(ctx context.Context) (int64, error) {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
