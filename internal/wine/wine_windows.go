//go:build windows

// Package wine tells whether this Windows program runs under Wine, where
// a few things Windows does are not there (see its callers).
package wine

import "golang.org/x/sys/windows"

// Detected: Wine's ntdll exports wine_get_version; Windows' does not.
func Detected() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
