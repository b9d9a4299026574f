package anatomy

import "strings"

// maxAddresses bounds the entries of one address list.
const maxAddresses = 10000

// ParseAddressList parses an RFC 5322 address list leniently, keeping
// display names as sent (quoting removed, RFC 2047 encoded words kept).
// Groups become a GroupStart entry, their members and a GroupEnd entry. It
// returns nil for an empty list.
func ParseAddressList(s string) []Address {
	p := addrParser{s: s}
	var out []Address
	for len(out) < maxAddresses {
		p.skipCFWS()
		if p.eof() {
			break
		}
		if c := p.peek(); c == ',' || c == ';' || c == '>' {
			p.pos++
			continue
		}
		before := p.pos
		out = p.item(out, 0)
		if p.pos == before {
			p.pos++ // never loop on junk
		}
	}
	return out
}

type addrParser struct {
	s       string
	pos     int
	comment string // last comment skipped
}

func (p *addrParser) eof() bool  { return p.pos >= len(p.s) }
func (p *addrParser) peek() byte { return p.s[p.pos] }

func (p *addrParser) skipCFWS() {
	for !p.eof() {
		switch p.peek() {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '(':
			c, rest := comment(p.s[p.pos:])
			p.comment = strings.TrimSpace(c)
			p.pos = len(p.s) - len(rest)
		default:
			return
		}
	}
}

func isAtext(c byte) bool {
	return c > ' ' && c != 0x7f && strings.IndexByte(`()<>[]:;@\,."`, c) < 0
}

// word reads an atom or a quoted string; ok is false if neither is next.
func (p *addrParser) word(dots bool) (string, bool) {
	p.skipCFWS()
	if p.eof() {
		return "", false
	}
	if p.peek() == '"' {
		v, rest := quotedString(p.s[p.pos:])
		p.pos = len(p.s) - len(rest)
		return v, true
	}
	start := p.pos
	for !p.eof() && (isAtext(p.peek()) || dots && p.peek() == '.') {
		p.pos++
	}
	return p.s[start:p.pos], p.pos > start
}

// phrase reads words up to a special; quoted words lose their quotes.
func (p *addrParser) phrase() string {
	var words []string
	for {
		w, ok := p.word(true)
		if !ok {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// item parses a mailbox or a group and appends it to out.
func (p *addrParser) item(out []Address, depth int) []Address {
	start := p.pos
	p.comment = ""
	name := p.phrase()
	p.skipCFWS()
	if !p.eof() {
		switch p.peek() {
		case '<':
			p.pos++
			a := p.angleAddr()
			a.Name = name
			if a == (Address{}) {
				return out
			}
			return append(out, a)
		case ':':
			if depth > 0 {
				break
			}
			p.pos++
			out = append(out, Address{Mailbox: name, Kind: GroupStart})
			for len(out) < maxAddresses {
				p.skipCFWS()
				if p.eof() {
					break
				}
				if c := p.peek(); c == ';' {
					p.pos++
					break
				} else if c == ',' {
					p.pos++
					continue
				}
				before := p.pos
				out = p.item(out, depth+1)
				if p.pos == before {
					p.pos++
				}
			}
			return append(out, Address{Kind: GroupEnd})
		}
	}
	p.pos = start
	p.comment = ""
	a := p.addrSpec()
	if a.Mailbox == "" && a.Host == "" {
		return out
	}
	p.skipCFWS()
	a.Name = p.comment
	return append(out, a)
}

// addrSpec reads local-part ["@" domain].
func (p *addrParser) addrSpec() Address {
	var a Address
	var local strings.Builder
	for {
		w, ok := p.word(false)
		if !ok {
			break
		}
		local.WriteString(w)
		p.skipCFWS()
		if p.eof() || p.peek() != '.' {
			break
		}
		p.pos++
		local.WriteByte('.')
	}
	a.Mailbox = local.String()
	p.skipCFWS()
	if !p.eof() && p.peek() == '@' {
		p.pos++
		a.Host = p.domain()
	}
	return a
}

// domain reads a dot-atom or a domain literal.
func (p *addrParser) domain() string {
	p.skipCFWS()
	if !p.eof() && p.peek() == '[' {
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			v := p.s[p.pos:]
			p.pos = len(p.s)
			return v
		}
		v := p.s[p.pos : p.pos+end+1]
		p.pos += end + 1
		return v
	}
	var b strings.Builder
	for {
		w, ok := p.word(false)
		if !ok {
			break
		}
		b.WriteString(w)
		p.skipCFWS()
		if p.eof() || p.peek() != '.' {
			break
		}
		p.pos++
		b.WriteByte('.')
	}
	return b.String()
}

// angleAddr reads [route ":"] addr-spec ">" after the "<".
func (p *addrParser) angleAddr() Address {
	p.skipCFWS()
	var route string
	if !p.eof() && p.peek() == '@' {
		if i := strings.IndexByte(p.s[p.pos:], ':'); i >= 0 {
			route = strings.TrimSpace(p.s[p.pos : p.pos+i])
			p.pos += i + 1
		}
	}
	a := p.addrSpec()
	a.Route = route
	if i := strings.IndexByte(p.s[p.pos:], '>'); i >= 0 {
		p.pos += i + 1
	} else {
		p.pos = len(p.s)
	}
	return a
}
