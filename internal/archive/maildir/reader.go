package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/crlf"
	"rookery/internal/archive/msgcheck"
	"rookery/internal/archive/msgfile"
	"rookery/internal/archive/subsfile"
)

// Reader reads a Maildir++ tree. It is safe for one goroutine at a time.
type Reader struct {
	root  string
	dirs  map[string]string // mailbox name → directory
	boxes []archive.Mailbox
}

// Open returns a Reader of the Maildir++ tree at path (the directory
// holding INBOX's cur/ and new/, or only the "."-folders). It returns an
// error wrapping archive.ErrNotArchive when path is not one.
func Open(path string) (archive.Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("maildir %s: %w", path, archive.ErrNotArchive)
	}
	r := &Reader{root: path, dirs: make(map[string]string)}
	if isMaildir(path) {
		r.dirs["INBOX"] = path
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", path, err)
	}
	for _, e := range ents {
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		name, ok := decodeName(e.Name())
		if !ok {
			continue
		}
		dir := filepath.Join(path, e.Name())
		if !isMaildir(dir) {
			continue
		}
		if err := within(path, dir); err != nil {
			return nil, err
		}
		if _, dup := r.dirs[name]; dup {
			continue
		}
		r.dirs[name] = dir
	}
	if len(r.dirs) == 0 {
		return nil, fmt.Errorf("maildir %s: no cur/ or new/ directory: %w", path, archive.ErrNotArchive)
	}
	subs := r.subscriptions()
	names := make([]string, 0, len(r.dirs))
	for n := range r.dirs {
		names = append(names, n)
	}
	sortNames(names)
	for _, n := range names {
		mb := archive.Mailbox{Name: n, Subscribed: subs[n]}
		dir := r.dirs[n]
		if f, err := msgfile.Open(filepath.Join(dir, "dovecot-uidlist")); err == nil {
			ul, err := parseUIDList(io.LimitReader(f, 1<<30))
			f.Close()
			if err == nil {
				mb.UIDValidity, mb.UIDNext = ul.uidValidity, ul.uidNext
				if mb.UIDValidity == 0 {
					mb.UIDNext = 0
				}
			}
		}
		kw := readKeywords(dir)
		for _, k := range kw {
			if k != "" {
				mb.Keywords = append(mb.Keywords, k)
			}
		}
		r.boxes = append(r.boxes, mb)
	}
	return r, nil
}

// sortNames orders names so that parents come before their children and
// INBOX first.
func sortNames(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		// Compare component-wise: "a/b" < "a b" would otherwise break
		// parent-before-child order.
		return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
	})
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

func readKeywords(dir string) [26]string {
	data, err := readSmall(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return [26]string{}
	}
	return parseKeywords(data)
}

// readSmall reads a metadata file of at most 16 MiB.
func readSmall(path string) (string, error) {
	f, err := msgfile.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	return string(b), err
}

// subscriptions returns the subscribed names: Dovecot's subscriptions
// file, else Courier's courierimapsubscribed ("INBOX."-prefixed names).
func (r *Reader) subscriptions() map[string]bool {
	subs := make(map[string]bool)
	if data, err := readSmall(filepath.Join(r.root, "subscriptions")); err == nil {
		for _, n := range subsfile.Parse(data) {
			subs[canonInbox(n)] = true
		}
		return subs
	}
	if data, err := readSmall(filepath.Join(r.root, "courierimapsubscribed")); err == nil {
		for _, n := range subsfile.Parse(data) {
			n = canonInbox(n)
			if strings.HasPrefix(n, "INBOX/") {
				subs[n[len("INBOX/"):]] = true
			}
			subs[n] = true
		}
	}
	return subs
}

func canonInbox(n string) string {
	if len(n) >= 5 && strings.EqualFold(n[:5], "INBOX") && (len(n) == 5 || n[5] == '/') {
		return "INBOX" + n[5:]
	}
	return n
}

// Mailboxes returns the tree's mailboxes, INBOX first, parents before
// children. Parents that have no directory of their own (Dovecot's
// \Noselect "Archive" of "Archive/2024") are not listed.
func (r *Reader) Mailboxes(ctx context.Context) ([]archive.Mailbox, error) {
	out := make([]archive.Mailbox, len(r.boxes))
	copy(out, r.boxes)
	return out, nil
}

