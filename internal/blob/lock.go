package blob

import (
	"errors"
	"fmt"
	"os"
)

// ErrLocked is returned by the Try methods of Lock when another holder
// has the lock in a conflicting mode.
var ErrLocked = errors.New("locked by another process")

// Lock is an advisory lock on a file (flock on Unix), shared between
// processes: a lock is held per open Lock, so two Locks on the same file in
// one process conflict as two processes would. The data directory of the
// embedded store has two: one held shared by every process that has the
// store open (exclusively by a restore), and one that blob-file deletion
// takes exclusively and an online backup holds shared, so that no file a
// backup's database snapshot references is deleted before it is copied.
type Lock struct {
	f    *os.File
	path string
}

// OpenLock opens (creating if needed) the lock file path, unlocked.
func OpenLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// TryShared takes the lock shared without waiting: ErrLocked when it is
// held exclusively.
func (l *Lock) TryShared() error { return l.try(false) }

// TryExclusive takes the lock exclusively without waiting: ErrLocked when
// it is held in any mode by another Lock.
func (l *Lock) TryExclusive() error { return l.try(true) }

func (l *Lock) try(exclusive bool) error {
	if err := flock(l.f, exclusive); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return nil
}

// Unlock releases the lock (the file stays open for the next Try).
func (l *Lock) Unlock() error {
	if err := funlock(l.f); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// Close releases the lock and closes its file.
func (l *Lock) Close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
