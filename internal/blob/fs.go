package blob

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File is an open file as Store needs it.
type File interface {
	io.Reader
	io.Writer
	io.ReaderAt
	io.Closer
	Sync() error
	Stat() (fs.FileInfo, error)
	Name() string
}

// FS is the small file-system surface that Store uses.
type FS interface {
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string) error
	// CreateTemp creates a new temporary file in dir, open for writing.
	CreateTemp(dir, pattern string) (File, error)
	// Rename atomically renames oldpath to newpath.
	Rename(oldpath, newpath string) error
	// SyncDir fsyncs a directory so that entries renamed into it are durable.
	SyncDir(dir string) error
	// Remove removes a file.
	Remove(name string) error
	// Open opens a file for reading.
	Open(name string) (File, error)
	// Stat describes a file.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// Chtimes sets a file's modification (and access) time.
	Chtimes(name string, mtime time.Time) error
}

// OSFS is the FS of the operating system.
type OSFS struct{}

var _ FS = OSFS{}

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o750) }

// CreateTemp implements FS.
func (OSFS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// Open implements FS.
func (OSFS) Open(name string) (File, error) { return os.Open(name) }

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// ReadDir implements FS.
func (OSFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

// Chtimes implements FS.
func (OSFS) Chtimes(name string, mtime time.Time) error { return os.Chtimes(name, mtime, mtime) }
