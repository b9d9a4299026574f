package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"rookery/internal/blob"
)

// Files of the data directory besides the database and blobs/.
const (
	// useLockName is held shared by every process that has the store
	// open (serve, deliver, check, user, reindex) and by a backup;
	// a restore takes it exclusively, so it never replaces the files
	// under a running server, and no server starts during a restore.
	useLockName = "rookery.lock"
	// gcLockName is taken exclusively (without waiting) while blob
	// files are deleted, and held shared by an online backup from
	// before its database snapshot until its last file is copied: a
	// file that lost its last reference after the snapshot is then
	// kept, and deleted once the backup is done (writer.deferred).
	gcLockName = "gc.lock"
	// restoringName marks a data directory a restore is writing: Open
	// refuses it until a restore completes and removes it.
	restoringName = "restore-in-progress"
)

// openLocks opens the data directory's locks and takes the use lock
// shared. A directory being restored, or a restore holding the use lock,
// makes it fail.
func openLocks(dir string, log *slog.Logger) (use, gc *blob.Lock, err error) {
	if _, err := os.Stat(filepath.Join(dir, restoringName)); err == nil {
		return nil, nil, fmt.Errorf("sqlitestore: %s holds an interrupted restore (%s): run rookery restore again", dir, restoringName)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("sqlitestore: %w", err)
	}
	use, err = blob.OpenLock(filepath.Join(dir, useLockName))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := use.TryShared(); err != nil {
		if errors.Is(err, blob.ErrLocked) {
			_ = use.Close()
			return nil, nil, fmt.Errorf("sqlitestore: %s is being restored (rookery restore holds it): %w", dir, err)
		}
		log.Warn("data directory lock unavailable: rookery restore cannot tell that the store is open", "err", err)
	}
	gc, err = blob.OpenLock(filepath.Join(dir, gcLockName))
	if err != nil {
		_ = use.Close()
		return nil, nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return use, gc, nil
}

// lockGC takes the GC lock exclusively for deleting blob files:
// blob.ErrLocked while a backup holds it. Where locks are not supported
// (no online backup either) deleting goes ahead.
func (s *Store) lockGC() (unlock func(), err error) {
	if err := s.gcLock.TryExclusive(); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return func() {}, nil
		}
		return nil, err
	}
	return func() {
		if err := s.gcLock.Unlock(); err != nil {
			s.log.Warn("releasing the blob deletion lock", "err", err)
		}
	}, nil
}
