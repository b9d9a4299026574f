package search

import "strings"

// BaseSubject extracts the base subject of a decoded Subject: value (RFC
// 5256 §2.1), used by SORT SUBJECT and THREAD. isReply reports whether the
// extraction removed a reply or forward marker (a "Re:", "Fw:" or "Fwd:"
// leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper), which THREAD
// REFERENCES needs when it merges threads by subject. The result is not
// case-folded.
func BaseSubject(subject string) (base string, isReply bool) {
	// (1) Tabs and line breaks become spaces; runs of spaces one space.
	s := normalizeSpace(subject)
	for {
		// (2) Trailers: WSP or "(fwd)", repeatedly.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				isReply = true
			} else {
				break
			}
		}
		// (3), (4), (5): leaders and blobs until none is left.
		for {
			if n, refwd := leader(s); n > 0 {
				s = s[n:]
				isReply = isReply || refwd
				continue
			}
			if n := blob(s); n > 0 && hasNonSpace(s[n:]) {
				s = s[n:]
				continue
			}
			break
		}
		// (6) "[fwd:" ... "]" wraps a forwarded subject: unwrap and
		// start over.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			isReply = true
			continue
		}
		return s, isReply
	}
}

// normalizeSpace turns tabs, CR and LF into spaces and collapses runs of
// spaces.
func normalizeSpace(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' && i > 0 && s[i-1] == ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// leader returns the length of a subj-leader at the start of s:
// (*subj-blob subj-refwd) / WSP, and whether it was a subj-refwd.
func leader(s string) (int, bool) {
	if strings.HasPrefix(s, " ") {
		return 1, false
	}
	i := 0
	for {
		if n := refwd(s[i:]); n > 0 {
			return i + n, true
		}
		n := blob(s[i:])
		if n == 0 {
			return 0, false
		}
		i += n
	}
}

// refwd returns the length of a subj-refwd at the start of s:
// ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func refwd(s string) int {
	var i int
	switch {
	case len(s) >= 2 && strings.EqualFold(s[:2], "re"):
		i = 2
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		i = 3
	case len(s) >= 2 && strings.EqualFold(s[:2], "fw"):
		i = 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blob(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}

// blob returns the length of a subj-blob at the start of s:
// "[" *BLOBCHAR "]" *WSP, where BLOBCHAR is anything but "[" and "]".
func blob(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	i := end + 2
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func hasNonSpace(s string) bool { return strings.Trim(s, " ") != "" }
