package sqlitestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"rookery/internal/blob"
)

// RestoreOptions configure RestoreBackup.
type RestoreOptions struct {
	// Force replaces the store a data directory holds.
	Force bool
	// Copy copies content files even where a hard link would do.
	Copy bool
	// Progress, if set, is called as the verification and the restore
	// advance.
	Progress func(BackupProgress)
}

// VerifyBackup checks that dir is a complete backup whose files match
// its manifest: the database's size and SHA-256, the counts it records,
// and every content file the database references present with its size
// and its hash equal to its name. It changes nothing.
func VerifyBackup(ctx context.Context, dir string, progress func(BackupProgress)) (BackupManifest, error) {
	m, _, err := verifyBackup(ctx, dir, progress)
	return m, err
}

func verifyBackup(ctx context.Context, dir string, progress func(BackupProgress)) (BackupManifest, []fileRow, error) {
	var m BackupManifest
	body, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return m, nil, fmt.Errorf("backup %s: %w", dir, serr)
		}
		return m, nil, fmt.Errorf("backup %s: %w: no %s (the backup did not finish)", dir, ErrIncompleteBackup, ManifestName)
	}
	if err != nil {
		return m, nil, fmt.Errorf("backup %s: %w", dir, err)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, nil, fmt.Errorf("backup %s: %w: %s: %v", dir, ErrCorruptBackup, ManifestName, err)
	}
	if m.Format != backupFormat {
		return m, nil, fmt.Errorf("backup %s: format %d, this rookery reads %d", dir, m.Format, backupFormat)
	}
	dbPath := filepath.Join(dir, dbName)
	sum, n, err := hashFile(ctx, dbPath, func(done int64) {
		if progress != nil {
			progress(BackupProgress{Phase: "verify database", DoneBytes: done, Bytes: m.DatabaseBytes})
		}
	})
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil, fmt.Errorf("backup %s: %w: %s is missing", dir, ErrIncompleteBackup, dbPath)
	}
	if err != nil {
		return m, nil, fmt.Errorf("backup %s: %w", dir, err)
	}
	if n != m.DatabaseBytes || sum != m.DatabaseSHA256 {
		return m, nil, fmt.Errorf("backup %s: %w: %s has %d bytes of SHA-256 %s, the manifest says %d bytes of %s",
			dir, ErrCorruptBackup, dbPath, n, sum, m.DatabaseBytes, m.DatabaseSHA256)
	}
	files, err := backupContents(ctx, dbPath, m)
	if err != nil {
		return m, nil, fmt.Errorf("backup %s: %w", dir, err)
	}
	var done, doneBytes int64
	for _, f := range files {
		if !blob.ValidID(f.id) {
			return m, nil, fmt.Errorf("backup %s: %w: content row %q is not a content address", dir, ErrCorruptBackup, f.id)
		}
		p := filepath.Join(dir, "blobs", f.id[:2], f.id[2:])
		sum, n, err := hashFile(ctx, p, nil)
		if errors.Is(err, fs.ErrNotExist) {
			return m, nil, fmt.Errorf("backup %s: %w: content file %s is missing", dir, ErrIncompleteBackup, p)
		}
		if err != nil {
			return m, nil, fmt.Errorf("backup %s: %w", dir, err)
		}
		if n != f.size || sum != f.id {
			return m, nil, fmt.Errorf("backup %s: %w: content file %s has %d bytes of SHA-256 %s, %d bytes recorded",
				dir, ErrCorruptBackup, p, n, sum, f.size)
		}
		done++
		doneBytes += n
		if progress != nil {
			progress(BackupProgress{Phase: "verify files", Done: done, Total: int64(len(files)), DoneBytes: doneBytes, Bytes: m.FileBytes})
		}
	}
	return m, files, nil
}

// backupContents reads, from a backup's database (checksummed: it is the
// one the manifest describes), the content files it references, and
// compares its counts with the manifest's.
func backupContents(ctx context.Context, dbPath string, m BackupManifest) ([]fileRow, error) {
	// immutable: the file is read where it lies, no journal, no lock.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var accounts, mailboxes, messages int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM mailboxes), (SELECT count(*) FROM messages)`).
		Scan(&accounts, &mailboxes, &messages); err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrCorruptBackup, dbPath, err)
	}
	if accounts != m.Accounts || mailboxes != m.Mailboxes || messages != m.Messages {
		return nil, fmt.Errorf("%w: %s holds %d accounts, %d mailboxes, %d messages; the manifest says %d, %d, %d",
			ErrCorruptBackup, dbPath, accounts, mailboxes, messages, m.Accounts, m.Mailboxes, m.Messages)
	}
	files, err := listFiles(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptBackup, dbPath, err)
	}
	var bytes int64
	for _, f := range files {
		bytes += f.size
	}
	if int64(len(files)) != m.Files || bytes != m.FileBytes {
		return nil, fmt.Errorf("%w: %s references %d content files of %d bytes; the manifest says %d of %d",
			ErrCorruptBackup, dbPath, len(files), bytes, m.Files, m.FileBytes)
	}
	return files, nil
}

