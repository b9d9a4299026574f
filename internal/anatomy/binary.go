package anatomy

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// EncodeBinaryParts returns a reader of the message that r yields with the
// body of every part whose Content-Transfer-Encoding is binary (a leaf:
// not a multipart or message part) encoded in base64, and that field
// changed to base64; every other byte is copied as it is. The parts, their
// order and their decoded content are unchanged: base64 lines cannot be
// taken for boundaries.
//
// It is for APPEND with a literal8 (RFC 3516 §4.3: the server "MAY modify
// the CTE of the appended data, however any such transformation MUST NOT
// result in a loss of data"): IMAP sends binary data (NUL) only in answer
// to FETCH BINARY (RFC 9051 §4.3.1), which decodes the part again.
//
// The structure comes from a Parser fed alongside, so the parts converted
// are exactly those this package sees. Memory is bounded: a part header is
// held until its end (at most MaxHeaderSize; a longer one is copied as it
// is and its part not converted), and a body line only until it is known
// not to be a boundary line. A part's body without its header's blank
// line is empty and is not converted either.
func EncodeBinaryParts(r io.Reader) io.Reader {
	e := &binaryEncoder{src: r, p: NewParser(), in: make([]byte, 32<<10)}
	e.wrap.w = &e.out
	return e
}

// binaryEncoder is the reader EncodeBinaryParts returns. The input is
// handled in pieces of at most one line, each fed to the parser; what a
// line is (header, a converted body's, anything else) is decided from the
// parser's state at the start of the line.
type binaryEncoder struct {
	src  io.Reader
	p    *Parser
	in   []byte
	out  bytes.Buffer // converted bytes not read yet
	err  error        // src's error, returned once out is drained
	done bool

	lineLen int64    // bytes of the current line so far
	first   byte     // the current line's first byte
	mode    lineMode // the current line's kind, decided at its start

	// The header being held: its frame, bytes, and whether it grew too
	// large and was copied as it came.
	hf      *frame
	hdr     []byte
	spilled bool

	// The body being converted: its frame, the base64 encoder, the line
	// break of its last line (held: it belongs to a boundary line that
	// follows), the start of the current line while it may still be a
	// boundary line, and a CR ending what was encoded of a long line.
	conv *frame
	b64  io.WriteCloser
	wrap lineWrapper
	term []byte
	held []byte
	kind bodyLineKind
	cr   bool
}

type lineMode uint8

const (
	modeRaw lineMode = iota
	modeHeader
	modeBody // a line of the body being converted
)

type bodyLineKind uint8

const (
	lineUndecided bodyLineKind = iota
	lineBody
	lineBoundary
)

func (e *binaryEncoder) Read(b []byte) (int, error) {
	for e.out.Len() == 0 {
		if e.done {
			return 0, e.err
		}
		n, err := e.src.Read(e.in)
		e.write(e.in[:n])
		if err != nil {
			if err == io.EOF {
				e.finish()
			}
			e.err, e.done = err, true
		}
	}
	return e.out.Read(b)
}

// write handles input bytes, a line (or the end of one) at a time.
func (e *binaryEncoder) write(b []byte) {
	for len(b) > 0 {
		piece := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			piece = b[:i+1]
		}
		b = b[len(piece):]
		if e.lineLen == 0 {
			e.startLine(piece[0])
		}
		e.lineLen += int64(len(piece))
		complete := piece[len(piece)-1] == '\n'
		_, _ = e.p.Write(piece)
		switch e.mode {
		case modeRaw:
			e.out.Write(piece)
		case modeHeader:
			e.headerPiece(piece, complete)
		case modeBody:
			e.bodyPiece(piece, complete)
		}
		if complete {
			e.lineLen = 0
		}
	}
}

// startLine decides what the line starting with c is.
func (e *binaryEncoder) startLine(c byte) {
	e.first = c
	top := e.p.top()
	switch {
	case top.state == stHeader:
		if e.hf != top {
			e.hf, e.hdr, e.spilled = top, e.hdr[:0], false
		}
		e.mode = modeHeader
	case e.conv != nil && top == e.conv:
		e.mode, e.kind, e.held = modeBody, lineUndecided, e.held[:0]
	default:
		e.mode = modeRaw
	}
}

// headerPiece holds a piece of a header line; at the end of the header
// it writes the header, changed if its body is to be converted.
func (e *binaryEncoder) headerPiece(piece []byte, complete bool) {
	switch {
	case e.spilled:
		e.out.Write(piece)
	case len(e.hdr)+len(piece) > MaxHeaderSize:
		e.out.Write(e.hdr)
		e.out.Write(piece)
		e.hdr, e.spilled = e.hdr[:0], true
	default:
		e.hdr = append(e.hdr, piece...)
	}
	f := e.hf
	if !complete || f.state == stHeader {
		return
	}
	// The header ended: with its blank line, or a boundary line ended
	// the part (the line is then in hdr and copied).
	blank := e.lineLen == 1 || e.lineLen == 2 && e.first == '\r'
	switch {
	case e.spilled:
	case blank && e.convertible(f):
		e.out.Write(withBase64Field(e.hdr))
		e.conv, e.term, e.cr = f, e.term[:0], false
		e.wrap.col = 0
		e.b64 = base64.NewEncoder(base64.StdEncoding, &e.wrap)
	default:
		e.out.Write(e.hdr)
	}
	e.hf, e.hdr, e.spilled = nil, e.hdr[:0], false
}

