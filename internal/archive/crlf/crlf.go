// Package crlf turns the bare LF line ends of mail kept on disk (Maildir
// files Dovecot writes, mbox messages) into the CRLF that IMAP serves.
package crlf

import (
	"bufio"
	"io"
)

// Reader reads r with every LF not preceded by CR turned into CRLF;
// CRLF passes unchanged.
type Reader struct {
	r       *bufio.Reader
	lastCR  bool
	pending bool // an LF is owed after the CR just returned
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 32<<10)}
}

func (c *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.pending {
			p[n] = '\n'
			n++
			c.pending = false
			c.lastCR = false
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && !c.lastCR {
			p[n] = '\r'
			n++
			c.pending = true
			c.lastCR = true
			continue
		}
		p[n] = b
		n++
		c.lastCR = b == '\r'
	}
	return n, nil
}

// Size returns the size of r's content after conversion, reading it to
// the end.
func Size(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var n int64
	lastCR := false
	buf := make([]byte, 32<<10)
	for {
		k, err := br.Read(buf)
		for _, b := range buf[:k] {
			if b == '\n' && !lastCR {
				n++
			}
			lastCR = b == '\r'
		}
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// FirstLineBare reports whether the first line of head ends with a bare
// LF (the mark of a file kept with LF line ends), and whether head holds
// a whole first line to tell.
func FirstLineBare(head []byte) (bare, known bool) {
	for i, b := range head {
		if b == '\n' {
			return i == 0 || head[i-1] != '\r', true
		}
	}
	return false, false
}
