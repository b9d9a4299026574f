package mbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/durable"
	"rookery/internal/archive/subsfile"
)

// markerField is the header the Writer puts before each message's own
// header, after its flag headers: "X-Rookery-Mbox: 1 size=<bytes>
// date=<RFC 3339 internal date> [crlf] [noeol]". The Reader takes it
// and the flag headers before it off again and undoes what it says was
// done, so that the content comes back byte for byte.
const markerField = "X-Rookery-Mbox:"

// memSpool is the largest message the Writer holds in memory while it
// looks at it; larger ones go through a temporary file.
const memSpool = 4 << 20

// Writer writes one mboxrd file per mailbox under a directory.
type Writer struct {
	root  string
	subs  []string
	names map[string]bool
	cur   *mailboxWriter
	out   bytes.Buffer
	buf   []byte
}

type mailboxWriter struct {
	name string
	path string
	tmp  string
	f    *os.File
	bw   *bufio.Writer
}

// Create returns a Writer of mbox files under dir, which must not exist
// or be an empty directory.
func Create(dir string) (archive.Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mbox %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mbox %s: %w", dir, err)
	}
	if len(ents) > 0 {
		return nil, fmt.Errorf("mbox %s: directory is not empty", dir)
	}
	return &Writer{root: dir, names: make(map[string]bool), buf: make([]byte, 64<<10)}, nil
}

// BeginMailbox starts the mailbox's file (as a temporary file that
// EndMailbox renames).
func (w *Writer) BeginMailbox(ctx context.Context, mb archive.Mailbox) error {
	if w.cur != nil {
		return errors.New("mbox: BeginMailbox before EndMailbox")
	}
	rel, err := encodePath(mb.Name)
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	if w.names[rel] {
		return fmt.Errorf("mbox: mailbox %q written twice", mb.Name)
	}
	path := filepath.Join(w.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("mbox: mailbox %q: %w", mb.Name, err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("mbox: mailbox %q: %w", mb.Name, err)
	}
	w.names[rel] = true
	if mb.Subscribed {
		name := mb.Name
		if strings.EqualFold(name, "INBOX") {
			name = "INBOX"
		}
		w.subs = append(w.subs, name)
	}
	w.cur = &mailboxWriter{name: mb.Name, path: path, tmp: tmp, f: f, bw: bufio.NewWriterSize(f, 256<<10)}
	return nil
}

// spool holds a message's content while the Writer looks at it.
type spool struct {
	mem    bytes.Buffer
	file   *os.File
	n      int64
	bareLF bool // an LF not preceded by CR
	lastCR bool
	last   byte
}

func (s *spool) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' && !s.lastCR {
			s.bareLF = true
		}
		s.lastCR = b == '\r'
	}
	if len(p) > 0 {
		s.last = p[len(p)-1]
	}
	s.n += int64(len(p))
	if s.file != nil {
		return s.file.Write(p)
	}
	return s.mem.Write(p)
}

func (s *spool) reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.file, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}

