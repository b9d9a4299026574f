package maildir

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// uidList is what a dovecot-uidlist file says.
type uidList struct {
	version     int
	uidValidity uint32
	uidNext     uint32
	uids        map[string]uint32 // base name (before ":") → UID
	maxUID      uint32
}

// maxUIDListLine bounds a line of dovecot-uidlist (a base name is at most
// a file name; extension fields are short).
const maxUIDListLine = 64 << 10

// parseUIDList reads a dovecot-uidlist: a header line, then one line per
// message. Version 3 (Dovecot 1.1 and later, 2.3 included): header "3
// V<uidvalidity> N<uidnext> [G<guid>] [other fields]" and lines "<uid>
// [fields such as W<vsize> S<size> G<guid>] :<base>". Version 1: header
// "1 <uidvalidity> <uidnext>" and lines "<uid> <base>". A line that
// cannot be parsed is skipped (its message is read without a UID); so is
// a UID that is not above the previous one.
func parseUIDList(r io.Reader) (*uidList, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxUIDListLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("empty dovecot-uidlist")
	}
	ul := &uidList{uids: make(map[string]uint32)}
	if err := ul.parseHeader(sc.Text()); err != nil {
		return nil, err
	}
	for sc.Scan() {
		uid, base, ok := parseUIDLine(sc.Text())
		if !ok || uid <= ul.maxUID {
			continue
		}
		if _, dup := ul.uids[base]; dup {
			continue
		}
		ul.uids[base] = uid
		ul.maxUID = uid
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if ul.uidNext <= ul.maxUID {
		// Dovecot appends lines without rewriting the header: the
		// header's N may be behind.
		ul.uidNext = ul.maxUID + 1
	}
	return ul, nil
}

func (ul *uidList) parseHeader(h string) error {
	f := strings.Fields(h)
	if len(f) == 0 {
		return fmt.Errorf("dovecot-uidlist: empty header")
	}
	v, err := strconv.Atoi(f[0])
	if err != nil {
		return fmt.Errorf("dovecot-uidlist: bad version in header %q", h)
	}
	ul.version = v
	switch v {
	case 1, 2:
		if len(f) < 3 {
			return fmt.Errorf("dovecot-uidlist: short version %d header %q", v, h)
		}
		uv, err1 := strconv.ParseUint(f[1], 10, 32)
		un, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("dovecot-uidlist: bad header %q", h)
		}
		ul.uidValidity, ul.uidNext = uint32(uv), uint32(un)
	case 3:
		for _, fld := range f[1:] {
			if len(fld) < 2 {
				continue
			}
			n, err := strconv.ParseUint(fld[1:], 10, 32)
			switch fld[0] {
			case 'V':
				if err != nil {
					return fmt.Errorf("dovecot-uidlist: bad UIDVALIDITY in header %q", h)
				}
				ul.uidValidity = uint32(n)
			case 'N':
				if err != nil {
					return fmt.Errorf("dovecot-uidlist: bad next UID in header %q", h)
				}
				ul.uidNext = uint32(n)
			}
		}
	default:
		return fmt.Errorf("dovecot-uidlist: unknown version %d", v)
	}
	return nil
}

// parseUIDLine parses "<uid> [fields] :<base>" (version 3) or "<uid>
// <base>" (version 1).
func parseUIDLine(line string) (uint32, string, bool) {
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return 0, "", false
	}
	n, err := strconv.ParseUint(line[:sp], 10, 32)
	if err != nil || n == 0 {
		return 0, "", false
	}
	rest := line[sp+1:]
	for {
		if rest == "" {
			return 0, "", false
		}
		if rest[0] == ':' {
			rest = rest[1:]
			break
		}
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			break // version 1: the base name alone
		}
		rest = rest[sp+1:]
	}
	if rest == "" || strings.ContainsAny(rest, "/\x00") {
		return 0, "", false
	}
	return uint32(n), rest, true
}

// parseKeywords reads a dovecot-keywords file: "<index> <name>" lines,
// index 0..25 standing for the letters a..z.
func parseKeywords(data string) [26]string {
	var kw [26]string
	for _, l := range strings.Split(data, "\n") {
		l = strings.TrimSuffix(l, "\r")
		sp := strings.IndexByte(l, ' ')
		if sp <= 0 {
			continue
		}
		i, err := strconv.Atoi(l[:sp])
		if err != nil || i < 0 || i >= 26 {
			continue
		}
		if name := l[sp+1:]; name != "" && !strings.ContainsAny(name, " \t") {
			kw[i] = name
		}
	}
	return kw
}