// entry is a message file found in cur/ or new/.
type entry struct {
	rel   string // path relative to the root
	path  string
	base  string
	flags string
	uid   uint32
}

// Messages calls fn for each message of the mailbox: those dovecot-uidlist
// names in UID order, then the others (UID 0) in file name order.
func (r *Reader) Messages(ctx context.Context, mailbox string, fn func(archive.Message) error, bad func(*archive.BadMessageError) error) error {
	dir, ok := r.dirs[mailbox]
	if !ok {
		return fmt.Errorf("maildir %s: no mailbox %q", r.root, mailbox)
	}
	var ul *uidList
	if f, err := msgfile.Open(filepath.Join(dir, "dovecot-uidlist")); err == nil {
		ul, _ = parseUIDList(io.LimitReader(f, 1<<30))
		f.Close()
	}
	kw := readKeywords(dir)
	relDir, _ := filepath.Rel(r.root, dir)
	var ents []entry
	seen := make(map[string]bool)
	for _, sub := range []string{"cur", "new"} {
		if err := within(r.root, filepath.Join(dir, sub)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("maildir %s: %w", filepath.Join(dir, sub), err)
		}
		for _, de := range des {
			name := de.Name()
			if strings.HasPrefix(name, ".") || de.IsDir() {
				continue
			}
			base, flags := splitName(name)
			if seen[base] {
				continue
			}
			seen[base] = true
			e := entry{rel: filepath.Join(relDir, sub, name), path: filepath.Join(dir, sub, name), base: base, flags: flags}
			if ul != nil {
				e.uid = ul.uids[base]
			}
			ents = append(ents, e)
		}
	}
	sort.SliceStable(ents, func(i, j int) bool {
		a, b := ents[i], ents[j]
		if (a.uid == 0) != (b.uid == 0) {
			return a.uid != 0
		}
		if a.uid != b.uid {
			return a.uid < b.uid
		}
		return a.base < b.base
	})
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, h, err := r.message(e, &kw)
		if err != nil {
			if err := archive.ReportBad(bad, e.path, err); err != nil {
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

// message stats and checks one file. A file whose first line ends with
// a bare LF (Dovecot keeps Maildir files with LF line ends) is served
// with CRLF line ends, as Dovecot serves it over IMAP, unless its name
// carries rawMarker (the Writer's mark of content kept as it was). The
// file stays open for the message's first Open until release is called.
func (r *Reader) message(e entry, kw *[26]string) (archive.Message, *msgfile.Handoff, error) {
	f, err := msgfile.Open(e.path)
	if err != nil {
		return archive.Message{}, nil, err
	}
	m, h, err := r.check(f, e, kw)
	if err != nil {
		f.Close()
		return archive.Message{}, nil, err
	}
	return m, h, nil
}

func (r *Reader) check(f *os.File, e entry, kw *[26]string) (archive.Message, *msgfile.Handoff, error) {
	st, err := f.Stat()
	if err != nil {
		return archive.Message{}, nil, err
	}
	if !st.Mode().IsRegular() {
		return archive.Message{}, nil, errors.New("not a regular file")
	}
	var head [msgcheck.HeadSize]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return archive.Message{}, nil, err
	}
	if err := msgcheck.Check(head[:n]); err != nil {
		return archive.Message{}, nil, err
	}
	size := st.Size()
	bare, known := crlf.FirstLineBare(head[:n])
	convert := bare && known && !hasRawMarker(e.base)
	if convert {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return archive.Message{}, nil, err
		}
		if size, err = crlf.Size(f); err != nil {
			return archive.Message{}, nil, err
		}
	}
	h := msgfile.NewHandoff(f, e.path, convert)
	return archive.Message{
		UID:          e.uid,
		Flags:        flagsOf(e.flags, kw),
		InternalDate: st.ModTime().Truncate(time.Second).UTC(),
		Size:         size,
		Path:         e.rel,
		Open:         h.Open,
	}, h, nil
}

// Close releases nothing: the Reader holds no open files.
func (r *Reader) Close() error { return nil }

// within refuses a directory of the tree that is reached through a
// symbolic link leading out of the tree at root: an import run by an
// administrator on a user's Maildir must not read files the user could
// not (message files themselves are opened without following links:
// package msgfile).
func within(root, dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("maildir %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("maildir %s: %w", dir, err)
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("maildir %s: a symbolic link to %s, outside the Maildir: refused", dir, real)
	}
	return nil
}
