package anatomy

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// fields are the header fields of one part that the anatomy keeps.
type fields struct {
	// mime holds the values of the Content-* fields, in the order of
	// mimeFields: the first occurrence of Content-Type (hasType tells it
	// was seen), the first non-empty one of the others.
	mime    [len(mimeFields)]string
	hasType bool
	env     Envelope
	// addrs holds the raw values of the address fields, in the order of
	// addrFields; hasAddr has bit i set once addrs[i] was seen.
	addrs   [len(addrFields)]string
	hasAddr uint8
}

// mimeFields are the Content-* fields the anatomy keeps (lower case,
// without "content-"), in the order of fields.mime.
var mimeFields = [...]string{"type", "transfer-encoding", "id", "description", "disposition", "language", "location", "md5"}

// Indexes of mimeFields.
const (
	mimeType = iota
	mimeEncoding
	mimeID
	mimeDescription
	mimeDisposition
	mimeLanguage
	mimeLocation
	mimeMD5
)

// addrFields are the envelope's address fields (lower case), in the order
// of fields.addrs and of Envelope.addressLists.
var addrFields = [...]string{"from", "sender", "reply-to", "to", "cc", "bcc"}

// addressLists returns pointers to e's address lists, in the order of
// addrFields.
func (e *Envelope) addressLists() [len(addrFields)]*[]Address {
	return [...]*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc}
}

// AddressList returns the address list of the envelope field called name
// (From, Sender, Reply-To, To, Cc or Bcc, in any case); ok is false for
// another name.
func (e *Envelope) AddressList(name string) (list []Address, ok bool) {
	for i, l := range e.addressLists() {
		if strings.EqualFold(name, addrFields[i]) {
			return *l, true
		}
	}
	return nil, false
}

// EachField calls fn for every field of a header section, in order, with
// its name and its value unfolded (line breaks removed) and trimmed of
// white space at both ends. It stops at the empty line that ends the
// header; lines that are neither a field nor a continuation are skipped.
// value is only valid during the call.
//
// It is the one header-field reader: the anatomy's fields, the search
// index's text and the search evaluator's header keys all come from it.
func EachField(hdr []byte, fn func(name string, value []byte)) {
	var name string
	var val []byte
	have := false
	flush := func() {
		if have {
			fn(name, bytes.TrimSpace(val))
		}
		have = false
	}
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i], hdr[i+1:]
		} else {
			hdr = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if have {
				val = append(val, line...)
			}
			continue
		}
		flush()
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name = string(bytes.TrimRight(line[:i], " \t"))
		val = append(val[:0], line[i+1:]...)
		have = true
	}
	flush()
}

// parseFields extracts the fields the anatomy keeps; the first occurrence
// of a field wins. envelope says whether the envelope fields are wanted.
func parseFields(hdr []byte, envelope bool) fields {
	var f fields
	EachField(hdr, func(name string, v []byte) {
		if len(name) < 2 {
			return
		}
		switch c := name[0] | 0x20; {
		case c == 'c' && len(name) > 8 && strings.EqualFold(name[:8], "content-"):
			f.mimeField(name[8:], v)
		case !envelope:
		default:
			f.envelopeField(name, v)
		}
	})
	return f
}

// mimeField keeps a Content-* field; name is without "content-".
func (f *fields) mimeField(name string, v []byte) {
	for i, m := range mimeFields {
		if !strings.EqualFold(name, m) {
			continue
		}
		switch {
		case i == mimeType:
			if !f.hasType {
				f.mime[i], f.hasType = string(v), true
			}
		case f.mime[i] == "":
			f.mime[i] = string(v)
		}
		return
	}
}

