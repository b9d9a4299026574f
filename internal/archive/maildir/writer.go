package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/crlf"
	"rookery/internal/archive/durable"
	"rookery/internal/archive/msgcheck"
	"rookery/internal/archive/subsfile"
)

// Writer writes a Maildir++ tree that Dovecot serves with the archive's
// UIDs, UIDVALIDITY, flags, keywords and subscriptions.
type Writer struct {
	root  string
	host  string
	pid   int
	seq   uint64
	subs  []string
	names map[string]bool
	cur   *mailboxWriter
}

// mailboxWriter is the mailbox between BeginMailbox and EndMailbox.
type mailboxWriter struct {
	name        string
	dir         string
	uidValidity uint32
	uidNext     uint32
	lastUID     uint32
	lines       []string // dovecot-uidlist lines
	files       []string
	keywords    []string // index → keyword
	kwIndex     map[string]int
	keywordSet  []string // the mailbox's keyword set (archive.Mailbox.Keywords)
}

// Create returns a Writer of a new Maildir++ tree at dir, which must not
// exist or be an empty directory.
func Create(dir string) (archive.Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("maildir %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", dir, err)
	}
	if len(ents) > 0 {
		return nil, fmt.Errorf("maildir %s: directory is not empty", dir)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	// The Maildir convention: "/" and ":" in the host name are written
	// as octal escapes; "," and "." would confuse the ",S=" fields and
	// Maildir++ folder names.
	host = strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`).Replace(host)
	return &Writer{root: dir, host: host, pid: os.Getpid(), names: make(map[string]bool)}, nil
}

// BeginMailbox creates the mailbox's directory (cur/, new/, tmp/ and, for
// a folder, Dovecot's maildirfolder marker).
func (w *Writer) BeginMailbox(ctx context.Context, mb archive.Mailbox) error {
	if w.cur != nil {
		return errors.New("maildir: BeginMailbox before EndMailbox")
	}
	name := canonInbox(mb.Name)
	if w.names[name] {
		return fmt.Errorf("maildir: mailbox %q written twice", mb.Name)
	}
	rel, err := encodeName(name)
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	dir := filepath.Join(w.root, rel)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("maildir: mailbox %q: %w", mb.Name, err)
		}
	}
	if rel != "" {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return fmt.Errorf("maildir: mailbox %q: %w", mb.Name, err)
		}
	}
	uv := mb.UIDValidity
	if uv == 0 {
		uv = uint32(time.Now().Unix())
	}
	w.names[name] = true
	if mb.Subscribed {
		w.subs = append(w.subs, name)
	}
	w.cur = &mailboxWriter{name: mb.Name, dir: dir, uidValidity: uv, uidNext: mb.UIDNext, kwIndex: make(map[string]int),
		keywordSet: mb.Keywords}
	return nil
}

// Add writes one message into tmp/ and renames it into cur/ with its
// flags in its name, its internal date as mtime and its UID in the
// mailbox's dovecot-uidlist. A message without a UID (0) gets the next
// one.
func (w *Writer) Add(ctx context.Context, m archive.Message, content io.Reader) error {
	mb := w.cur
	if mb == nil {
		return errors.New("maildir: Add outside a mailbox")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	uid := m.UID
	if uid == 0 {
		uid = mb.lastUID + 1
	}
	if uid <= mb.lastUID {
		return fmt.Errorf("maildir: mailbox %q: UID %d after UID %d (messages must come in UID order)", mb.name, uid, mb.lastUID)
	}
	letters, err := mb.letters(m.Flags)
	if err != nil {
		return err
	}
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	w.seq++
	base := fmt.Sprintf("%d.M%dP%dQ%d.%s", date.Unix(), time.Now().UnixMicro()%1000000, w.pid, w.seq, w.host)
	tmp := filepath.Join(mb.dir, "tmp", base)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
	}
	cw := &lineCounter{w: f}
	bw := bufio.NewWriterSize(cw, 64<<10)
	_, err = io.Copy(bw, content)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && m.Size >= 0 && cw.n != m.Size {
		err = fmt.Errorf("content is %d bytes, expected %d", cw.n, m.Size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, date, date)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: mailbox %q: message UID %d: %w", mb.name, uid, err)
	}
	// S= is the size, W= the size with LF line ends counted as CRLF
	// (what IMAP's RFC822.SIZE is), as Dovecot names its files.
	base += ",S=" + strconv.FormatInt(cw.n, 10) + ",W=" + strconv.FormatInt(cw.n+cw.bareLF, 10)
	if bare, known := crlf.FirstLineBare(cw.head); bare && known {
		base += rawMarker
	}
	final := filepath.Join(mb.dir, "cur", base+":2,"+letters)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
	}
	mb.files = append(mb.files, final)
	mb.lines = append(mb.lines, strconv.FormatUint(uint64(uid), 10)+" :"+base)
	mb.lastUID = uid
	return nil
}

// letters returns the flag letters of flags, allotting keyword letters.
func (mb *mailboxWriter) letters(flags []string) (string, error) {
	sys, kws := archive.SplitFlags(flags)
	var b []byte
	for _, sl := range systemLetters {
		for _, s := range sys {
			if s == sl.flag {
				b = append(b, sl.letter)
			}
		}
	}
	for _, k := range kws {
		i, ok := mb.kwIndex[k]
		if !ok {
			if len(mb.keywords) == 26 {
				return "", fmt.Errorf("maildir: mailbox %q uses more than 26 keywords, more than Maildir can keep (use another export format)", mb.name)
			}
			i = len(mb.keywords)
			mb.kwIndex[k] = i
			mb.keywords = append(mb.keywords, k)
		}
		b = append(b, byte('a'+i))
	}
	// System letters are in order; keyword letters are sorted too.
	kw := b[len(b)-len(kws):]
	sort.Slice(kw, func(i, j int) bool { return kw[i] < kw[j] })
	return string(b), nil
}

// EndMailbox makes the mailbox's messages durable, then writes its
// dovecot-keywords and dovecot-uidlist. The keywords of the mailbox's
// keyword set that no message carries get the letters left after those
// of the messages' keywords (Maildir has 26; those beyond are left out).
func (w *Writer) EndMailbox(ctx context.Context) error {
	mb := w.cur
	if mb == nil {
		return errors.New("maildir: EndMailbox outside a mailbox")
	}
	w.cur = nil
	for _, k := range mb.keywordSet {
		if _, ok := mb.kwIndex[k]; ok || len(mb.keywords) == 26 || !archive.IsKeyword(k) {
			continue
		}
		mb.kwIndex[k] = len(mb.keywords)
		mb.keywords = append(mb.keywords, k)
	}
	if len(mb.files) > 0 {
		if err := durable.SyncFS(mb.dir, mb.files); err != nil {
			return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
		}
	}
	if err := durable.SyncDir(filepath.Join(mb.dir, "cur")); err != nil {
		return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
	}
	if len(mb.keywords) > 0 {
		var b strings.Builder
		for i, k := range mb.keywords {
			fmt.Fprintf(&b, "%d %s\n", i, k)
		}
		if err := durable.WriteFile(filepath.Join(mb.dir, "dovecot-keywords"), []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
		}
	}
	next := mb.uidNext
	if next <= mb.lastUID {
		next = mb.lastUID + 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "3 V%d N%d\n", mb.uidValidity, next)
	for _, l := range mb.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := durable.WriteFile(filepath.Join(mb.dir, "dovecot-uidlist"), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("maildir: mailbox %q: %w", mb.name, err)
	}
	return nil
}

// Close writes the subscriptions file (Dovecot 2.3's format) and makes
// the tree's directories durable.
func (w *Writer) Close() error {
	if w.cur != nil {
		return fmt.Errorf("maildir: Close inside mailbox %q", w.cur.name)
	}
	if err := durable.WriteFile(filepath.Join(w.root, "subscriptions"), subsfile.Format(w.subs), 0o600); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return durable.SyncDir(w.root)
}

// lineCounter counts the bytes written through it and the LFs not
// preceded by CR, and keeps the first msgcheck.HeadSize bytes.
type lineCounter struct {
	w      io.Writer
	n      int64
	bareLF int64
	lastCR bool
	head   []byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if len(c.head) < msgcheck.HeadSize {
		c.head = append(c.head, p[:min(n, msgcheck.HeadSize-len(c.head))]...)
	}
	for _, b := range p[:n] {
		if b == '\n' && !c.lastCR {
			c.bareLF++
		}
		c.lastCR = b == '\r'
	}
	c.n += int64(n)
	return n, err
}
