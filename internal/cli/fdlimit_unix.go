//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import "syscall"

// fdLimit is the number of files the process may open (RLIMIT_NOFILE's
// soft limit, which the Go runtime raises to the hard one at start).
func fdLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return uint64(r.Cur), true
}
