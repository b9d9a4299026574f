package imap

import (
	"fmt"
	"slices"
	"testing"

	"rookery/internal/store"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    store.Flags
		bad     string
		invalid bool
	}{
		{in: nil, want: store.Flags{}},
		{in: []string{`\seen`, `\Flagged`}, want: store.Flags{Sys: store.FlagSeen | store.FlagFlagged}},
		{in: []string{"b", "A", "a", "B", "$x"}, want: store.Flags{Keywords: []string{"$x", "A", "b"}}},
		{in: []string{`\Seen`, "Work", `\Draft`}, want: store.Flags{Sys: store.FlagSeen | store.FlagDraft, Keywords: []string{"Work"}}},
		{in: []string{"ok", `\Recent`}, bad: `\Recent`, invalid: true},
		{in: []string{`\Unknown`}, bad: `\Unknown`, invalid: true},
	} {
		f, bad, ok := ParseFlags(tc.in)
		if ok == tc.invalid || bad != tc.bad || f.Sys != tc.want.Sys || !slices.Equal(f.Keywords, tc.want.Keywords) {
			t.Errorf("ParseFlags(%q) = %+v, %q, %v; want %+v, %q, %v", tc.in, f, bad, ok, tc.want, tc.bad, !tc.invalid)
		}
	}
}

// TestParseFlagsMany parses 100,000 keywords, as a hostile STORE line may
// carry: inserting each into a sorted list compared every keyword with
// every other (5·10⁹ comparisons, minutes here; 4 s of CPU per STORE of
// 20,000 keywords). It is linear now.
func TestParseFlagsMany(t *testing.T) {
	in := make([]string, 100_000)
	for i := range in {
		in[i] = fmt.Sprintf("kw%d", i)
	}
	in = append(in, "KW7", "Kw99999") // duplicates
	f, _, ok := ParseFlags(in)
	if !ok || len(f.Keywords) != 100_000 || !slices.IsSorted(f.Keywords) {
		t.Fatalf("ParseFlags: ok %v, %d keywords", ok, len(f.Keywords))
	}
}
