package anatomy

import "strings"

// The one reader of RFC 5322 comments and folding white space (CFWS,
// §3.2.2): the address parser, the MIME parameter parser and, through
// package search, the Date and msg-id readers all skip comments here.

// SkipCFWS returns s without its leading CFWS: spaces, tabs, line breaks
// and comments (which nest and may hold quoted pairs).
func SkipCFWS(s string) string {
	rest, _, _ := skipCFWS(s)
	return rest
}

// skipCFWS is SkipCFWS that also returns the trimmed text of the last
// comment skipped, found telling whether there was one.
func skipCFWS(s string) (rest, last string, found bool) {
	for len(s) > 0 {
		switch s[0] {
		case ' ', '\t', '\r', '\n':
			s = s[1:]
		case '(':
			last, s = Comment(s)
			last, found = strings.TrimSpace(last), true
		default:
			return s, last, found
		}
	}
	return s, last, found
}

// Comment splits the comment that s starts with (s[0] is '(') from the
// rest of s. The text is the comment's content with quoted pairs
// unescaped and line breaks removed; a nested comment keeps its
// parentheses. A comment that is never closed runs to the end of s.
func Comment(s string) (text, rest string) {
	return delimited(s)
}

// delimited splits the comment or quoted string that s starts with (s[0]
// is '(' or '"') from the rest of s: its content with quoted pairs
// unescaped and line breaks removed, and what follows the closing
// delimiter. Comments nest; a comment or quoted string that is never
// closed runs to the end of s.
func delimited(s string) (text, rest string) {
	closing, nests := byte('"'), false
	if s[0] == '(' {
		closing, nests = ')', true
	}
	depth := 1
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
			continue
		case c == '\r' || c == '\n':
			continue
		case nests && c == '(':
			depth++
		case c == closing:
			if depth--; depth == 0 {
				return b.String(), s[i+1:]
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), ""
}

// StripComments returns s with every comment replaced by one space. It
// does not know quoted strings: it is for fields that have none (Date).
func StripComments(s string) string {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s
	}
	var b strings.Builder
	for i >= 0 {
		b.WriteString(s[:i])
		b.WriteByte(' ')
		_, s = Comment(s[i:])
		i = strings.IndexByte(s, '(')
	}
	b.WriteString(s)
	return b.String()
}