// convertible reports whether the body of f, whose header just ended, is
// to be encoded: a binary leaf whose body follows.
func (e *binaryEncoder) convertible(f *frame) bool {
	pt := f.part
	return pt.Encoding == "binary" && f.state == stBody && e.p.top() == f &&
		pt.Type != "multipart" && pt.Type != "message"
}

// bodyPiece handles a piece of a line of the body being converted.
func (e *binaryEncoder) bodyPiece(piece []byte, complete bool) {
	switch e.kind {
	case lineBody:
		e.encode(piece, complete)
	case lineBoundary:
		e.out.Write(piece)
	default:
		e.held = append(e.held, piece...)
		switch {
		case complete && e.p.top() == e.conv && e.conv.state == stBody:
			e.encode(e.held, true)
		case complete:
			// The parser took the line for a boundary: the body ended
			// before the held line break.
			e.endConv()
			e.out.Write(e.held)
		case len(e.held) >= maxLineKeep:
			// Decided on the same start as the parser will be.
			if e.p.boundaryFrame(e.held[:maxLineKeep]) >= 0 {
				e.kind = lineBoundary
				e.endConv()
				e.out.Write(e.held)
			} else {
				e.kind = lineBody
				e.encode(e.held, false)
			}
		}
	}
}

// encode encodes body bytes of the current line (with its line break
// when complete), after the previous line's held line break; the line's
// own line break is held in turn, and a CR ending an incomplete piece
// until the next byte tells whether it starts the line break.
func (e *binaryEncoder) encode(data []byte, complete bool) {
	if len(e.term) > 0 {
		_, _ = e.b64.Write(e.term)
		e.term = e.term[:0]
	}
	cr := e.cr
	e.cr = false
	if !complete {
		if cr {
			_, _ = e.b64.Write([]byte{'\r'})
		}
		if n := len(data); n > 0 && data[n-1] == '\r' {
			data, e.cr = data[:n-1], true
		}
		_, _ = e.b64.Write(data)
		return
	}
	n := len(data)
	switch {
	case n >= 2 && data[n-2] == '\r':
		data, e.term = data[:n-2], append(e.term, '\r', '\n')
	case n == 1 && cr:
		data, e.term, cr = nil, append(e.term, '\r', '\n'), false
	default:
		data, e.term = data[:n-1], append(e.term, '\n')
	}
	if cr {
		_, _ = e.b64.Write([]byte{'\r'})
	}
	_, _ = e.b64.Write(data)
}

// endConv ends the converted body before the held line break, which
// belongs to the boundary line that follows.
func (e *binaryEncoder) endConv() {
	_ = e.b64.Close()
	e.out.Write(e.term)
	e.conv, e.b64, e.term = nil, nil, e.term[:0]
}

// finish handles the end of the input: a header without its end is
// written as it is, and a converted body ends with the message unless
// its last line, without a line break, is a boundary line.
func (e *binaryEncoder) finish() {
	if e.hf != nil && !e.spilled {
		e.out.Write(e.hdr)
	}
	// A body being converted is the current line's (a boundary line
	// ends it as soon as it is recognised).
	if e.conv != nil {
		undecided := e.lineLen > 0 && e.kind == lineUndecided
		switch {
		case undecided && e.p.boundaryFrame(e.held[:min(len(e.held), maxLineKeep)]) >= 0:
			e.endConv()
			e.out.Write(e.held)
		default:
			if undecided {
				e.encode(e.held, false)
			}
			if e.cr {
				_, _ = e.b64.Write([]byte{'\r'})
				e.cr = false
			}
			if len(e.term) > 0 { // the message's last line break
				_, _ = e.b64.Write(e.term)
				e.term = e.term[:0]
			}
			e.endConv()
		}
	}
	e.p.Close()
}

// withBase64Field returns header hdr with every Content-Transfer-Encoding
// field (with its continuation lines) replaced by one saying base64.
func withBase64Field(hdr []byte) []byte {
	out := make([]byte, 0, len(hdr))
	drop := false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		if line[0] == ' ' || line[0] == '\t' {
			if !drop {
				out = append(out, line...)
			}
			continue
		}
		drop = false
		if i := bytes.IndexByte(line, ':'); i > 0 && strings.EqualFold(string(bytes.TrimRight(line[:i], " \t")), "Content-Transfer-Encoding") {
			out = append(out, "Content-Transfer-Encoding: base64"...)
			if bytes.HasSuffix(line, []byte("\r\n")) {
				out = append(out, '\r', '\n')
			} else {
				out = append(out, '\n')
			}
			drop = true
			continue
		}
		out = append(out, line...)
	}
	return out
}

// lineWrapper writes base64 text in lines of 76 characters (RFC 2045
// §6.8) separated by CRLF, with no line break after the last one.
type lineWrapper struct {
	w   *bytes.Buffer
	col int
}

func (l *lineWrapper) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if l.col == 76 {
			l.w.WriteString("\r\n")
			l.col = 0
		}
		k := min(76-l.col, len(b))
		l.w.Write(b[:k])
		l.col += k
		b = b[k:]
	}
	return n, nil
}
