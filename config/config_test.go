package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentityPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "assist")
	k1, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, IdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o, want 600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equals(k2) {
		t.Fatal("identity changed between loads")
	}
}

func TestIdentityRefusesCorruptKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, IdentityFile)
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateIdentity(dir)
	if !errors.Is(err, ErrIdentityCorrupt) {
		t.Fatalf("err = %v, want ErrIdentityCorrupt", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "garbage" {
		t.Fatal("corrupt key file was overwritten")
	}
}

func TestIdentityRefusesWorldReadableKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateIdentity(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, IdentityFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateIdentity(dir)
	if !errors.Is(err, ErrIdentityExposed) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want ErrIdentityExposed with advice", err)
	}
}

const testAddr = "/ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE"

func TestRendezvousAddrsPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvRendezvous, "")
	if _, err := RendezvousAddrs(nil, dir); !errors.Is(err, ErrNoRendezvous) || !strings.Contains(err.Error(), "--rendezvous") {
		t.Fatalf("no config: err = %v", err)
	}
	settings := `{"rendezvous": ["` + testAddr + `"]}`
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := RendezvousAddrs(nil, dir)
	if err != nil || len(got) != 1 || got[0].String() != testAddr {
		t.Fatalf("from file: %v %v", got, err)
	}
	envAddr := strings.Replace(testAddr, "4001", "4002", 1)
	t.Setenv(EnvRendezvous, envAddr)
	got, err = RendezvousAddrs(nil, dir)
	if err != nil || got[0].String() != envAddr {
		t.Fatalf("from env: %v %v", got, err)
	}
	flagAddr := strings.Replace(testAddr, "4001", "4003", 1)
	got, err = RendezvousAddrs([]string{flagAddr}, dir)
	if err != nil || got[0].String() != flagAddr {
		t.Fatalf("from flag: %v %v", got, err)
	}
}

func TestRendezvousAddrsRejectsBadAddress(t *testing.T) {
	t.Setenv(EnvRendezvous, "")
	if _, err := RendezvousAddrs([]string{"/ip4/127.0.0.1/tcp/4001"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "/p2p/") {
		t.Fatalf("address without peer ID: err = %v", err)
	}
	if _, err := RendezvousAddrs([]string{"localhost:4001"}, t.TempDir()); err == nil {
		t.Fatal("non-multiaddr accepted")
	}
}
