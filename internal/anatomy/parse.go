package anatomy

import (
	"bytes"
	"io"
)

// maxLineKeep is how much of a body line is kept to recognise a boundary
// (RFC 2046 boundaries have at most 70 characters).
const maxLineKeep = 512

// Parse reads a whole message from r and returns its anatomy. It fails
// only when r fails.
func Parse(r io.Reader) (*Part, error) {
	p := NewParser()
	if _, err := io.CopyBuffer(p, r, make([]byte, 32<<10)); err != nil {
		return nil, err
	}
	return p.Close(), nil
}

// ParseBytes returns the anatomy of msg.
func ParseBytes(msg []byte) *Part {
	p := NewParser()
	_, _ = p.Write(msg)
	return p.Close()
}

// Parser is an io.Writer that builds the anatomy of the message written to
// it, so that it can be teed into while the message is stored. Write never
// fails. Memory use is bounded by the limits of this package.
type Parser struct {
	root   *Part
	stack  []*frame
	parts  int
	off    int64 // bytes written so far
	lf     int64 // line feeds before the current line
	closed bool

	// The current line: where it starts, its first bytes (up to keep)
	// and whether its start is kept at all.
	lineOff  int64
	line     []byte
	lineKeep int
	// prevTerm is the length of the previous line's terminator (1 for
	// LF, 2 for CRLF, 0 at the start); prevEmpty is whether that line had
	// no content before its terminator.
	prevTerm  int
	prevEmpty bool
	// active counts the frames with a live boundary: with none, body
	// lines need no inspection.
	active int
	// lastByte is the last byte written.
	lastByte byte
	// endLF is the line-feed count at the end of each finished part.
	endLF map[*Part]int64
	// afterClose is set while handling the line that follows a close
	// delimiter ("--b--").
	afterClose, closeSeen bool
}

type frameState uint8

const (
	stHeader frameState = iota
	stBody              // leaf body, or a message part's body (child on top)
	stMulti             // multipart before its close delimiter
	stEpilogue
)

type frame struct {
	part     *Part
	state    frameState
	depth    int
	boundary []byte // "--" + boundary while stMulti
	hdr      []byte // header bytes while stHeader (up to MaxHeaderSize)
	hdrFull  bool
	lfBody   int64 // Parser.lf at BodyOffset
	digest   bool  // parent is multipart/digest
	message  bool  // part is a message (root or embedded): parse the envelope
}

// NewParser returns a Parser for one message.
func NewParser() *Parser {
	p := &Parser{root: &Part{}, line: make([]byte, 0, 256), endLF: map[*Part]int64{}}
	p.parts = 1
	p.stack = []*frame{{part: p.root, state: stHeader, message: true}}
	p.lineKeep = MaxHeaderSize
	return p
}

// Write implements io.Writer.
func (p *Parser) Write(b []byte) (int, error) {
	n := len(b)
	if p.closed || n == 0 {
		return n, nil
	}
	for len(b) > 0 {
		if p.active == 0 && p.top().state != stHeader {
			// Fast path: the rest of the message is one body with no
			// boundary to look for (nothing can start one): only line
			// feeds matter.
			p.lf += int64(bytes.Count(b, []byte{'\n'}))
			p.off += int64(len(b))
			if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
				p.lineOff = p.off - int64(len(b)-1-i)
				p.line = p.line[:0]
			}
			p.lastByte = b[len(b)-1]
			return n, nil
		}
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		if room := p.lineKeep - len(p.line); room > 0 {
			p.line = append(p.line, chunk[:min(room, len(chunk))]...)
		}
		p.off += int64(len(chunk))
		b = b[len(chunk):]
		if i >= 0 {
			term := 1
			if len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' || len(chunk) == 1 && p.lastByte == '\r' && p.off-p.lineOff >= 2 {
				term = 2
			}
			p.lastByte = '\n'
			p.endLine(term)
		} else {
			p.lastByte = chunk[len(chunk)-1]
		}
	}
	return n, nil
}

func (p *Parser) top() *frame { return p.stack[len(p.stack)-1] }

// endLine handles the complete current line, ended by a terminator of
// term bytes (0 at the end of the message).
func (p *Parser) endLine(term int) {
	total := p.off - p.lineOff
	p.handleLine(p.line, total, term)
	if term > 0 {
		p.lf++
	}
	p.prevTerm = term
	p.prevEmpty = total == int64(term)
	p.lineOff = p.off
	p.line = p.line[:0]
	if p.top().state == stHeader {
		p.lineKeep = MaxHeaderSize
	} else {
		p.lineKeep = maxLineKeep
	}
}

// handleLine processes one line: line holds its kept bytes (terminator
// included when kept), total its size, term its terminator's size.
func (p *Parser) handleLine(line []byte, total int64, term int) {
	p.afterClose, p.closeSeen = p.closeSeen, false
	if i := p.boundaryFrame(line); i >= 0 {
		p.boundary(i, line[len(p.stack[i].boundary):], total)
		return
	}
	f := p.top()
	if f.state != stHeader {
		return
	}
	if total == int64(term) && term > 0 {
		// The empty line ends the header.
		f.part.HeaderSize = p.off - f.part.HeaderOffset
		p.startBody(f, p.off, false)
		return
	}
	if !f.hdrFull {
		room := MaxHeaderSize - len(f.hdr)
		if len(line) > room {
			line, f.hdrFull = line[:room], true
		}
		f.hdr = append(f.hdr, line...)
		if total > int64(len(line)) && !f.hdrFull {
			// A header line longer than kept: end it so that the next
			// line is not glued to it.
			f.hdr = append(f.hdr, '\n')
		}
	}
}

