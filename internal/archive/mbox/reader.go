package mbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/msgfile"
	"rookery/internal/archive/subsfile"
)

// Dialect is the quoting of "From " lines inside messages.
type Dialect int

const (
	// MBOXRD quotes every line that is ">"* then "From " with one more
	// ">", and the Reader takes one off: the quoting is reversible.
	MBOXRD Dialect = iota
	// MBOXO quotes only "From " lines; the Reader takes the ">" off
	// ">From " lines only.
	MBOXO
)

// Reader reads mbox files: one file, or a directory of them.
type Reader struct {
	root    string
	dialect Dialect
	files   map[string]string // mailbox name → file
	boxes   []archive.Mailbox
}

// Open returns a Reader of the mbox file or directory of mbox files at
// path, reading mboxrd quoting (which reads mboxo files the same way
// except for lines that were ">>From " before quoting). It returns an
// error wrapping archive.ErrNotArchive when path is not mbox.
func Open(path string) (archive.Reader, error) { return OpenDialect(path, MBOXRD) }

// OpenDialect is Open with the quoting of the files given.
func OpenDialect(path string, d Dialect) (archive.Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mbox %s: %w", path, err)
	}
	r := &Reader{root: path, dialect: d, files: make(map[string]string)}
	if !st.IsDir() {
		if !startsWithFrom(path) {
			return nil, fmt.Errorf("mbox %s: does not start with a \"From \" line: %w", path, archive.ErrNotArchive)
		}
		name, ok := decodePath(filepath.Base(path))
		if !ok {
			name = "INBOX"
		}
		r.files[name] = path
		r.boxes = []archive.Mailbox{{Name: name}}
		return r, nil
	}
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
		if !de.Type().IsRegular() {
			return nil
		}
		n := de.Name()
		// Our files end in ".mbox"; other tools' (Thunderbird, mutt)
		// have no extension and start with "From ".
		if !strings.HasSuffix(n, ext) && (strings.Contains(n, ".") || n == subscriptionsFile || !startsWithFrom(p)) {
			return nil
		}
		rel, _ := filepath.Rel(path, p)
		name, ok := decodePath(rel)
		if !ok {
			return nil
		}
		if _, dup := r.files[name]; !dup {
			r.files[name] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mbox %s: %w", path, err)
	}
	if len(r.files) == 0 {
		return nil, fmt.Errorf("mbox %s: no mbox files in the directory: %w", path, archive.ErrNotArchive)
	}
	subs := make(map[string]bool)
	if data, err := readSubscriptions(filepath.Join(path, subscriptionsFile)); err == nil && len(data) < 16<<20 {
		for _, n := range subsfile.Parse(string(data)) {
			subs[n] = true
		}
	}
	names := make([]string, 0, len(r.files))
	for n := range r.files {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
	})
	for _, n := range names {
		r.boxes = append(r.boxes, archive.Mailbox{Name: n, Subscribed: subs[n]})
	}
	return r, nil
}

