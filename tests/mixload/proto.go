package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Limits on what a server may send, so that a broken server cannot make
// the load generator allocate without bound.
const (
	maxLine     = 1 << 20  // one line of a response (between literals)
	maxLiteral  = 64 << 20 // one literal
	maxResponse = 80 << 20 // one response, literals included
)

// errProto marks a response that is not IMAP as the parser understands
// it: the connection cannot be trusted after one.
var errProto = errors.New("protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProto}, args...)...)
}

// readResponse reads one whole response into buf[:0] and returns it: a
// line and, for each literal {n} (also {n+} and ~{n}) that ends a line of
// a data response, the n bytes and the line that continues it. Status
// responses (tagged, "* OK/NO/BAD/BYE/PREAUTH", "+") carry free text, in
// which a trailing "{5}" is only text.
func readResponse(r *bufio.Reader, buf []byte) ([]byte, error) {
	resp := buf[:0]
	first := true
	for {
		lineStart := len(resp)
		for {
			chunk, err := r.ReadSlice('\n')
			resp = append(resp, chunk...)
			if err == nil {
				break
			}
			if err == bufio.ErrBufferFull {
				if len(resp)-lineStart > maxLine {
					return resp, protoErr("response line longer than %d bytes", maxLine)
				}
				continue
			}
			if err == io.EOF && len(resp) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return resp, err
		}
		if first && !mayHaveLiterals(resp) {
			return resp, nil
		}
		first = false
		n, ok := literalAtEnd(resp[lineStart:])
		if !ok {
			return resp, nil
		}
		if n > maxLiteral || len(resp)+n > maxResponse {
			return resp, protoErr("literal of %d bytes", n)
		}
		start := len(resp)
		resp = slices.Grow(resp, n)[:start+n]
		if _, err := io.ReadFull(r, resp[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return resp, err
		}
	}
}

// mayHaveLiterals reports whether the response starting with line is a
// data response (whose lines may end in a literal).
func mayHaveLiterals(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("* ")) {
		return false // tagged status or continuation request
	}
	word, _, _ := bytes.Cut(line[2:], []byte(" "))
	word = bytes.TrimRight(word, "\r\n")
	switch strings.ToUpper(string(word)) {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		return false
	}
	return true
}

// literalAtEnd reports whether line ends in "{n}\r\n", "{n+}\r\n" or
// "~{n}\r\n", and n.
func literalAtEnd(line []byte) (int, bool) {
	s := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if !bytes.HasSuffix(s, []byte("}")) {
		return 0, false
	}
	open := bytes.LastIndexByte(s, '{')
	if open < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(s[open+1:len(s)-1], []byte("+"))
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	n := 0
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}

// response is one parsed server response. Fields that are slices point
// into the buffer the response was read into.
type response struct {
	kind    byte   // '*' untagged, '+' continuation request, 't' tagged
	tag     string // tagged only
	num     uint32 // "* num KEYWORD"
	hasNum  bool
	keyword string // upper case: OK NO BAD BYE PREAUTH EXISTS EXPUNGE FETCH LIST …; status for tagged
	code    string // response code without brackets ("UIDNEXT 7"), status responses only
	text    string // status text
	rest    []byte // data after the keyword, without CRLF (data responses)
}

func (r *response) isStatus() bool {
	switch r.keyword {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		return true
	}
	return false
}

