package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func encode(fn func(e *Encoder), utf8 bool) (string, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	e := NewEncoder(w)
	e.UTF8 = utf8
	fn(e)
	err := e.CRLF()
	if ferr := e.Flush(); err == nil {
		err = ferr
	}
	return buf.String(), err
}

func TestEncoder(t *testing.T) {
	long := strings.Repeat("x", 1200)
	tests := []struct {
		fn   func(e *Encoder)
		utf8 bool
		want string
	}{
		{func(e *Encoder) { e.Special('*').SP().Number(3).SP().Atom("EXISTS") }, false, "* 3 EXISTS"},
		{func(e *Encoder) { e.Number64(18446744073709551615) }, false, "18446744073709551615"},
		{func(e *Encoder) { e.Quoted(`a"b\c`) }, false, `"a\"b\\c"`},
		{func(e *Encoder) { e.String("") }, false, `""`},
		{func(e *Encoder) { e.String("line\r\nbreak") }, false, "{11}\r\nline\r\nbreak"},
		{func(e *Encoder) { e.String("a\x00") }, false, "{2}\r\na\x00"},
		{func(e *Encoder) { e.String(long) }, false, "{1200}\r\n" + long},
		{func(e *Encoder) { e.String("Grüße") }, false, "{7}\r\nGrüße"},
		{func(e *Encoder) { e.String("Grüße") }, true, `"Grüße"`},
		{func(e *Encoder) { e.String("\xff") }, true, "{1}\r\n\xff"},
		{func(e *Encoder) { e.AString("INBOX") }, false, "INBOX"},
		{func(e *Encoder) { e.AString("[Gmail]/All") }, false, "[Gmail]/All"},
		{func(e *Encoder) { e.AString("nil") }, false, `"nil"`},
		{func(e *Encoder) { e.AString("") }, false, `""`},
		{func(e *Encoder) { e.AString("a b") }, false, `"a b"`},
		{func(e *Encoder) { e.AString("a*") }, false, `"a*"`},
		{func(e *Encoder) { e.NString("x", true).SP().NString("x", false) }, false, `"x" NIL`},
		{func(e *Encoder) { e.Literal(5, strings.NewReader("hello, world")) }, false, "{5}\r\nhello"},
		{func(e *Encoder) { e.Literal8(2, strings.NewReader("\x00\x01")) }, false, "~{2}\r\n\x00\x01"},
		{func(e *Encoder) { e.BeginList().Flag(`\Seen`).SP().Flag("$X").EndList() }, false, `(\Seen $X)`},
		{func(e *Encoder) {
			f := []string{`\Answered`, `\Draft`}
			e.List(len(f), func(i int) { e.Flag(f[i]) })
		}, false, `(\Answered \Draft)`},
		{func(e *Encoder) { e.List(0, func(int) {}) }, false, `()`},
		{func(e *Encoder) { e.Raw("+ Ready") }, false, "+ Ready"},
	}
	for i, tt := range tests {
		got, err := encode(tt.fn, tt.utf8)
		if err != nil || got != tt.want+"\r\n" {
			t.Errorf("%d: got %q, %v; want %q", i, got, err, tt.want+"\r\n")
		}
	}
}

func TestEncoderShortLiteral(t *testing.T) {
	_, err := encode(func(e *Encoder) { e.Literal(10, strings.NewReader("abc")).SP().Atom("X") }, false)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short literal: %v", err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

func TestEncoderSticky(t *testing.T) {
	e := NewEncoder(bufio.NewWriterSize(&failWriter{n: 0}, 16))
	e.Raw(strings.Repeat("x", 100))
	first := e.Err()
	if first == nil {
		t.Fatal("no error")
	}
	e.Atom("more").SP().Number(1)
	if e.CRLF() != first || e.Flush() != first {
		t.Error("error not sticky")
	}
}

func TestRoundTrip(t *testing.T) {
	// What the Encoder writes as a string, the Decoder reads back.
	for _, s := range []string{"", "a", "NIL", `q"u\o`, "line\r\n", "Grüße", strings.Repeat("z", 2000)} {
		for _, u := range []bool{false, true} {
			out, err := encode(func(e *Encoder) { e.AString(s) }, u)
			if err != nil {
				t.Fatal(err)
			}
			d := NewDecoder(bufio.NewReader(strings.NewReader(out)), Limits{})
			got, err := d.AString()
			if err != nil || got != s {
				t.Errorf("%q: read back %q, %v", s, got, err)
			}
		}
	}
}
