//go:build !windows

package config

// makePrivate: a file's mode bits (0600, 0700) keep it private here.
func makePrivate(string, bool) error { return nil }

// exposedTo: the mode bits say it; see loadIdentity.
func exposedTo(string) (string, error) { return "", nil }
