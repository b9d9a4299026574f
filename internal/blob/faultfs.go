package blob

import (
	"errors"
	"io/fs"
	"sync"
	"time"
)

// Op names a file operation that FaultFS can fail.
type Op string

// Operations seen by FaultFS.Fail.
const (
	OpMkdir   Op = "mkdir"
	OpCreate  Op = "create"
	OpWrite   Op = "write"
	OpSync    Op = "sync"
	OpClose   Op = "close"
	OpRename  Op = "rename"
	OpSyncDir Op = "syncdir"
	OpRemove  Op = "remove"
	OpOpen    Op = "open"
	OpChtimes Op = "chtimes"
)

// ErrInjected is the error FaultFS returns by default for a failed operation.
var ErrInjected = errors.New("injected fault")

// FaultFS wraps an FS and fails the operations that Fail selects. It is
// meant for tests; it is safe for concurrent use.
type FaultFS struct {
	FS FS

	mu   sync.Mutex
	fail func(op Op, path string) error // guarded by mu
}

var _ FS = (*FaultFS)(nil)

// NewFaultFS returns a FaultFS over inner that fails nothing yet.
func NewFaultFS(inner FS) *FaultFS { return &FaultFS{FS: inner} }

// SetFail installs the fault policy: fn returns a non-nil error for an
// operation that must fail. nil removes the policy.
func (f *FaultFS) SetFail(fn func(op Op, path string) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// FailOp makes every operation op fail with ErrInjected (until SetFail(nil)).
func (f *FaultFS) FailOp(op Op) {
	f.SetFail(func(o Op, _ string) error {
		if o == op {
			return ErrInjected
		}
		return nil
	})
}

func (f *FaultFS) check(op Op, path string) error {
	f.mu.Lock()
	fn := f.fail
	f.mu.Unlock()
	if fn == nil {
		return nil
	}
	if err := fn(op, path); err != nil {
		return &fs.PathError{Op: string(op), Path: path, Err: err}
	}
	return nil
}

// MkdirAll implements FS.
func (f *FaultFS) MkdirAll(dir string) error {
	if err := f.check(OpMkdir, dir); err != nil {
		return err
	}
	return f.FS.MkdirAll(dir)
}

// CreateTemp implements FS.
func (f *FaultFS) CreateTemp(dir, pattern string) (File, error) {
	if err := f.check(OpCreate, dir); err != nil {
		return nil, err
	}
	file, err := f.FS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

// Rename implements FS.
func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.check(OpRename, newpath); err != nil {
		return err
	}
	return f.FS.Rename(oldpath, newpath)
}

// SyncDir implements FS.
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.check(OpSyncDir, dir); err != nil {
		return err
	}
	return f.FS.SyncDir(dir)
}

// Remove implements FS.
func (f *FaultFS) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

// Open implements FS.
func (f *FaultFS) Open(name string) (File, error) {
	if err := f.check(OpOpen, name); err != nil {
		return nil, err
	}
	return f.FS.Open(name)
}

// Stat implements FS.
func (f *FaultFS) Stat(name string) (fs.FileInfo, error) { return f.FS.Stat(name) }

// ReadDir implements FS.
func (f *FaultFS) ReadDir(dir string) ([]fs.DirEntry, error) { return f.FS.ReadDir(dir) }

// Chtimes implements FS.
func (f *FaultFS) Chtimes(name string, mtime time.Time) error {
	if err := f.check(OpChtimes, name); err != nil {
		return err
	}
	return f.FS.Chtimes(name, mtime)
}

type faultFile struct {
	File
	fs *FaultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.Name()); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.check(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.fs.check(OpClose, f.Name())
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
