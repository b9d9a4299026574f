package imapwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxLine     = 64 << 10
	DefaultMaxLiteral  = 64 << 10
	DefaultMaxLiterals = 256 << 10
	DefaultMaxDepth    = 32
)

// MaxSkip bounds what DiscardLine skips after the end of the current token:
// the rest of a line and each non-synchronizing literal it announces. Beyond
// it DiscardLine fails and the server should close the connection.
const MaxSkip = 1 << 20

// Limits bounds what one command may make the Decoder read or buffer.
// Zero fields take the defaults.
type Limits struct {
	// MaxLine bounds the bytes of one command outside literals.
	MaxLine int
	// MaxLiteral bounds string literals that the Decoder buffers
	// (message literals have their own limit, see MessageLiteral).
	MaxLiteral int64
	// MaxLiterals bounds the sum of the string literals of one command:
	// a literal costs the line only its announcement, so without it a
	// 64 KiB line could announce thousands of MaxLiteral literals, all
	// held by the parsed command (issue 12: 4 connections sending one
	// SEARCH of 1,000 literals of 64 KiB each took 1.4 GiB).
	MaxLiterals int64
	// MaxDepth bounds the nesting of parenthesized lists.
	MaxDepth int
}

// tailSize is how many bytes of the current line the Decoder remembers, to
// recognize a literal announcement "{n+}" at its end in DiscardLine.
const tailSize = 32

// Decoder reads IMAP command tokens from a connection. It is not safe for
// concurrent use.
type Decoder struct {
	r      *bufio.Reader
	lim    Limits
	onSync func(size int64) error

	lineLen  int   // bytes of the current command outside literals
	litBytes int64 // bytes of the string literals of the current command
	lineDone bool  // a line end was just consumed and nothing after it looked at
	depth    int   // current list nesting

	tail  [tailSize]byte // ring of the last bytes of the current line segment
	tailN int            // bytes pushed into tail since the segment started

	litLeft int64          // unread bytes of the current message literal
	lit     *literalReader // the current message literal, nil if none
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r *bufio.Reader, lim Limits) *Decoder {
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultMaxLine
	}
	if lim.MaxLiteral <= 0 {
		lim.MaxLiteral = DefaultMaxLiteral
	}
	if lim.MaxLiterals <= 0 {
		lim.MaxLiterals = DefaultMaxLiterals
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	return &Decoder{r: r, lim: lim, lineDone: true}
}

// Limits returns the limits in effect (defaults filled in).
func (d *Decoder) Limits() Limits { return d.lim }

// OnSyncLiteral sets fn to be called when the client announced a
// synchronizing literal {n} whose size passed the limit check, after its
// CRLF and before its bytes are read: the server writes its "+" continuation
// request there. It is not called for non-synchronizing literals {n+}. An
// error from fn is returned by the token method that read the literal.
func (d *Decoder) OnSyncLiteral(fn func(size int64) error) { d.onSync = fn }

