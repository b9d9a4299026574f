package anatomy

import "strings"

// maxAddresses bounds the entries of one address list.
const maxAddresses = 10000

// Placeholders for the part a mailbox entry lacks (an empty Mailbox or
// Host), as ENVELOPE shows it and SEARCH and SORT read it. RFC 9051 has
// no way to show a missing part (a NIL host marks a group); these are
// Dovecot's.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
)

// MailboxOrMissing returns a's Mailbox, or MissingMailbox if it is empty.
func (a Address) MailboxOrMissing() string { return orMissing(a.Mailbox, MissingMailbox) }

// HostOrMissing returns a's Host, or MissingDomain if it is empty.
func (a Address) HostOrMissing() string { return orMissing(a.Host, MissingDomain) }

func orMissing(s, missing string) string {
	if s == "" {
		return missing
	}
	return s
}

// ParseAddressList parses an RFC 5322 address-list (§3.4) leniently. It is
// the one address parser: ENVELOPE, the SEARCH keys FROM/TO/CC/BCC (their
// evaluation and the index text), SORT and THREAD all read addresses
// through it. It never fails, and nothing that looks like an address is
// dropped:
//
//   - name-addr and addr-spec, with comments and folding white space
//     anywhere; a comment after a bare addr-spec becomes its display name
//     (the old "user@host (Name)" style; the last comment wins);
//   - a group becomes a GroupStart entry (Mailbox holds its display name,
//     possibly ""), its members and a GroupEnd entry; a missing ";" is
//     supplied at the end of the list. Groups do not nest: a ":" inside a
//     group is skipped;
//   - obsolete syntax (§4.4): a route ("<@a,@b:user@host>", also without
//     the angle brackets) is kept in Route; quoted words and CFWS between
//     the dot-separated words of a local part or domain; null members of
//     the list (",,") are skipped, as they are no addresses;
//   - damage: "<>" and any other angle-addr, however empty, is an entry
//     (empty Mailbox and Host); a display name alone ("John Doe",
//     `"John Doe"`) is an entry with only Name; one word alone ("user")
//     an addr-spec without domain; "Name user@host" is taken as
//     "Name <user@host>"; a missing ">" is supplied; text after an address
//     that belongs to no address starts the next entry.
//
// Display names keep their text as sent: quoting and comments removed,
// words joined by one space, RFC 2047 encoded words not decoded. It
// returns nil for a list without entries, and at most about maxAddresses
// entries.
func ParseAddressList(s string) []Address {
	p := addrParser{s: s}
	var out []Address
	p.list(&out, false)
	return out
}

type addrParser struct {
	s       string
	pos     int
	comment string // text of the last comment skipped
}

func (p *addrParser) eof() bool { return p.pos >= len(p.s) }

// next returns the next byte, 0 at the end (test eof to tell a NUL byte
// from the end).
func (p *addrParser) next() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

// skipCFWS skips CFWS, remembering the last comment's text.
func (p *addrParser) skipCFWS() {
	rest, c, found := skipCFWS(p.s[p.pos:])
	if found {
		p.comment = c
	}
	p.pos = len(p.s) - len(rest)
}

func isAtext(c byte) bool {
	return c > ' ' && c != 0x7f && strings.IndexByte(`()<>[]:;@\,."`, c) < 0
}

// word is one word of a phrase or local part.
type word struct {
	text   string
	quoted bool
}

// word reads an atom (with dots if dots is set) or a quoted string after
// CFWS; ok is false if neither is next.
func (p *addrParser) word(dots bool) (word, bool) {
	p.skipCFWS()
	if p.eof() {
		return word{}, false
	}
	if p.next() == '"' {
		v, rest := delimited(p.s[p.pos:])
		p.pos = len(p.s) - len(rest)
		return word{text: v, quoted: true}, true
	}
	start := p.pos
	for !p.eof() && (isAtext(p.next()) || dots && p.next() == '.') {
		p.pos++
	}
	return word{text: p.s[start:p.pos]}, p.pos > start
}

// phrase reads words (atoms may hold dots: "Joe Q. Public") up to a
// special.
func (p *addrParser) phrase() []word {
	var words []word
	for {
		w, ok := p.word(true)
		if !ok {
			break
		}
		words = append(words, w)
	}
	return words
}

func joinWords(words []word) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// list parses entries up to the end, or inside a group up to its ";".
func (p *addrParser) list(out *[]Address, inGroup bool) {
	for len(*out) < maxAddresses {
		p.skipCFWS()
		if p.eof() {
			return
		}
		switch p.next() {
		case ';':
			p.pos++
			if inGroup {
				return
			}
			continue
		case ',', '>':
			p.pos++ // a null member, or a stray ">"
			continue
		}
		before := p.pos
		p.item(out, inGroup)
		if p.pos == before {
			p.pos++ // junk that starts no entry
		}
	}
}

