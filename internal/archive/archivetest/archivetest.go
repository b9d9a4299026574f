// Package archivetest has what the tests of the archive formats share:
// hostile mailbox names and message contents, and a round trip through a
// format's Writer and Reader that checks what comes back.
package archivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive"
)

// HostileNames are mailbox names that stress a format's name encoding.
var HostileNames = []string{
	"INBOX/sub", "Archive", "Archive/2024", "a.b", "a.b/c.d", ".hidden", "x.mbox", "x.mbox/y",
	"Entwürfe", "Отправленные", "😀 emoji", "per%cent", `back\slash`, `colon:star*?"<>|`,
	"&amp", "&-", "~tilde", " space ", "..", "a/..", "a/.", "tab\there", "INBOXlike", "dots...",
	"\\2e", "%2E", "sbd.sbd/x",
}

// Content is a message content for the round trip.
type Content struct {
	Name string
	Data []byte
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// HostileContents are message contents that stress a format: line ends,
// "From " lines, quoting, 8-bit bytes, no final line end.
func HostileContents() []Content {
	hdr := "From: a@example.org\nTo: b@example.org\nSubject: test\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\n"
	long := strings.Repeat("x", 100<<10)
	gts := strings.Repeat(">", 70<<10)
	return []Content{
		{"crlf", []byte(crlf(hdr + "body\n"))},
		{"bare-lf", []byte(hdr + "body\n")},
		{"mixed", []byte(crlf(hdr+"one\n") + "two\n" + crlf("three\n"))},
		{"from-lines-crlf", []byte(crlf(hdr + "From here\n>From there\n>>From far\nFrom\nFromage\n> From x\n\nFrom me Mon Jan  2 15:04:05 2006\n"))},
		{"from-lines-lf", []byte(hdr + "From here\n>From there\n>>From far\n\nFrom me Mon Jan  2 15:04:05 2006\n>>>>From x\n")},
		{"starts-with-from", []byte("From x@y Mon Jan  2 15:04:05 2006\n" + hdr + "b\n")},
		{"no-final-eol", []byte(crlf(hdr) + "no end")},
		{"no-final-eol-from", []byte(hdr + "x\nFrom y")},
		{"final-cr", []byte(crlf(hdr) + "ends in CR\r")},
		{"blank-lines-at-end", []byte(crlf(hdr + "x\n\n\n"))},
		{"cr-cr-lf", []byte(crlf(hdr) + "a\r\r\nb\r\n")},
		{"eight-bit", []byte(crlf(hdr) + "caf\xe9 \xff\xfe na\xefve \xc3\xa4\r\n")},
		{"our-headers-inside", []byte("Status: RO\nX-Status: AF\nX-Keywords: fake\nX-Rookery-Mbox: 1 size=5 date=2020-01-01T00:00:00Z crlf\n" + hdr + "x\n")},
		{"long-line", []byte(crlf(hdr) + long + "\r\nFrom " + long + "\r\n")},
		{"many-gt", []byte(hdr + gts + "From x\n" + gts + "\n")},
		{"only-header", []byte("Subject: nothing else")},
	}
}

// Message is a message written and expected back.
type Message struct {
	Content
	UID   uint32
	Flags []string
	Date  time.Time
}

// Mailbox is a mailbox written and expected back.
type Mailbox struct {
	archive.Mailbox
	Messages []Message
}

// Options say what a format keeps.
type Options struct {
	UIDs          bool // UIDs and UIDVALIDITY come back
	Subscriptions bool
	Flags         bool
	// Zone: internal dates come back in their zone (else the same
	// instant).
	Zone bool
}

// Fixture returns mailboxes with the hostile names and contents, every
// flag and some keywords.
func Fixture() []Mailbox {
	zone := time.FixedZone("", -(7*3600 + 30*60))
	date := time.Date(2023, 11, 5, 1, 2, 3, 0, zone)
	flagSets := [][]string{
		nil,
		{archive.FlagSeen},
		{archive.FlagSeen, archive.FlagAnswered, archive.FlagFlagged, archive.FlagDeleted, archive.FlagDraft},
		{"$Forwarded", "$Junk", "project-x"},
		{archive.FlagDraft, "k1"},
	}
	inbox := Mailbox{Mailbox: archive.Mailbox{Name: "INBOX", Subscribed: true, UIDValidity: 777, UIDNext: 500}}
	for i, c := range HostileContents() {
		inbox.Messages = append(inbox.Messages, Message{Content: c, UID: uint32(10 + 3*i), Flags: flagSets[i%len(flagSets)], Date: date.Add(time.Duration(i) * time.Hour)})
	}
	boxes := []Mailbox{inbox}
	for i, n := range HostileNames {
		mb := Mailbox{Mailbox: archive.Mailbox{Name: n, Subscribed: i%2 == 0, UIDValidity: uint32(1000 + i)}}
		mb.Messages = []Message{{Content: Content{"small", []byte(crlf("Subject: in " + n + "\n\nhi\n"))}, UID: 1, Flags: []string{archive.FlagSeen}, Date: date}}
		boxes = append(boxes, mb)
	}
	return boxes
}

// Write writes boxes with w.
func Write(t testing.TB, w archive.Writer, boxes []Mailbox) {
	t.Helper()
	ctx := context.Background()
	for _, mb := range boxes {
		if err := w.BeginMailbox(ctx, mb.Mailbox); err != nil {
			t.Fatalf("BeginMailbox %q: %v", mb.Name, err)
		}
		for _, m := range mb.Messages {
			am := archive.Message{UID: m.UID, Flags: m.Flags, InternalDate: m.Date, Size: int64(len(m.Data))}
			if err := w.Add(ctx, am, bytes.NewReader(m.Data)); err != nil {
				t.Fatalf("Add %q %s: %v", mb.Name, m.Name, err)
			}
		}
		if err := w.EndMailbox(ctx); err != nil {
			t.Fatalf("EndMailbox %q: %v", mb.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Check reads r and compares it with boxes.
func Check(t testing.TB, r archive.Reader, boxes []Mailbox, o Options) {
	t.Helper()
	ctx := context.Background()
	mbs, err := r.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]archive.Mailbox)
	seen := make(map[string]bool)
	for _, mb := range mbs {
		if _, dup := got[mb.Name]; dup {
			t.Errorf("mailbox %q listed twice", mb.Name)
		}
		got[mb.Name] = mb
		if i := strings.LastIndexByte(mb.Name, '/'); i > 0 {
			if _, exists := got[mb.Name[:i]]; !exists && wantsName(boxes, mb.Name[:i]) {
				t.Errorf("mailbox %q listed before its parent", mb.Name)
			}
		}
		seen[mb.Name] = true
	}
	if len(mbs) != len(boxes) {
		var names []string
		for _, mb := range mbs {
			names = append(names, mb.Name)
		}
		sort.Strings(names)
		t.Errorf("%d mailboxes, want %d: %q", len(mbs), len(boxes), names)
	}
	for _, want := range boxes {
		mb, ok := got[want.Name]
		if !ok {
			t.Errorf("mailbox %q missing", want.Name)
			continue
		}
		if o.Subscriptions && mb.Subscribed != want.Subscribed {
			t.Errorf("mailbox %q: subscribed %v, want %v", want.Name, mb.Subscribed, want.Subscribed)
		}
		if o.UIDs && mb.UIDValidity != want.UIDValidity {
			t.Errorf("mailbox %q: UIDVALIDITY %d, want %d", want.Name, mb.UIDValidity, want.UIDValidity)
		}
		i := 0
		err := r.Messages(ctx, want.Name, func(m archive.Message) error {
			if i >= len(want.Messages) {
				return fmt.Errorf("more messages than the %d written", len(want.Messages))
			}
			w := want.Messages[i]
			i++
			rc, err := m.Open()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			if !bytes.Equal(data, w.Data) {
				t.Errorf("%q %s (%s): content differs:\n got %q\nwant %q", want.Name, w.Name, m.Path, clip(data), clip(w.Data))
			}
			if m.Size != int64(len(data)) {
				t.Errorf("%q %s: Size %d, content has %d", want.Name, w.Name, m.Size, len(data))
			}
			if o.UIDs && m.UID != w.UID {
				t.Errorf("%q %s: UID %d, want %d", want.Name, w.Name, m.UID, w.UID)
			}
			if o.Flags {
				if g, e := sortFlags(m.Flags), sortFlags(w.Flags); g != e {
					t.Errorf("%q %s: flags %s, want %s", want.Name, w.Name, g, e)
				}
			}
			if !m.InternalDate.Equal(w.Date) {
				t.Errorf("%q %s: internal date %v, want %v", want.Name, w.Name, m.InternalDate, w.Date)
			} else if o.Zone {
				_, go1 := m.InternalDate.Zone()
				_, wo := w.Date.Zone()
				if go1 != wo {
					t.Errorf("%q %s: internal date %v, want zone of %v", want.Name, w.Name, m.InternalDate, w.Date)
				}
			}
			return nil
		}, nil)
		if err != nil {
			t.Errorf("messages of %q: %v", want.Name, err)
		}
		if i != len(want.Messages) {
			t.Errorf("%q: %d messages, want %d", want.Name, i, len(want.Messages))
		}
	}
}

func wantsName(boxes []Mailbox, name string) bool {
	for _, b := range boxes {
		if b.Name == name {
			return true
		}
	}
	return false
}

func sortFlags(f []string) string {
	s := append([]string(nil), f...)
	sort.Strings(s)
	return strings.Join(s, " ")
}

func clip(b []byte) []byte {
	if len(b) > 300 {
		return append(append([]byte(nil), b[:300]...), "..."...)
	}
	return b
}

// BigMessage is a reader of a deterministic message of size bytes
// (header, then lines that include "From " and ">From " lines), produced
// without holding it in memory.
type BigMessage struct {
	size, off int64
	line      []byte
	lineOff   int
	n         int
}

// NewBigMessage returns a BigMessage of size bytes, CRLF line ends.
func NewBigMessage(size int64) *BigMessage {
	return &BigMessage{size: size, line: []byte("Subject: big\r\nFrom: a@example.org\r\n\r\n")}
}

func (b *BigMessage) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.off < b.size {
		if b.lineOff == len(b.line) {
			b.n++
			switch b.n % 7 {
			case 0:
				b.line = []byte("From the archive, line " + fmt.Sprint(b.n) + "\r\n")
			case 3:
				b.line = []byte(">From quoted " + fmt.Sprint(b.n) + "\r\n")
			default:
				b.line = []byte(fmt.Sprintf("%08d the quick brown fox jumps over the lazy dog \xe9\xe8\r\n", b.n))
			}
			b.lineOff = 0
		}
		k := copy(p[n:], b.line[b.lineOff:])
		if int64(k) > b.size-b.off {
			k = int(b.size - b.off)
		}
		b.lineOff += k
		b.off += int64(k)
		n += k
	}
	return n, nil
}

// Hash returns the SHA-256 of r's bytes and their count.
func Hash(r io.Reader) ([32]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}
