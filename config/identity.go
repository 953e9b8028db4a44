package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// IdentityFile is the name of the key file in a config or data directory.
const IdentityFile = "identity.key"

var (
	// ErrIdentityCorrupt means the key file exists but cannot be read as a key.
	ErrIdentityCorrupt = errors.New("identity key file is corrupt")
	// ErrIdentityExposed means other users can read or change the key file.
	ErrIdentityExposed = errors.New("identity key file is readable by other users")
)

// LoadOrCreateIdentity returns the Ed25519 key in dir/identity.key, creating
// it (mode 0600) on first use. A key that exists but is corrupt or readable
// by others is refused, never replaced: a peer ID is how others know this
// user, and it must not change under them.
func LoadOrCreateIdentity(dir string) (crypto.PrivKey, error) {
	path := filepath.Join(dir, IdentityFile)
	key, err := loadIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := EnsureDir(dir); err != nil {
		return nil, err
	}
	key, _, err = crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode identity: %w", err)
	}
	// Created whole or not at all, and once: of two processes starting
	// at once one writes the key, the other reads it; a crash while
	// writing leaves no half key that would block every start after.
	err = CreateFileOnce(path, b, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadIdentity(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	return key, nil
}

func loadIdentity(path string) (crypto.PrivKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// Windows keeps a file private with its access list, not with mode
	// bits, which it reports as 0666.
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run 'chmod 600 %s' and check nobody copied it",
			ErrIdentityExposed, path, st.Mode().Perm(), path)
	}
	if who, err := exposedTo(path); err != nil {
		return nil, fmt.Errorf("read who may use %s: %w", path, err)
	} else if who != "" {
		return nil, fmt.Errorf("%w: %s can be read by %s; remove that account from the file's Security settings (Properties → Security) and check nobody copied it",
			ErrIdentityExposed, path, who)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%v); restore it from a backup, or move it away to start with a new identity (others will see a new peer ID)",
			ErrIdentityCorrupt, path, err)
	}
	if key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%w: %s holds a %v key, want Ed25519", ErrIdentityCorrupt, path, key.Type())
	}
	return key, nil
}