// boundaryFrame returns the stack index of the innermost multipart
// whose boundary starts line (the kept start of a line), or -1 if line is
// no boundary line.
func (p *Parser) boundaryFrame(line []byte) int {
	if p.active == 0 || len(line) < 2 || line[0] != '-' || line[1] != '-' {
		return -1
	}
	for i := len(p.stack) - 1; i >= 0; i-- {
		f := p.stack[i]
		if f.state == stMulti && bytes.HasPrefix(line, f.boundary) {
			return i
		}
	}
	return -1
}

// boundary handles a boundary line of the multipart at stack index i; rest
// is what follows the boundary on the line.
func (p *Parser) boundary(i int, rest []byte, total int64) {
	end := p.lineOff - int64(p.prevTerm)
	lf := p.lf
	if p.prevTerm > 0 {
		lf-- // the line break before the boundary is not part of the body
	}
	if p.afterClose {
		// The line break of a close delimiter stays with it, so the
		// multipart it closed keeps it (as Dovecot counts).
		end, lf = p.lineOff, p.lf
	}
	for len(p.stack) > i+1 {
		p.finish(p.top(), end, lf, !p.prevEmpty)
		p.stack = p.stack[:len(p.stack)-1]
	}
	f := p.stack[i]
	if len(rest) >= 2 && rest[0] == '-' && rest[1] == '-' || p.parts >= MaxParts {
		p.closeSeen = true
		f.state = stEpilogue
		p.active--
		return
	}
	p.parts++
	c := &Part{HeaderOffset: p.lineOff + total}
	f.part.Parts = append(f.part.Parts, c)
	p.stack = append(p.stack, &frame{part: c, state: stHeader, depth: f.depth + 1,
		digest: f.part.Subtype == "digest"})
}

// finish ends frame f at offset end, with lf line feeds before end;
// partial says whether the last line before end has no line feed.
func (p *Parser) finish(f *frame, end, lf int64, partial bool) {
	pt := f.part
	if f.state == stHeader {
		pt.HeaderSize = max(end-pt.HeaderOffset, 0)
		p.startBody(f, pt.HeaderOffset+pt.HeaderSize, true)
		f.lfBody = lf
	}
	if f.state == stMulti {
		p.active--
	}
	if n := len(pt.Parts); n > 0 {
		// A degenerate last child (a boundary line right before the
		// end) may end after the given end: the parent holds it.
		last := pt.Parts[n-1]
		if le := last.BodyOffset + last.BodySize; le > end {
			end, lf = le, p.endLF[last]
		}
	}
	if end < pt.BodyOffset {
		// A boundary right after the header (or after the boundary
		// that opened the part): shrink the part to end there, so it
		// stays inside its parent.
		pt.HeaderOffset = min(pt.HeaderOffset, end)
		pt.BodyOffset = max(end, pt.HeaderOffset)
		pt.HeaderSize = pt.BodyOffset - pt.HeaderOffset
		f.lfBody = lf
	}
	end = max(end, pt.BodyOffset)
	pt.BodySize = end - pt.BodyOffset
	// Lines are the body's line feeds (a last line without one is not
	// counted, as in Dovecot).
	pt.BodyLines = max(lf-f.lfBody, 0)
	p.endLF[pt] = f.lfBody + pt.BodyLines
}

// startBody parses the finished header of f, whose body starts at off,
// and prepares the body: a multipart's boundary becomes active and an
// embedded message gets its frame, unless final (the part is ending).
func (p *Parser) startBody(f *frame, off int64, final bool) {
	pt := f.part
	pt.BodyOffset = off
	f.lfBody = p.lf + 1
	flds := parseFields(f.hdr, f.message)
	f.hdr = nil
	flds.apply(pt, f.digest)
	if f.message {
		pt.Envelope = flds.envelope()
	}
	f.state = stBody
	if f.depth+1 >= MaxDepth && (pt.Type == "multipart" || pt.Type == "message") {
		// Too deep to follow: an opaque leaf (Dovecot does the same).
		pt.Type, pt.Subtype = "application", "octet-stream"
	}
	if final {
		return
	}
	switch {
	case pt.Type == "multipart":
		b, ok := pt.Param("boundary")
		if !ok || b == "" {
			return
		}
		f.state = stMulti
		f.boundary = append([]byte("--"), b...)
		p.active++
	case pt.Type == "message" && (pt.Subtype == "rfc822" || pt.Subtype == "global") && p.parts < MaxParts:
		p.parts++
		c := &Part{HeaderOffset: off}
		pt.Parts = []*Part{c}
		p.stack = append(p.stack, &frame{part: c, state: stHeader, depth: f.depth + 1, message: true})
	}
}

// Close ends the message and returns its anatomy. Further writes are
// ignored.
func (p *Parser) Close() *Part {
	if p.closed {
		return p.root
	}
	if p.off > p.lineOff {
		p.endLine(0)
	}
	p.closed = true
	partial := p.off > 0 && p.lastByte != '\n'
	for len(p.stack) > 0 {
		p.finish(p.top(), p.off, p.lf, partial)
		p.stack = p.stack[:len(p.stack)-1]
	}
	return p.root
}
