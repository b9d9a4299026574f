package imapwire

import (
	"testing"
	"time"
)

// FuzzParseDateTime parses date-time texts (APPEND, SEARCH): no panic,
// and a parsed time formats back to a text that parses to the same
// instant.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"17-Jul-1996 02:44:25 -0700", " 1-Jan-2026 00:00:00 +0000", "31-Feb-2026 25:61:61 +9999", "1-jan-99 1:2:3 -0000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseDateTime(s)
		if !ok {
			return
		}
		back := tm.Format("_2-Jan-2006 15:04:05 -0700")
		tm2, ok := ParseDateTime(back)
		if !ok || !tm2.Equal(tm) {
			t.Fatalf("%q → %s → %q → %s, %v", s, tm.Format(time.RFC3339), back, tm2.Format(time.RFC3339), ok)
		}
	})
}
