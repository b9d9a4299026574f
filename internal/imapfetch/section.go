package imapfetch

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"rookery/internal/anatomy"
)

// Section is a body section: part numbers and a specifier ("", "HEADER",
// "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT" or "MIME").
type Section struct {
	Part      []int
	Specifier string
	Fields    []string
}

// Find returns the part that part numbers path name (RFC 9051 §6.4.5):
// in a multipart the n-th child, in any other part only 1 (the part
// itself); numbers after a message/rfc822 part index its embedded message.
// (A multipart's MIME header is reached by its own number, since the
// number that follows selects a child.)
// An empty path is the root. ok is false if no such part exists.
func Find(root *anatomy.Part, path []int) (p *anatomy.Part, ok bool) {
	msg := root
	p = root
	self := false // msg is a leaf already reached as its own "1"
	for i, n := range path {
		switch {
		case msg.IsMultipart():
			if n < 1 || n > len(msg.Parts) {
				return nil, false
			}
			p = msg.Parts[n-1]
			self = false
		case n == 1 && !self:
			// A leaf (or message) is its own part 1; a leaf reached
			// that way has no "1.1" (Dovecot: BODY[1.1] of a one-part
			// message is empty, BODY[2.1] of a leaf part 2 is part 2).
			self = p == msg || i == 0
			p = msg
		default:
			return nil, false
		}
		if i == len(path)-1 {
			break
		}
		if p.IsMessage() {
			msg, self = p.Parts[0], false
		} else {
			msg = p
		}
	}
	return p, true
}

// Content is what a section resolves to: a byte range of the message,
// filtered by header fields when Fields is not nil.
type Content struct {
	Off, Len int64
	// Fields and Not are set for HEADER.FIELDS (.NOT): the range is a
	// header to filter.
	Fields []string
	Not    bool
	// Part is the part whose body the range is (for BINARY decoding),
	// nil for headers and whole messages.
	Part *anatomy.Part
}

// Resolve maps a section to its content. A section naming a part that
// does not exist resolves to an empty range (as Dovecot answers: "").
func Resolve(root *anatomy.Part, s Section) Content {
	p, ok := Find(root, s.Part)
	if !ok {
		return Content{}
	}
	msg := p // the message whose HEADER/TEXT is meant
	if len(s.Part) > 0 {
		switch s.Specifier {
		case "":
			return Content{Off: p.BodyOffset, Len: p.BodySize, Part: p}
		case "MIME":
			return Content{Off: p.HeaderOffset, Len: p.HeaderSize}
		}
		if !p.IsMessage() {
			return Content{}
		}
		msg = p.Parts[0]
	}
	switch s.Specifier {
	case "":
		return Content{Off: 0, Len: root.Size()}
	case "HEADER":
		return Content{Off: msg.HeaderOffset, Len: msg.HeaderSize}
	case "TEXT":
		return Content{Off: msg.BodyOffset, Len: msg.BodySize, Part: msg}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		f := s.Fields
		if f == nil {
			f = []string{}
		}
		return Content{Off: msg.HeaderOffset, Len: msg.HeaderSize, Fields: f, Not: s.Specifier == "HEADER.FIELDS.NOT"}
	}
	return Content{}
}

// FilterHeader copies from header (a header block) the fields named in
// fields (case-insensitive), or all others when not, with their
// continuation lines as sent (a last line without a line break gets
// CRLF), and ends the result with an empty line if the header block has
// one: RFC 3501 §6.4.5 includes the blank line "in all header fetches,
// except in the case of a message which has no body and no blank line".
func FilterHeader(header io.Reader, fields []string, not bool) ([]byte, error) {
	br := bufio.NewReaderSize(header, 4096)
	var out bytes.Buffer
	keep, blank := false, false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: decide on its start, copy it in pieces.
			if len(line) > 0 && line[0] != ' ' && line[0] != '\t' {
				keep = wanted(line, fields) != not
			}
			if keep {
				out.Write(line)
			}
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if keep {
					out.Write(line)
				}
			}
			if err == io.EOF {
				if keep && !bytes.HasSuffix(out.Bytes(), []byte{'\n'}) {
					out.WriteString("\r\n")
				}
				break
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if len(line) > 0 {
			if line[0] == ' ' || line[0] == '\t' {
				// continuation: same decision as its field
			} else if isBlank(line) {
				blank = true
				break
			} else {
				keep = wanted(line, fields) != not
			}
			if keep {
				out.Write(line)
				if line[len(line)-1] != '\n' {
					out.WriteString("\r\n")
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if blank {
		out.WriteString("\r\n")
	}
	return out.Bytes(), nil
}

// inPlaceHeader is the largest header block FilterHeaderAt reads at once
// and filters in place; larger ones are streamed (FilterHeader).
const inPlaceHeader = 64 << 10

// filterLineMax is the longest start of a line FilterHeader decides a
// field on: its read buffer. FilterHeaderAt decides on the same bytes.
const filterLineMax = 4096

// FilterHeaderAt returns what FilterHeader returns for the header block
// at [off, off+n) of r. A block of up to 64 KiB (nearly every message's)
// is read with one ReadAt and its lines are cut in place, with no read
// buffer or copy per line: header field fetches of a message list (the
// FETCH every client sends for new mail) spent a tenth of a mixed
// workload's CPU in FilterHeader's buffering.
func FilterHeaderAt(r io.ReaderAt, off, n int64, fields []string, not bool) ([]byte, error) {
	if n > inPlaceHeader {
		return FilterHeader(io.NewSectionReader(r, off, n), fields, not)
	}
	h := make([]byte, n)
	if m, err := r.ReadAt(h, off); m < len(h) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return filterHeaderBytes(h, fields, not), nil
}

// filterHeaderBytes is FilterHeader over a header block in memory.
func filterHeaderBytes(h []byte, fields []string, not bool) []byte {
	out := make([]byte, 0, min(len(h)+2, 1024))
	keep := false
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		switch {
		case line[0] == ' ' || line[0] == '\t':
			// continuation: same decision as its field
		case isBlank(line):
			return append(out, "\r\n"...)
		default:
			keep = wanted(line[:min(len(line), filterLineMax)], fields) != not
		}
		if keep {
			out = append(out, line...)
			if line[len(line)-1] != '\n' {
				out = append(out, "\r\n"...)
			}
		}
	}
	return out
}

func isBlank(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// wanted reports whether a field line's name is in fields. A line
// without a colon is no field.
func wanted(line []byte, fields []string) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	for _, f := range fields {
		if fieldIs(f, name) {
			return true
		}
	}
	return false
}

// fieldIs reports whether strings.EqualFold(f, string(b)), without
// converting b for ASCII names (a field name is ASCII by RFC 5322; 8-bit
// ones are compared by strings.EqualFold's Unicode folding as before).
func fieldIs(f string, b []byte) bool {
	if len(f) != len(b) {
		if isASCII(f) && isASCII(b) {
			return false
		}
		return strings.EqualFold(f, string(b))
	}
	for i := 0; i < len(b); i++ {
		x, y := f[i], b[i]
		if x >= 0x80 || y >= 0x80 {
			return strings.EqualFold(f, string(b))
		}
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Partial applies <origin.count> to a range of size n: it returns the
// offset inside the range and the length to send.
func Partial(n int64, origin, count uint32) (off, length int64) {
	off = min(int64(origin), n)
	return off, min(n-off, int64(count))
}
