package imapwire

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func newTestDecoder(in string, oneByte bool, lim Limits) *Decoder {
	var r io.Reader = strings.NewReader(in)
	if oneByte {
		r = oneByteReader{r}
	}
	return NewDecoder(bufio.NewReaderSize(r, 16), lim)
}

// each runs fn with input fed normally and one byte per Read.
func each(t *testing.T, in string, lim Limits, fn func(t *testing.T, d *Decoder)) {
	t.Helper()
	for _, oneByte := range []bool{false, true} {
		fn(t, newTestDecoder(in, oneByte, lim))
	}
}

func TestStringTokens(t *testing.T) {
	tests := []struct {
		in   string
		tok  func(d *Decoder) (string, error)
		want string
		err  bool
	}{
		{"abc ", (*Decoder).Atom, "abc", false},
		{"a]b ", (*Decoder).Atom, "a", false},
		{"(x", (*Decoder).Atom, "", true},
		{"\"hello world\"", (*Decoder).Quoted, "hello world", false},
		{`"a\"b\\c"`, (*Decoder).Quoted, `a"b\c`, false},
		{`"a\b"`, (*Decoder).Quoted, "", true},
		{"\"a\r\nb\"", (*Decoder).Quoted, "", true},
		{"\"a\x00b\"", (*Decoder).Quoted, "", true},
		{"\"Grüße 日本\"", (*Decoder).Quoted, "Grüße 日本", false},
		{"\"\xff\"", (*Decoder).Quoted, "", true},
		{`""`, (*Decoder).Quoted, "", false},
		{"{5}\r\nab\r\nc", (*Decoder).Literal, "ab\r\nc", false},
		{"{5+}\r\nabcde", (*Decoder).Literal, "abcde", false},
		{"{5}\nabcde", (*Decoder).Literal, "abcde", false},
		{"{0}\r\n", (*Decoder).Literal, "", false},
		{"{3}\r\na\x00b", (*Decoder).Literal, "", true},
		{"{3+}\r\nab\x00", (*Decoder).Literal, "", true},
		{"{3}x", (*Decoder).Literal, "", true},
		{"{3", (*Decoder).Literal, "", true},
		{"{}\r\n", (*Decoder).Literal, "", true},
		{"~{3}\r\nabc", (*Decoder).Literal, "", true},
		{"{3}\r\nab", (*Decoder).Literal, "", true}, // unexpected EOF
		{"\"q\"", (*Decoder).String, "q", false},
		{"{1}\r\nq", (*Decoder).String, "q", false},
		{"q", (*Decoder).String, "", true},
		{"INBOX ", (*Decoder).AString, "INBOX", false},
		{"[Gmail]/Sent ", (*Decoder).AString, "[Gmail]/Sent", false},
		{"\"\" ", (*Decoder).AString, "", false},
		{"a%b ", (*Decoder).AString, "a", false},
		{"{2}\r\nxy", (*Decoder).AString, "xy", false},
		{") ", (*Decoder).AString, "", true},
	}
	for _, tt := range tests {
		each(t, tt.in, Limits{}, func(t *testing.T, d *Decoder) {
			got, err := tt.tok(d)
			if tt.err {
				if err == nil {
					t.Errorf("%q: got %q, want error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNString(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
		err  bool
	}{
		{"NIL ", "", false, false},
		{"nil)", "", false, false},
		{"\"NIL\"", "NIL", true, false},
		{"{1}\r\nx", "x", true, false},
		{"NILS", "", false, true},
		{"abc", "", false, true},
	} {
		each(t, tt.in, Limits{}, func(t *testing.T, d *Decoder) {
			s, ok, err := d.NString()
			if (err != nil) != tt.err || s != tt.want || ok != tt.ok {
				t.Errorf("%q: %q %v %v", tt.in, s, ok, err)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		is64 bool
		err  bool
	}{
		{"0 ", 0, false, false},
		{"0042)", 42, false, false},
		{"4294967295 ", math.MaxUint32, false, false},
		{"4294967296 ", 0, false, true},
		{"99999999999999999999999 ", 0, false, true},
		{"x", 0, false, true},
		{"9223372036854775807 ", math.MaxInt64, true, false},
		{"9223372036854775808 ", 0, true, true},
		{"18446744073709551616 ", 0, true, true},
	} {
		each(t, tt.in, Limits{}, func(t *testing.T, d *Decoder) {
			var got uint64
			var err error
			if tt.is64 {
				got, err = d.Number64()
			} else {
				var n uint32
				n, err = d.Number()
				got = uint64(n)
			}
			if (err != nil) != tt.err || (!tt.err && got != tt.want) {
				t.Errorf("%q: %d, %v", tt.in, got, err)
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Errorf("%q: error %T, want *SyntaxError", tt.in, err)
			}
		})
	}
}

func TestListAndLineEnds(t *testing.T) {
	in := "(a (b c) () \"d e\")\r\nnext\n(x\ry"
	each(t, in, Limits{}, func(t *testing.T, d *Decoder) {
		var got []string
		var elem func() error
		elem = func() error {
			b, err := d.PeekByte()
			if err != nil {
				return err
			}
			if b == '(' {
				got = append(got, "(")
				err := d.List(elem)
				got = append(got, ")")
				return err
			}
			s, err := d.AString()
			got = append(got, s)
			return err
		}
		if err := d.List(elem); err != nil {
			t.Fatal(err)
		}
		if want := "a ( b c ) ( ) d e"; strings.Join(got, " ") != want {
			t.Errorf("got %q, want %q", strings.Join(got, " "), want)
		}
		if err := d.CRLF(); err != nil {
			t.Fatal(err)
		}
		if a, err := d.Atom(); err != nil || a != "next" {
			t.Fatal(a, err)
		}
		if err := d.CRLF(); err != nil { // bare LF tolerated
			t.Fatal(err)
		}
		if err := d.Expect('('); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Atom(); err != nil {
			t.Fatal(err)
		}
		if err := d.CRLF(); err == nil { // CR without LF
			t.Fatal("CR y accepted as line end")
		}
	})
}

func TestListDepth(t *testing.T) {
	var elem func() error
	d := newTestDecoder(strings.Repeat("(", 10)+strings.Repeat(")", 10), false, Limits{MaxDepth: 5})
	elem = func() error { return d.List(elem) }
	err := d.List(elem)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("deep list: %v", err)
	}
	d = newTestDecoder(strings.Repeat("(", 5)+strings.Repeat(")", 5), false, Limits{MaxDepth: 5})
	elem = func() error { return d.List(elem) }
	if err := d.List(elem); err != nil {
		t.Fatalf("list at max depth: %v", err)
	}
}

func TestLimits(t *testing.T) {
	d := newTestDecoder(strings.Repeat("a", 100)+" b\r\n", false, Limits{MaxLine: 50})
	if _, err := d.Atom(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long atom: %v", err)
	}
	// Literal content does not count toward MaxLine.
	d = newTestDecoder("x {100}\r\n"+strings.Repeat("a", 100)+" y\r\n", false, Limits{MaxLine: 20, MaxLiteral: 200})
	if _, err := d.Atom(); err != nil {
		t.Fatal(err)
	}
	d.SP()
	if _, err := d.Literal(); err != nil {
		t.Fatal(err)
	}
	if err := d.SP(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Atom(); err != nil {
		t.Fatal(err)
	}
	if err := d.CRLF(); err != nil {
		t.Fatal(err)
	}
	// MaxLiteral.
	called := false
	d = newTestDecoder("{11}\r\nhello world", false, Limits{MaxLiteral: 10})
	d.OnSyncLiteral(func(int64) error { called = true; return nil })
	if _, err := d.Literal(); !errors.Is(err, ErrTooBig) || called {
		t.Errorf("big literal: %v, called %v", err, called)
	}
	// The line counter resets after CRLF.
	d = newTestDecoder(strings.Repeat("aaaa\r\n", 20), false, Limits{MaxLine: 10})
	for range 20 {
		if _, err := d.Atom(); err != nil {
			t.Fatal(err)
		}
		if err := d.CRLF(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMaxLiterals: the string literals of one command share
// Limits.MaxLiterals; the next command starts afresh.
func TestMaxLiterals(t *testing.T) {
	lit := "{10+}\r\n" + strings.Repeat("x", 10)
	in := "a" + strings.Repeat(" "+lit, 3) + "\r\nb " + lit + " " + lit + "\r\n"
	for _, oneByte := range []bool{false, true} {
		d := newTestDecoder(in, oneByte, Limits{MaxLiteral: 10, MaxLiterals: 25})
		if _, err := d.Atom(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := d.SP(); err != nil {
				t.Fatal(err)
			}
			s, err := d.Literal()
			if i < 2 && (err != nil || s != strings.Repeat("x", 10)) {
				t.Fatalf("literal %d: %q, %v", i, s, err)
			}
			if i == 2 && !errors.Is(err, ErrTooBig) {
				t.Fatalf("third literal (30 bytes in all, limit 25): %q, %v", s, err)
			}
		}
		if err := d.DiscardLine(); err != nil {
			t.Fatal(err)
		}
		if a, err := d.Atom(); err != nil || a != "b" {
			t.Fatalf("next command: %q, %v", a, err)
		}
		for range 2 {
			if err := d.SP(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Literal(); err != nil {
				t.Fatalf("next command's literals: %v", err)
			}
		}
		if err := d.CRLF(); err != nil {
			t.Fatal(err)
		}
	}
	// The default is several times MaxLiteral.
	if d := NewDecoder(bufio.NewReader(strings.NewReader("")), Limits{}); d.Limits().MaxLiterals != 4*DefaultMaxLiteral {
		t.Errorf("default MaxLiterals %d", d.Limits().MaxLiterals)
	}
}

// TestBetween: a Decoder is between commands at the start and after a
// command's line end, not in the middle of a line nor with a message
// literal left unread.
func TestBetween(t *testing.T) {
	d := newTestDecoder("a NOOP\r\nb APPEND {5+}\r\nhello\r\n", false, Limits{})
	if !d.Between() {
		t.Error("not between commands at the start")
	}
	if _, err := d.Atom(); err != nil || d.Between() {
		t.Fatalf("after the tag: %v, between %v", err, d.Between())
	}
	d.SP()
	d.Atom()
	if err := d.CRLF(); err != nil || !d.Between() {
		t.Fatalf("after the line end: %v, between %v", err, d.Between())
	}
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	if _, err := d.MessageLiteral(100); err != nil {
		t.Fatal(err)
	}
	if d.Between() {
		t.Error("between commands with a message literal unread")
	}
	if err := d.DiscardLine(); err != nil || !d.Between() {
		t.Fatalf("after DiscardLine: %v, between %v", err, d.Between())
	}
}

func TestSyncCallback(t *testing.T) {
	d := newTestDecoder("{3}\r\nabc {2+}\r\nde {1}\r\nf", false, Limits{})
	var sizes []int64
	d.OnSyncLiteral(func(n int64) error { sizes = append(sizes, n); return nil })
	for range 3 {
		if _, err := d.Literal(); err != nil {
			t.Fatal(err)
		}
		d.Accept(' ')
	}
	if len(sizes) != 2 || sizes[0] != 3 || sizes[1] != 1 {
		t.Errorf("sizes %v", sizes)
	}
	boom := errors.New("boom")
	d = newTestDecoder("{3}\r\nabc", false, Limits{})
	d.OnSyncLiteral(func(int64) error { return boom })
	if _, err := d.Literal(); err != boom {
		t.Errorf("callback error: %v", err)
	}
}

func TestMessageLiteral(t *testing.T) {
	for _, tt := range []struct {
		in     string
		body   string
		binary bool
		sync   bool
	}{
		{"{5}\r\nhello)", "hello", false, true},
		{"{5+}\r\nhello)", "hello", false, false},
		{"~{3}\r\na\x00b)", "a\x00b", true, true},
		{"~{3+}\r\na\x00b)", "a\x00b", true, false},
		{"{0}\r\n)", "", false, true},
	} {
		each(t, tt.in, Limits{}, func(t *testing.T, d *Decoder) {
			synced := false
			d.OnSyncLiteral(func(int64) error { synced = true; return nil })
			r, err := d.MessageLiteral(100)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil || string(b) != tt.body || r.Size() != int64(len(tt.body)) || r.Binary() != tt.binary || synced != tt.sync {
				t.Errorf("%q: %q %v size %d binary %v sync %v", tt.in, b, err, r.Size(), r.Binary(), synced)
			}
			if err := d.Expect(')'); err != nil {
				t.Error(err)
			}
		})
	}
	// Too big: no callback, and a sync literal is not followed.
	d := newTestDecoder("{101}\r\nz\r\n", false, Limits{})
	d.OnSyncLiteral(func(int64) error { t.Error("callback for rejected literal"); return nil })
	if _, err := d.MessageLiteral(100); !errors.Is(err, ErrTooBig) {
		t.Fatal(err)
	}
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	if a, err := d.Atom(); err != nil || a != "z" {
		t.Errorf("after rejected sync literal: %q %v", a, err)
	}
	// Truncated literal.
	d = newTestDecoder("{10}\r\nabc", true, Limits{})
	r, err := d.MessageLiteral(100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated literal: %v", err)
	}
	// NUL in a literal that is not a literal8 fails the reader (and
	// every later Read), wherever it comes; the rest of the literal is
	// skipped by the next token call.
	for _, in := range []string{"{5}\r\n\x00bcde x\r\n", "{5+}\r\nab\x00de x\r\n", "{5}\r\nabcd\x00 x\r\n"} {
		each(t, in, Limits{}, func(t *testing.T, d *Decoder) {
			r, err := d.MessageLiteral(100)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			var se *SyntaxError
			if !errors.Is(err, ErrNUL) || !errors.As(err, &se) || strings.IndexByte(string(b), 0) >= 0 {
				t.Errorf("%q: read %q, %v; want ErrNUL and no NUL handed out", in, b, err)
			}
			if n, err := r.Read(make([]byte, 8)); n != 0 || !errors.Is(err, ErrNUL) {
				t.Errorf("%q: Read after the error: %d %v", in, n, err)
			}
			if err := d.SP(); err != nil {
				t.Fatal(err)
			}
			if a, err := d.Atom(); err != nil || a != "x" {
				t.Errorf("%q: after the literal: %q %v", in, a, err)
			}
		})
	}
	// An unread rest is skipped by the next token call.
	d = newTestDecoder("{10}\r\n0123456789 x", true, Limits{})
	r, _ = d.MessageLiteral(100)
	io.ReadFull(r, make([]byte, 3))
	if err := d.SP(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 5)); n != 0 || err != io.EOF {
		t.Errorf("abandoned reader: %d %v", n, err)
	}
}

func TestDiscardLine(t *testing.T) {
	for _, tt := range []struct {
		in    string
		setup func(d *Decoder)
		err   error
	}{
		{"rest of line\r\nNEXT ", func(d *Decoder) { d.Atom() }, nil},
		{"a {5+}\r\nhello more\r\nNEXT ", func(d *Decoder) { d.Atom() }, nil},
		{"a {5+}\r\nhello {3+}\r\nabc\nNEXT ", func(d *Decoder) {}, nil},
		{"a {5}\r\nNEXT ", func(d *Decoder) { d.Atom() }, nil},
		// Mid-literal announcement: the header was consumed by a token.
		{"{5+}\r\nhello\r\nNEXT ", func(d *Decoder) { d.MessageLiteral(1) }, nil},
		{"{2000+}\r\n" + strings.Repeat("x", 2000) + " y\r\nNEXT ", func(d *Decoder) { d.Literal() }, nil},
		{"{2000}\r\nNEXT ", func(d *Decoder) { d.Literal() }, nil},
		// Mid-header: the tail still holds "{5".
		{"{5+x}\r\nNEXT ", func(d *Decoder) { d.Literal() }, nil},
		// Mid-literal: the rest of an accepted message literal is skipped.
		{"{10}\r\n0123456789 tail\r\nNEXT ", func(d *Decoder) {
			r, _ := d.MessageLiteral(100)
			io.ReadFull(r, make([]byte, 4))
		}, nil},
		// Nothing read since the last CRLF: nothing to discard.
		{"NEXT ", func(d *Decoder) {}, nil},
		{"x\r\nNEXT ", func(d *Decoder) { d.Atom(); d.CRLF() }, nil},
		// Too big to skip.
		{"a {99999999+}\r\n", func(d *Decoder) {}, ErrTooBig},
		{"a {99999999999999999999999+}\r\n", func(d *Decoder) {}, ErrTooBig},
		{strings.Repeat("x", MaxSkip+10) + "\r\n", func(d *Decoder) {}, ErrLineTooLong},
	} {
		d := newTestDecoder(tt.in, false, Limits{MaxLiteral: 1000})
		if tt.in != "NEXT " && !strings.HasPrefix(tt.in, "x\r\n") {
			d.PeekByte() // something of the line was looked at
		}
		tt.setup(d)
		err := d.DiscardLine()
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%.30q: %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%.30q: %v", tt.in, err)
			continue
		}
		if a, err := d.Atom(); err != nil || a != "NEXT" {
			t.Errorf("%.30q: next %q %v", tt.in, a, err)
		}
	}
}

func TestReadLine(t *testing.T) {
	each(t, "DONE\r\ndXNlcg==\nx\r\n"+strings.Repeat("y", 20)+"\r\n", Limits{}, func(t *testing.T, d *Decoder) {
		for _, want := range []string{"DONE", "dXNlcg==", "x"} {
			b, err := d.ReadLine(10)
			if err != nil || string(b) != want {
				t.Errorf("ReadLine = %q %v, want %q", b, err, want)
			}
		}
		if _, err := d.ReadLine(10); !errors.Is(err, ErrLineTooLong) {
			t.Errorf("long line: %v", err)
		}
	})
	d := newTestDecoder("0123456789\r\n", false, Limits{})
	if b, err := d.ReadLine(10); err != nil || string(b) != "0123456789" {
		t.Errorf("exact max: %q %v", b, err)
	}
}

func TestEOF(t *testing.T) {
	d := newTestDecoder("", false, Limits{})
	if err := d.DiscardLine(); err != nil {
		t.Errorf("DiscardLine at start: %v", err)
	}
	if _, err := d.Atom(); err != io.EOF {
		t.Errorf("Atom at EOF: %v", err)
	}
	d = newTestDecoder("abc", false, Limits{})
	if _, err := d.Atom(); err != io.EOF {
		t.Errorf("Atom cut by EOF: %v", err)
	}
}

func TestPeekLine(t *testing.T) {
	// PeekLine must not block past a LF: a reader that fails after the
	// first line would report an error if it did.
	r := io.MultiReader(strings.NewReader(" x\r\n"), errReader{})
	d := NewDecoder(bufio.NewReaderSize(oneByteReader{r}, 16), Limits{})
	b, err := d.PeekLine(10)
	if err != nil || string(b) != " x\r\n" {
		t.Errorf("PeekLine = %q, %v", b, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read past line end") }

func TestDates(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // RFC 3339, "" for error
	}{
		{`"17-Jul-1996 02:44:25 -0700"`, "1996-07-17T02:44:25-07:00"},
		{`" 7-Jul-1996 02:44:25 +0130"`, "1996-07-07T02:44:25+01:30"},
		{`"7-jul-1996 02:44:25 +0000"`, "1996-07-07T02:44:25Z"},
		{`"29-Feb-2024 23:59:59 +0000"`, "2024-02-29T23:59:59Z"},
		{`"29-Feb-2023 00:00:00 +0000"`, ""},
		{`"17-Jul-1996 24:00:00 +0000"`, ""},
		{`"17-Jul-1996 02:44:25"`, ""},
		{`"17-Jux-1996 02:44:25 +0000"`, ""},
		{`"17-Jul-96 02:44:25 +0000"`, ""},
		{`"117-Jul-1996 02:44:25 +0000"`, ""},
		{`"17-Jul-1996 02:44:25 +00000"`, ""},
		{`17-Jul-1996`, ""},
	} {
		d := newTestDecoder(tt.in, false, Limits{})
		got, err := d.DateTime()
		if tt.want == "" {
			if err == nil {
				t.Errorf("DateTime(%s) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("DateTime(%s) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"1-Feb-1994 ", "1994-02-01"},
		{"01-FEB-1994)", "1994-02-01"},
		{`"21-Nov-2023"`, "2023-11-21"},
		{"31-Apr-2023", ""},
		{"1-Feb-1994x", ""},
		{"Feb-1994", ""},
	} {
		d := newTestDecoder(tt.in, false, Limits{})
		got, err := d.Date()
		if tt.want == "" {
			if err == nil {
				t.Errorf("Date(%s) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format("2006-01-02") != tt.want {
			t.Errorf("Date(%s) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	tm := time.Date(2024, 3, 5, 6, 7, 8, 0, time.FixedZone("", -(4*3600+30*60)))
	if s := FormatDateTime(tm); s != " 5-Mar-2024 06:07:08 -0430" {
		t.Errorf("FormatDateTime = %q", s)
	}
	if back, ok := ParseDateTime(FormatDateTime(tm)); !ok || !back.Equal(tm) {
		t.Errorf("round trip %v %v", back, ok)
	}
}

// FuzzDecoder drives the Decoder like a command parser would, with small
// limits, checking that it never panics, always makes progress and never
// holds more than the limits allow.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"a1 LOGIN {4}\r\nfred \"se\\\"cret\"\r\n",
		"a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)])\r\n",
		"a APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nhello\r\n",
		"a APPEND INBOX ~{3}\r\na\x00b\r\n",
		"a LIST \"\" (% \"*\") RETURN (STATUS (MESSAGES))\r\n",
		"((((((((((((()))))))))))))\r\n",
		"{999999999999999+}\r\n",
		"x \"unterminated\r\n{3+}\r\nab",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxLine: 200, MaxLiteral: 100, MaxDepth: 8}
		d := NewDecoder(bufio.NewReaderSize(strings.NewReader(string(data)), 16), lim)
		var elem func() error
		elem = func() error {
			b, err := d.PeekByte()
			if err != nil {
				return err
			}
			switch b {
			case '(':
				return d.List(elem)
			case '"', '{':
				s, err := d.String()
				if int64(len(s)) > lim.MaxLiteral && len(s) > lim.MaxLine {
					t.Fatalf("string of %d bytes", len(s))
				}
				return err
			case '~':
				r, err := d.MessageLiteral(50)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, r)
				if err == nil && n != r.Size() {
					t.Fatalf("literal read %d of %d", n, r.Size())
				}
				return err
			}
			if IsDigit(b) {
				_, err := d.Number64()
				return err
			}
			_, err = d.AString()
			return err
		}
		for range len(data) + 1 {
			err := func() error {
				for {
					if eol, err := d.AtEOL(); err != nil || eol {
						if err != nil {
							return err
						}
						return d.CRLF()
					}
					if err := elem(); err != nil {
						return err
					}
					if ok, err := d.Accept(' '); err != nil || !ok {
						if err != nil {
							return err
						}
						return d.CRLF()
					}
				}
			}()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) && !errors.Is(err, ErrTooBig) && !errors.Is(err, ErrLineTooLong) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				if err := d.DiscardLine(); err != nil {
					return
				}
			}
		}
		t.Fatalf("no progress after %d commands", len(data)+1)
	})
}
