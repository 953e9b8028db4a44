//go:build !linux && !windows

package desktop

import (
	"fmt"
	"runtime"
)

func detect() (Backend, error) {
	return nil, fmt.Errorf("assist cannot share a %s desktop yet", runtime.GOOS)
}
