package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to the representative of its simple case folding orbit
// (the smallest rune of the orbit: "K" for k, K and U+212A KELVIN SIGN), so
// that two strings are equal under Unicode simple case folding exactly
// when their folded forms are equal. ASCII letters fold to upper case,
// which makes comparisons of folded ASCII text those of i;ascii-casemap.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// fold returns s with every rune folded by foldRune. Invalid UTF-8 bytes
// are kept as they are (so that they can still match themselves).
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// Fast path: only a-z change.
		for i := 0; i < len(s); i++ {
			if 'a' <= s[i] && s[i] <= 'z' {
				return strings.ToUpper(s)
			}
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(s[i])
		} else {
			b.WriteRune(foldRune(r))
		}
		i += n
	}
	return b.String()
}

// containsFold reports whether haystack contains the already folded needle
// under simple case folding.
func containsFold(haystack, foldedNeedle string) bool {
	if foldedNeedle == "" {
		return true
	}
	// Folding never makes text longer (an orbit's smallest rune has the
	// shortest encoding), so a shorter haystack cannot contain the needle.
	if len(haystack) < len(foldedNeedle) {
		return false
	}
	return strings.Contains(fold(haystack), foldedNeedle)
}
