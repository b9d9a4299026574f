// Package msgfile opens the files of one-message-per-file archives
// (Maildir, folders of .eml files) cheaply: reading a small message is a
// handful of system calls, so the ones that are not needed matter.
package msgfile

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	"rookery/internal/archive/crlf"
)

// Open opens a regular file of an archive for reading, not through a
// symbolic link (an archive's file that is one is refused: it could make
// an import run by an administrator read a file the archive's owner
// cannot), and refuses anything but a regular file (opening a FIFO
// would wait forever for a writer). Unlike os.Open it does not register
// the descriptor with the runtime's poller: system calls a regular file
// does not need, which cost about as much as reading a small message.
func Open(path string) (*os.File, error) {
	return open(path, syscall.O_NOFOLLOW)
}

// OpenFollow is Open for a path an operator named (it may be a link).
func OpenFollow(path string) (*os.File, error) {
	return open(path, 0)
}

func open(path string, flags int) (*os.File, error) {
	var fd int
	for {
		var err error
		// O_NONBLOCK only for the open itself: a FIFO opens at once
		// (and is refused below) instead of waiting for a writer.
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|flags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		break
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// errNotRegular is a path that is not a regular file.
var errNotRegular = errors.New("not a regular file")

// Handoff gives a file a reader opened to look at a message to the
// message's first Open (saving an open and a close per message), and
// opens the file anew after that or once Release was called. It is safe
// for concurrent use.
type Handoff struct {
	mu   sync.Mutex
	f    *os.File
	path string
	crlf bool
}

// NewHandoff returns a Handoff of f, the open file at path. With toCRLF,
// Open turns bare LF into CRLF.
func NewHandoff(f *os.File, path string, toCRLF bool) *Handoff {
	return &Handoff{f: f, path: path, crlf: toCRLF}
}

// Open returns the message's content from its start.
func (h *Handoff) Open() (io.ReadCloser, error) {
	h.mu.Lock()
	f := h.f
	h.f = nil
	h.mu.Unlock()
	if f != nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	} else {
		var err error
		if f, err = Open(h.path); err != nil {
			return nil, err
		}
	}
	if !h.crlf {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{crlf.NewReader(f), f}, nil
}

// Release closes the file if no Open took it.
func (h *Handoff) Release() {
	h.mu.Lock()
	f := h.f
	h.f = nil
	h.mu.Unlock()
	if f != nil {
		f.Close()
	}
}
