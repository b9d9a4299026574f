//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package blob

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// LocksSupported reports whether Lock works on this system.
const LocksSupported = true

func flock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return ErrLocked
		}
		return err
	}
}

func funlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
