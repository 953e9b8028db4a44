//go:build !linux && !windows && !darwin

package desktop

import (
	"fmt"
	"runtime"
)

func detect() (Backend, error) {
	return nil, fmt.Errorf("assist cannot share a %s desktop yet", runtime.GOOS)
}