// hashFile returns the SHA-256 and size of a file, reporting the bytes
// read so far to progress (if set) every 16 MiB.
func hashFile(ctx context.Context, path string, progress func(done int64)) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		k, rerr := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if progress != nil && (n%(16<<20) < int64(k) || rerr == io.EOF) {
			progress(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", n, fmt.Errorf("read %s: %w", path, rerr)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// RestoreBackup verifies the backup in dir and then makes dataDir hold
// what it holds. dataDir must not hold a store unless opts.Force is set,
// or it holds an interrupted restore (which this one replaces); no
// process may have it open (rookery serve, deliver, check, backup): the
// restore holds the directory's use lock exclusively throughout, so no
// server starts meanwhile. Until it completes, dataDir carries a marker
// (restore-in-progress) that makes Open refuse it; running the restore
// again completes it.
func RestoreBackup(ctx context.Context, dir, dataDir string, opts RestoreOptions) (BackupManifest, error) {
	if !blob.LocksSupported {
		return BackupManifest{}, fmt.Errorf("restore: file locks are not supported on this system")
	}
	if same, err := sameOrInside(dir, dataDir); err != nil || same {
		if err == nil {
			err = fmt.Errorf("the backup %s is the data directory %s or inside it", dir, dataDir)
		}
		return BackupManifest{}, fmt.Errorf("restore: %w", err)
	}
	if err := blob.MkdirAllSynced(nil, dataDir); err != nil {
		return BackupManifest{}, fmt.Errorf("restore: create %s: %w", dataDir, err)
	}
	use, err := blob.OpenLock(filepath.Join(dataDir, useLockName))
	if err != nil {
		return BackupManifest{}, fmt.Errorf("restore: %w", err)
	}
	defer use.Close()
	if err := use.TryExclusive(); err != nil {
		if errors.Is(err, blob.ErrLocked) {
			return BackupManifest{}, fmt.Errorf("restore: %w: a rookery process (serve, deliver, check, backup, ...) has %s open: %v", ErrInUse, dataDir, err)
		}
		return BackupManifest{}, fmt.Errorf("restore: %w", err)
	}
	marker := filepath.Join(dataDir, restoringName)
	_, err = os.Stat(marker)
	interrupted := err == nil
	if !interrupted && !opts.Force {
		holds, err := holdsStore(dataDir)
		if err != nil {
			return BackupManifest{}, fmt.Errorf("restore: %w", err)
		}
		if holds != "" {
			return BackupManifest{}, fmt.Errorf("restore: %w: %s has %s (--force replaces it)", ErrNotEmpty, dataDir, holds)
		}
	}
	m, files, err := verifyBackup(ctx, dir, opts.Progress)
	if err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	// From here on the directory is recognisably being restored.
	if err := writeFileSynced(marker, []byte("restore of "+dir+" in progress: rookery restore completes it\n")); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := (blob.OSFS{}).SyncDir(dataDir); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	for _, name := range []string{dbName, dbName + "-wal", dbName + "-shm", dbName + "-journal", dbName + ".restoring"} {
		if err := os.Remove(filepath.Join(dataDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("restore: remove the old store: %w", err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dataDir, "blobs")); err != nil {
		return m, fmt.Errorf("restore: remove the old store: %w", err)
	}
	if err := (blob.OSFS{}).SyncDir(dataDir); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	var scratch BackupManifest
	if err := copyContentFiles(ctx, filepath.Join(dir, "blobs"), filepath.Join(dataDir, "blobs"), files, !opts.Copy, nil, &scratch, opts.Progress); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	tmp := filepath.Join(dataDir, dbName+".restoring")
	if opts.Progress != nil {
		opts.Progress(BackupProgress{Phase: "database", Bytes: m.DatabaseBytes})
	}
	if err := copyFileSynced(ctx, filepath.Join(dir, dbName), tmp, nil); err != nil {
		return m, fmt.Errorf("restore: copy the database: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, dbName)); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := (blob.OSFS{}).SyncDir(dataDir); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if opts.Progress != nil {
		opts.Progress(BackupProgress{Phase: "database", DoneBytes: m.DatabaseBytes, Bytes: m.DatabaseBytes})
	}
	if err := os.Remove(marker); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if err := (blob.OSFS{}).SyncDir(dataDir); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	return m, nil
}

// holdsStore says what of a store dataDir holds ("" for nothing): the
// database, or a content file. Other files (a certificate, the lock
// files) do not count.
func holdsStore(dataDir string) (string, error) {
	for _, name := range []string{dbName, dbName + "-wal"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err == nil {
			return name, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	found := ""
	err := filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(filepath.Base(filepath.Dir(p)), "tmp") {
			found = "content files (" + p + ")"
			return fs.SkipAll
		}
		return nil
	})
	return found, err
}

// sameOrInside reports whether dir is parent or a directory under it.
func sameOrInside(dir, parent string) (bool, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	p, err := filepath.Abs(parent)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(p, d)
	if err != nil {
		return false, nil
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}