// parseResponse parses a whole response read by readResponse.
func parseResponse(raw []byte) (response, error) {
	var r response
	line := raw
	if !bytes.HasSuffix(line, []byte("\r\n")) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			return r, protoErr("response without line end: %.80q", raw)
		}
		line = line[:len(line)-1] // tolerate a bare LF
	} else {
		line = line[:len(line)-2]
	}
	if len(line) == 0 {
		return r, protoErr("empty response line")
	}
	switch {
	case line[0] == '+':
		r.kind = '+'
		r.text = strings.TrimPrefix(string(line[1:]), " ")
		return r, nil
	case bytes.HasPrefix(line, []byte("* ")):
		r.kind = '*'
		line = line[2:]
		word, rest, _ := bytes.Cut(line, []byte(" "))
		if n, err := strconv.ParseUint(string(word), 10, 32); err == nil {
			r.num, r.hasNum = uint32(n), true
			word, rest, _ = bytes.Cut(rest, []byte(" "))
		}
		if len(word) == 0 {
			return r, protoErr("untagged response without a keyword: %.80q", raw)
		}
		r.keyword = strings.ToUpper(string(word))
		if r.isStatus() {
			r.code, r.text = splitCode(rest)
			return r, nil
		}
		r.rest = rest
		return r, nil
	default:
		tag, rest, ok := bytes.Cut(line, []byte(" "))
		if !ok || len(tag) == 0 {
			return r, protoErr("not a response: %.80q", raw)
		}
		r.kind, r.tag = 't', string(tag)
		status, rest, _ := bytes.Cut(rest, []byte(" "))
		r.keyword = strings.ToUpper(string(status))
		if r.keyword != "OK" && r.keyword != "NO" && r.keyword != "BAD" {
			return r, protoErr("tagged response with status %q", status)
		}
		r.code, r.text = splitCode(rest)
		return r, nil
	}
}

// splitCode splits "[CODE args] text" into its code and text.
func splitCode(s []byte) (code, text string) {
	if len(s) == 0 || s[0] != '[' {
		return "", string(s)
	}
	end := bytes.IndexByte(s, ']')
	if end < 0 {
		return "", string(s)
	}
	return string(s[1:end]), strings.TrimPrefix(string(s[end+1:]), " ")
}

// scanner reads IMAP data items (atoms, numbers, quoted strings, literals,
// parenthesised lists, NIL) from the data of a response.
type scanner struct {
	b   []byte
	pos int
}

func (s *scanner) eof() bool { return s.pos >= len(s.b) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.b[s.pos]
}

func (s *scanner) sp() {
	for !s.eof() && s.b[s.pos] == ' ' {
		s.pos++
	}
}

func (s *scanner) expect(c byte) error {
	s.sp()
	if s.peek() != c {
		return protoErr("expected %q at %d of %.80q", c, s.pos, s.b)
	}
	s.pos++
	return nil
}

// atom reads an atom; a "[" inside it runs to the matching "]" (section
// specifiers such as BODY[HEADER.FIELDS (FROM TO)]), then a "<n>" may
// follow.
func (s *scanner) atom() ([]byte, error) {
	s.sp()
	start := s.pos
	depth := 0
	for !s.eof() {
		c := s.b[s.pos]
		if depth == 0 && (c == ' ' || c == '(' || c == ')' || c == '{' || c == '"' || c < ' ' || c == 0x7f) {
			break
		}
		switch c {
		case '[':
			depth++
		case ']':
			if depth == 0 {
				return nil, protoErr("unbalanced ] at %d of %.80q", s.pos, s.b)
			}
			depth--
		case '\r', '\n':
			return nil, protoErr("line break in atom at %d", s.pos)
		}
		s.pos++
	}
	if depth != 0 {
		return nil, protoErr("unterminated [ in %.80q", s.b[start:])
	}
	if s.pos == start {
		return nil, protoErr("expected an atom at %d of %.80q", s.pos, s.b)
	}
	return s.b[start:s.pos], nil
}

func (s *scanner) number() (uint32, error) {
	a, err := s.atom()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(a), 10, 32)
	if err != nil {
		return 0, protoErr("expected a number, got %.40q", a)
	}
	return uint32(n), nil
}

// str reads a quoted string or a literal; with nilOK also NIL (returned
// as nil, true).
func (s *scanner) str(nilOK bool) ([]byte, bool, error) {
	s.sp()
	switch s.peek() {
	case '"':
		s.pos++
		var out []byte
		for !s.eof() {
			c := s.b[s.pos]
			s.pos++
			switch c {
			case '"':
				return out, true, nil
			case '\\':
				if s.eof() {
					return nil, false, protoErr("unterminated quoted string")
				}
				out = append(out, s.b[s.pos])
				s.pos++
			case '\r', '\n':
				return nil, false, protoErr("line break in quoted string")
			default:
				out = append(out, c)
			}
		}
		return nil, false, protoErr("unterminated quoted string")
	case '{', '~':
		if s.peek() == '~' {
			s.pos++
		}
		end := bytes.IndexByte(s.b[s.pos:], '}')
		if end < 0 || s.b[s.pos] != '{' || !bytes.HasPrefix(s.b[s.pos+end+1:], []byte("\r\n")) {
			return nil, false, protoErr("bad literal at %d", s.pos)
		}
		n, ok := literalAtEnd(s.b[s.pos : s.pos+end+1])
		if !ok {
			return nil, false, protoErr("bad literal size at %d", s.pos)
		}
		s.pos += end + 3
		if s.pos+n > len(s.b) {
			return nil, false, protoErr("literal of %d bytes runs past the response", n)
		}
		out := s.b[s.pos : s.pos+n]
		s.pos += n
		return out, true, nil
	}
	a, err := s.atom()
	if err != nil {
		return nil, false, err
	}
	if nilOK && strings.EqualFold(string(a), "NIL") {
		return nil, false, nil
	}
	return a, true, nil // an astring may be an atom
}