// envelopeField keeps the first occurrence of an envelope field.
func (f *fields) envelopeField(name string, v []byte) {
	e := &f.env
	var bit EnvelopeFields
	var dst *string
	switch strings.ToLower(name) {
	case "date":
		bit, dst = HasDate, &e.Date
	case "subject":
		bit, dst = HasSubject, &e.Subject
	case "in-reply-to":
		bit, dst = HasInReplyTo, &e.InReplyTo
	case "message-id":
		bit, dst = HasMessageID, &e.MessageID
	default:
		for i, a := range addrFields {
			if strings.EqualFold(name, a) {
				if f.hasAddr&(1<<i) == 0 {
					f.hasAddr |= 1 << i
					f.addrs[i] = string(v)
				}
				return
			}
		}
		return
	}
	if e.Has&bit == 0 {
		e.Has |= bit
		*dst = string(v)
	}
}

// envelope returns the parsed envelope.
func (f *fields) envelope() *Envelope {
	e := f.env
	for i, l := range e.addressLists() {
		*l = ParseAddressList(f.addrs[i])
	}
	return &e
}

// apply sets the part's MIME fields; digest says the parent is a
// multipart/digest (default type message/rfc822).
func (f *fields) apply(p *Part, digest bool) {
	typ, sub, params, ok := parseContentType(f.mime[mimeType])
	if !f.hasType || !ok {
		p.DefaultType = true
		if digest {
			typ, sub, params = "message", "rfc822", nil
		} else {
			typ, sub, params = "text", "plain", nil
		}
	}
	p.Type, p.Subtype, p.Params = typ, sub, params
	p.Encoding = transferEncoding(f.mime[mimeEncoding])
	p.ID, p.Description, p.Location, p.MD5 = f.mime[mimeID], f.mime[mimeDescription], f.mime[mimeLocation], f.mime[mimeMD5]
	if disp := f.mime[mimeDisposition]; disp != "" {
		d, rest := splitToken(disp)
		if d != "" {
			p.Disposition = strings.ToLower(d)
			p.DispositionParams = parseParams(rest)
		}
	}
	if lang := f.mime[mimeLanguage]; lang != "" {
		for _, l := range strings.FieldsFunc(lang, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			p.Language = append(p.Language, l)
		}
	}
}

func isTSpecial(c byte) bool {
	return c <= ' ' || c >= 0x7f && c < 0x80 || strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0
}

