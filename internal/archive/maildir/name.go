package maildir

import (
	"errors"
	"fmt"
	"strings"

	"rookery/internal/utf7"
)

// maxComponent is the longest directory name the file systems we run on
// take.
const maxComponent = 255

// encodeName returns the directory (relative to the root) of the mailbox
// name: "" for INBOX, "." + the encoded components joined by "." for the
// others.
func encodeName(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "", nil
	}
	if name == "" {
		return "", errors.New("empty mailbox name")
	}
	parts := strings.Split(name, "/")
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("mailbox name %q has an empty component", name)
		}
		if i == 0 && strings.EqualFold(p, "INBOX") {
			p = "INBOX"
		}
		b.WriteByte('.')
		escapeComponent(&b, utf7.Encode(p))
	}
	dir := b.String()
	if len(dir) > maxComponent {
		return "", fmt.Errorf("mailbox name %q is too long for a Maildir++ directory (%d bytes, at most %d)", name, len(dir), maxComponent)
	}
	return dir, nil
}

// escapeComponent writes s with "." and "\" escaped as "\2e" and "\5c".
func escapeComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '.':
			b.WriteString(`\2e`)
		case '\\':
			b.WriteString(`\5c`)
		default:
			b.WriteByte(c)
		}
	}
}

// decodeName returns the mailbox name of a directory of the root (".A.B")
// and whether it is one. A component that is not valid modified UTF-7 is
// taken as it is (made valid UTF-8), as other tools may write raw UTF-8.
func decodeName(dir string) (string, bool) {
	if len(dir) < 2 || dir[0] != '.' || dir == ".." {
		return "", false
	}
	parts := strings.Split(dir[1:], ".")
	for i, p := range parts {
		if p == "" {
			return "", false
		}
		p = unescapeComponent(p)
		if d, err := utf7.Decode(p); err == nil {
			p = d
		} else {
			p = strings.ToValidUTF8(p, "\uFFFD")
		}
		if p == "" || strings.Contains(p, "/") {
			return "", false
		}
		parts[i] = p
	}
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
		if len(parts) == 1 {
			return "", false // ".INBOX" is not a second INBOX
		}
	}
	return strings.Join(parts, "/"), true
}

// unescapeComponent undoes escapeComponent: "\" followed by two hex
// digits stands for that byte; any other "\" stays.
func unescapeComponent(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(h<<4 | l)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
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

// subscriptionLine returns the line of a Dovecot 2.3 subscriptions file
// for name: its components in modified UTF-7, separated by tabs.
func subscriptionLine(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = utf7.Encode(p)
	}
	return strings.Join(parts, "\t")
}

// parseSubscriptions returns the names a subscriptions file lists. In
// Dovecot 2.3's format ("V\t2" and a blank line first) components are
// separated by tabs; in older files there is one name a line with "/" or
// "." between components, so both readings are returned.
func parseSubscriptions(data string) []string {
	lines := strings.Split(data, "\n")
	var names []string
	if len(lines) > 0 && strings.HasPrefix(lines[0], "V\t") {
		i := 1
		for i < len(lines) && lines[i] != "" {
			i++
		}
		for _, l := range lines[i:] {
			l = strings.TrimSuffix(l, "\r")
			if l == "" {
				continue
			}
			parts := strings.Split(l, "\t")
			for j, p := range parts {
				parts[j] = decodeComponent(p)
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
		names = append(names, decodeComponent(l))
		if strings.Contains(l, ".") {
			parts := strings.Split(l, ".")
			for j, p := range parts {
				parts[j] = decodeComponent(p)
			}
			names = append(names, strings.Join(parts, "/"))
		}
	}
	return names
}

func decodeComponent(p string) string {
	if d, err := utf7.Decode(p); err == nil {
		return d
	}
	return strings.ToValidUTF8(p, "\uFFFD")
}
