// Package msgfile opens the files of one-message-per-file archives
// (Maildir, folders of .eml files) cheaply: reading a small message is a
// handful of system calls, so the ones that are not needed matter.
package msgfile

import (
	"io"
	"os"
	"sync"
	"syscall"

	"rookery/internal/archive/crlf"
)

// Open opens a regular file for reading, not through a symbolic link (an
// archive's message file that is one is refused: it could make an
// import read a file its owner cannot). Unlike os.Open it does not make
// the descriptor non-blocking and register it with the runtime's poller:
// two system calls a regular file does not need, which cost about as
// much as reading a small message.
func Open(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

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
