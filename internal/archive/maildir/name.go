package maildir

import (
	"errors"
	"fmt"
	"strings"

	"rookery/internal/utf7"

	"rookery/internal/archive"
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
func unescapeComponent(s string) string { return archive.UnescapeHex(s, '\\') }
