package imaptest

import "strings"

// Match reports whether line matches the transcript pattern want:
//
//   - A '*' is a wildcard matching any run of characters (possibly empty),
//     except in three spellings that stand for a literal '*': a leading
//     "* " (the untagged-response marker), "\*" (the IMAP flag that allows
//     new keywords) and "**".
//   - Every other character must match exactly.
func Match(want, line string) bool {
	return matchTokens(tokenize(want), line)
}

// token is a literal run of text or (lit == "" && wild) a wildcard.
type token struct {
	lit  string
	wild bool
}

func tokenize(want string) []token {
	var toks []token
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, token{lit: cur.String()})
			cur.Reset()
		}
	}
	for i := 0; i < len(want); i++ {
		ch := want[i]
		switch {
		case ch != '*':
			cur.WriteByte(ch)
		case i == 0 && strings.HasPrefix(want, "* "):
			cur.WriteByte('*')
		case i > 0 && want[i-1] == '\\':
			cur.WriteByte('*')
		case i+1 < len(want) && want[i+1] == '*':
			cur.WriteByte('*')
			i++
		default:
			flush()
			if len(toks) == 0 || !toks[len(toks)-1].wild {
				toks = append(toks, token{wild: true})
			}
		}
	}
	flush()
	return toks
}

// matchTokens matches greedily with backtracking over wildcards; patterns
// are short, so the simple algorithm is enough.
func matchTokens(toks []token, s string) bool {
	if len(toks) == 0 {
		return s == ""
	}
	t := toks[0]
	if !t.wild {
		return strings.HasPrefix(s, t.lit) && matchTokens(toks[1:], s[len(t.lit):])
	}
	if len(toks) == 1 {
		return true
	}
	for i := 0; i <= len(s); i++ {
		if matchTokens(toks[1:], s[i:]) {
			return true
		}
	}
	return false
}
