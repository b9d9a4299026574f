package mbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"rookery/internal/archive"
)

// ext is the extension of the file of each mailbox.
const ext = ".mbox"

// maxComponent is the longest file name the file systems we run on take.
const maxComponent = 255

// encodePath returns the file (relative to the export's directory) of
// the mailbox name: its components as directories, the last one with
// ".mbox" added ("Archive/2024" is "Archive/2024.mbox"). In each
// component "%", "\", control characters and the characters Windows
// refuses (: * ? " < > |) are written %XX, and so are a leading "." (no
// hidden files, no "." or "..") and the "." of a trailing ".mbox" (so
// that the directory of "A.mbox/x" is not the file of mailbox "A") or
// ".sbd" (Thunderbird's directories of children, which the Reader reads).
func encodePath(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty mailbox name")
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("mailbox name %q has an empty component", name)
		}
		e := escapeComponent(p)
		if i == len(parts)-1 {
			e += ext
		}
		if len(e) > maxComponent {
			return "", fmt.Errorf("mailbox name %q: component %q is too long for a file name", name, p)
		}
		parts[i] = e
	}
	return filepath.Join(parts...), nil
}

func escapeComponent(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		esc := c < 0x20 || c == 0x7f || strings.IndexByte(`%\:*?"<>|`, c) >= 0 ||
			(i == 0 && c == '.') ||
			(c == '.' && i == len(p)-len(ext) && strings.EqualFold(p[i:], ext)) ||
			(c == '.' && i == len(p)-len(".sbd") && strings.EqualFold(p[i:], ".sbd"))
		if esc {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decodeComponent undoes escapeComponent (and decodes any %XX).
func decodeComponent(p string) string {
	return strings.ToValidUTF8(archive.UnescapeHex(p, '%'), "\uFFFD")
}

// decodePath returns the mailbox name of a file relative to the
// directory: "A/B.mbox" → "A/B"; Thunderbird's "A.sbd/B" → "A/B".
func decodePath(rel string) (string, bool) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	last := parts[len(parts)-1]
	if strings.HasSuffix(last, ext) && len(last) > len(ext) {
		parts[len(parts)-1] = last[:len(last)-len(ext)]
	}
	for i, p := range parts {
		if i < len(parts)-1 && strings.HasSuffix(p, ".sbd") && len(p) > 4 {
			p = p[:len(p)-4]
		}
		p = decodeComponent(p)
		if p == "" || strings.Contains(p, "/") {
			return "", false
		}
		parts[i] = p
	}
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return strings.Join(parts, "/"), true
}
