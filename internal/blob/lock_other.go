//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package blob

import (
	"errors"
	"os"
)

// LocksSupported reports whether Lock works on this system: not here,
// so every Try fails with errors.ErrUnsupported.
const LocksSupported = false

func flock(*os.File, bool) error { return errors.ErrUnsupported }

func funlock(*os.File) error { return nil }
