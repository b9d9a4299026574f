package imaptest

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		want, line string
		ok         bool
	}{
		{"a1 OK done", "a1 OK done", true},
		{"a1 OK done", "a1 OK done ", false},
		{"a1 OK *", "a1 OK anything at all", true},
		{"a1 OK *", "a1 OK ", true},
		{"a1 OK *", "a1 NO x", false},
		{"a1 OK [CAPABILITY *] Logged in", "a1 OK [CAPABILITY IMAP4rev1 X] Logged in", true},
		{"a1 OK [CAPABILITY *] Logged in", "a1 OK [CAPABILITY IMAP4rev1 X] Logged out", false},
		{"* 0 EXISTS", "* 0 EXISTS", true},
		{"* 0 EXISTS", "a 0 EXISTS", false},
		{"+ *", "+ Ready", true},
		{`* OK [PERMANENTFLAGS (\Seen \*)] x`, `* OK [PERMANENTFLAGS (\Seen \*)] x`, true},
		{`* OK [PERMANENTFLAGS (\Seen \*)] x`, `* OK [PERMANENTFLAGS (\Seen \Draft)] x`, false},
		{"a ** b", "a * b", true},
		{"a ** b", "a x b", false},
		{"*", "", true},
		{"* OK *", "* OK [UIDVALIDITY 1] x", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.want, tt.line); got != tt.ok {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.want, tt.line, got, tt.ok)
		}
	}
}
