package mbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive"
)

func TestParseFromLine(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		line   string
		sender string
		date   time.Time
		ok     bool
	}{
		{"From MAILER-DAEMON Thu Jan  1 00:00:00 2020", "MAILER-DAEMON", utc(2020, 1, 1, 0, 0, 0), true},
		{"From a@b.c Mon Jan  2 15:04:05 2006", "a@b.c", utc(2006, 1, 2, 15, 4, 5), true},
		{"From a@b.c Mon Jan 12 15:04:05 2006", "a@b.c", utc(2006, 1, 12, 15, 4, 5), true},
		{"From a@b.c Mon Jan  2 15:04:05 2006 +0200", "a@b.c", time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", 7200)), true},
		{"From a@b.c Mon Jan  2 15:04:05 -0130 2006", "a@b.c", time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", -5400)), true},
		{"From a@b.c Mon Jan  2 15:04:05 EST 2006", "a@b.c", utc(2006, 1, 2, 15, 4, 5), true},
		{"From a@b.c Mon Jan  2 15:04 2006", "a@b.c", utc(2006, 1, 2, 15, 4, 0), true},
		{"From a@b.c Mon Jan  2 15:04:05 2006 remote from x", "a@b.c", utc(2006, 1, 2, 15, 4, 5), true},
		{"From  Mon Jan  2 15:04:05 2006", "", utc(2006, 1, 2, 15, 4, 5), true},
		{"From Mon Jan  2 15:04:05 2006", "", utc(2006, 1, 2, 15, 4, 5), true},
		{"From here on we talk", "", time.Time{}, false},
		{"From a@b.c Mon Foo  2 15:04:05 2006", "", time.Time{}, false},
		{"From a@b.c Mon Jan 32 15:04:05 2006", "", time.Time{}, false},
		{"From a@b.c Mon Jan  2 25:04:05 2006", "", time.Time{}, false},
		{"From a@b.c Mon Jan  2 15:04:05", "", time.Time{}, false},
		{">From a@b.c Mon Jan  2 15:04:05 2006", "", time.Time{}, false},
		{"From ", "", time.Time{}, false},
	}
	for _, tt := range tests {
		sender, date, err := parseFromLine(tt.line)
		if (err == nil) != tt.ok {
			t.Errorf("parseFromLine(%q): err %v, want ok %v", tt.line, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if sender != tt.sender || !date.Equal(tt.date) {
			t.Errorf("parseFromLine(%q) = %q %v, want %q %v", tt.line, sender, date, tt.sender, tt.date)
		}
		_, off := date.Zone()
		_, woff := tt.date.Zone()
		if off != woff {
			t.Errorf("parseFromLine(%q): zone offset %d, want %d", tt.line, off, woff)
		}
	}
	// What the Writer writes parses back.
	d := time.Date(2024, 2, 29, 23, 59, 58, 0, time.FixedZone("", 3600))
	line := formatFromLine("x@y", d)
	if line != "From x@y Thu Feb 29 22:59:58 2024" {
		t.Errorf("formatFromLine = %q", line)
	}
	if s, got, err := parseFromLine(line); err != nil || s != "x@y" || !got.Equal(d) {
		t.Errorf("parse(format) = %q %v %v", s, got, err)
	}
}

func runStages(in string, stages ...stage) string {
	var out bytes.Buffer
	c := newChain(stages...)
	// Feed byte by byte to exercise state kept across writes.
	for i := 0; i < len(in); i++ {
		c.write(&out, []byte{in[i]})
	}
	c.flush(&out)
	var whole bytes.Buffer
	c2 := newChain(freshStages(stages)...)
	c2.write(&whole, []byte(in))
	c2.flush(&whole)
	if whole.String() != out.String() {
		return "MISMATCH byte-wise " + out.String() + " whole " + whole.String()
	}
	return out.String()
}

func freshStages(stages []stage) []stage {
	var out []stage
	for _, s := range stages {
		switch s := s.(type) {
		case *quoteStage:
			out = append(out, &quoteStage{})
		case *unquoteStage:
			out = append(out, &unquoteStage{mboxo: s.mboxo})
		case *stripCRStage:
			out = append(out, &stripCRStage{})
		case *addCRStage:
			out = append(out, &addCRStage{all: s.all})
		case *dropLastLFStage:
			out = append(out, &dropLastLFStage{})
		}
	}
	return out
}

func TestQuoting(t *testing.T) {
	tests := []struct {
		in, quoted string
		mboxo      string // what an mboxo reader makes of quoted
	}{
		{"From x\n", ">From x\n", "From x\n"},
		{">From x\n", ">>From x\n", ">>From x\n"},
		{">>From x\n", ">>>From x\n", ">>>From x\n"},
		{"a\nFrom x\nb", "a\n>From x\nb", "a\nFrom x\nb"},
		{"From", "From", "From"},
		{"From\n", "From\n", "From\n"},
		{"Fromage\n", "Fromage\n", "Fromage\n"},
		{" From x\n", " From x\n", " From x\n"},
		{"> From x\n", "> From x\n", "> From x\n"},
		{"x From y\n", "x From y\n", "x From y\n"},
		{">>>\n", ">>>\n", ">>>\n"},
		{">F>From\n", ">F>From\n", ">F>From\n"},
		{"\r\nFrom x\r\n", "\r\n>From x\r\n", "\r\nFrom x\r\n"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := runStages(tt.in, &quoteStage{}); got != tt.quoted {
			t.Errorf("quote(%q) = %q, want %q", tt.in, got, tt.quoted)
		}
		if got := runStages(tt.quoted, &unquoteStage{}); got != tt.in {
			t.Errorf("mboxrd unquote(%q) = %q, want %q", tt.quoted, got, tt.in)
		}
		if got := runStages(tt.quoted, &unquoteStage{mboxo: true}); got != tt.mboxo {
			t.Errorf("mboxo unquote(%q) = %q, want %q", tt.quoted, got, tt.mboxo)
		}
	}
}

func TestLineEndStages(t *testing.T) {
	tests := []struct {
		name, in, want string
		stages         []stage
	}{
		{"strip", "a\r\nb\r\n", "a\nb\n", []stage{&stripCRStage{}}},
		{"strip keeps lone CR", "a\rb\r\r\n\r", "a\rb\r\n\r", []stage{&stripCRStage{}}},
		{"add all", "a\nb\r\n", "a\r\nb\r\r\n", []stage{&addCRStage{all: true}}},
		{"add bare", "a\nb\r\n\n", "a\r\nb\r\n\r\n", []stage{&addCRStage{}}},
		{"drop last LF", "a\n\n", "a\n", []stage{&dropLastLFStage{}}},
		{"drop last LF only at end", "a\nb", "a\nb", []stage{&dropLastLFStage{}}},
	}
	for _, tt := range tests {
		if got := runStages(tt.in, tt.stages...); got != tt.want {
			t.Errorf("%s: %q → %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestEncodePath(t *testing.T) {
	tests := []struct{ name, path string }{
		{"INBOX", "INBOX.mbox"},
		{"inbox", "INBOX.mbox"},
		{"Archive/2024", "Archive/2024.mbox"},
		{"Entwürfe", "Entwürfe.mbox"},
		{".hidden", "%2Ehidden.mbox"},
		{"..", "%2E..mbox"},
		{"x.mbox", "x%2Embox.mbox"},
		{"x.mbox/y", "x%2Embox/y.mbox"},
		{"a.sbd/b", "a%2Esbd/b.mbox"},
		{"100%", "100%25.mbox"},
		{`a\b:c*d?e"f<g>h|i`, "a%5Cb%3Ac%2Ad%3Fe%22f%3Cg%3Eh%7Ci.mbox"},
		{"tab\there", "tab%09here.mbox"},
		{"a.b", "a.b.mbox"},
	}
	for _, tt := range tests {
		got, err := encodePath(tt.name)
		if err != nil || got != tt.path {
			t.Errorf("encodePath(%q) = %q, %v, want %q", tt.name, got, err, tt.path)
			continue
		}
		back, ok := decodePath(got)
		want := tt.name
		if strings.EqualFold(want, "INBOX") {
			want = "INBOX"
		}
		if !ok || back != want {
			t.Errorf("decodePath(%q) = %q, %v, want %q", got, back, ok, want)
		}
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", strings.Repeat("x", 300)} {
		if _, err := encodePath(bad); err == nil {
			t.Errorf("encodePath(%q) accepted", bad)
		}
	}
	// Thunderbird's layout.
	if n, ok := decodePath("Inbox.sbd/Work.sbd/Old"); !ok || n != "INBOX/Work/Old" {
		t.Errorf("decodePath(Thunderbird) = %q %v", n, ok)
	}
}

type readMsg struct {
	flags   []string
	date    time.Time
	content string
	path    string
}

func readFile(t *testing.T, path string, d Dialect) ([]readMsg, []*archive.BadMessageError, error) {
	t.Helper()
	r, err := OpenDialect(path, d)
	if err != nil {
		return nil, nil, err
	}
	mbs, _ := r.Mailboxes(context.Background())
	var msgs []readMsg
	var bads []*archive.BadMessageError
	err = r.Messages(context.Background(), mbs[0].Name, func(m archive.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if int64(len(b)) != m.Size {
			t.Errorf("%s: Size %d, read %d", m.Path, m.Size, len(b))
		}
		msgs = append(msgs, readMsg{m.Flags, m.InternalDate, string(b), m.Path})
		return err
	}, func(be *archive.BadMessageError) error {
		bads = append(bads, be)
		return nil
	})
	return msgs, bads, err
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestForeignMbox reads mbox files as other tools write them.
func TestForeignMbox(t *testing.T) {
	data := "From alice@example.org Mon Jan  2 15:04:05 2006\n" +
		"Status: RO\nX-Status: AF\nX-Keywords: $Label1, work\nContent-Length: 3\nSubject: one\n\n" +
		">From the start\n>>From quoted\nbody\n\n" +
		"From bob@example.org Tue Jan  3 10:00:00 2006 +0100\n" +
		"Subject: two\nStatus: O\nX-Status: TD\n\nbody\nFrom inside, not a separator (no date, no blank line before)\n\n" +
		"From carol Wed Jan  4 10:00:00 2006\nSubject: three\n\nlast\n"
	p := writeFile(t, "foreign", data)
	for _, tt := range []struct {
		d      Dialect
		quoted string
	}{{MBOXRD, ">From quoted"}, {MBOXO, ">>From quoted"}} {
		msgs, bads, err := readFile(t, p, tt.d)
		if err != nil || len(bads) > 0 {
			t.Fatalf("dialect %d: %v %v", tt.d, err, bads)
		}
		if len(msgs) != 3 {
			t.Fatalf("dialect %d: %d messages", tt.d, len(msgs))
		}
		want0 := "Status: RO\r\nX-Status: AF\r\nX-Keywords: $Label1, work\r\nContent-Length: 3\r\nSubject: one\r\n\r\nFrom the start\r\n" + tt.quoted + "\r\nbody\r\n"
		if msgs[0].content != want0 {
			t.Errorf("dialect %d: first message %q, want %q", tt.d, msgs[0].content, want0)
		}
		if got := strings.Join(msgs[0].flags, " "); got != `\Seen \Answered \Flagged $Label1 work` {
			t.Errorf("first flags %q", got)
		}
		if got := strings.Join(msgs[1].flags, " "); got != `\Draft \Deleted` {
			t.Errorf("second flags %q", got)
		}
		if !strings.Contains(msgs[1].content, "\r\nFrom inside") {
			t.Errorf("second message %q", msgs[1].content)
		}
		if want := time.Date(2006, 1, 3, 9, 0, 0, 0, time.UTC); !msgs[1].date.Equal(want) {
			t.Errorf("second date %v, want %v", msgs[1].date, want)
		}
		if msgs[2].content != "Subject: three\r\n\r\nlast\r\n" || msgs[2].path != p+":"+strconv.Itoa(strings.Index(data, "From carol")) {
			t.Errorf("third message %q at %s", msgs[2].content, msgs[2].path)
		}
	}
}

func TestBadMbox(t *testing.T) {
	ok := "From a Mon Jan  2 15:04:05 2006\nSubject: ok\n\nbody\n\n"
	tests := []struct {
		name    string
		data    string
		notMbox bool
		good    int
		badAt   []int
	}{
		{"not mbox", "Subject: x\n\nbody\n", true, 0, nil},
		{"empty", "", true, 0, nil},
		{"truncated final", ok + "From b Mon Jan  2 15:04:05 2006\nSubject: cut\n\nhalf a li", false, 1, []int{len(ok)}},
		{"empty message", ok + "From b Mon Jan  2 15:04:05 2006\n", false, 1, []int{len(ok)}},
	}
	for _, tt := range tests {
		p := writeFile(t, "box", tt.data)
		msgs, bads, err := readFile(t, p, MBOXRD)
		if tt.notMbox {
			if !errors.Is(err, archive.ErrNotArchive) {
				t.Errorf("%s: err %v, want ErrNotArchive", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(msgs) != tt.good || len(bads) != len(tt.badAt) {
			t.Errorf("%s: %d good, %d bad (%v), want %d and %d", tt.name, len(msgs), len(bads), bads, tt.good, len(tt.badAt))
			continue
		}
		for i, at := range tt.badAt {
			if want := p + ":" + strconv.Itoa(at); bads[i].Path != want {
				t.Errorf("%s: bad at %s, want %s", tt.name, bads[i].Path, want)
			}
		}
	}
}

// TestTruncatedExport cuts a file the Writer wrote inside its last
// message: that message is reported with its offset, the others read.
func TestTruncatedExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.BeginMailbox(ctx, archive.Mailbox{Name: "INBOX"})
	body := "Subject: s\r\n\r\n" + strings.Repeat("line\r\n", 100)
	for i := 0; i < 3; i++ {
		if err := w.Add(ctx, archive.Message{UID: uint32(i + 1), Size: int64(len(body))}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	w.EndMailbox(ctx)
	w.Close()
	p := filepath.Join(dir, "INBOX.mbox")
	data, _ := os.ReadFile(p)
	last := bytes.LastIndex(data, []byte("\nFrom ")) + 1
	for _, cut := range []int{len(data) - 2, len(data) - 3, last + 200} {
		os.WriteFile(p, data[:cut], 0o600)
		msgs, bads, err := readFile(t, dir, MBOXRD)
		if err != nil || len(msgs) != 2 || len(bads) != 1 || bads[0].Path != p+":"+strconv.Itoa(last) {
			t.Errorf("cut at %d: %d good, bad %v, err %v", cut, len(msgs), bads, err)
		}
	}
	// bad == nil: the first bad message stops the read with its error.
	r, _ := Open(dir)
	err = r.Messages(ctx, "INBOX", func(archive.Message) error { return nil }, nil)
	var be *archive.BadMessageError
	if !errors.As(err, &be) {
		t.Errorf("without bad: %v", err)
	}
}

// TestWriterOutput pins the bytes the Writer writes for a message.
func TestWriterOutput(t *testing.T) {
	w := &Writer{buf: make([]byte, 64<<10)}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	content := "Return-Path: <bounce@example.org>\r\nSubject: x\r\n\r\nFrom me\r\n>From you"
	sp := &spool{}
	sp.Write([]byte(content))
	m := archive.Message{Flags: []string{`\Seen`, `\Flagged`, `\Answered`, "$Forwarded", `\Recent`}, InternalDate: time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))}
	if err := w.encode(bw, m, sp); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	want := "From bounce@example.org Thu Jan  2 02:04:05 2020\n" +
		"Status: RO\nX-Status: AF\nX-Keywords: $Forwarded\n" +
		"X-Rookery-Mbox: 1 size=67 date=2020-01-02T03:04:05+01:00 crlf noeol\n" +
		"Return-Path: <bounce@example.org>\nSubject: x\n\n>From me\n>>From you\n\n"
	if out.String() != want {
		t.Errorf("writer wrote\n%q\nwant\n%q", out.String(), want)
	}
}
