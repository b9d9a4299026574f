package maildir

import (
	"strings"

	"rookery/internal/archive"
)

// splitName splits a message file name into its base (what
// dovecot-uidlist names) and its flag letters (after ":2,"; "" when the
// name has no info part, as in new/).
func splitName(name string) (base, flags string) {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return name, ""
	}
	base, info := name[:i], name[i+1:]
	if strings.HasPrefix(info, "2,") {
		flags = info[2:]
	}
	return base, flags
}

// rawMarker is the field the Writer adds to the base name of a message
// whose first line ends with a bare LF, so that the Reader returns its
// content as it is instead of turning its LFs into CRLF (which it does
// for the LF files Dovecot writes). Dovecot ignores fields it does not
// know.
const rawMarker = ",raw"

// hasRawMarker reports whether a base name carries rawMarker as one of
// its ","-fields.
func hasRawMarker(base string) bool {
	for {
		i := strings.IndexByte(base, ',')
		if i < 0 {
			return false
		}
		base = base[i+1:]
		if base == "raw" || strings.HasPrefix(base, "raw,") {
			return true
		}
	}
}

// flagsOf returns the IMAP flags of the flag letters of a file name; kw
// maps keyword letters a..z to names. Unknown letters are ignored.
func flagsOf(letters string, kw *[26]string) []string {
	var flags []string
	seen := uint64(0)
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if c < 'A' || c > 'z' {
			continue
		}
		bit := uint64(1) << (c - 'A')
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		var f string
		switch {
		case c == 'D':
			f = archive.FlagDraft
		case c == 'F':
			f = archive.FlagFlagged
		case c == 'P':
			f = archive.KeywordForwarded
		case c == 'R':
			f = archive.FlagAnswered
		case c == 'S':
			f = archive.FlagSeen
		case c == 'T':
			f = archive.FlagDeleted
		case c >= 'a' && c <= 'z':
			f = kw[c-'a']
		}
		if f != "" && !archive.HasFlag(flags, f) {
			flags = append(flags, f)
		}
	}
	return flags
}

// systemLetters are the flag letters of the system flags, in ASCII order
// as Maildir wants them.
var systemLetters = []struct {
	letter byte
	flag   string
}{
	{'D', archive.FlagDraft},
	{'F', archive.FlagFlagged},
	{'R', archive.FlagAnswered},
	{'S', archive.FlagSeen},
	{'T', archive.FlagDeleted},
}
