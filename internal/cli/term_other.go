//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import (
	"errors"
	"os"
)

// isTerminal reports false: reading a password without echo is not
// supported on this system, so --password-stdin is required.
func isTerminal(*os.File) bool { return false }

func disableEcho(*os.File) (func(), error) {
	return nil, errors.New("terminal input is not supported on this system")
}