// skipLiteral discards what is left of a message literal that its reader
// did not consume.
func (d *Decoder) skipLiteral() error {
	d.lit = nil
	for d.litLeft > 0 {
		n, err := d.r.Discard(int(min(d.litLeft, 1<<30)))
		d.litLeft -= int64(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// peek returns the next byte without consuming it.
func (d *Decoder) peek() (byte, error) {
	if d.litLeft > 0 || d.lit != nil {
		if err := d.skipLiteral(); err != nil {
			return 0, err
		}
	}
	d.lineDone = false
	b, err := d.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// next consumes the byte that peek returned.
func (d *Decoder) next() error {
	c, err := d.r.ReadByte()
	if err != nil {
		return err
	}
	d.pushTail(c)
	d.lineLen++
	if d.lineLen > d.lim.MaxLine {
		return fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, d.lim.MaxLine)
	}
	return nil
}

// readByte consumes and returns one byte.
func (d *Decoder) readByte() (byte, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	return c, d.next()
}

func (d *Decoder) pushTail(c byte) {
	d.tail[d.tailN%tailSize] = c
	d.tailN++
}

// tailBytes returns the remembered end of the current line segment.
func (d *Decoder) tailBytes() []byte {
	n := min(d.tailN, tailSize)
	out := make([]byte, n)
	for i := range n {
		out[i] = d.tail[(d.tailN-n+i)%tailSize]
	}
	return out
}

// endSegment forgets the current line segment (after a line end or the
// CRLF of a literal announcement).
func (d *Decoder) endSegment() { d.tailN = 0 }

// endLine marks the end of a command.
func (d *Decoder) endLine() {
	d.endSegment()
	d.lineLen = 0
	d.litBytes = 0
	d.depth = 0
	d.lineDone = true
}

// Between reports whether the Decoder is between commands with nothing
// of its own pending (a command's line end was just consumed, no literal
// is left to skip), so that a new Decoder over the rest of the input
// would read the same.
func (d *Decoder) Between() bool { return d.lineDone && d.litLeft == 0 && d.lit == nil }

// PeekByte returns the next byte without consuming it.
func (d *Decoder) PeekByte() (byte, error) { return d.peek() }

// PeekLine returns up to n bytes of lookahead without consuming them. It
// never looks past a LF, so it does not block waiting for the client's next
// line. The slice is valid until the next call on d.
func (d *Decoder) PeekLine(n int) ([]byte, error) {
	if _, err := d.peek(); err != nil {
		return nil, err
	}
	n = min(n, d.r.Size())
	var b []byte
	for i := 1; i <= n; i++ {
		var err error
		b, err = d.r.Peek(i)
		if err != nil {
			return b, err
		}
		if b[i-1] == '\n' {
			break
		}
	}
	return b, nil
}

// Accept consumes the next byte if it is c and reports whether it did.
func (d *Decoder) Accept(c byte) (bool, error) {
	b, err := d.peek()
	if err != nil || b != c {
		return false, err
	}
	return true, d.next()
}

// Expect consumes the byte c or fails with a *SyntaxError.
func (d *Decoder) Expect(c byte) error {
	b, err := d.peek()
	if err != nil {
		return err
	}
	if b != c {
		return syntaxf("expected %s, got %s", charName(c), charName(b))
	}
	return d.next()
}

// SP consumes one space.
func (d *Decoder) SP() error { return d.Expect(' ') }

// AtEOL reports whether the next byte ends the line (CR or LF).
func (d *Decoder) AtEOL() (bool, error) {
	b, err := d.peek()
	if err != nil {
		return false, err
	}
	return b == '\r' || b == '\n', nil
}

// CRLF consumes the end of the command: CRLF, or a bare LF.
func (d *Decoder) CRLF() error {
	if err := d.lineEnd(); err != nil {
		return err
	}
	d.endLine()
	return nil
}

// lineEnd consumes CRLF or LF.
func (d *Decoder) lineEnd() error {
	b, err := d.peek()
	if err != nil {
		return err
	}
	if b == '\r' {
		if err := d.next(); err != nil {
			return err
		}
		if b, err = d.peek(); err != nil {
			return err
		}
		if b != '\n' {
			return syntaxf("CR not followed by LF")
		}
	}
	if b != '\n' {
		return syntaxf("expected end of line, got %s", charName(b))
	}
	return d.next()
}

// AtomFunc reads one or more bytes for which ok returns true.
func (d *Decoder) AtomFunc(ok func(byte) bool) (string, error) {
	var buf []byte
	for {
		b, err := d.peek()
		if err != nil {
			return "", err
		}
		if !ok(b) {
			if len(buf) == 0 {
				return "", syntaxf("unexpected %s", charName(b))
			}
			return string(buf), nil
		}
		if err := d.next(); err != nil {
			return "", err
		}
		buf = append(buf, b)
	}
}

// Atom reads an atom (1*ATOM-CHAR).
func (d *Decoder) Atom() (string, error) { return d.AtomFunc(IsAtomChar) }

// Number reads a number (1*DIGIT) that fits in 32 bits.
func (d *Decoder) Number() (uint32, error) {
	n, err := d.number(math.MaxUint32)
	return uint32(n), err
}

// Number64 reads a number64 (1*DIGIT, at most 2^63-1, RFC 9051).
func (d *Decoder) Number64() (uint64, error) { return d.number(math.MaxInt64) }

func (d *Decoder) number(max uint64) (uint64, error) {
	var n uint64
	digits := 0
	for {
		b, err := d.peek()
		if err != nil {
			return 0, err
		}
		if !IsDigit(b) {
			if digits == 0 {
				return 0, syntaxf("expected number, got %s", charName(b))
			}
			return n, nil
		}
		if err := d.next(); err != nil {
			return 0, err
		}
		digits++
		if n > (max-uint64(b-'0'))/10 {
			return 0, syntaxf("number too large")
		}
		n = n*10 + uint64(b-'0')
	}
}

// Quoted reads a quoted string. It may hold UTF-8 (RFC 9051 quoted-char)
// but not CR, LF or NUL; "\" escapes only "\" and DQUOTE.
func (d *Decoder) Quoted() (string, error) {
	if err := d.Expect('"'); err != nil {
		return "", err
	}
	var buf []byte
	for {
		b, err := d.readByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			if !utf8.Valid(buf) {
				return "", syntaxf("quoted string is not valid UTF-8")
			}
			return string(buf), nil
		case '\\':
			if b, err = d.readByte(); err != nil {
				return "", err
			}
			if b != '"' && b != '\\' {
				return "", syntaxf("bad escape %s in quoted string", charName(b))
			}
		case '\r', '\n', 0:
			return "", syntaxf("%s in quoted string", charName(b))
		}
		buf = append(buf, b)
	}
}

// literalHeader reads "{n}" or "{n+}" (and "~{...}" if binary is allowed)
// up to and including "}", not the CRLF after it.
func (d *Decoder) literalHeader(allowBinary bool) (size int64, sync, binary bool, err error) {
	b, err := d.peek()
	if err != nil {
		return 0, false, false, err
	}
	if b == '~' {
		if !allowBinary {
			return 0, false, false, syntaxf("literal8 not allowed here")
		}
		binary = true
		if err := d.next(); err != nil {
			return 0, false, false, err
		}
	}
	if err := d.Expect('{'); err != nil {
		return 0, false, false, err
	}
	n, err := d.Number64()
	if err != nil {
		return 0, false, false, err
	}
	plus, err := d.Accept('+')
	if err != nil {
		return 0, false, false, err
	}
	if err := d.Expect('}'); err != nil {
		return 0, false, false, err
	}
	return int64(n), !plus, binary, nil
}

// literalBegin consumes the CRLF after a literal header and, for a
// synchronizing literal, calls the OnSyncLiteral callback.
func (d *Decoder) literalBegin(size int64, sync bool) error {
	if err := d.lineEnd(); err != nil {
		return err
	}
	d.endSegment()
	if sync && d.onSync != nil {
		return d.onSync(size)
	}
	return nil
}

// Literal reads a literal ({n} or {n+}) of at most Limits.MaxLiteral bytes
// into memory, and at most Limits.MaxLiterals with the literals read
// before it in the same command; beyond either it fails with ErrTooBig
// before the continuation request. A literal may not contain NUL
// (checkChar8): that fails with a *SyntaxError matching ErrNUL.
func (d *Decoder) Literal() (string, error) {
	size, sync, _, err := d.literalHeader(false)
	if err != nil {
		return "", err
	}
	if size > d.lim.MaxLiteral {
		return "", fmt.Errorf("%w (%d bytes, limit %d)", ErrTooBig, size, d.lim.MaxLiteral)
	}
	if size > d.lim.MaxLiterals-d.litBytes {
		return "", fmt.Errorf("%w (%d bytes of literals in one command, limit %d)", ErrTooBig, d.litBytes+size, d.lim.MaxLiterals)
	}
	if err := d.literalBegin(size, sync); err != nil {
		return "", err
	}
	d.litBytes += size
	// Read into the string's own memory: a []byte converted afterwards
	// would allocate the literal twice.
	var sb strings.Builder
	sb.Grow(int(size))
	nul := false
	for left := int(size); left > 0; {
		p, err := d.r.Peek(min(left, d.r.Size()))
		nul = nul || bytes.IndexByte(p, 0) >= 0
		sb.Write(p)
		_, _ = d.r.Discard(len(p))
		left -= len(p)
		if err != nil && left > 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	if nul {
		return "", errNULLiteral()
	}
	return sb.String(), nil
}

// String reads a string: quoted or literal.
func (d *Decoder) String() (string, error) {
	b, err := d.peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return d.Quoted()
	case '{':
		return d.Literal()
	}
	return "", syntaxf("expected string, got %s", charName(b))
}

// AString reads an astring: 1*ASTRING-CHAR or a string.
func (d *Decoder) AString() (string, error) {
	b, err := d.peek()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return d.String()
	}
	return d.AtomFunc(IsAStringChar)
}

// NString reads a string or NIL; ok is false for NIL.
func (d *Decoder) NString() (s string, ok bool, err error) {
	b, err := d.peek()
	if err != nil {
		return "", false, err
	}
	if b == '"' || b == '{' {
		s, err := d.String()
		return s, err == nil, err
	}
	a, err := d.Atom()
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, syntaxf("expected string or NIL, got %q", a)
	}
	return "", false, nil
}

