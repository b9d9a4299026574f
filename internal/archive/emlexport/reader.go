package emlexport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"rookery/internal/archive"
	"rookery/internal/archive/msgfile"
)

// Reader reads an export (archive.Reader). Each message's file is
// checked against the manifest: its size when opened, its SHA-256 as
// it is read (the content reader fails at its end on a mismatch).
type Reader struct {
	dir string
	m   *Manifest
}

var _ archive.Reader = (*Reader)(nil)

// Open opens the export in dir; archive.ErrNotArchive when dir is not
// a directory with a manifest of this format.
func Open(dir string) (archive.Reader, error) {
	r, err := OpenReader(dir)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// OpenReader is Open returning the *Reader.
func OpenReader(dir string) (*Reader, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", dir, archive.ErrNotArchive)
	}
	m, err := ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: %w", dir, ManifestName, archive.ErrNotArchive)
	}
	if err != nil {
		return nil, err
	}
	return &Reader{dir: dir, m: m}, nil
}

// Manifest returns the export's manifest.
func (r *Reader) Manifest() *Manifest { return r.m }

// Mailboxes implements archive.Reader.
func (r *Reader) Mailboxes(ctx context.Context) ([]archive.Mailbox, error) {
	out := make([]archive.Mailbox, 0, len(r.m.Mailboxes))
	for _, mb := range r.m.Mailboxes {
		out = append(out, archive.Mailbox{Name: mb.Name, SpecialUse: mb.SpecialUse, Subscribed: mb.Subscribed,
			UIDValidity: mb.UIDValidity, UIDNext: mb.UIDNext, HighestModSeq: mb.HighestModSeq, Keywords: mb.Keywords})
	}
	return out, nil
}

// mailbox returns the manifest's entry of name.
func (r *Reader) mailbox(name string) (*MailboxEntry, error) {
	for i := range r.m.Mailboxes {
		if r.m.Mailboxes[i].Name == name {
			return &r.m.Mailboxes[i], nil
		}
	}
	return nil, fmt.Errorf("no mailbox %q in the export %s", name, r.dir)
}

// ModSeqs returns the mod-sequence of each message of the mailbox name
// by UID, as the manifest records them (0 when unknown).
func (r *Reader) ModSeqs(name string) (map[uint32]uint64, error) {
	mb, err := r.mailbox(name)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]uint64, len(mb.Messages))
	for _, e := range mb.Messages {
		out[e.UID] = e.ModSeq
	}
	return out, nil
}

// Messages implements archive.Reader. Problems with a message's file
// surface when it is opened or read, as *archive.BadMessageError.
func (r *Reader) Messages(ctx context.Context, mailbox string, fn func(archive.Message) error, bad func(*archive.BadMessageError) error) error {
	mb, err := r.mailbox(mailbox)
	if err != nil {
		return err
	}
	for _, e := range mb.Messages {
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := mb.Folder + "/" + messageFile(e.UID)
		abs := filepath.Join(r.dir, filepath.FromSlash(rel))
		e := e
		m := archive.Message{UID: e.UID, Flags: e.Flags, InternalDate: e.InternalDate, SaveDate: e.SaveDate, Size: e.Size,
			Path: abs, Open: func() (io.ReadCloser, error) { return openChecked(abs, e) }}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Close implements archive.Reader.
func (r *Reader) Close() error { return nil }

// openChecked opens the file of e, failing unless it has e's size, and
// returns a reader that fails at its end unless the content has e's
// SHA-256.
func openChecked(path string, e MessageEntry) (io.ReadCloser, error) {
	f, err := msgfile.Open(path)
	if err != nil {
		return nil, &archive.BadMessageError{Path: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &archive.BadMessageError{Path: path, Err: err}
	}
	if !fi.Mode().IsRegular() || fi.Size() != e.Size {
		f.Close()
		return nil, &archive.BadMessageError{Path: path, Err: fmt.Errorf("the manifest says %d bytes, the file has %d", e.Size, fi.Size())}
	}
	return &checkedReader{f: f, h: sha256.New(), path: path, want: e.SHA256}, nil
}

// checkedReader reads a message file, checking its SHA-256 at the end.
type checkedReader struct {
	f    *os.File
	h    hash.Hash
	path string
	want string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want {
			return n, &archive.BadMessageError{Path: c.path, Err: fmt.Errorf("content has SHA-256 %s, the manifest says %s", got, c.want)}
		}
	} else if err != nil {
		err = &archive.BadMessageError{Path: c.path, Err: err}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.f.Close() }
