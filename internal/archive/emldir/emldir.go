// Package emldir reads a folder of .eml files (one message a file) as an
// archive: the .eml files directly in the folder are INBOX, those of each
// subfolder a mailbox named by its path ("Archive/2024"). Files are read
// in name order; there are no UIDs and no flags. A message's internal
// date is its Date header when that parses, else the file's mtime. A
// file whose first line ends with a bare LF is served with CRLF line
// ends (as IMAP wants); other files as they are.
package emldir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/crlf"
	"rookery/internal/archive/msgcheck"
	"rookery/internal/archive/msgfile"
)

// Reader reads a folder of .eml files.
type Reader struct {
	root  string
	files map[string][]string // mailbox name → files, in name order
	boxes []archive.Mailbox
}

// Open returns a Reader of the folder at path. It returns an error
// wrapping archive.ErrNotArchive when path is not a directory or holds
// no .eml file.
func Open(path string) (archive.Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("eml folder %s: %w", path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("eml folder %s: not a directory: %w", path, archive.ErrNotArchive)
	}
	r := &Reader{root: path, files: make(map[string][]string)}
	err = filepath.WalkDir(path, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() || !strings.EqualFold(filepath.Ext(de.Name()), ".eml") {
			return nil
		}
		rel, _ := filepath.Rel(path, filepath.Dir(p))
		name := "INBOX"
		if rel != "." {
			name = strings.ToValidUTF8(filepath.ToSlash(rel), "\uFFFD")
			if strings.EqualFold(name, "INBOX") || strings.HasPrefix(strings.ToUpper(name), "INBOX/") {
				name = "INBOX" + name[5:]
			}
		}
		r.files[name] = append(r.files[name], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eml folder %s: %w", path, err)
	}
	if len(r.files) == 0 {
		return nil, fmt.Errorf("eml folder %s: no .eml files: %w", path, archive.ErrNotArchive)
	}
	names := make([]string, 0, len(r.files))
	for n, fs := range r.files {
		names = append(names, n)
		sort.Strings(fs)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
	})
	for _, n := range names {
		r.boxes = append(r.boxes, archive.Mailbox{Name: n})
	}
	return r, nil
}

// Mailboxes returns a mailbox per folder that holds .eml files, parents
// before children.
func (r *Reader) Mailboxes(ctx context.Context) ([]archive.Mailbox, error) {
	out := make([]archive.Mailbox, len(r.boxes))
	copy(out, r.boxes)
	return out, nil
}

// Messages calls fn for each .eml file of the mailbox, in name order.
func (r *Reader) Messages(ctx context.Context, mailbox string, fn func(archive.Message) error, bad func(*archive.BadMessageError) error) error {
	files, ok := r.files[mailbox]
	if !ok {
		return fmt.Errorf("eml folder %s: no mailbox %q", r.root, mailbox)
	}
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, h, err := r.message(p)
		if err != nil {
			if err := archive.ReportBad(bad, p, err); err != nil {
				return err
			}
			continue
		}
		err = fn(m)
		h.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// maxHeader bounds how much of a file is read for its Date header.
const maxHeader = 256 << 10

// message opens, checks and dates one file; the file stays open for the
// message's first Open until the Handoff is released.
func (r *Reader) message(path string) (archive.Message, *msgfile.Handoff, error) {
	f, err := msgfile.Open(path)
	if err != nil {
		return archive.Message{}, nil, err
	}
	m, h, err := r.check(f, path)
	if err != nil {
		f.Close()
		return archive.Message{}, nil, err
	}
	return m, h, nil
}

func (r *Reader) check(f *os.File, path string) (archive.Message, *msgfile.Handoff, error) {
	st, err := f.Stat()
	if err != nil {
		return archive.Message{}, nil, err
	}
	if !st.Mode().IsRegular() {
		return archive.Message{}, nil, errors.New("not a regular file")
	}
	br := bufio.NewReaderSize(io.LimitReader(f, maxHeader), 4096)
	head, _ := br.Peek(msgcheck.HeadSize)
	if err := msgcheck.Check(head); err != nil {
		return archive.Message{}, nil, err
	}
	bare, known := crlf.FirstLineBare(head)
	convert := bare && known
	date := headerDate(br)
	if date.IsZero() {
		date = st.ModTime().Truncate(time.Second).UTC()
	}
	size := st.Size()
	if convert {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return archive.Message{}, nil, err
		}
		if size, err = crlf.Size(f); err != nil {
			return archive.Message{}, nil, err
		}
	}
	rel, _ := filepath.Rel(r.root, path)
	h := msgfile.NewHandoff(f, path, convert)
	return archive.Message{
		InternalDate: date,
		Size:         size,
		Path:         rel,
		Open:         h.Open,
	}, h, nil
}

// headerDate returns the Date header's time, or zero.
func headerDate(br *bufio.Reader) time.Time {
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return time.Time{}
	}
	v := h.Get("Date")
	if v == "" {
		return time.Time{}
	}
	d, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return d
}

// Close releases nothing: files are open only inside Messages and Open.
func (r *Reader) Close() error { return nil }