// List reads a parenthesized list, calling elem for each element: "("
// [element *(SP element)] ")". Nesting deeper than Limits.MaxDepth fails.
func (d *Decoder) List(elem func() error) error {
	if err := d.Expect('('); err != nil {
		return err
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > d.lim.MaxDepth {
		return syntaxf("lists nested too deeply")
	}
	if ok, err := d.Accept(')'); ok || err != nil {
		return err
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		b, err := d.peek()
		if err != nil {
			return err
		}
		switch b {
		case ')':
			return d.next()
		case ' ':
			if err := d.next(); err != nil {
				return err
			}
		default:
			return syntaxf("expected space or \")\" in list, got %s", charName(b))
		}
	}
}

// ReadLine reads a raw line of at most max bytes (not counting the line end)
// and returns it without CRLF or LF. It is for AUTHENTICATE responses and
// IDLE's DONE. On ErrLineTooLong the rest of the line is left unread.
func (d *Decoder) ReadLine(max int) ([]byte, error) {
	if _, err := d.peek(); err != nil {
		return nil, err
	}
	var buf []byte
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == '\n' {
			break
		}
		if len(buf) > max {
			// One extra byte allowed for a CR before the LF.
			return nil, fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, max)
		}
		buf = append(buf, b)
	}
	buf = bytes.TrimSuffix(buf, []byte{'\r'})
	if len(buf) > max {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, max)
	}
	d.endLine()
	return buf, nil
}

