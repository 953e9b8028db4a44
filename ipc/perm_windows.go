//go:build windows

package ipc

import (
	"net"
	"os"
)

// unixModes: on Windows a file's access list, not its mode bits, says who
// may use it.
const unixModes = false

// listenPrivate listens on a socket in the user's own profile directory,
// whose access list already keeps other users out.
func listenPrivate(path string) (net.Listener, error) { return net.Listen("unix", path) }

// ownerOf: Windows files have no Unix owner; the directory's access list
// is the profile's.
func ownerOf(os.FileInfo) (uid int, known bool) { return 0, false }
