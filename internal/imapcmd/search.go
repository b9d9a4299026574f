package imapcmd

import (
	"strings"

	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
)

// maxSearchDepth bounds the nesting of search keys (NOT, OR and
// parenthesised groups together), so that recursion stays bounded even
// where the decoder's list depth limit does not apply (NOT NOT NOT ...).
const maxSearchDepth = 100

// ParseSearch parses [SP "RETURN" SP "(" [opts] ")"] SP
// ["CHARSET" SP charset SP] search-key *(SP search-key).
func ParseSearch(p *Parser) (*Search, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	s := &Search{}
	name, err := p.searchWord()
	if err != nil {
		return nil, err
	}
	if name == "RETURN" {
		if s.Return, err = p.searchReturn(); err != nil {
			return nil, err
		}
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		if name, err = p.searchWord(); err != nil {
			return nil, err
		}
	}
	if name == "CHARSET" {
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		if s.Charset, err = p.charset(); err != nil {
			return nil, err
		}
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		name = ""
	}
	s.Key, err = p.searchKeys(name)
	return s, err
}

// ParseSort parses [SP "RETURN" SP "(" [opts] ")"] SP sort-criteria SP
// charset 1*(SP search-key) (RFC 5256, RFC 5267).
func ParseSort(p *Parser) (*Sort, error) {
	d := p.d
	if err := d.SP(); err != nil {
		return nil, err
	}
	s := &Sort{}
	b, err := d.PeekByte()
	if err != nil {
		return nil, err
	}
	if b != '(' {
		if err := p.expectKeyword("RETURN"); err != nil {
			return nil, err
		}
		if s.Return, err = p.searchReturn(); err != nil {
			return nil, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
	}
	err = d.List(func() error {
		var c SortCriterion
		k, err := p.keyword()
		if err != nil {
			return err
		}
		if k == "REVERSE" {
			c.Reverse = true
			if err := d.SP(); err != nil {
				return err
			}
			if k, err = p.keyword(); err != nil {
				return err
			}
		}
		switch k {
		case SortArrival, SortCc, SortDate, SortFrom, SortSize, SortSubject, SortTo, SortDisplayFrom, SortDisplayTo:
		default:
			return p.errorf("unknown sort key %s", k)
		}
		c.Key = k
		s.Criteria = append(s.Criteria, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.Criteria) == 0 {
		return nil, p.errorf("empty sort criteria")
	}
	if s.Charset, s.Key, err = p.charsetAndKeys(); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseThread parses SP thread-alg SP charset 1*(SP search-key) (RFC 5256).
func ParseThread(p *Parser) (*Thread, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	t := &Thread{}
	var err error
	if t.Algorithm, err = p.keyword(); err != nil {
		return nil, err
	}
	if t.Charset, t.Key, err = p.charsetAndKeys(); err != nil {
		return nil, err
	}
	return t, nil
}

// charsetAndKeys parses SP charset SP search-key *(SP search-key), the
// search-criteria of SORT and THREAD where the charset is mandatory.
func (p *Parser) charsetAndKeys() (string, SearchKey, error) {
	if err := p.d.SP(); err != nil {
		return "", SearchKey{}, err
	}
	cs, err := p.charset()
	if err != nil {
		return "", SearchKey{}, err
	}
	if err := p.d.SP(); err != nil {
		return "", SearchKey{}, err
	}
	k, err := p.searchKeys("")
	return cs, k, err
}

// charset reads a charset: atom or quoted (a literal is accepted too).
func (p *Parser) charset() (string, error) {
	cs, err := p.d.AString()
	if err == nil && cs == "" {
		err = p.errorf("empty charset")
	}
	return cs, err
}

// searchReturn parses SP "(" [search-return-opt *(SP search-return-opt)] ")"
// after "RETURN".
func (p *Parser) searchReturn() (*SearchReturn, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	r := &SearchReturn{}
	n := 0
	err := p.d.List(func() error {
		o, err := p.keyword()
		if err != nil {
			return err
		}
		switch o {
		case "MIN":
			r.Min = true
		case "MAX":
			r.Max = true
		case "ALL":
			r.All = true
		case "COUNT":
			r.Count = true
		case "SAVE":
			r.Save = true
		default:
			return p.errorf("unknown search return option %s", o)
		}
		n++
		return nil
	})
	if n == 0 {
		r.All = true // RFC 4731 §3.1: "RETURN ()" is "RETURN (ALL)"
	}
	return r, err
}

// searchWord reads the first word of a search program: a keyword
// (upper-cased) if the next byte starts one, else "" and nothing is read.
func (p *Parser) searchWord() (string, error) {
	b, err := p.d.PeekByte()
	if err != nil {
		return "", err
	}
	if b == '(' || b == '$' || b == '*' || imapwire.IsDigit(b) {
		return "", nil
	}
	return p.keyword()
}

// searchKeys parses search-key *(SP search-key). first is the name of the
// first key if the caller has read it already ("" if not).
func (p *Parser) searchKeys(first string) (SearchKey, error) {
	var keys []SearchKey
	for {
		var k SearchKey
		var err error
		if first != "" {
			k, err = p.searchKeyNamed(first, 1)
			first = ""
		} else {
			k, err = p.searchKey(1)
		}
		if err != nil {
			return SearchKey{}, err
		}
		keys = append(keys, k)
		sp, err := p.d.Accept(' ')
		if err != nil {
			return SearchKey{}, err
		}
		if !sp {
			break
		}
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	return SearchKey{Name: SearchAnd, Sub: keys}, nil
}

// searchKey parses one search-key at nesting depth depth.
func (p *Parser) searchKey(depth int) (SearchKey, error) {
	if depth > maxSearchDepth {
		return SearchKey{}, p.errorf("search keys nested too deeply")
	}
	d := p.d
	b, err := d.PeekByte()
	if err != nil {
		return SearchKey{}, err
	}
	switch {
	case b == '(':
		var sub []SearchKey
		err := d.List(func() error {
			k, err := p.searchKey(depth + 1)
			sub = append(sub, k)
			return err
		})
		switch {
		case err != nil:
			return SearchKey{}, err
		case len(sub) == 0:
			return SearchKey{}, p.errorf("empty search key list")
		case len(sub) == 1:
			return sub[0], nil
		}
		return SearchKey{Name: SearchAnd, Sub: sub}, nil
	case b == '$' || b == '*' || imapwire.IsDigit(b):
		k := SearchKey{Name: SearchSeqSet}
		k.Set, k.Saved, err = p.setOrSaved()
		return k, err
	}
	name, err := p.keyword()
	if err != nil {
		return SearchKey{}, err
	}
	return p.searchKeyNamed(name, depth)
}

// searchFlagKeys are the search keys without arguments.
var searchFlagKeys = map[string]bool{
	"ALL": true, "ANSWERED": true, "DELETED": true, "DRAFT": true, "FLAGGED": true,
	"NEW": true, "OLD": true, "RECENT": true, "SEEN": true, "UNANSWERED": true,
	"UNDELETED": true, "UNDRAFT": true, "UNFLAGGED": true, "UNSEEN": true,
	"SAVEDATESUPPORTED": true,
}

// searchKeyNamed parses the arguments of the search key name (upper-case,
// already read).
func (p *Parser) searchKeyNamed(name string, depth int) (SearchKey, error) {
	if depth > maxSearchDepth {
		return SearchKey{}, p.errorf("search keys nested too deeply")
	}
	d := p.d
	k := SearchKey{Name: name}
	if searchFlagKeys[name] {
		return k, nil
	}
	if err := d.SP(); err != nil {
		return k, err
	}
	var err error
	switch name {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		k.Value, err = d.AString()
	case "HEADER":
		if k.Field, err = d.AString(); err != nil {
			return k, err
		}
		if k.Field == "" {
			return k, p.errorf("empty header field name")
		}
		if err = d.SP(); err != nil {
			return k, err
		}
		k.Value, err = d.AString()
	case "KEYWORD", "UNKEYWORD":
		k.Value, err = d.Atom()
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		k.Date, err = d.Date()
	case "LARGER", "SMALLER":
		k.Number, err = d.Number64()
	case "OLDER", "YOUNGER":
		var n uint32
		n, err = p.nzNumber()
		k.Number = uint64(n)
	case "UID":
		k.Set, k.Saved, err = p.setOrSaved()
	case "NOT":
		var sub SearchKey
		sub, err = p.searchKey(depth + 1)
		k.Sub = []SearchKey{sub}
	case "OR":
		var a, b SearchKey
		if a, err = p.searchKey(depth + 1); err != nil {
			return k, err
		}
		if err = d.SP(); err != nil {
			return k, err
		}
		b, err = p.searchKey(depth + 1)
		k.Sub = []SearchKey{a, b}
	case "MODSEQ":
		err = p.searchModSeq(&k)
	default:
		return k, p.errorf("unknown search key %s", name)
	}
	return k, err
}

// setOrSaved reads a sequence-set or "$", the saved search result (RFC
// 5182 seq-last-command, allowed wherever a sequence-set is).
func (p *Parser) setOrSaved() (imapnum.Set, bool, error) {
	if ok, err := p.d.Accept('$'); err != nil || ok {
		return nil, ok, err
	}
	set, err := p.seqSet()
	return set, false, err
}

// searchModSeq parses [entry-name SP entry-type-req SP] mod-sequence-valzer
// after "MODSEQ" SP (RFC 7162 §3.1.5).
func (p *Parser) searchModSeq(k *SearchKey) error {
	d := p.d
	b, err := d.PeekByte()
	if err != nil {
		return err
	}
	if b == '"' {
		entry, err := d.Quoted()
		if err != nil {
			return err
		}
		if len(entry) < len("/flags/") || !strings.EqualFold(entry[:7], "/flags/") {
			return p.errorf("bad MODSEQ entry name %q", entry)
		}
		if k.ModSeqEntry, err = p.entryFlag(entry[7:]); err != nil {
			return err
		}
		if err := d.SP(); err != nil {
			return err
		}
		t, err := p.keyword()
		if err != nil {
			return err
		}
		switch t {
		case "PRIV", "SHARED", "ALL":
			k.ModSeqType = t
		default:
			return p.errorf("bad MODSEQ entry type %s", t)
		}
		if err := d.SP(); err != nil {
			return err
		}
	}
	k.Number, err = d.Number64()
	return err
}

// entryFlag checks the flag of a MODSEQ entry name "/flags/<flag>" and
// returns the entry name with a system flag in canonical case.
func (p *Parser) entryFlag(f string) (string, error) {
	atom, sys := strings.CutPrefix(f, `\`)
	if atom == "" {
		return "", p.errorf("bad MODSEQ entry flag %q", f)
	}
	for i := 0; i < len(atom); i++ {
		if !imapwire.IsAtomChar(atom[i]) {
			return "", p.errorf("bad MODSEQ entry flag %q", f)
		}
	}
	if sys {
		if c, ok := systemFlags[strings.ToUpper(f)]; ok {
			f = c
		}
	}
	return "/flags/" + f, nil
}
