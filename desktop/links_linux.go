//go:build linux

package desktop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// RegisterLinks makes exe the handler of assist:// links for this user: a
// desktop entry in ~/.local/share/applications (what 'make install' puts
// in its prefix) that runs 'assist join LINK' in a terminal, made the
// default for the scheme with xdg-mime where it is installed.
func RegisterLinks(exe string) (string, error) {
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		data = filepath.Join(home, ".local", "share")
	}
	apps := filepath.Join(data, "applications")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		return "", err
	}
	entry := filepath.Join(apps, "assist.desktop")
	body := fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=assist
Comment=Join a remote support session
Exec=%q join %%u
Terminal=true
NoDisplay=true
Categories=Network;RemoteAccess;
MimeType=x-scheme-handler/assist;
`, exe)
	if err := os.WriteFile(entry, []byte(body), 0o644); err != nil {
		return "", err
	}
	if path, err := exec.LookPath("xdg-mime"); err == nil {
		if out, err := exec.Command(path, "default", "assist.desktop", "x-scheme-handler/assist").CombinedOutput(); err != nil {
			return entry, fmt.Errorf("xdg-mime: %v: %s", err, out)
		}
	}
	return entry, nil
}
