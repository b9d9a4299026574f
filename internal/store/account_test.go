package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalAccountName(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want "" means ErrInvalidAccountName
	}{
		{"alice", "alice"},
		{"ALICE", "alice"},
		{"Alice", "alice"},
		{"ａｌｉｃｅ", "alice"}, // full-width
		{"ÄLICE", "älice"},
		{"A\u0308lice", "älice"}, // NFC
		{"Straße", "straße"},
		{"alice.smith", "alice.smith"},
		{"alice+tag", "alice+tag"},
		{"o'neil_1", "o'neil_1"},
		{"Alice@Example.ORG", "alice@example.org"},
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
		{"", ""},
		{"a b", ""},
		{"a\tb", ""},
		{"a\x00b", ""},
		{"snow☃", ""},
		{strings.Repeat("a", MaxAccountName), strings.Repeat("a", MaxAccountName)},
		{strings.Repeat("a", MaxAccountName+1), ""},
	} {
		got, err := CanonicalAccountName(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidAccountName) {
				t.Errorf("CanonicalAccountName(%q) = %q, %v; want ErrInvalidAccountName", tt.in, got, err)
			}
			if k := AccountKey(tt.in); k != tt.in {
				t.Errorf("AccountKey(%q) = %q, want the name itself", tt.in, k)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalAccountName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if k := AccountKey(tt.in); k != tt.want {
			t.Errorf("AccountKey(%q) = %q, want %q", tt.in, k, tt.want)
		}
	}
}
