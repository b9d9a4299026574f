package sqlitestore

import (
	"fmt"
	"slices"
	"testing"

	"rookery/internal/store"
)

// TestKeywordOps checks keyword normalisation and flag operations:
// keywords compare case-insensitively, the first spelling wins.
func TestKeywordOps(t *testing.T) {
	for _, tc := range []struct {
		name string
		cur  []string
		op   store.FlagOp
		f    []string
		want []string
	}{
		{"add new", []string{"a"}, store.FlagsAdd, []string{"B"}, []string{"a", "B"}},
		{"add existing other case", []string{"Foo"}, store.FlagsAdd, []string{"foo", "FOO"}, []string{"Foo"}},
		{"add nothing", []string{"x"}, store.FlagsAdd, nil, []string{"x"}},
		{"remove other case", []string{"Foo", "bar"}, store.FlagsRemove, []string{"FOO"}, []string{"bar"}},
		{"remove absent", []string{"a"}, store.FlagsRemove, []string{"b"}, []string{"a"}},
		{"replace", []string{"a"}, store.FlagsReplace, []string{"c", "b"}, []string{"c", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := applyFlags(store.Flags{Keywords: tc.cur}, tc.op, store.Flags{Keywords: tc.f})
			if !slices.Equal(got.Keywords, tc.want) {
				t.Errorf("got %q, want %q", got.Keywords, tc.want)
			}
		})
	}
	got, err := normKeywords([]string{"b", "A", "a", "B", "c"})
	if err != nil || !slices.Equal(got, []string{"A", "b", "c"}) {
		t.Errorf("normKeywords: %q, %v", got, err)
	}
	if _, err := normKeywords([]string{"a b"}); err == nil {
		t.Error("normKeywords accepted a space")
	}
}

// TestManyKeywords runs the keyword operations over 200,000 keywords, as
// a hostile client's STOREs pile them up. They compared every keyword with
// every other (strings.EqualFold in a loop, 2·10¹⁰ comparisons here:
// minutes, so this test ran into go test's timeout, and a SELECT of a
// mailbox with 30,000 keywords took 10 s of CPU); with sets they are
// linear.
func TestManyKeywords(t *testing.T) {
	const n = 200_000
	kws := make([]string, n)
	for i := range kws {
		kws[i] = fmt.Sprintf("Kw%d", i)
	}
	norm, err := normKeywords(kws)
	if err != nil || len(norm) != n {
		t.Fatalf("normKeywords: %d keywords, %v", len(norm), err)
	}
	more := make([]string, n)
	for i := range more {
		more[i] = fmt.Sprintf("kW%d", i+n/2) // half of them already there
	}
	added := applyFlags(store.Flags{Keywords: norm}, store.FlagsAdd, store.Flags{Keywords: more})
	if len(added.Keywords) != n+n/2 {
		t.Errorf("add: %d keywords, want %d", len(added.Keywords), n+n/2)
	}
	removed := applyFlags(added, store.FlagsRemove, store.Flags{Keywords: kws})
	if len(removed.Keywords) != n/2 {
		t.Errorf("remove: %d keywords, want %d", len(removed.Keywords), n/2)
	}
}
