//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

// fdLimit is unknown here.
func fdLimit() (uint64, bool) { return 0, false }
