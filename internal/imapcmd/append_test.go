package imapcmd

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapwire"
)

type appended struct {
	flags  []string
	date   time.Time
	body   string
	binary bool
	utf8   bool
}

func readAppend(t *testing.T, d *imapwire.Decoder, opts Options) (string, []appended, error) {
	t.Helper()
	c, err := Read(d, opts, testLookup)
	if err != nil {
		return "", nil, err
	}
	a, ok := c.Args.(*Append)
	if !ok || c.Name != "APPEND" {
		t.Fatalf("got %+v", c)
	}
	var msgs []appended
	for {
		m, err := a.Next()
		if err != nil {
			return a.Mailbox, msgs, err
		}
		if m == nil {
			return a.Mailbox, msgs, nil
		}
		body, err := io.ReadAll(m.Literal)
		if err != nil {
			return a.Mailbox, msgs, err
		}
		if int64(len(body)) != m.Literal.Size() {
			t.Errorf("read %d bytes, size %d", len(body), m.Literal.Size())
		}
		msgs = append(msgs, appended{m.Flags, m.Date, string(body), m.Literal.Binary(), m.UTF8})
	}
}

func TestAppend(t *testing.T) {
	date := mustDate("17-Jul-1996 02:44:25 -0700")
	tests := []struct {
		in   string
		mbox string
		want []appended
	}{
		{"a APPEND saved-messages (\\Seen) {5}\r\nhello\r\n", "saved-messages", []appended{{flags: []string{`\Seen`}, body: "hello"}}},
		{"a APPEND INBOX {0}\r\n\r\n", "INBOX", []appended{{body: ""}}},
		{"a APPEND \"Sent Items\" () \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nhello\n", "Sent Items", []appended{{flags: []string{}, date: date, body: "hello"}}},
		{"a APPEND INBOX \"17-Jul-1996 02:44:25 -0700\" ~{3}\r\na\x00b\r\n", "INBOX", []appended{{date: date, body: "a\x00b", binary: true}}},
		{"a APPEND INBOX (\\Seen $X) {2}\r\nab (\\Draft) {2+}\r\ncd ~{1}\r\ne\r\n", "INBOX", []appended{
			{flags: []string{`\Seen`, "$X"}, body: "ab"},
			{flags: []string{`\Draft`}, body: "cd"},
			{body: "e", binary: true},
		}},
		{"a APPEND INBOX UTF8 (~{3}\r\nä!)\r\n", "INBOX", []appended{{body: "ä!", binary: true, utf8: true}}},
		{"a APPEND INBOX (\\Seen) utf8 (~{1+}\r\nx) {1}\r\ny\r\n", "INBOX", []appended{{flags: []string{`\Seen`}, body: "x", binary: true, utf8: true}, {body: "y"}}},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			d := newDecoder(tt.in+"z NOOP\r\n", oneByte)
			syncs := 0
			d.OnSyncLiteral(func(int64) error { syncs++; return nil })
			mbox, msgs, err := readAppend(t, d, Options{})
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
				continue
			}
			if mbox != tt.mbox || !reflect.DeepEqual(msgs, tt.want) {
				t.Errorf("%q:\n got %q %+v\nwant %q %+v", tt.in, mbox, msgs, tt.mbox, tt.want)
			}
			if want := strings.Count(tt.in, "}\r\n") - strings.Count(tt.in, "+}\r\n"); syncs != want {
				t.Errorf("%q: %d sync callbacks, want %d", tt.in, syncs, want)
			}
			if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
				t.Errorf("after %q: next = %+v, %v", tt.in, next, err)
			}
		}
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		in     string
		tooBig bool
	}{
		{"a APPEND INBOX\r\n", false},
		{"a APPEND INBOX (\\Seen)\r\n", false},
		{"a APPEND INBOX (\\*) {1}\r\n", false},
		{"a APPEND INBOX \"32-Jan-2020 00:00:00 +0000\" {1}\r\n", false},
		{"a APPEND INBOX \"1-Jan-2020 00:00:00\" {1}\r\n", false},
		{"a APPEND INBOX \"hello\"\r\n", false},
		{"a APPEND INBOX UTF8 ({1}\r\n", false},
		{"a APPEND INBOX {100}\r\n", true},
		{"a APPEND INBOX ~{100}\r\n", true},
		{"a APPEND INBOX {100+}\r\n" + strings.Repeat("x", 100) + "\r\n", true},
		{"a APPEND INBOX {2}\r\nab {100+}\r\n" + strings.Repeat("x", 100) + "\r\n", true},
		{"a APPEND INBOX {2}\r\nab {100}\r\n", true},
		{"a APPEND INBOX {2}\r\nab junk\r\n", false},
		{"a APPEND INBOX UTF8 (~{2}\r\nab\r\n", false},
	}
	for _, tt := range tests {
		d := newDecoder(tt.in+"z NOOP\r\n", false)
		synced := false
		d.OnSyncLiteral(func(n int64) error {
			if n >= 100 {
				synced = true
			}
			return nil
		})
		_, _, err := readAppend(t, d, Options{AppendLimit: 10})
		var se *SyntaxError
		if !errors.As(err, &se) || se.Tag != "a" {
			t.Errorf("%q: err = %v, want SyntaxError", tt.in, err)
			continue
		}
		if errors.Is(err, imapwire.ErrTooBig) != tt.tooBig {
			t.Errorf("%q: err = %v, tooBig want %v", tt.in, err, tt.tooBig)
		}
		if synced {
			t.Errorf("%q: OnSyncLiteral called for a rejected literal", tt.in)
		}
		if err := d.DiscardLine(); err != nil {
			t.Errorf("DiscardLine after %q: %v", tt.in, err)
		}
		if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
			t.Errorf("after %q: next = %+v, %v", tt.in, next, err)
		}
	}
}

// TestAppendRejected checks that a server rejecting APPEND right after Read
// (before Next) can skip it.
func TestAppendRejected(t *testing.T) {
	for _, in := range []string{
		"a APPEND INBOX (\\Seen) {5}\r\n",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\n",
	} {
		d := newDecoder(in+"z NOOP\r\n", true)
		c, err := Read(d, Options{}, testLookup)
		if err != nil || c.Name != "APPEND" {
			t.Fatalf("%q: %v %v", in, c, err)
		}
		if err := d.DiscardLine(); err != nil {
			t.Fatal(err)
		}
		if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
			t.Errorf("after %q: next = %+v, %v", in, next, err)
		}
	}
}

// TestAppendPartialRead checks that a message literal the server stops
// reading (for example after a store error) is skipped by DiscardLine.
func TestAppendPartialRead(t *testing.T) {
	d := newDecoder("a APPEND INBOX {10}\r\n0123456789 {3}\r\nabc\r\nz NOOP\r\n", true)
	c, err := Read(d, Options{}, testLookup)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Args.(*Append).Next()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(m.Literal, buf); err != nil {
		t.Fatal(err)
	}
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	// The second message was a synchronizing literal: not followed, so the
	// client's "abc" line is what comes next (it would never be sent by a
	// real client, which waits for "+").
	if _, err := Read(d, Options{}, testLookup); err == nil {
		t.Fatal("expected error reading abc")
	}
	d.DiscardLine()
	if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
		t.Errorf("next = %+v, %v", next, err)
	}
}
