//go:build windows

package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"assist/internal/wine"
)

// The identity file is this user's alone by its access list, and one that
// lets others read it is refused, naming who. Wine keeps no access lists
// on Unix files, so this runs on Windows only.
func TestTheIdentityIsThisUsersAloneByItsAccessList(t *testing.T) {
	if wine.Detected() {
		t.Skip("SKIPPED: Wine keeps no access lists of its own on a Unix file system")
	}
	dir := filepath.Join(t.TempDir(), "assist")
	if _, err := LoadOrCreateIdentity(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, IdentityFile)
	for _, p := range []string{dir, path} {
		if who, err := exposedTo(p); err != nil || who != "" {
			t.Fatalf("%s is open to %q (%v)", p, who, err)
		}
	}
	if _, err := LoadOrCreateIdentity(dir); err != nil {
		t.Fatalf("loading the private identity: %v", err)
	}
	// Everyone may read it now.
	me, err := ownSID()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FR;;;WD)(A;;FA;;;" + me.String() + ")")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreateIdentity(dir)
	if !errors.Is(err, ErrIdentityExposed) || !strings.Contains(err.Error(), "Everyone") {
		t.Fatalf("an identity everyone may read: %v", err)
	}
}
