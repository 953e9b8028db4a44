//go:build !linux && !windows

package desktop

import "errors"

// RegisterLinks: macOS learns a program's links from an application
// bundle's Info.plist (Launch Services), which a bare binary does not have.
func RegisterLinks(string) (string, error) {
	return "", errors.New("registering assist:// links needs an application bundle on macOS, which assist does not ship yet: use 'assist join KEY'")
}
