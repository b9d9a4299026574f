package archive

import "strings"

// The IMAP system flags a message of an archive can carry, spelled as in
// IMAP.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// KeywordForwarded is the keyword that mail clients set on a forwarded
// message; Maildir's "P" (passed) flag stands for it.
const KeywordForwarded = "$Forwarded"

var systemFlags = [...]string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft}

// SystemFlag returns the canonical spelling of s when s is one of the
// five system flags an archive keeps (compared case-insensitively, as
// IMAP does), and "" otherwise. \Recent is not kept: it is not a flag a
// message carries from one server to another.
func SystemFlag(s string) string {
	if !strings.HasPrefix(s, `\`) {
		return ""
	}
	for _, f := range systemFlags {
		if strings.EqualFold(s, f) {
			return f
		}
	}
	return ""
}

// IsKeyword reports whether s can be a keyword: a non-empty IMAP atom
// (printable US-ASCII without the atom-specials) that is not a system
// flag.
func IsKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']':
			return false
		}
	}
	return true
}

// HasFlag reports whether flags holds f; system flags compare
// case-insensitively, keywords exactly.
func HasFlag(flags []string, f string) bool {
	sys := SystemFlag(f) != ""
	for _, g := range flags {
		if g == f || (sys && strings.EqualFold(g, f)) {
			return true
		}
	}
	return false
}

// SplitFlags separates flags into the system flags it holds (canonical
// spelling) and its keywords, in their order, without duplicates; other
// backslash flags (\Recent, unknown ones) and invalid atoms are dropped.
func SplitFlags(flags []string) (system, keywords []string) {
	for _, f := range flags {
		if s := SystemFlag(f); s != "" {
			if !contains(system, s) {
				system = append(system, s)
			}
			continue
		}
		if IsKeyword(f) && !contains(keywords, f) {
			keywords = append(keywords, f)
		}
	}
	return system, keywords
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
