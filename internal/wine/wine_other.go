//go:build !windows

// Package wine tells whether this Windows program runs under Wine, where
// a few things Windows does are not there (see its callers).
package wine

// Detected: only a Windows program can run under Wine.
func Detected() bool { return false }
