package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// ErrTooBig is returned by Put when the content exceeds maxSize. The store
// layer maps it to its own sentinel.
var ErrTooBig = errors.New("blob too big")

// ErrInvalidID is returned for a name that is not a hex SHA-256.
var ErrInvalidID = errors.New("invalid blob id")

const tmpDir = "tmp"

// Store keeps blobs under one directory. It is safe for concurrent use.
type Store struct {
	dir string
	fs  FS
}

// StaleTemporary is the age (since its last write) past which a
// temporary file is taken for the leftover of a crash: a Put in progress
// writes its file as its bytes arrive, and every writer of messages gives
// up on a silent peer well before (IMAP autologout, LMTP timeouts).
const StaleTemporary = time.Hour

// New opens (creating if needed) a blob directory. fsys nil means OSFS.
// Leftover temporary files of an earlier crash are removed: those not
// written for StaleTemporary, since another process may be writing the
// others (a server beside `rookery deliver`, `rookery check`).
func New(dir string, fsys FS) (*Store, error) {
	if fsys == nil {
		fsys = OSFS{}
	}
	s := &Store{dir: dir, fs: fsys}
	if err := MkdirAllSynced(fsys, filepath.Join(dir, tmpDir)); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	// Pre-create the 256 fan-out directories once, so Put never has to
	// create (and fsync) a directory on the hot path.
	created := false
	for i := range 256 {
		sub := filepath.Join(dir, fmt.Sprintf("%02x", i))
		if _, err := fsys.Stat(sub); err == nil {
			continue
		}
		if err := fsys.MkdirAll(sub); err != nil {
			return nil, fmt.Errorf("blob: create %s: %w", sub, err)
		}
		created = true
	}
	if created {
		if err := fsys.SyncDir(dir); err != nil {
			return nil, fmt.Errorf("blob: sync %s: %w", dir, err)
		}
	}
	ents, err := fsys.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		return nil, fmt.Errorf("blob: list temporary files: %w", err)
	}
	now := time.Now()
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > StaleTemporary {
			_ = fsys.Remove(filepath.Join(dir, tmpDir, e.Name())) // best effort
		}
	}
	return s, nil
}

// MkdirAllSynced creates dir and its missing parents, as MkdirAll does,
// and fsyncs the parent of each directory it creates: a new entry is
// durable only once its directory is synced, and a directory lost in a
// power cut takes every file synced into it along. fsys nil means OSFS.
func MkdirAllSynced(fsys FS, dir string) error {
	if fsys == nil {
		fsys = OSFS{}
	}
	dir = filepath.Clean(dir)
	if fi, err := fsys.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAllSynced(fsys, parent); err != nil {
			return err
		}
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return err
	}
	return fsys.SyncDir(parent)
}

// Dir returns the blob directory.
func (s *Store) Dir() string { return s.dir }

// ValidID reports whether id is a lower-case hex SHA-256.
func ValidID(id string) bool {
	if len(id) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string {
	return filepath.Join(s.dir, id[:2], id[2:])
}

// Put stores the content of r durably and returns its id and size. More than
// maxSize bytes fail with ErrTooBig (maxSize < 0: no limit). On error nothing
// is left visible under a blob name.
func (s *Store) Put(ctx context.Context, r io.Reader, maxSize int64) (id string, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	tmp, err := s.fs.CreateTemp(filepath.Join(s.dir, tmpDir), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = s.fs.Remove(tmpName)
		}
	}()

	h := sha256.New()
	src := r
	if maxSize >= 0 {
		src = io.LimitReader(r, maxSize+1)
	}
	buf := make([]byte, 32*1024)
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, fmt.Errorf("blob: put: %w", err)
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			size += int64(n)
			if maxSize >= 0 && size > maxSize {
				return "", 0, fmt.Errorf("blob: more than %d bytes: %w", maxSize, ErrTooBig)
			}
			h.Write(buf[:n])
			if _, werr := tmp.Write(buf[:n]); werr != nil {
				return "", 0, fmt.Errorf("blob: write temporary file: %w", werr)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", 0, fmt.Errorf("blob: read content: %w", rerr)
		}
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: sync temporary file: %w", err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: close temporary file: %w", err)
	}
	id = hex.EncodeToString(h.Sum(nil))
	target := s.path(id)
	if s.reuse(target, size) {
		// Same content already stored: drop the copy. Sync the directory
		// anyway, in case the other writer has not done so yet.
		_ = s.fs.Remove(tmpName)
	} else if err := s.fs.Rename(tmpName, target); err != nil {
		return "", 0, fmt.Errorf("blob: rename into place: %w", err)
	}
	if err := s.fs.SyncDir(filepath.Dir(target)); err != nil {
		// The blob is visible but maybe not durable; the caller gets an
		// error and will not reference it, so at worst it is an orphan.
		return "", 0, fmt.Errorf("blob: sync directory: %w", err)
	}
	return id, size, nil
}

