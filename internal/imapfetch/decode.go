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
// quoted-printable escapes are passed through.
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

// qpReader decodes quoted-printable: "=XX" escapes, soft line breaks
// ("=" before CRLF or LF); trailing white space before a line break is
// kept (lenient, like common readers); malformed escapes pass through.
type qpReader struct {
	r    io.Reader
	in   [4096]byte
	pend []byte // undecided bytes carried to the next read (at most 3)
	out  []byte
	buf  []byte
	err  error
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			if len(q.pend) > 0 {
				q.out, q.pend = q.pend, nil
				break
			}
			return 0, q.err
		}
		n, err := q.r.Read(q.in[:])
		data := append(q.pend, q.in[:n]...)
		q.pend = nil
		o := q.buf[:0]
		i := 0
		for i < len(data) {
			c := data[i]
			if c != '=' {
				o = append(o, c)
				i++
				continue
			}
			rest := data[i+1:]
			if err == nil && len(rest) < 2 {
				q.pend = append([]byte(nil), data[i:]...)
				break
			}
			switch {
			case len(rest) >= 1 && rest[0] == '\n':
				i += 2
			case len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n':
				i += 3
			case len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]):
				h, _ := anatomy.HexDigit(rest[0])
				l, _ := anatomy.HexDigit(rest[1])
				o = append(o, h<<4|l)
				i += 3
			default:
				o = append(o, '=')
				i++
			}
		}
		q.buf = o[:0]
		q.out = o
		if err != nil {
			q.err = err
		}
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

func isHex(c byte) bool { _, ok := anatomy.HexDigit(c); return ok }