// splitToken returns the leading MIME token of s (after CFWS) and the rest.
func splitToken(s string) (string, string) {
	s = SkipCFWS(s)
	i := 0
	for i < len(s) && !isTSpecial(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// parseContentType parses "type/subtype *(; param)". ok is false when
// no valid type/subtype is found.
func parseContentType(s string) (typ, sub string, params []Param, ok bool) {
	typ, rest := splitToken(s)
	rest = SkipCFWS(rest)
	if typ == "" || !strings.HasPrefix(rest, "/") {
		return "", "", nil, false
	}
	sub, rest = splitToken(rest[1:])
	if sub == "" {
		return "", "", nil, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), parseParams(rest), true
}

// rawParam is one parameter as sent, before RFC 2231 joining.
type rawParam struct {
	name    string // lower-case, without "*..."
	section int    // -1 without a section number
	ext     bool
	value   string
}

// parseParams parses *(";" attribute "=" value), tolerating junk: a
// parameter it cannot read is skipped up to the next ";".
func parseParams(s string) []Param {
	var raw []rawParam
	for {
		s = SkipCFWS(s)
		if s == "" {
			break
		}
		if s[0] != ';' {
			// Junk: skip to the next separator.
			i := strings.IndexByte(s, ';')
			if i < 0 {
				break
			}
			s = s[i:]
			continue
		}
		s = SkipCFWS(s[1:])
		i := 0
		for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ' ' && s[i] != '\t' && s[i] != '"' && s[i] != '(' {
			i++
		}
		attr := s[:i]
		s = SkipCFWS(s[i:])
		if attr == "" || !strings.HasPrefix(s, "=") {
			continue
		}
		s = SkipCFWS(s[1:])
		var val string
		if strings.HasPrefix(s, `"`) {
			val, s = delimited(s)
		} else {
			j := 0
			for j < len(s) && s[j] != ';' && s[j] != ' ' && s[j] != '\t' && s[j] != '(' {
				j++
			}
			val, s = s[:j], s[j:]
		}
		rp := rawParam{section: -1, value: val}
		name := strings.ToLower(attr)
		if strings.HasSuffix(name, "*") {
			rp.ext = true
			name = name[:len(name)-1]
		}
		if k := strings.IndexByte(name, '*'); k >= 0 {
			if n, err := strconv.Atoi(name[k+1:]); err == nil && n >= 0 && n < 1000 {
				rp.section = n
				name = name[:k]
			}
		}
		rp.name = name
		raw = append(raw, rp)
	}
	return joinParams(raw)
}

// joinParams joins RFC 2231 sections and decodes extended values; the
// first parameter of a name wins and the order of first appearance stays.
func joinParams(raw []rawParam) []Param {
	if len(raw) == 0 {
		return nil
	}
	var out []Param
	seen := map[string]int{}
	groups := map[string][]rawParam{}
	for _, r := range raw {
		if _, ok := seen[r.name]; !ok {
			seen[r.name] = len(out)
			out = append(out, Param{Name: r.name})
		}
		groups[r.name] = append(groups[r.name], r)
	}
	for i := range out {
		g := groups[out[i].Name]
		plain := -1
		var secs []rawParam
		for j, r := range g {
			if r.section < 0 {
				if plain < 0 || (r.ext && !g[plain].ext) {
					plain = j
				}
			} else {
				secs = append(secs, r)
			}
		}
		switch {
		case plain >= 0 && (len(secs) == 0 || g[plain].ext):
			r := g[plain]
			if r.ext {
				out[i].Raw = r.value
				out[i].Value = decode2231(r.value, true)
			} else {
				out[i].Value = r.value
			}
		default:
			sort.SliceStable(secs, func(a, b int) bool { return secs[a].section < secs[b].section })
			var rawB, plainB strings.Builder
			ext := false
			for k, r := range secs {
				if k > 0 && secs[k-1].section == r.section {
					continue // duplicate section: first wins
				}
				if r.ext {
					ext = true
				}
				rawB.WriteString(r.value)
				plainB.WriteString(r.value)
			}
			if ext {
				out[i].Raw = rawB.String()
				out[i].Value = decodeSections(secs)
			} else {
				out[i].Value = plainB.String()
			}
		}
	}
	return out
}

// decodeSections decodes joined RFC 2231 sections: the charset of the
// first section applies; extended sections are percent-decoded.
func decodeSections(secs []rawParam) string {
	var charset string
	var b []byte
	for k, r := range secs {
		if k > 0 && secs[k-1].section == r.section {
			continue
		}
		v := r.value
		if k == 0 && r.ext {
			var ok bool
			charset, v, ok = splitCharset(v)
			if !ok {
				return r.value
			}
		}
		if r.ext {
			b = append(b, percentDecode(v)...)
		} else {
			b = append(b, v...)
		}
	}
	return toUTF8(charset, b)
}

// decode2231 decodes one extended value charset'lang'pct-encoded.
func decode2231(v string, _ bool) string {
	charset, rest, ok := splitCharset(v)
	if !ok {
		return v
	}
	return toUTF8(charset, percentDecode(rest))
}

func splitCharset(v string) (charset, rest string, ok bool) {
	i := strings.IndexByte(v, '\'')
	if i < 0 {
		return "", v, false
	}
	j := strings.IndexByte(v[i+1:], '\'')
	if j < 0 {
		return "", v, false
	}
	return v[:i], v[i+1+j+1:], true
}

// HexDigit returns the value of a hexadecimal digit of either case.
func HexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := HexDigit(s[i+1])
			l, ok2 := HexDigit(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

// toUTF8 converts a decoded RFC 2231 value from charset to UTF-8 (any
// charset ToUTF8 knows; an unknown one leaves the bytes, made valid UTF-8).
func toUTF8(charset string, b []byte) string {
	s, _ := ToUTF8(charset, b)
	return s
}