func startsWithFrom(path string) bool {
	f, err := msgfile.OpenFollow(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [5]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && string(b[:]) == fromPrefix
}

// Mailboxes returns a mailbox per file, parents before children.
func (r *Reader) Mailboxes(ctx context.Context) ([]archive.Mailbox, error) {
	out := make([]archive.Mailbox, len(r.boxes))
	copy(out, r.boxes)
	return out, nil
}

// Close releases nothing: files are open only inside Messages and Open.
func (r *Reader) Close() error { return nil }

// maxLine bounds the lines the Reader looks at whole (From lines and
// header lines); longer lines are read in pieces.
const maxLine = 64 << 10

// maxHeaderLines bounds how many header lines are searched for flags.
const maxHeaderLines = 2000

// pending is the message being scanned.
type pending struct {
	from     int64 // offset of its From line
	start    int64 // offset of its content
	date     time.Time
	marked   bool
	mark     marker
	ourOff   int64 // where the next of our flag header lines would start
	ourOK    bool  // the lines so far may be ours
	inHeader bool
	lines    int
	flags    []string // from every header line, as other tools write them
	ourFlags []string // from our lines only, as the Writer writes them
}

// Messages calls fn for each message of the mailbox's file, in file
// order. A message's content is read again from the file by its Open.
func (r *Reader) Messages(ctx context.Context, mailbox string, fn func(archive.Message) error, bad func(*archive.BadMessageError) error) error {
	path, ok := r.files[mailbox]
	if !ok {
		return fmt.Errorf("mbox %s: no mailbox %q", r.root, mailbox)
	}
	f, err := msgfile.OpenFollow(path)
	if err != nil {
		return fmt.Errorf("mbox %s: %w", path, err)
	}
	defer f.Close()
	open := func(start, length int64, c *chain) (io.ReadCloser, error) {
		f, err := msgfile.OpenFollow(path)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{newTransformReader(io.NewSectionReader(f, start, length), c, length), f}, nil
	}
	return r.scan(ctx, path, f, open, fn, bad)
}

// scan finds the messages of the mbox data in ra (whose name is path);
// open opens a message's content from its bytes in the file and chain.
func (r *Reader) scan(ctx context.Context, path string, ra io.ReaderAt, open func(start, length int64, c *chain) (io.ReadCloser, error), fn func(archive.Message) error, bad func(*archive.BadMessageError) error) error {
	sc := &scanner{r: r, path: path, file: ra, open: open, br: bufio.NewReaderSize(io.NewSectionReader(ra, 0, 1<<62), maxLine), fn: fn, bad: bad, ctx: ctx, chunk: make([]byte, 32<<10)}
	err := sc.run()
	if err == errStop {
		err = nil
	}
	return err
}

// scanner finds the messages of one file.
type scanner struct {
	r    *Reader
	path string
	file io.ReaderAt
	open func(start, length int64, c *chain) (io.ReadCloser, error)
	br   *bufio.Reader
	fn   func(archive.Message) error
	bad  func(*archive.BadMessageError) error
	ctx  context.Context

	pos      int64 // offset of the next byte to read
	cur      *pending
	prevLine int // length of the previous line when it was blank, else 0
	lastByte byte
	out      bytes.Buffer
	bufs     [3]bytes.Buffer // between the stages of size's chains
	chunk    []byte
}

func (s *scanner) run() error {
	atStart := true
	for {
		lineOff := s.pos
		line, err := s.br.ReadSlice('\n')
		s.pos += int64(len(line))
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return fmt.Errorf("mbox %s: %w", s.path, err)
		}
		if len(line) > 0 {
			whole := err == nil
			if atStart {
				if err := s.lineStart(lineOff, line, whole); err != nil {
					return err
				}
			} else {
				s.prevLine = 0
			}
			s.lastByte = line[len(line)-1]
		}
		atStart = err == nil
		if err == io.EOF {
			return s.finish(s.pos, true)
		}
	}
}

// lineStart handles the start of a line at off (line may be only its
// first part when the line is longer than maxLine; whole says whether it
// ends with its LF). A line starting with "From " separates messages at
// the start of the file, after a blank line, or when it is a valid From
// line (sender and date).
func (s *scanner) lineStart(off int64, line []byte, whole bool) error {
	blank := whole && (len(line) == 1 || (len(line) == 2 && line[0] == '\r'))
	prevBlank := s.prevLine
	if blank {
		s.prevLine = len(line)
	} else {
		s.prevLine = 0
	}
	if bytes.HasPrefix(line, []byte(fromPrefix)) {
		_, date, perr := parseFromLine(string(bytes.TrimRight(line, "\r\n")))
		if off == 0 || prevBlank > 0 || perr == nil {
			if err := s.finishBefore(off, prevBlank); err != nil {
				return err
			}
			start := off + int64(len(line))
			s.cur = &pending{from: off, start: start, date: date, inHeader: whole, ourOff: start, ourOK: true}
			return nil
		}
	}
	if off == 0 {
		if err := archive.ReportBad(s.bad, s.path+":0", errors.New(`does not start with a "From " line: not an mbox file`)); err != nil {
			return err
		}
		return errStop
	}
	if s.cur != nil && s.cur.inHeader {
		s.header(off, line, whole, blank)
	}
	return nil
}

// errStop ends a file that cannot be read further after bad accepted it.
var errStop = errors.New("stop")

