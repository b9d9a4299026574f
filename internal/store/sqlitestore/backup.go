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
	"syscall"
	"time"

	sqlite "modernc.org/sqlite"

	"rookery/internal/blob"
)

// An online backup of a data directory (rookery backup) is a directory:
//
//	BACKUP/rookery.db            the database as of one instant
//	BACKUP/blobs/ab/cdef…        every content file that database references
//	BACKUP/rookery-backup.json   the manifest, written last
//
// The database is copied with SQLite's online backup API inside one read
// transaction (a WAL snapshot: the server keeps committing meanwhile),
// a few pages per step so that the copy can be throttled. Content files
// are immutable and named by their hash, so a hard link is as good as a
// copy; across file systems they are copied and fsynced. A file can lose
// its last reference after the snapshot and be deleted by the server
// before it is copied; to prevent that, the backup holds the GC lock
// (locks.go) shared from before the snapshot until the last file is
// copied, and the store deletes files only while it can take that lock
// exclusively, keeping the others for later (writer.deferred). Without
// the manifest a directory is an incomplete backup: restore refuses it.

// ManifestName is the file that marks a backup complete.
const ManifestName = "rookery-backup.json"

// backupFormat is the manifest's format version.
const backupFormat = 1

// dbName is the database file's name, in a data directory and a backup.
const dbName = "rookery.db"

// Errors of backups and restores.
var (
	// ErrIncompleteBackup: the directory has no manifest (a backup that
	// did not finish) or misses a file its manifest implies.
	ErrIncompleteBackup = errors.New("incomplete backup")
	// ErrCorruptBackup: a file of the backup does not match its
	// manifest (checksum, size, count) or its name.
	ErrCorruptBackup = errors.New("corrupt backup")
	// ErrNotEmpty: a restore's data directory holds a store.
	ErrNotEmpty = errors.New("data directory holds a store")
	// ErrInUse: a process has the data directory's store open.
	ErrInUse = errors.New("data directory in use")
)

// BackupManifest describes a complete backup.
type BackupManifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Source is the data directory backed up.
	Source string `json:"source"`
	// SchemaVersion is the database's highest applied migration.
	SchemaVersion int64 `json:"schema_version"`
	// DatabaseBytes and DatabaseSHA256 describe BACKUP/rookery.db.
	DatabaseBytes  int64  `json:"database_bytes"`
	DatabaseSHA256 string `json:"database_sha256"`
	// What the snapshot holds.
	Accounts  int64 `json:"accounts"`
	Mailboxes int64 `json:"mailboxes"`
	Messages  int64 `json:"messages"`
	// Files and FileBytes count the content files (contents larger
	// than inlineMax); Linked how many of them are hard links.
	Files     int64 `json:"files"`
	FileBytes int64 `json:"file_bytes"`
	Linked    int64 `json:"linked_files"`
}

// BackupProgress is reported as a backup, verification or restore
// advances: Phase is "database" (bytes of the database) or "files"
// (content files and their bytes).
type BackupProgress struct {
	Phase            string
	Done, Total      int64
	DoneBytes, Bytes int64
}

// BackupOptions configure Backup.
type BackupOptions struct {
	// Copy copies content files even where a hard link would do.
	Copy bool
	// BytesPerSecond bounds the rate at which the database and copied
	// files are read and written (0: no bound), to spare a live
	// server's disk.
	BytesPerSecond int64
	// Progress, if set, is called as the backup advances.
	Progress func(BackupProgress)
}

// backupStepPages is how many database pages one backup step copies:
// the step holds the source's pager, and a throttled backup sleeps
// between steps.
const backupStepPages = 256

// gcLockWait bounds how long Backup waits for the GC lock, which the
// store holds only while it deletes a batch's files.
const gcLockWait = 30 * time.Second

// fileRow is a content file a database references.
type fileRow struct {
	id   string
	size int64
}

