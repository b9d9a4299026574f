// Package subsfile reads and writes the subscriptions file Dovecot 2.3
// keeps at the root of a mail tree: "V\t2", a blank line, then one
// subscribed name a line, its components in modified UTF-7 separated by
// tabs. Older files (Dovecot before 2.2.? and Courier) list one name a
// line with the hierarchy separator in it.
package subsfile

import (
	"strings"

	"rookery/internal/utf7"
)

// Format returns the file listing names ("/"-separated IMAP names).
func Format(names []string) []byte {
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, n := range names {
		parts := strings.Split(n, "/")
		for i, p := range parts {
			parts[i] = utf7.Encode(p)
		}
		b.WriteString(strings.Join(parts, "\t"))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Parse returns the names a subscriptions file lists ("/"-separated). In
// the old format, where the separator is not known, a line with "." in it
// is returned both as it is and with "." read as the separator.
func Parse(data string) []string {
	lines := strings.Split(data, "\n")
	var names []string
	if len(lines) > 0 && strings.HasPrefix(lines[0], "V\t") {
		i := 1
		for i < len(lines) && strings.TrimSuffix(lines[i], "\r") != "" {
			i++
		}
		for _, l := range lines[i:] {
			l = strings.TrimSuffix(l, "\r")
			if l == "" {
				continue
			}
			parts := strings.Split(l, "\t")
			for j, p := range parts {
				parts[j] = decode(p)
			}
			names = append(names, strings.Join(parts, "/"))
		}
		return names
	}
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		names = append(names, decode(l))
		if strings.Contains(l, ".") {
			parts := strings.Split(l, ".")
			for j, p := range parts {
				parts[j] = decode(p)
			}
			names = append(names, strings.Join(parts, "/"))
		}
	}
	return names
}

// decode returns a name component: modified UTF-7 decoded, or as it is
// (made valid UTF-8) when it is not modified UTF-7.
func decode(p string) string {
	if d, err := utf7.Decode(p); err == nil {
		return d
	}
	return strings.ToValidUTF8(p, "\uFFFD")
}
