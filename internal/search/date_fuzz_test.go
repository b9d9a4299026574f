package search

import "testing"

// FuzzParseDate parses RFC 5322 Date fields (SORT, SENTBEFORE…): the fast
// path and the net/mail fallback must not panic, whatever the header.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Mon, 5 Jan 2026 10:00:00 +0000", "5 Jan 26 10:00 EST (comment)", "Tue, 31 Feb 2026 99:99:99 -9999",
		"((((", "Thu, 1 Jan 1970 00:00:00 GMT", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, ok := ParseDate(s); ok && tm.IsZero() && s == "" {
			t.Fatalf("empty date parsed as %v", tm)
		}
	})
}