// Add appends one message: its "From " line, its flag headers (Status,
// X-Status, X-Keywords) and the X-Rookery-Mbox marker, then its content
// mboxrd-quoted, with CRLF written as LF when every line ends in CRLF,
// and a blank line.
func (w *Writer) Add(ctx context.Context, m archive.Message, content io.Reader) error {
	mb := w.cur
	if mb == nil {
		return errors.New("mbox: Add outside a mailbox")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var sp spool
	defer sp.close()
	if m.Size > memSpool || m.Size < 0 {
		f, err := os.CreateTemp(w.root, ".spool-*")
		if err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
		sp.file = f
	} else {
		sp.mem.Grow(int(m.Size))
	}
	if _, err := io.CopyBuffer(&sp, content, w.buf); err != nil {
		return fmt.Errorf("mbox: mailbox %q: message UID %d: %w", mb.name, m.UID, err)
	}
	if m.Size >= 0 && sp.n != m.Size {
		return fmt.Errorf("mbox: mailbox %q: message UID %d: content is %d bytes, expected %d", mb.name, m.UID, sp.n, m.Size)
	}
	if err := w.encode(mb.bw, m, &sp); err != nil {
		return fmt.Errorf("mbox: mailbox %q: message UID %d: %w", mb.name, m.UID, err)
	}
	return nil
}

// encode writes the spooled message m to bw: its "From " line, its flag
// headers, the marker, its content quoted (and with CRLF written as LF
// when every line ends in CRLF), a line end if it has none, and the
// blank separator line.
func (w *Writer) encode(bw *bufio.Writer, m archive.Message, sp *spool) error {
	crlfMode := !sp.bareLF && sp.n > 0
	noEOL := sp.n == 0 || sp.last != '\n'
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	date = date.Truncate(time.Second)
	r, err := sp.reader()
	if err != nil {
		return err
	}
	sender := envelopeSender(r)
	var h strings.Builder
	h.WriteString(formatFromLine(sender, date))
	h.WriteByte('\n')
	h.WriteString(flagHeaders(m.Flags))
	fmt.Fprintf(&h, "%s 1 size=%d date=%s", markerField, sp.n, date.Format(time.RFC3339))
	if crlfMode {
		h.WriteString(" crlf")
	}
	if noEOL {
		h.WriteString(" noeol")
	}
	h.WriteByte('\n')
	if _, err := bw.WriteString(h.String()); err != nil {
		return err
	}
	if r, err = sp.reader(); err != nil {
		return err
	}
	var stages []stage
	if crlfMode {
		stages = append(stages, &stripCRStage{})
	}
	stages = append(stages, &quoteStage{})
	c := newChain(stages...)
	for {
		n, rerr := r.Read(w.buf)
		if n > 0 {
			w.out.Reset()
			c.write(&w.out, w.buf[:n])
			if _, err := bw.Write(w.out.Bytes()); err != nil {
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
	w.out.Reset()
	c.flush(&w.out)
	if noEOL {
		w.out.WriteByte('\n')
	}
	w.out.WriteByte('\n')
	_, err = bw.Write(w.out.Bytes())
	return err
}

// flagHeaders returns the Status, X-Status and X-Keywords header lines
// for flags (Status always: "O", and "R" when seen).
func flagHeaders(flags []string) string {
	sys, kws := archive.SplitFlags(flags)
	status := "O"
	var xs []byte
	for _, l := range []struct {
		c byte
		f string
	}{{'A', archive.FlagAnswered}, {'F', archive.FlagFlagged}, {'T', archive.FlagDraft}, {'D', archive.FlagDeleted}} {
		if archive.HasFlag(sys, l.f) {
			xs = append(xs, l.c)
		}
	}
	if archive.HasFlag(sys, archive.FlagSeen) {
		status = "RO"
	}
	s := "Status: " + status + "\n"
	if len(xs) > 0 {
		s += "X-Status: " + string(xs) + "\n"
	}
	if len(kws) > 0 {
		s += "X-Keywords: " + strings.Join(kws, " ") + "\n"
	}
	return s
}

// EndMailbox makes the mailbox's file durable and gives it its name.
func (w *Writer) EndMailbox(ctx context.Context) error {
	mb := w.cur
	if mb == nil {
		return errors.New("mbox: EndMailbox outside a mailbox")
	}
	w.cur = nil
	err := mb.bw.Flush()
	if err == nil {
		err = mb.f.Sync()
	}
	if cerr := mb.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(mb.tmp, mb.path)
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(mb.path))
	}
	if err != nil {
		os.Remove(mb.tmp)
		return fmt.Errorf("mbox: mailbox %q: %w", mb.name, err)
	}
	return nil
}

// Close writes the subscriptions file (Dovecot 2.3's format) at the
// root.
func (w *Writer) Close() error {
	if w.cur != nil {
		return fmt.Errorf("mbox: Close inside mailbox %q", w.cur.name)
	}
	if err := durable.WriteFile(filepath.Join(w.root, subscriptionsFile), subsfile.Format(w.subs), 0o600); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	return nil
}

// subscriptionsFile is the name of the subscriptions file at the root of
// a directory of mbox files.
const subscriptionsFile = "subscriptions"

// parseMarker parses the value of an X-Rookery-Mbox header.
func parseMarker(v string) (m marker, ok bool) {
	f := strings.Fields(v)
	if len(f) < 3 || f[0] != "1" {
		return m, false
	}
	haveSize, haveDate := false, false
	for _, x := range f[1:] {
		switch {
		case strings.HasPrefix(x, "size="):
			n, err := strconv.ParseInt(x[5:], 10, 64)
			if err != nil || n < 0 {
				return m, false
			}
			m.size, haveSize = n, true
		case strings.HasPrefix(x, "date="):
			d, err := time.Parse(time.RFC3339, x[5:])
			if err != nil {
				return m, false
			}
			m.date, haveDate = d, true
		case x == "crlf":
			m.crlf = true
		case x == "noeol":
			m.noEOL = true
		default:
			return m, false
		}
	}
	return m, haveSize && haveDate
}

// marker is what an X-Rookery-Mbox header says.
type marker struct {
	size  int64
	date  time.Time
	crlf  bool
	noEOL bool
}
