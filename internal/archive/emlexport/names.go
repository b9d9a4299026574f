package emlexport

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// FolderPath returns the folder, relative to the export directory and
// "/"-separated, that holds the messages of the mailbox name: one
// folder level per hierarchy level, each escaped by escapeLevel so
// that any mailbox name gives a safe and distinct file name that
// MailboxName turns back into the name.
func FolderPath(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = escapeLevel(l)
	}
	return strings.Join(levels, "/")
}

// MailboxName is the inverse of FolderPath.
func MailboxName(folder string) (string, error) {
	levels := strings.Split(folder, "/")
	for i, l := range levels {
		n, err := unescapeLevel(l)
		if err != nil {
			return "", fmt.Errorf("folder %q: %w", folder, err)
		}
		levels[i] = n
	}
	return strings.Join(levels, "/"), nil
}

// reservedSuffixes are the endings of the files the format writes
// beside mailbox folders: a level ending in one has that dot escaped.
var reservedSuffixes = []string{".eml", ".json", ".tmp"}

// escapeLevel escapes one hierarchy level as a file name that is safe
// on the usual file systems: "%" and every byte that is a control
// character or one of \ : * ? " < > | (refused by some systems) become
// %XX; so does a leading "." (hidden files, "." and ".."), a trailing
// "." or " " (dropped by some systems), and the dot of a reserved
// suffix, so that no folder is taken for a message file, the manifest
// or a temporary file. Other UTF-8 is kept.
func escapeLevel(l string) string {
	var b strings.Builder
	esc := func(c byte) { fmt.Fprintf(&b, "%%%02X", c) }
	dot := -1 // index of a dot to escape for a reserved suffix
	lower := strings.ToLower(l)
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(lower, s) {
			dot = len(l) - len(s)
		}
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c < 0x20 || c == 0x7f || c == '%' || strings.IndexByte(`\:*?"<>|`, c) >= 0,
			i == 0 && c == '.',
			i == len(l)-1 && (c == '.' || c == ' '),
			i == dot:
			esc(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeLevel turns %XX escapes back into bytes.
func unescapeLevel(l string) (string, error) {
	if !strings.Contains(l, "%") {
		return l, nil
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] != '%' {
			b.WriteByte(l[i])
			continue
		}
		if i+2 >= len(l) {
			return "", fmt.Errorf("truncated escape in %q", l)
		}
		v, err := strconv.ParseUint(l[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape %q in %q", l[i:i+3], l)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// safeFolder reports whether folder, read from a manifest, names a
// folder inside the export directory: relative, clean, no "." or ".."
// level, no backslash or NUL.
func safeFolder(folder string) bool {
	if folder == "" || strings.ContainsAny(folder, "\\\x00") || path.IsAbs(folder) || path.Clean(folder) != folder {
		return false
	}
	for _, l := range strings.Split(folder, "/") {
		if l == "" || l == "." || l == ".." {
			return false
		}
	}
	return true
}

// messageFile is the name of the file of the message with uid.
func messageFile(uid uint32) string { return strconv.FormatUint(uint64(uid), 10) + ".eml" }
