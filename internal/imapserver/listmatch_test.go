package imapserver

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// refMatch is the reference LIST matcher: the textbook dynamic program
// over the pattern as given (wildcard runs not collapsed), in
// O(len(pattern)*len(name)).
func refMatch(pattern, name string) bool {
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		switch p := pattern[i]; p {
		case '*', '%':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || (cur[j-1] && (p == '*' || name[j-1] != '/'))
			}
		default:
			cur[0] = false
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j-1] && name[j-1] == p
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}

func TestNamePattern(t *testing.T) {
	long := strings.Repeat("a/", 100) + "b"
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "INBOX", true},
		{"*", "a/b/c", true},
		{"*", "", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"%", "", true},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a*", "a", true},
		{"a*c", "abc", true},
		{"a%c", "a/c", false},
		{"a%c", "abbc", true},
		{"*a%b", "xa/ab", true},
		{"*a%b", "xa/a/b", false},
		{"%/%", "a/b", true},
		{"%/%", "a/b/c", false},
		{"%*", "a/b/c", true},
		{"*%", "a/b/c", true},
		{"%%%", "a/b", false},
		{"%%%", "abc", true},
		{"", "", true},
		{"", "a", false},
		{"INBOX", "INBOX", true},
		{"INBOX", "INBOXES", false},
		{"Sent", "Sent Items", false},
		{"Sent*", "Sent Items", true},
		{"*%*%*%*%*%*%*%*%*%*%*%*x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"*%*%*%*%*%*%*%*%*%*%*%*x", "a/a/a/a/x", true},
		{"Über/%", "Über/日本", true},
		{"Über/%", "Über/日本/x", false},
		// Past one 64-bit word of states.
		{long, long, true},
		{long, long + "c", false},
		{strings.Repeat("a/", 100) + "%", long, true},
		{strings.Repeat("%/", 100) + "%", long, true},
		{strings.Repeat("%/", 99) + "%", long, false},
		{strings.Repeat("a", 63) + "*", strings.Repeat("a", 70), true},
		{strings.Repeat("a", 64) + "%b", strings.Repeat("a", 70) + "b", true},
		{strings.Repeat("a", 64) + "%b", strings.Repeat("a", 70) + "/b", false},
	}
	for _, tt := range tests {
		if got := compilePattern(tt.pattern).match(tt.name); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
		if got := refMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("refMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	// A compiled pattern is reused for many names.
	m := compilePattern("a%c")
	for _, n := range []string{"x", "abc", "a/c", "ac", "a", "abbbc"} {
		if got, want := m.match(n), refMatch("a%c", n); got != want {
			t.Errorf("reused match(%q) = %v, want %v", n, got, want)
		}
	}
}

// TestNamePatternCollapse: runs of wildcards compile to one, a '*' run to
// '*' and a '%' run to '%'.
func TestNamePatternCollapse(t *testing.T) {
	for p, want := range map[string]int{
		"":                                  0,
		"*":                                 1,
		"%%%%":                              1,
		"%*%*%*":                            1,
		strings.Repeat("%*", 2000) + "X":    2,
		strings.Repeat("*", 5000):           1,
		"a/%/b/*":                           7,
		strings.Repeat("a%%", 10):           20,
		strings.Repeat("%", 10) + "a" + "*": 3,
	} {
		if got := compilePattern(p).len(); got != want {
			t.Errorf("len(%.40q) = %d, want %d", p, got, want)
		}
	}
}

// TestNamePatternSteps: a match costs at most len(name) word steps per
// 64 bytes of the compiled pattern, so the pathological patterns of
// issue 12 against a 2,000-level name cost a few thousand steps (the
// dynamic program over the raw pattern took len(pattern)*len(name), 16
// million for one name).
func TestNamePatternSteps(t *testing.T) {
	deep := strings.Repeat("L/", 2000) + "L"
	tests := []struct{ pattern, name string }{
		{strings.Repeat("%*", 2000) + "X", deep},
		{strings.Repeat("*", 5000), deep},
		{strings.Repeat("*a", 500), strings.Repeat("a", 4000)},
		{strings.Repeat("%a", 500) + "b", strings.Repeat("a", 4000)},
		{strings.Repeat("L/", 1000) + "*X", deep},
		{"*", deep},
	}
	for _, tt := range tests {
		m := compilePattern(tt.pattern)
		m.match(tt.name)
		bound := len(tt.name) * ((m.len() + 64) / 64)
		if m.steps > bound {
			t.Errorf("match(%.20q…, len %d) took %d steps, want at most %d", tt.pattern, len(tt.name), m.steps, bound)
		}
		if m.steps > len(tt.pattern)*len(tt.name) {
			t.Errorf("match(%.20q…) took %d steps, more than len(p)*len(n)", tt.pattern, m.steps)
		}
	}
	// The two patterns of the report collapse to one word of states.
	for _, p := range []string{strings.Repeat("%*", 2000) + "X", strings.Repeat("*", 5000)} {
		m := compilePattern(p)
		m.match(deep)
		if m.steps > len(deep) {
			t.Errorf("match(%.20q…) took %d steps, want at most %d", p, m.steps, len(deep))
		}
	}
	// A literal mismatch ends the match.
	m := compilePattern("Archive/*")
	m.match("INBOX/" + deep)
	if m.steps != 1 {
		t.Errorf("mismatch in the first byte took %d steps", m.steps)
	}
}

// FuzzNamePattern checks the bit-parallel matcher against refMatch, and
// its step bound.
func FuzzNamePattern(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "INBOX"}, {"%", "a/b"}, {"a/%", "a/b"}, {"*a%b", "xa/ab"},
		{"%*%*%*X", "L/L/L/X"}, {"INBOX/*", "INBOX/x/y"}, {"%/%/*", "a/b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 300 || len(name) > 300 {
			return
		}
		m := compilePattern(pattern)
		got, want := m.match(name), refMatch(pattern, name)
		if got != want {
			t.Fatalf("match(%q, %q) = %v, reference says %v", pattern, name, got, want)
		}
		if bound := len(name) * ((m.len() + 64) / 64); m.steps > bound {
			t.Fatalf("match(%q, %q) took %d steps, bound %d", pattern, name, m.steps, bound)
		}
		// The same compiled pattern gives the same answer again.
		if again := m.match(name); again != got {
			t.Fatalf("second match(%q, %q) = %v", pattern, name, again)
		}
	})
}

// TestListWalksStopWhenCancelled: the walks of LIST and LSUB over an
// account's names check the command's context before each name, so a
// client that leaves does not keep them running.
func TestListWalksStopWhenCancelled(t *testing.T) {
	tree := map[string]*listEntry{}
	var names []string
	for i := range 1000 {
		n := strings.Repeat("L/", i%50) + strconv.Itoa(i)
		names = append(names, n)
		tree[n] = &listEntry{subscribed: true}
	}
	sort.Strings(names)
	ps := patternSet{compilePattern("*X")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := matchNames(ctx, names, ps); !errors.Is(err, context.Canceled) {
		t.Errorf("matchNames with a cancelled context: %v", err)
	}
	if _, err := lsubNames(ctx, tree, ps, false); !errors.Is(err, context.Canceled) {
		t.Errorf("lsubNames with a cancelled context: %v", err)
	}
	if n := ps.steps(); n != 0 {
		t.Errorf("%d match steps after cancellation", n)
	}
	// Not cancelled: every name is looked at.
	m, err := matchNames(context.Background(), names, ps)
	if err != nil || len(m) != len(names) {
		t.Fatalf("matchNames = %d, %v", len(m), err)
	}
}
