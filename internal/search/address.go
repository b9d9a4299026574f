package search

import "strings"

// ParseAddresses parses an address list from header text leniently:
// `Name <local@host>`, `local@host (comment)`, quoted display names and
// group syntax (`team: a@x, b@y;`, flattened). It never fails; what it
// cannot read becomes an address with the text as Mailbox.
func ParseAddresses(s string) []Address {
	var out []Address
	for _, item := range splitAddressList(s) {
		item = strings.TrimSpace(item)
		// Group: "display-name:" before the first mailbox; ";" ends it.
		if i := strings.IndexByte(item, ':'); i >= 0 && !strings.ContainsAny(item[:i], `<@"`) {
			item = strings.TrimSpace(item[i+1:])
		}
		item = strings.TrimSpace(strings.TrimSuffix(item, ";"))
		if item == "" {
			continue
		}
		var a Address
		spec := item
		if lt := strings.LastIndexByte(item, '<'); lt >= 0 {
			gt := strings.IndexByte(item[lt:], '>')
			if gt < 0 {
				gt = len(item) - lt
			}
			spec = item[lt+1 : lt+gt]
			a.Name = displayName(item[:lt])
		} else {
			spec, a.Name = stripComment(item)
		}
		spec = strings.TrimSpace(spec)
		// Source routes "@a,@b:local@host".
		if i := strings.LastIndexByte(spec, ':'); i >= 0 {
			spec = spec[i+1:]
		}
		if at := strings.LastIndexByte(spec, '@'); at >= 0 {
			a.Mailbox, a.Host = spec[:at], spec[at+1:]
		} else {
			a.Mailbox = spec
		}
		a.Mailbox = strings.Trim(a.Mailbox, `"`)
		if a.Mailbox == "" && a.Host == "" && a.Name == "" {
			continue
		}
		out = append(out, a)
	}
	return out
}

// splitAddressList splits at commas outside quotes, angle brackets and
// comments.
func splitAddressList(s string) []string {
	var out []string
	start, depth := 0, 0
	quoted, angle := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// displayName cleans a display name: surrounding space and quotes, quoted
// pairs.
func displayName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	}
	return s
}

// stripComment splits `local@host (Name)` into the address and the
// comment text (the old style display name).
func stripComment(s string) (spec, comment string) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, ""
	}
	j := strings.LastIndexByte(s, ')')
	if j < i {
		j = len(s)
	}
	return s[:i] + s[min(j+1, len(s)):], strings.TrimSpace(s[i+1 : j])
}
