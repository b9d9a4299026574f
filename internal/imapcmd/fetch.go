package imapcmd

import (
	"strings"

	"rookery/internal/imapwire"
)

// maxSectionParts bounds the depth of a section part ("1.2.3..."); above
// the MIME parser's nesting limit (anatomy.MaxDepth, 100) so that every
// part it reports can be fetched.
const maxSectionParts = 128

func isFetchAttChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func isSpecChar(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' }

// fetchMacros are the FETCH macros of RFC 9051 (FULL as in RFC 3501).
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

// simpleFetchAtts are the fetch attributes without section or arguments.
var simpleFetchAtts = map[string]bool{
	"FLAGS": true, "UID": true, "INTERNALDATE": true, "RFC822.SIZE": true,
	"ENVELOPE": true, "BODYSTRUCTURE": true, "RFC822": true,
	"RFC822.HEADER": true, "RFC822.TEXT": true, "MODSEQ": true,
	"SAVEDATE": true, "EMAILID": true, "THREADID": true,
}

// ParseFetch parses SP sequence-set SP ("ALL" / "FULL" / "FAST" /
// fetch-att / "(" fetch-att *(SP fetch-att) ")") [SP fetch-modifiers].
func ParseFetch(p *Parser) (*Fetch, error) {
	d := p.d
	f := &Fetch{}
	var err error
	if err = d.SP(); err != nil {
		return nil, err
	}
	if f.Set, f.Saved, err = p.setOrSaved(); err != nil {
		return nil, err
	}
	if err = d.SP(); err != nil {
		return nil, err
	}
	b, err := d.PeekByte()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		err = d.List(func() error {
			it, err := p.fetchAtt(false)
			f.Items = append(f.Items, it...)
			return err
		})
		if err == nil && len(f.Items) == 0 {
			err = p.errorf("empty fetch attribute list")
		}
	} else {
		f.Items, err = p.fetchAtt(true)
	}
	if err != nil {
		return nil, err
	}
	if ok, err := d.Accept(' '); err != nil || !ok {
		return f, err
	}
	err = d.List(func() error {
		m, err := p.keyword()
		if err != nil {
			return err
		}
		switch {
		case m == "CHANGEDSINCE" && !f.HasChangedSince:
			if err := d.SP(); err != nil {
				return err
			}
			f.ChangedSince, err = d.Number64()
			f.HasChangedSince = err == nil
			return err
		case m == "VANISHED" && !f.Vanished:
			f.Vanished = true
			return nil
		}
		return p.errorf("unknown or duplicate FETCH modifier %s", m)
	})
	if err != nil {
		return nil, err
	}
	if f.Vanished && (!p.uid || !f.HasChangedSince) {
		return nil, p.errorf("VANISHED requires UID FETCH and CHANGEDSINCE")
	}
	return f, nil
}