// skip skips one value of any kind.
func (s *scanner) skip(depth int) error {
	if depth > 100 {
		return protoErr("lists nested too deep")
	}
	s.sp()
	switch s.peek() {
	case '(':
		s.pos++
		for {
			s.sp()
			if s.peek() == ')' {
				s.pos++
				return nil
			}
			if s.eof() {
				return protoErr("unterminated list")
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '"', '{', '~':
		_, _, err := s.str(false)
		return err
	case 0:
		return protoErr("expected a value at end of data")
	}
	_, err := s.atom()
	return err
}

// fetchData is what a FETCH response tells the load generator.
type fetchData struct {
	uid      uint32
	flags    []string
	hasFlags bool
	literals int // bytes of strings and literals received (bodies, headers)
}

// parseFetch parses the data of "* n FETCH (...)".
func parseFetch(data []byte) (fetchData, error) {
	var f fetchData
	s := &scanner{b: data}
	if err := s.expect('('); err != nil {
		return f, err
	}
	for {
		s.sp()
		if s.peek() == ')' {
			s.pos++
			break
		}
		if s.eof() {
			return f, protoErr("unterminated FETCH data")
		}
		name, err := s.atom()
		if err != nil {
			return f, err
		}
		switch strings.ToUpper(string(name)) {
		case "UID":
			if f.uid, err = s.number(); err != nil {
				return f, err
			}
			if f.uid == 0 {
				return f, protoErr("FETCH UID 0")
			}
		case "FLAGS":
			f.hasFlags = true
			if err := s.expect('('); err != nil {
				return f, err
			}
			for {
				s.sp()
				if s.peek() == ')' {
					s.pos++
					break
				}
				fl, err := s.atom()
				if err != nil {
					return f, err
				}
				f.flags = append(f.flags, string(fl))
			}
		default:
			s.sp()
			if c := s.peek(); c == '"' || c == '{' || c == '~' {
				b, _, err := s.str(false)
				if err != nil {
					return f, err
				}
				f.literals += len(b)
				continue
			}
			if err := s.skip(0); err != nil {
				return f, err
			}
		}
	}
	s.sp()
	if !s.eof() {
		return f, protoErr("data after FETCH list: %.40q", s.b[s.pos:])
	}
	return f, nil
}

// parseList returns the mailbox name of a LIST response's data
// ("(\HasNoChildren) "/" INBOX"), and whether it is selectable.
func parseList(data []byte) (string, bool, error) {
	s := &scanner{b: data}
	if err := s.expect('('); err != nil {
		return "", false, err
	}
	selectable := true
	for {
		s.sp()
		if s.peek() == ')' {
			s.pos++
			break
		}
		a, err := s.atom()
		if err != nil {
			return "", false, err
		}
		if strings.EqualFold(string(a), `\Noselect`) || strings.EqualFold(string(a), `\NonExistent`) {
			selectable = false
		}
	}
	if _, _, err := s.str(true); err != nil { // delimiter
		return "", false, err
	}
	name, ok, err := s.str(false)
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, protoErr("LIST without a name")
	}
	return string(name), selectable, nil
}

// parseSearch returns the numbers of a SEARCH response's data.
func parseSearch(data []byte) ([]uint32, error) {
	var out []uint32
	for f := range strings.FieldsSeq(string(data)) {
		if strings.HasPrefix(f, "(") {
			break // (MODSEQ n)
		}
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, protoErr("SEARCH: %q is not a number", f)
		}
		out = append(out, uint32(n))
	}
	return out, nil
}
