package delivery

import "io"

// crlfReader turns bare LF into CRLF; CRLF passes unchanged.
type crlfReader struct {
	r      io.Reader
	prevCR bool   // the last byte passed on was CR
	buf    []byte // read buffer
	out    []byte // converted bytes not yet returned (a tail of obuf)
	obuf   []byte
	err    error
}

func newCRLFReader(r io.Reader) *crlfReader {
	return &crlfReader{r: r, buf: make([]byte, 32<<10)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.err = err
		c.out = c.obuf[:0]
		for _, b := range c.buf[:n] {
			if b == '\n' && !c.prevCR {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, b)
			c.prevCR = b == '\r'
		}
		c.obuf = c.out
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
