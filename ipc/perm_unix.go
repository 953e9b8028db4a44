//go:build unix

package ipc

import (
	"net"
	"os"
	"syscall"
)

// unixModes: a file's mode says who may use it.
const unixModes = true

// listenPrivate listens on a socket only its user may connect to.
func listenPrivate(path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.Listen("unix", path)
}

// ownerOf is the user that owns a file.
func ownerOf(st os.FileInfo) (uid int, known bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(sys.Uid), true
}