// reuse reports whether target already holds size bytes (the same
// content, by its name) and then marks it as just written: a repair pass
// removes only unreferenced files older than a grace period (see
// sqlitestore's Check), and this one is about to be referenced again. A
// file removed meanwhile is not reused.
func (s *Store) reuse(target string, size int64) bool {
	fi, err := s.fs.Stat(target)
	if err != nil || fi.Size() != size {
		return false
	}
	return s.fs.Chtimes(target, time.Now()) == nil
}

// Reader is an open blob.
type Reader struct {
	f    File
	size int64
}

// ReadAt implements io.ReaderAt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Size returns the blob size in bytes.
func (r *Reader) Size() int64 { return r.size }

// Close closes the blob.
func (r *Reader) Close() error { return r.f.Close() }

// Open opens a blob for reading. A missing blob fails with an error
// matching fs.ErrNotExist.
func (s *Store) Open(id string) (*Reader, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("blob: open %q: %w", id, ErrInvalidID)
	}
	f, err := s.fs.Open(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("blob: stat %s: %w", id, err)
	}
	return &Reader{f: f, size: fi.Size()}, nil
}

// Stat returns the size of a stored blob; a missing blob fails with an
// error matching fs.ErrNotExist.
func (s *Store) Stat(id string) (int64, error) {
	if !ValidID(id) {
		return 0, fmt.Errorf("blob: stat %q: %w", id, ErrInvalidID)
	}
	fi, err := s.fs.Stat(s.path(id))
	if err != nil {
		return 0, fmt.Errorf("blob: stat %s: %w", id, err)
	}
	return fi.Size(), nil
}

// Delete removes a blob. Deleting a missing blob is not an error. The
// directory is not fsynced: a deletion lost in a crash leaves an orphan.
func (s *Store) Delete(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("blob: delete %q: %w", id, ErrInvalidID)
	}
	if err := s.fs.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", id, err)
	}
	return nil
}

// List calls fn for every stored blob, stopping at fn's first error.
func (s *Store) List(ctx context.Context, fn func(id string, size int64) error) error {
	return s.ListInfo(ctx, func(id string, fi fs.FileInfo) error { return fn(id, fi.Size()) })
}

// ListInfo is List with each file's description (size, modification time).
func (s *Store) ListInfo(ctx context.Context, fn func(id string, fi fs.FileInfo) error) error {
	for i := range 256 {
		sub := fmt.Sprintf("%02x", i)
		ents, err := s.fs.ReadDir(filepath.Join(s.dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("blob: list %s: %w", sub, err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("blob: list: %w", err)
			}
			id := sub + e.Name()
			if !ValidID(id) || strings.ContainsRune(e.Name(), '.') {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return fmt.Errorf("blob: stat %s: %w", id, err)
			}
			if err := fn(id, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Info describes a stored blob's file; a missing blob fails with an error
// matching fs.ErrNotExist.
func (s *Store) Info(id string) (fs.FileInfo, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("blob: stat %q: %w", id, ErrInvalidID)
	}
	fi, err := s.fs.Stat(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("blob: stat %s: %w", id, err)
	}
	return fi, nil
}

// Path returns where a blob's file is (for reports); id must be valid.
func (s *Store) Path(id string) string { return s.path(id) }