// Backup writes a consistent backup of the data directory dataDir, which
// a server may be using, into dest (a new or empty directory).
func Backup(ctx context.Context, dataDir, dest string, opts BackupOptions) (BackupManifest, error) {
	m := BackupManifest{Format: backupFormat, Created: time.Now().UTC(), Source: dataDir}
	if !blob.LocksSupported {
		return m, fmt.Errorf("backup: online backups need file locks, which this system lacks")
	}
	src := filepath.Join(dataDir, dbName)
	if _, err := os.Stat(src); err != nil {
		return m, fmt.Errorf("backup: %s holds no store: %w", dataDir, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, restoringName)); err == nil {
		return m, fmt.Errorf("backup: %s holds an interrupted restore", dataDir)
	}
	if err := emptyDir(dest); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := blob.MkdirAllSynced(nil, dest); err != nil {
		return m, fmt.Errorf("backup: create %s: %w", dest, err)
	}
	use, err := blob.OpenLock(filepath.Join(dataDir, useLockName))
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer use.Close()
	if err := use.TryShared(); err != nil {
		return m, fmt.Errorf("backup: %s is being restored: %w", dataDir, err)
	}
	gc, err := blob.OpenLock(filepath.Join(dataDir, gcLockName))
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer gc.Close()
	if err := waitShared(ctx, gc, gcLockWait); err != nil {
		return m, fmt.Errorf("backup: hold blob deletion: %w", err)
	}
	lim := newLimiter(opts.BytesPerSecond)
	tmp := filepath.Join(dest, dbName+".partial")
	files, err := snapshotDatabase(ctx, src, tmp, &m, lim, opts.Progress)
	if err != nil {
		return m, fmt.Errorf("backup: database: %w", err)
	}
	if err := copyContentFiles(ctx, filepath.Join(dataDir, "blobs"), filepath.Join(dest, "blobs"), files, !opts.Copy, lim, &m, opts.Progress); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	// Every file is in dest: the store may delete again.
	if err := gc.Unlock(); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := finishDatabase(ctx, tmp, filepath.Join(dest, dbName), &m); err != nil {
		return m, fmt.Errorf("backup: database: %w", err)
	}
	if err := writeManifest(dest, m); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// waitShared takes l shared, trying again until wait has passed.
func waitShared(ctx context.Context, l *blob.Lock, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := l.TryShared()
		if err == nil || !errors.Is(err, blob.ErrLocked) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// emptyDir fails unless dir is missing or an empty directory.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// snapshotDatabase copies the database src into dst as of one read
// transaction, in which it also reads what m counts and the content files
// the copy references.
func snapshotDatabase(ctx context.Context, src, dst string, m *BackupManifest, lim *limiter, progress func(BackupProgress)) ([]fileRow, error) {
	db, err := sql.Open("sqlite", dsn(src, connRead))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return nil, err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`) }()
	// The first read starts the transaction's snapshot.
	if err := conn.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(version), 0) FROM schema_version),
		(SELECT count(*) FROM accounts), (SELECT count(*) FROM mailboxes), (SELECT count(*) FROM messages)`).
		Scan(&m.SchemaVersion, &m.Accounts, &m.Mailboxes, &m.Messages); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	files, err := listFiles(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		m.Files++
		m.FileBytes += f.size
	}
	var pageSize int64
	if err := conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return nil, fmt.Errorf("page size: %w", err)
	}
	_ = os.Remove(dst)
	err = conn.Raw(func(dc any) error {
		b, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("the SQLite driver has no backup API")
		}
		bk, err := b.NewBackup(dst)
		if err != nil {
			return fmt.Errorf("start: %w", err)
		}
		for more := true; more; {
			if err := ctx.Err(); err != nil {
				_ = bk.Finish()
				return err
			}
			// Inside the read transaction every step copies pages of
			// the same snapshot: commits by others do not restart it.
			if more, err = bk.Step(backupStepPages); err != nil {
				_ = bk.Finish()
				return fmt.Errorf("copy: %w", err)
			}
			total := int64(bk.PageCount())
			done := total - int64(bk.Remaining())
			if !more {
				done = total
			}
			if progress != nil {
				progress(BackupProgress{Phase: "database", DoneBytes: done * pageSize, Bytes: total * pageSize})
			}
			if err := lim.wait(ctx, backupStepPages*pageSize); err != nil {
				_ = bk.Finish()
				return err
			}
		}
		return bk.Finish()
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// listFiles reads the content files a database references.
func listFiles(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]fileRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, size FROM blobs WHERE content IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list content files: %w", err)
	}
	defer rows.Close()
	var files []fileRow
	for rows.Next() {
		var f fileRow
		if err := rows.Scan(&f.id, &f.size); err != nil {
			return nil, fmt.Errorf("list content files: %w", err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list content files: %w", err)
	}
	return files, nil
}

// finishDatabase makes the copied database a file of its own (rollback
// journal, no WAL beside it), syncs it, records its size and checksum in
// m and renames it into place.
func finishDatabase(ctx context.Context, tmp, final string, m *BackupManifest) error {
	db, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	var mode string
	err = db.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal mode: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	m.DatabaseBytes, m.DatabaseSHA256 = n, hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return blob.OSFS{}.SyncDir(filepath.Dir(final))
}

// writeManifest writes m as dir's manifest, durably, as the last file.
func writeManifest(dir string, m BackupManifest) error {
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestName+".partial")
	if err := writeFileSynced(tmp, append(body, '\n')); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := (blob.OSFS{}).SyncDir(dir); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// writeFileSynced writes a new file and fsyncs it.
func writeFileSynced(path string, body []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// copyContentFiles puts the files of from (a blobs directory) into to:
// hard links where allowed and possible, else copies, fsynced, with
// every directory they enter synced. A file missing or of another size
// than its row fails the copy.
func copyContentFiles(ctx context.Context, from, to string, files []fileRow, link bool, lim *limiter, m *BackupManifest, progress func(BackupProgress)) error {
	if err := blob.MkdirAllSynced(nil, to); err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}
	var totalBytes, doneBytes int64
	for _, f := range files {
		totalBytes += f.size
	}
	dirs := map[string]bool{}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !blob.ValidID(f.id) {
			return fmt.Errorf("%w: content row %q is not a content address", ErrCorruptBackup, f.id)
		}
		sub := filepath.Join(to, f.id[:2])
		if !dirs[sub] {
			if err := os.Mkdir(sub, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create %s: %w", sub, err)
			}
			dirs[sub] = true
		}
		srcPath := filepath.Join(from, f.id[:2], f.id[2:])
		dstPath := filepath.Join(sub, f.id[2:])
		fi, err := os.Stat(srcPath)
		if err != nil {
			return fmt.Errorf("content file %s: %w", srcPath, err)
		}
		if fi.Size() != f.size {
			return fmt.Errorf("content file %s: %d bytes, %d recorded", srcPath, fi.Size(), f.size)
		}
		linked := false
		if link {
			switch err := os.Link(srcPath, dstPath); {
			case err == nil:
				linked = true
				m.Linked++
			case errors.Is(err, syscall.EXDEV):
				link = false // another file system: copy the rest
			case errors.Is(err, fs.ErrExist):
				_ = os.Remove(dstPath)
			}
		}
		if !linked {
			if err := copyFileSynced(ctx, srcPath, dstPath, lim); err != nil {
				return fmt.Errorf("copy %s: %w", srcPath, err)
			}
		}
		doneBytes += f.size
		if progress != nil {
			progress(BackupProgress{Phase: "files", Done: int64(i + 1), Total: int64(len(files)), DoneBytes: doneBytes, Bytes: totalBytes})
		}
	}
	for d := range dirs {
		if err := (blob.OSFS{}).SyncDir(d); err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
	}
	if err := (blob.OSFS{}).SyncDir(to); err != nil {
		return fmt.Errorf("sync %s: %w", to, err)
	}
	return nil
}

// copyFileSynced copies src to a new file dst (through a temporary name)
// and fsyncs it; the caller syncs dst's directory.
func copyFileSynced(ctx context.Context, src, dst string, lim *limiter) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".partial"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	buf := make([]byte, 256<<10)
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return err
			}
			if err := lim.wait(ctx, int64(n)); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// limiter paces a stream of bytes to a rate (nil or rate 0: no bound).
type limiter struct {
	rate  int64
	start time.Time
	bytes int64
}

func newLimiter(bytesPerSecond int64) *limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return &limiter{rate: bytesPerSecond, start: time.Now()}
}

// wait counts n more bytes and sleeps until they are within the rate.
func (l *limiter) wait(ctx context.Context, n int64) error {
	if l == nil {
		return ctx.Err()
	}
	l.bytes += n
	due := time.Duration(float64(l.bytes) / float64(l.rate) * float64(time.Second))
	d := due - time.Since(l.start)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
