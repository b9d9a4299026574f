package imapwire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxQuoted is the longest string that String writes quoted; longer ones
// become literals.
const maxQuoted = 1000

// Encoder writes response tokens. Methods chain and the first error is
// sticky: once a write failed, later calls do nothing and CRLF, Flush and
// Err report it.
type Encoder struct {
	w   *bufio.Writer
	err error
	// UTF8 allows non-ASCII UTF-8 in quoted strings (after ENABLE
	// UTF8=ACCEPT, or for IMAP4rev2). Without it such strings are written
	// as literals.
	UTF8 bool
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w *bufio.Writer) *Encoder { return &Encoder{w: w} }

// Err returns the sticky error.
func (e *Encoder) Err() error { return e.err }

func (e *Encoder) setErr(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Raw writes s verbatim.
func (e *Encoder) Raw(s string) *Encoder {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
	return e
}

// Atom writes s verbatim; s should be an atom.
func (e *Encoder) Atom(s string) *Encoder { return e.Raw(s) }

// Flag writes a flag ("\Seen", "$Forwarded") verbatim.
func (e *Encoder) Flag(s string) *Encoder { return e.Raw(s) }

// Special writes one byte, such as "(", ")", "[", "]", "*" or "+".
func (e *Encoder) Special(b byte) *Encoder {
	if e.err == nil {
		e.err = e.w.WriteByte(b)
	}
	return e
}

// SP writes a space.
func (e *Encoder) SP() *Encoder { return e.Special(' ') }

// Nil writes NIL.
func (e *Encoder) Nil() *Encoder { return e.Raw("NIL") }

// Number writes a number.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 writes a number64 or mod-sequence.
func (e *Encoder) Number64(n uint64) *Encoder {
	if e.err == nil {
		var buf [20]byte
		_, e.err = e.w.Write(strconv.AppendUint(buf[:0], n, 10))
	}
	return e
}

// canQuote reports whether s may be written as a quoted string.
func (e *Encoder) canQuote(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || (e.UTF8 && utf8.ValidString(s))
}

// Quoted writes s as a quoted string, escaping "\" and DQUOTE. If s cannot
// be quoted (CR, LF, NUL, too long, or non-ASCII without UTF8) it is
// written as a literal instead.
func (e *Encoder) Quoted(s string) *Encoder {
	if !e.canQuote(s) {
		return e.literalString(s)
	}
	e.Special('"')
	if strings.ContainsAny(s, "\"\\") {
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				e.Special('\\')
			}
			e.Special(s[i])
		}
	} else {
		e.Raw(s)
	}
	return e.Special('"')
}

// String writes s as a quoted string if it can be, else as a literal.
func (e *Encoder) String(s string) *Encoder { return e.Quoted(s) }

func (e *Encoder) literalString(s string) *Encoder {
	e.Special('{').Number64(uint64(len(s))).Raw("}\r\n")
	return e.Raw(s)
}

// AString writes s as an atom if it is one (non-empty, all ASTRING-CHAR,
// not "NIL"), else as a string.
func (e *Encoder) AString(s string) *Encoder {
	if s != "" && !strings.EqualFold(s, "NIL") {
		atom := true
		for i := 0; i < len(s); i++ {
			if !IsAStringChar(s[i]) {
				atom = false
				break
			}
		}
		if atom {
			return e.Raw(s)
		}
	}
	return e.String(s)
}

// NString writes s as a string, or NIL if !ok.
func (e *Encoder) NString(s string, ok bool) *Encoder {
	if !ok {
		return e.Nil()
	}
	return e.String(s)
}

// Literal writes "{size}" CRLF and then exactly size bytes from r. If r
// yields fewer bytes, the sticky error is set: the response is broken and
// the connection must be closed.
func (e *Encoder) Literal(size int64, r io.Reader) *Encoder {
	e.Special('{').Number64(uint64(size)).Raw("}\r\n")
	return e.copyN(size, r)
}

// Literal8 writes "~{size}" CRLF and then exactly size bytes from r
// (RFC 3516 BINARY).
func (e *Encoder) Literal8(size int64, r io.Reader) *Encoder {
	e.Raw("~{").Number64(uint64(size)).Raw("}\r\n")
	return e.copyN(size, r)
}

func (e *Encoder) copyN(size int64, r io.Reader) *Encoder {
	if e.err != nil {
		return e
	}
	n, err := io.CopyN(e.w, r, size)
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("imapwire: literal source short: %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
		}
		e.setErr(err)
	}
	return e
}

// BeginList writes "(".
func (e *Encoder) BeginList() *Encoder { return e.Special('(') }

// EndList writes ")".
func (e *Encoder) EndList() *Encoder { return e.Special(')') }

// List writes "(" then calls item for i in [0, n) with spaces between the
// items, then ")".
func (e *Encoder) List(n int, item func(i int)) *Encoder {
	e.Special('(')
	for i := range n {
		if i > 0 {
			e.SP()
		}
		item(i)
	}
	return e.Special(')')
}

// DateTime writes t as a quoted date-time.
func (e *Encoder) DateTime(t time.Time) *Encoder {
	return e.Special('"').Raw(FormatDateTime(t)).Special('"')
}

// CRLF ends the line and returns the sticky error.
func (e *Encoder) CRLF() error {
	e.Raw("\r\n")
	return e.err
}

// Flush flushes the underlying writer and returns the sticky error.
func (e *Encoder) Flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}