// fetchAtt parses one fetch-att; with top set a macro is allowed too.
func (p *Parser) fetchAtt(top bool) ([]FetchItem, error) {
	d := p.d
	raw, err := d.AtomFunc(isFetchAttChar)
	if err != nil {
		return nil, err
	}
	name := strings.ToUpper(raw)
	if m, ok := fetchMacros[name]; ok {
		if !top {
			return nil, p.errorf("fetch macro %s inside a list", name)
		}
		items := make([]FetchItem, len(m))
		for i, n := range m {
			items[i].Name = n
		}
		return items, nil
	}
	if simpleFetchAtts[name] {
		return []FetchItem{{Name: name}}, nil
	}
	it := FetchItem{}
	switch name {
	case "BODY", "BODY.PEEK":
		it.Name, it.Peek = "BODY", name == "BODY.PEEK"
		b, err := d.PeekByte()
		if err != nil {
			return nil, err
		}
		if b != '[' {
			if it.Peek {
				return nil, p.errorf("BODY.PEEK requires a section")
			}
			return []FetchItem{it}, nil
		}
		if it.Section, err = p.section(); err != nil {
			return nil, err
		}
		if it.Partial, err = p.partial(); err != nil {
			return nil, err
		}
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		it.Name, it.Peek = "BINARY", name == "BINARY.PEEK"
		if name == "BINARY.SIZE" {
			it.Name = name
		}
		if it.Section, err = p.sectionBinary(); err != nil {
			return nil, err
		}
		if name != "BINARY.SIZE" {
			if it.Partial, err = p.partial(); err != nil {
				return nil, err
			}
		}
	case "PREVIEW":
		it.Name = name
		// PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"] (RFC 8970);
		// look ahead so that "PREVIEW (CHANGEDSINCE 1)" stays a modifier.
		ahead, err := d.PeekLine(7)
		if err != nil {
			return nil, err
		}
		if len(ahead) == 7 && strings.EqualFold(string(ahead[:6]), " (LAZY") && (ahead[6] == ')' || ahead[6] == ' ') {
			if err := d.SP(); err != nil {
				return nil, err
			}
			err := d.List(func() error {
				if err := p.expectKeyword("LAZY"); err != nil {
					return err
				}
				it.Lazy = true
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.errorf("unknown fetch attribute %s", raw)
	}
	return []FetchItem{it}, nil
}

// section parses "[" [section-spec] "]":
// section-spec = section-msgtext / (section-part ["." section-text]).
func (p *Parser) section() (*Section, error) {
	d := p.d
	if err := d.Expect('['); err != nil {
		return nil, err
	}
	s := &Section{}
	for {
		b, err := d.PeekByte()
		if err != nil {
			return nil, err
		}
		if !imapwire.IsDigit(b) {
			if b == ']' && len(s.Part) == 0 {
				return s, d.Expect(']')
			}
			break
		}
		if len(s.Part) >= maxSectionParts {
			return nil, p.errorf("section part too deep")
		}
		n, err := p.nzNumber()
		if err != nil {
			return nil, err
		}
		s.Part = append(s.Part, int(n))
		dot, err := d.Accept('.')
		if err != nil {
			return nil, err
		}
		if !dot {
			return s, d.Expect(']')
		}
	}
	spec, err := d.AtomFunc(isSpecChar)
	if err != nil {
		return nil, err
	}
	s.Specifier = strings.ToUpper(spec)
	switch s.Specifier {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Part) == 0 {
			return nil, p.errorf("MIME requires a section part")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := d.SP(); err != nil {
			return nil, err
		}
		s.Fields = []string{}
		err := d.List(func() error {
			f, err := d.AString()
			s.Fields = append(s.Fields, f)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(s.Fields) == 0 {
			return nil, p.errorf("empty header field list")
		}
	default:
		return nil, p.errorf("unknown section %s", spec)
	}
	return s, d.Expect(']')
}

// sectionBinary parses "[" [section-part] "]".
func (p *Parser) sectionBinary() (*Section, error) {
	d := p.d
	if err := d.Expect('['); err != nil {
		return nil, err
	}
	s := &Section{}
	if ok, err := d.Accept(']'); err != nil || ok {
		return s, err
	}
	for {
		if len(s.Part) >= maxSectionParts {
			return nil, p.errorf("section part too deep")
		}
		n, err := p.nzNumber()
		if err != nil {
			return nil, err
		}
		s.Part = append(s.Part, int(n))
		dot, err := d.Accept('.')
		if err != nil {
			return nil, err
		}
		if !dot {
			return s, d.Expect(']')
		}
	}
}

// partial parses an optional "<" number "." nz-number ">".
func (p *Parser) partial() (*Partial, error) {
	d := p.d
	if ok, err := d.Accept('<'); err != nil || !ok {
		return nil, err
	}
	var pt Partial
	var err error
	if pt.Offset, err = d.Number(); err != nil {
		return nil, err
	}
	if err = d.Expect('.'); err != nil {
		return nil, err
	}
	if pt.Count, err = p.nzNumber(); err != nil {
		return nil, err
	}
	return &pt, d.Expect('>')
}
