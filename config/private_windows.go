//go:build windows

package config

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"assist/internal/wine"
)

// Well-known accounts that may always read a user's files on Windows.
var trusted = []string{
	"S-1-5-18",     // SYSTEM
	"S-1-5-32-544", // Administrators
}

// makePrivate gives path an access list of its own, not inherited, that
// lets this user alone in (and, for a directory, everything made in it
// later): on Windows a file's mode bits mean nothing.
func makePrivate(path string, dir bool) error {
	sid, err := ownSID()
	if err != nil {
		return err
	}
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;" + inherit + ";FA;;;" + sid.String() + ")")
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}

// exposedTo names an account other than this user (and the system's own)
// that path's access list lets in, or "" when there is none. Under Wine it
// is always "": Wine keeps no access list of its own for a file on a Unix
// file system but makes one up from the mode bits, which Windows programs
// cannot set, so every file would seem open to Everyone.
func exposedTo(path string) (string, error) {
	if wine.Detected() {
		return "", nil
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return "", err
	}
	if dacl == nil {
		return "everyone (no access list)", nil
	}
	me, err := ownSID()
	if err != nil {
		return "", err
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return "", err
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.Equals(me) || isTrusted(sid) {
			continue
		}
		if account, domain, _, err := sid.LookupAccount(""); err == nil {
			return domain + `\` + account, nil
		}
		return sid.String(), nil
	}
	return "", nil
}

func isTrusted(sid *windows.SID) bool {
	for _, s := range trusted {
		if sid.String() == s {
			return true
		}
	}
	return false
}

func ownSID() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("this process's user: %w", err)
	}
	return user.User.Sid, nil
}
