// Package config finds the user's config directory, keeps the user's libp2p
// identity there, and reads the settings file (which rendezvous nodes to use).
//
// The config directory is $ASSIST_HOME, else $XDG_CONFIG_HOME/assist, else
// the platform's user config directory plus "assist".
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

const (
	// EnvHome overrides the config directory.
	EnvHome = "ASSIST_HOME"
	// EnvRendezvous lists rendezvous addresses, separated by commas or spaces.
	EnvRendezvous = "ASSIST_RENDEZVOUS"
	// SettingsFile is the name of the settings file in the config directory.
	SettingsFile = "config.json"
)

// ErrNoRendezvous means no rendezvous node is configured anywhere.
var ErrNoRendezvous = errors.New("no rendezvous node configured")

// Dir returns the config directory; it does not create it.
func Dir() (string, error) {
	if d := os.Getenv(EnvHome); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "assist"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory (set %s): %w", EnvHome, err)
	}
	return filepath.Join(d, "assist"), nil
}

// EnsureDir creates dir, readable by its owner only, if it does not exist.
func EnsureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	return makePrivate(dir, true)
}

// Settings is the content of config.json.
type Settings struct {
	// Rendezvous lists full multiaddrs of rendezvous nodes, with /p2p/ID.
	Rendezvous []string `json:"rendezvous,omitempty"`
	// Name is the name a rep shows to customers and colleagues.
	Name string `json:"name,omitempty"`
}

// LoadSettings reads config.json in dir; a missing file gives empty settings.
func LoadSettings(dir string) (Settings, error) {
	path := filepath.Join(dir, SettingsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("settings file %s is not valid JSON (%v): fix or delete it", path, err)
	}
	return s, nil
}

// RendezvousAddrs picks the rendezvous addresses: flags first, then the
// environment, then the settings file. Each must be a multiaddr with /p2p/.
func RendezvousAddrs(flags []string, dir string) ([]ma.Multiaddr, error) {
	raw, source := flags, "--rendezvous"
	if len(raw) == 0 {
		raw, source = strings.Fields(strings.ReplaceAll(os.Getenv(EnvRendezvous), ",", " ")), EnvRendezvous
	}
	if len(raw) == 0 {
		s, err := LoadSettings(dir)
		if err != nil {
			return nil, err
		}
		raw, source = s.Rendezvous, filepath.Join(dir, SettingsFile)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: pass --rendezvous /ip4/HOST/udp/PORT/quic-v1/p2p/ID (as printed by 'assist rendezvous'), "+
			"or set %s to it, or put {\"rendezvous\": [\"...\"]} in %s", ErrNoRendezvous, EnvRendezvous, filepath.Join(dir, SettingsFile))
	}
	addrs := make([]ma.Multiaddr, 0, len(raw))
	for _, r := range raw {
		a, err := ma.NewMultiaddr(r)
		if err != nil {
			return nil, fmt.Errorf("rendezvous address %q from %s: %w", r, source, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, fmt.Errorf("rendezvous address %q from %s has no /p2p/ID part: copy the full address 'assist rendezvous' prints", r, source)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}