// header looks at a line of the current message's header section for
// flags, and for the lines the Writer put first: [Status] [X-Status]
// [X-Keywords] X-Rookery-Mbox.
func (s *scanner) header(off int64, line []byte, whole, blank bool) {
	c := s.cur
	if blank || !whole || c.lines >= maxHeaderLines {
		c.inHeader = false
		return
	}
	c.lines++
	text := string(bytes.TrimRight(line, "\r\n"))
	name, value, ok := strings.Cut(text, ":")
	ours := c.ourOK && off == c.ourOff && line[len(line)-1] == '\n' && (len(line) < 2 || line[len(line)-2] != '\r')
	if !ok {
		c.ourOK = false
		return
	}
	value = strings.TrimSpace(value)
	switch {
	case ours && name == "X-Rookery-Mbox":
		if m, ok := parseMarker(value); ok {
			c.marked = true
			c.mark = m
			c.flags = c.ourFlags
			c.start = off + int64(len(line))
			c.date = m.date
			c.inHeader = false
			return
		}
		c.ourOK = false
	case strings.EqualFold(name, "Status"):
		if strings.Contains(value, "R") {
			c.flags = addFlag(c.flags, archive.FlagSeen)
			c.ourFlags = addFlag(c.ourFlags, archive.FlagSeen)
		}
	case strings.EqualFold(name, "X-Status"):
		for _, l := range xStatusLetters {
			if strings.IndexByte(value, l.c) >= 0 {
				c.flags = addFlag(c.flags, l.f)
				c.ourFlags = addFlag(c.ourFlags, l.f)
			}
		}
	case strings.EqualFold(name, "X-Keywords"):
		// Other tools separate keywords by spaces or commas; the
		// Writer by spaces only (a keyword may hold a comma).
		for _, k := range strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if archive.IsKeyword(k) {
				c.flags = addFlag(c.flags, k)
			}
		}
		for _, k := range strings.Fields(value) {
			if archive.IsKeyword(k) {
				c.ourFlags = addFlag(c.ourFlags, k)
			}
		}
	default:
		c.ourOK = false
		return
	}
	if ours {
		c.ourOff = off + int64(len(line))
	} else {
		c.ourOK = false
	}
}

var xStatusLetters = []struct {
	c byte
	f string
}{{'A', archive.FlagAnswered}, {'F', archive.FlagFlagged}, {'T', archive.FlagDraft}, {'D', archive.FlagDeleted}}

func addFlag(flags []string, f string) []string {
	if archive.HasFlag(flags, f) {
		return flags
	}
	return append(flags, f)
}

// finishBefore ends the current message at off, where a From line
// starts; the blank line before it (blank bytes) is the separator.
func (s *scanner) finishBefore(off int64, blank int) error {
	if s.cur == nil {
		return nil
	}
	return s.end(off-int64(blank), false)
}

// finish ends the current message at the end of the file.
func (s *scanner) finish(end int64, eof bool) error {
	if s.cur == nil {
		return nil
	}
	return s.end(end-int64(s.prevLine), eof && s.lastByte != '\n')
}

// end reports the current message, whose content ends at end.
func (s *scanner) end(end int64, truncated bool) error {
	c := s.cur
	s.cur = nil
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if end < c.start {
		end = c.start
	}
	where := s.path + ":" + strconv.FormatInt(c.from, 10)
	fail := func(err error) error { return archive.ReportBad(s.bad, where, err) }
	if truncated {
		return fail(errors.New("the file ends inside this message (no line end): truncated"))
	}
	size, err := s.size(c, end)
	if err != nil {
		return fail(err)
	}
	if c.marked && size != c.mark.size {
		return fail(fmt.Errorf("X-Rookery-Mbox says %d bytes, the content has %d: truncated or edited", c.mark.size, size))
	}
	if size == 0 {
		return fail(errors.New("empty message"))
	}
	start, length, r, open := c.start, end-c.start, s.r, s.open
	mk, marked := c.mark, c.marked
	return s.fn(archive.Message{
		Flags:        c.flags,
		InternalDate: c.date,
		Size:         size,
		Path:         where,
		Open:         func() (io.ReadCloser, error) { return open(start, length, r.chain(marked, mk)) },
	})
}

// chain returns the stages that turn a message's bytes in the file into
// its content: unquoting, then for the Writer's messages what the marker
// says (drop the added last LF, LF back to CRLF), for others bare LF to
// CRLF.
func (r *Reader) chain(marked bool, m marker) *chain {
	stages := []stage{&unquoteStage{mboxo: r.dialect == MBOXO}}
	if marked {
		if m.noEOL {
			stages = append(stages, &dropLastLFStage{})
		}
		if m.crlf {
			stages = append(stages, &addCRStage{all: true})
		}
	} else {
		stages = append(stages, &addCRStage{})
	}
	return newChain(stages...)
}

// size returns the size of a message's content, reading it through its
// chain.
func (s *scanner) size(c *pending, end int64) (int64, error) {
	ch := s.r.chain(c.marked, c.mark).withBufs(s.bufs[:])
	sr := io.NewSectionReader(s.file, c.start, end-c.start)
	var n int64
	for {
		k, err := sr.Read(s.chunk)
		if k > 0 {
			s.out.Reset()
			ch.write(&s.out, s.chunk[:k])
			n += int64(s.out.Len())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	s.out.Reset()
	ch.flush(&s.out)
	return n + int64(s.out.Len()), nil
}

// readSubscriptions reads the subscriptions file (a regular file only),
// at most 16 MiB and a byte.
func readSubscriptions(path string) ([]byte, error) {
	f, err := msgfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 16<<20+1))
}