// DiscardLine skips the rest of the current command after a parse error or
// a rejected command, wherever parsing stopped: it first skips what is left
// of a message literal handed out by MessageLiteral, then reads up to the
// line end. If that line segment ends with a non-synchronizing literal
// announcement {n+}, the client sends the literal anyway: DiscardLine skips
// its n bytes and goes on to the next segment. A synchronizing {n} at the
// end is not followed: the client waits for a continuation request that it
// will not get. If nothing was read since the last line end, DiscardLine
// does nothing.
//
// DiscardLine skips at most MaxSkip bytes of line text and at most MaxSkip
// bytes per skipped literal; beyond that it returns ErrLineTooLong or
// ErrTooBig and the server should close the connection.
func (d *Decoder) DiscardLine() error {
	if d.Between() {
		return nil
	}
	if err := d.skipLiteral(); err != nil {
		return err
	}
	skipped := 0
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			return err
		}
		if b != '\n' {
			if skipped++; skipped > MaxSkip {
				return fmt.Errorf("%w (discarding more than %d bytes)", ErrLineTooLong, MaxSkip)
			}
			d.pushTail(b)
			continue
		}
		size, sync, ok := tailLiteral(d.tailBytes(), d.tailN > tailSize)
		d.endSegment()
		if !ok || sync {
			d.endLine()
			return nil
		}
		if size > MaxSkip {
			return fmt.Errorf("%w (cannot skip a %d-byte literal)", ErrTooBig, size)
		}
		if _, err := d.r.Discard(int(size)); err != nil {
			return err
		}
		skipped = 0
	}
}

// tailLiteral recognizes a literal announcement "{n}" or "{n+}" (optionally
// followed by CR) at the end of tail. If the tail was truncated and holds
// only digits before "}", the announced size is too long to remember and
// is reported as math.MaxInt64.
func tailLiteral(tail []byte, truncated bool) (size int64, sync, ok bool) {
	tail = bytes.TrimSuffix(tail, []byte{'\r'})
	if !bytes.HasSuffix(tail, []byte{'}'}) {
		return 0, false, false
	}
	tail = tail[:len(tail)-1]
	sync = true
	if bytes.HasSuffix(tail, []byte{'+'}) {
		sync = false
		tail = tail[:len(tail)-1]
	}
	i := bytes.LastIndexByte(tail, '{')
	if i < 0 && truncated && len(tail) > 0 && len(bytes.TrimLeft(tail, "0123456789")) == 0 {
		return math.MaxInt64, sync, true
	}
	if i < 0 || i == len(tail)-1 {
		return 0, false, false
	}
	for _, c := range tail[i+1:] {
		if !IsDigit(c) {
			return 0, false, false
		}
		if size > (math.MaxInt64-int64(c-'0'))/10 {
			return math.MaxInt64, sync, true
		}
		size = size*10 + int64(c-'0')
	}
	return size, sync, true
}