// item parses one mailbox or group and appends its entries to out.
func (p *addrParser) item(out *[]Address, inGroup bool) {
	start := p.pos
	p.comment = ""
	// An addr-spec alone, the common case.
	if a, ok := p.bareAddrSpec(); ok {
		*out = append(*out, a)
		return
	}
	p.pos, p.comment = start, ""
	words := p.phrase()
	p.skipCFWS()
	switch c := p.next(); {
	case c == '<':
		p.pos++
		a := p.angleAddr()
		a.Name = joinWords(words)
		*out = append(*out, a)
	case c == ':' && !inGroup:
		p.pos++
		*out = append(*out, Address{Mailbox: joinWords(words), Kind: GroupStart})
		p.list(out, true)
		*out = append(*out, Address{Kind: GroupEnd})
	case c == '@' && len(words) > 0:
		// "Name user@host" without angle brackets (or a local part that
		// is no valid one, such as "a..b"): the last word is the local
		// part.
		p.pos++
		a := Address{Name: joinWords(words[:len(words)-1]), Mailbox: words[len(words)-1].text, Host: p.domain()}
		*out = append(*out, a)
	case c == '@':
		p.routeAddrs(out)
	case len(words) == 1 && !words[0].quoted:
		// One word: an addr-spec without domain.
		*out = append(*out, Address{Name: p.comment, Mailbox: words[0].text})
	case len(words) > 0:
		// A display name without address.
		*out = append(*out, Address{Name: joinWords(words)})
	}
}

// bareAddrSpec reads local-part "@" domain followed by CFWS, whose last
// comment becomes the display name. ok is false (and the position is
// undefined) when the input is not that.
func (p *addrParser) bareAddrSpec() (Address, bool) {
	local, ok := p.localPart()
	if !ok {
		return Address{}, false
	}
	p.skipCFWS()
	if p.next() != '@' {
		return Address{}, false
	}
	p.pos++
	p.comment = ""
	a := Address{Mailbox: local, Host: p.domain()}
	p.skipCFWS()
	a.Name = p.comment
	return a, true
}

// localPart reads words separated by dots, with CFWS around them (the
// obsolete local part); ok is false if there is no word.
func (p *addrParser) localPart() (string, bool) {
	return p.dotted(false)
}

// domain reads a domain literal or dot-separated atoms.
func (p *addrParser) domain() string {
	p.skipCFWS()
	if p.next() == '[' {
		// A domain literal; one never closed ends before what cannot be
		// in it (white space, another bracket, a separator).
		end := p.pos + 1
		for end < len(p.s) && strings.IndexByte("[]<>,;\\ \t\r\n", p.s[end]) < 0 {
			end++
		}
		if end < len(p.s) && p.s[end] == ']' {
			end++
		}
		v := p.s[p.pos:end]
		p.pos = end
		return v
	}
	d, _ := p.dotted(true)
	return d
}

// dotted reads words (atoms only when atoms is set) separated by dots,
// with CFWS around the dots: the local part and the domain of an
// addr-spec. ok is false if there is no word.
func (p *addrParser) dotted(atoms bool) (string, bool) {
	var b strings.Builder
	found := false
	for {
		p.skipCFWS()
		if !atoms || p.next() != '"' {
			if w, ok := p.word(false); ok {
				b.WriteString(w.text)
				found = true
			}
		}
		p.skipCFWS()
		if p.next() != '.' {
			break
		}
		p.pos++
		b.WriteByte('.')
	}
	return b.String(), found
}

// routeDomains reads the domains of an obsolete route "@a,@b:" (RFC 5322
// §4.4 obs-domain-list): "@" domain, repeated after commas and CFWS.
// colon tells whether a ":" ended them (it is then consumed).
func (p *addrParser) routeDomains() (domains []string, colon bool) {
	for p.next() == '@' && len(domains) < maxAddresses {
		p.pos++
		domains = append(domains, p.domain())
		for p.skipCFWS(); p.next() == ','; p.skipCFWS() {
			p.pos++
		}
	}
	if p.next() == ':' {
		p.pos++
		return domains, true
	}
	return domains, false
}

func joinRoute(domains []string) string {
	return "@" + strings.Join(domains, ",@")
}

// routeAddrs reads what starts with "@" outside angle brackets: a route
// and the addr-spec after it, or else domains without local part (one
// entry each).
func (p *addrParser) routeAddrs(out *[]Address) {
	domains, colon := p.routeDomains()
	if colon {
		a := p.addrSpec()
		a.Route = joinRoute(domains)
		*out = append(*out, a)
		return
	}
	for _, d := range domains {
		if d != "" {
			*out = append(*out, Address{Host: d})
		}
	}
}

// addrSpec reads [local-part] ["@" domain].
func (p *addrParser) addrSpec() Address {
	var a Address
	a.Mailbox, _ = p.localPart()
	p.skipCFWS()
	if p.next() == '@' {
		p.pos++
		a.Host = p.domain()
	}
	return a
}

// angleAddr reads [route] addr-spec ">" after the "<". Whatever stands
// between the address and the ">" is skipped, up to a "," (a missing ">"
// is then supplied).
func (p *addrParser) angleAddr() Address {
	p.skipCFWS()
	var route string
	if start := p.pos; p.next() == '@' {
		// Read again as an addr-spec if it is no route: once per
		// angle-addr, which then goes on to its ">" or ",".
		if domains, colon := p.routeDomains(); colon {
			route = joinRoute(domains)
		} else {
			p.pos = start
		}
	}
	a := p.addrSpec()
	a.Route = route
	for !p.eof() {
		switch p.s[p.pos] {
		case '>':
			p.pos++
			return a
		case ',':
			return a
		}
		p.pos++
	}
	return a
}
