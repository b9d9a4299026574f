package archive

import (
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	for _, tt := range []struct{ in, out string }{
		{`\Seen`, `\Seen`}, {`\SEEN`, `\Seen`}, {`\answered`, `\Answered`}, {`\Recent`, ""}, {`Seen`, ""}, {`\Other`, ""},
	} {
		if got := SystemFlag(tt.in); got != tt.out {
			t.Errorf("SystemFlag(%q) = %q, want %q", tt.in, got, tt.out)
		}
	}
	for _, tt := range []struct {
		in       string
		keywords bool
	}{{"$Forwarded", true}, {"a,b", true}, {"", false}, {"a b", false}, {"a(b", false}, {"\u00e9", false}, {`a\b`, false}, {"a]", false}} {
		if got := IsKeyword(tt.in); got != tt.keywords {
			t.Errorf("IsKeyword(%q) = %v", tt.in, got)
		}
	}
	sys, kw := SplitFlags([]string{`\seen`, "x", `\Recent`, `\Seen`, "x", "y", "bad word", `\Draft`})
	if strings.Join(sys, " ") != `\Seen \Draft` || strings.Join(kw, " ") != "x y" {
		t.Errorf("SplitFlags = %v %v", sys, kw)
	}
	if !HasFlag([]string{`\SEEN`}, `\Seen`) || HasFlag([]string{"Kw"}, "kw") {
		t.Error("HasFlag")
	}
}
