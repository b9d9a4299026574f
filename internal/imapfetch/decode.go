package imapfetch

import (
	"errors"
	"io"
	"strings"

	"rookery/internal/anatomy"
)

// ErrUnknownCTE reports a Content-Transfer-Encoding that BINARY cannot
// decode (RFC 3516 [UNKNOWN-CTE]).
var ErrUnknownCTE = errors.New("unknown Content-Transfer-Encoding")

// NewDecoder returns a reader of r's content decoded from the transfer
// encoding enc (case-insensitive; "" means 7bit). Decoding is lenient:
// characters outside the base64 alphabet are skipped and malformed
// quoted-printable escapes are passed through (qpReader tells the rest).
func NewDecoder(r io.Reader, enc string) (io.Reader, error) {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return r, nil
	case "base64":
		return &base64Reader{r: r}, nil
	case "quoted-printable":
		return &qpReader{r: r}, nil
	}
	return nil, ErrUnknownCTE
}

// IsIdentity reports whether enc needs no decoding.
func IsIdentity(enc string) bool {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// DecodedSize returns the size of r's content after decoding.
func DecodedSize(r io.Reader, enc string) (int64, error) {
	d, err := NewDecoder(r, enc)
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, d)
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	return t
}()

// base64Reader decodes base64, skipping non-alphabet bytes; a "=" ends
// the data.
type base64Reader struct {
	r    io.Reader
	in   [4096]byte
	out  []byte
	buf  [3*4096/4 + 3]byte
	acc  uint32
	n    int // sextets in acc
	done bool
	err  error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.r.Read(b.in[:])
		o := b.buf[:0]
		for _, c := range b.in[:n] {
			if b.done {
				break
			}
			if c == '=' {
				b.done = true
				break
			}
			v := b64val[c]
			if v == 0xff {
				continue
			}
			b.acc = b.acc<<6 | uint32(v)
			b.n++
			if b.n == 4 {
				o = append(o, byte(b.acc>>16), byte(b.acc>>8), byte(b.acc))
				b.acc, b.n = 0, 0
			}
		}
		if err != nil || b.done {
			// Flush a final partial group.
			switch b.n {
			case 2:
				o = append(o, byte(b.acc>>4))
			case 3:
				o = append(o, byte(b.acc>>10), byte(b.acc>>2))
			}
			b.n = 0
			if err == nil || b.done {
				err = io.EOF
			}
			b.err = err
		}
		b.out = o
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// qpReader decodes quoted-printable (RFC 2045 §6.7): "=XX" escapes (hex
// digits of either case); soft line breaks ("=" before a line break, also
// with white space between them, and a final "=" with nothing after it);
// transport padding (white space before a line break or at the end)
// deleted; every hard line break, CRLF or a bare LF, written as CRLF (the
// canonical form of a text line break). Malformed escapes pass through as
// sent. The output depends only on the input bytes, not on how reads cut
// them, so sizes and partial ranges found by one decoding hold for the next.
type qpReader struct {
	r   io.Reader
	in  [4096]byte
	st  qpState
	hex byte   // the first hex digit after "=" (qpHex)
	ws  []byte // white space not yet known to be data or padding
	eqs []byte // white space after "=" (qpEqWS, qpEqCR)
	out []byte
	buf []byte
	err error
}

// qpState is where the decoder stands after the bytes read so far.
type qpState uint8

const (
	qpText qpState = iota
	qpCR           // a CR, with ws before it
	qpEq           // "="
	qpHex          // "=" and one hex digit
	qpEqWS         // "=" and white space (eqs)
	qpEqCR         // "=", eqs, then CR
)

// maxPad bounds the white space held back as possible padding (a line of
// a conforming encoder is at most 76 characters): a longer run is data.
const maxPad = 998

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		n, err := q.r.Read(q.in[:])
		o := q.buf[:0]
		for _, c := range q.in[:n] {
			o = q.byte(o, c)
		}
		if err != nil {
			o = q.end(o)
			q.err = err
		}
		q.buf = o[:0]
		q.out = o
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// byte decodes c and appends what it completes to o.
func (q *qpReader) byte(o []byte, c byte) []byte {
	switch q.st {
	case qpCR:
		q.st = qpText
		if c == '\n' {
			q.ws = q.ws[:0] // padding before a hard line break
			return append(o, '\r', '\n')
		}
		o = append(append(o, q.ws...), '\r') // a bare CR is data
		q.ws = q.ws[:0]
	case qpEq:
		switch {
		case isHex(c):
			q.st, q.hex = qpHex, c
			return o
		case c == ' ' || c == '\t':
			q.st, q.eqs = qpEqWS, append(q.eqs[:0], c)
			return o
		case c == '\r':
			q.st, q.eqs = qpEqCR, q.eqs[:0]
			return o
		case c == '\n':
			q.st = qpText // soft line break
			return o
		}
		q.st = qpText
		o = append(o, '=')
	case qpHex:
		q.st = qpText
		if isHex(c) {
			h, _ := anatomy.HexDigit(q.hex)
			l, _ := anatomy.HexDigit(c)
			return append(o, h<<4|l)
		}
		o = append(o, '=', q.hex)
	case qpEqWS:
		switch {
		case (c == ' ' || c == '\t') && len(q.eqs) < maxPad:
			q.eqs = append(q.eqs, c)
			return o
		case c == '\r':
			q.st = qpEqCR
			return o
		case c == '\n':
			q.st = qpText // soft line break after padding
			return o
		}
		// "=" then white space then data: the "=" is malformed, the
		// white space is ordinary white space.
		q.st = qpText
		o = append(o, '=')
		q.ws = append(q.ws[:0], q.eqs...)
	case qpEqCR:
		if c == '\n' {
			q.st = qpText // soft line break
			return o
		}
		q.st = qpText
		o = append(append(append(o, '='), q.eqs...), '\r')
	}
	// qpText
	switch c {
	case ' ', '\t':
		if len(q.ws) == maxPad {
			o = append(o, q.ws...)
			q.ws = q.ws[:0]
		}
		q.ws = append(q.ws, c)
		return o
	case '\r':
		q.st = qpCR
		return o
	case '\n':
		q.ws = q.ws[:0]
		return append(o, '\r', '\n')
	}
	o = append(o, q.ws...)
	q.ws = q.ws[:0]
	if c == '=' {
		q.st = qpEq
		return o
	}
	return append(o, c)
}

// end appends what the bytes held at the end of the input stand for:
// trailing white space is padding and a final "=" (with padding) is a
// soft line break, since the line break after a part's last line belongs
// to the boundary that follows.
func (q *qpReader) end(o []byte) []byte {
	switch q.st {
	case qpCR:
		o = append(append(o, q.ws...), '\r')
	case qpHex:
		o = append(o, '=', q.hex)
	case qpEqCR:
		o = append(append(append(o, '='), q.eqs...), '\r')
	}
	q.st, q.ws = qpText, q.ws[:0]
	return o
}

func isHex(c byte) bool { _, ok := anatomy.HexDigit(c); return ok }
