package mbox

import (
	"bytes"
	"io"
)

// A stage transforms a stream chunk by chunk, keeping what it needs of
// the bytes seen so far; flush ends the stream.
type stage interface {
	write(dst *bytes.Buffer, p []byte)
	flush(dst *bytes.Buffer)
}

const fromPrefix = "From "

// quoteStage quotes mboxrd-style: a line that starts with zero or more
// ">" then "From " gets one more ">".
type quoteStage struct {
	mid bool  // inside a line, past its start
	gt  int64 // ">" held at the start of the line
	k   int   // bytes of "From " matched after them
}

func (q *quoteStage) write(dst *bytes.Buffer, p []byte) {
	for i := 0; i < len(p); {
		if q.mid {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				dst.Write(p[i:])
				return
			}
			dst.Write(p[i : i+j+1])
			i += j + 1
			q.mid = false
			continue
		}
		c := p[i]
		switch {
		case q.k == 0 && c == '>':
			q.gt++
			i++
		case c == fromPrefix[q.k]:
			q.k++
			i++
			if q.k == len(fromPrefix) {
				dst.WriteByte('>')
				q.release(dst)
			}
		default:
			q.release(dst) // c is handled inside the line
		}
	}
}

// release writes the held prefix and goes inside the line.
func (q *quoteStage) release(dst *bytes.Buffer) {
	writeGT(dst, q.gt)
	dst.WriteString(fromPrefix[:q.k])
	q.gt, q.k, q.mid = 0, 0, true
}

func (q *quoteStage) flush(dst *bytes.Buffer) {
	if !q.mid {
		q.release(dst)
	}
}

func writeGT(dst *bytes.Buffer, n int64) {
	for ; n > 0; n-- {
		dst.WriteByte('>')
	}
}

// unquoteStage undoes quoting: mboxrd takes one ">" off a line that is
// one or more ">" then "From "; mboxo only off ">From ".
type unquoteStage struct {
	mboxo bool
	mid   bool
	gt    int64
	k     int
}

func (u *unquoteStage) write(dst *bytes.Buffer, p []byte) {
	for i := 0; i < len(p); {
		if u.mid {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				dst.Write(p[i:])
				return
			}
			dst.Write(p[i : i+j+1])
			i += j + 1
			u.mid = false
			continue
		}
		c := p[i]
		switch {
		case u.k == 0 && c == '>':
			u.gt++
			i++
		case u.gt > 0 && c == fromPrefix[u.k]:
			u.k++
			i++
			if u.k == len(fromPrefix) {
				if u.gt == 1 || !u.mboxo {
					u.gt--
				}
				u.release(dst)
			}
		default:
			u.release(dst)
		}
	}
}

func (u *unquoteStage) release(dst *bytes.Buffer) {
	writeGT(dst, u.gt)
	dst.WriteString(fromPrefix[:u.k])
	u.gt, u.k, u.mid = 0, 0, true
}

func (u *unquoteStage) flush(dst *bytes.Buffer) {
	if !u.mid {
		u.release(dst)
	}
}

// stripCRStage drops the CR of every CRLF.
type stripCRStage struct{ cr bool }

func (s *stripCRStage) write(dst *bytes.Buffer, p []byte) {
	for len(p) > 0 {
		if s.cr {
			s.cr = false
			if p[0] != '\n' {
				dst.WriteByte('\r')
			}
		}
		j := bytes.IndexByte(p, '\r')
		if j < 0 {
			dst.Write(p)
			return
		}
		dst.Write(p[:j])
		s.cr = true
		p = p[j+1:]
	}
}

func (s *stripCRStage) flush(dst *bytes.Buffer) {
	if s.cr {
		dst.WriteByte('\r')
		s.cr = false
	}
}

// addCRStage turns every LF not preceded by CR into CRLF (every LF when
// all is set).
type addCRStage struct {
	all    bool
	lastCR bool
}

func (a *addCRStage) write(dst *bytes.Buffer, p []byte) {
	for len(p) > 0 {
		j := bytes.IndexByte(p, '\n')
		if j < 0 {
			dst.Write(p)
			a.lastCR = p[len(p)-1] == '\r'
			return
		}
		dst.Write(p[:j])
		prevCR := a.lastCR
		if j > 0 {
			prevCR = p[j-1] == '\r'
		}
		if a.all || !prevCR {
			dst.WriteByte('\r')
		}
		dst.WriteByte('\n')
		a.lastCR = false
		p = p[j+1:]
	}
}

func (a *addCRStage) flush(*bytes.Buffer) {}

// dropLastLFStage holds back a final LF and drops it at the end.
type dropLastLFStage struct{ held bool }

func (d *dropLastLFStage) write(dst *bytes.Buffer, p []byte) {
	if len(p) == 0 {
		return
	}
	if d.held {
		dst.WriteByte('\n')
		d.held = false
	}
	if p[len(p)-1] == '\n' {
		dst.Write(p[:len(p)-1])
		d.held = true
		return
	}
	dst.Write(p)
}

func (d *dropLastLFStage) flush(*bytes.Buffer) { d.held = false }

// chain applies stages one after the other.
type chain struct {
	stages []stage
	bufs   []bytes.Buffer
}

func newChain(stages ...stage) *chain {
	return &chain{stages: stages, bufs: make([]bytes.Buffer, len(stages))}
}

// withBufs makes c use bufs (at least as many as its stages) between its
// stages, so that a caller running many chains reuses their memory.
func (c *chain) withBufs(bufs []bytes.Buffer) *chain {
	c.bufs = bufs
	return c
}

// write runs p through every stage, leaving the output in dst.
func (c *chain) write(dst *bytes.Buffer, p []byte) {
	in := p
	for i, s := range c.stages {
		out := dst
		if i < len(c.stages)-1 {
			out = &c.bufs[i]
			out.Reset()
		}
		s.write(out, in)
		in = out.Bytes()
	}
}

func (c *chain) flush(dst *bytes.Buffer) {
	// Each stage's flush output goes through the stages after it, then
	// those flush.
	for i, s := range c.stages {
		var tail bytes.Buffer
		s.flush(&tail)
		in := tail.Bytes()
		for _, t := range c.stages[i+1:] {
			var out bytes.Buffer
			t.write(&out, in)
			in = out.Bytes()
		}
		dst.Write(in)
	}
}

// transformReader reads src through a chain.
type transformReader struct {
	src  io.Reader
	c    *chain
	out  bytes.Buffer
	in   []byte
	done bool
	err  error
}

// newTransformReader returns a reader of src (of about size bytes)
// through c.
func newTransformReader(src io.Reader, c *chain, size int64) *transformReader {
	n := int64(32 << 10)
	if size+1 < n {
		n = max(size+1, 512)
	}
	return &transformReader{src: src, c: c, in: make([]byte, n)}
}

func (t *transformReader) Read(p []byte) (int, error) {
	for t.out.Len() == 0 {
		if t.done {
			return 0, t.err
		}
		n, err := t.src.Read(t.in)
		if n > 0 {
			t.c.write(&t.out, t.in[:n])
		}
		if err != nil {
			t.done = true
			t.err = err
			if err == io.EOF {
				t.c.flush(&t.out)
			}
		}
	}
	return t.out.Read(p)
}
