package pgstore

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

const inbox = "INBOX"

// canonName validates a mailbox name and returns it with a top-level
// "INBOX" (matched case-insensitively, as the whole name) in canonical
// case. Other names, children of INBOX included, are case-sensitive.
func canonName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty mailbox name: %w", store.ErrInvalidName)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("mailbox name %q is not UTF-8: %w", name, store.ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", fmt.Errorf("mailbox name %q has a control character: %w", name, store.ErrInvalidName)
		}
	}
	for _, level := range strings.Split(name, string(store.Separator)) {
		if level == "" {
			return "", fmt.Errorf("mailbox name %q has an empty level: %w", name, store.ErrInvalidName)
		}
	}
	if strings.EqualFold(name, inbox) {
		return inbox, nil
	}
	return name, nil
}

// parentNames returns the ancestors of a (valid) name, outermost first.
func parentNames(name string) []string {
	var ps []string
	for i := 0; i < len(name); i++ {
		if name[i] == store.Separator {
			p, _ := canonName(name[:i])
			ps = append(ps, p)
		}
	}
	return ps
}

// childBounds returns lo, hi such that the descendants of name are exactly
// the names n with lo < n < hi in bytewise order ('0' follows '/').
func childBounds(name string) (lo, hi string) {
	return name + "/", name + "0"
}

func canonSpecialUse(su string) (string, error) {
	if su == "" {
		return "", nil
	}
	if v, ok := store.SpecialUse(su); ok {
		return v, nil
	}
	return "", fmt.Errorf("special-use %q: %w", su, store.ErrSpecialUseInvalid)
}

// keywordKey is the key of a keyword in a set: keywords compare
// case-insensitively (they are atoms, ASCII).
func keywordKey(k string) string { return strings.ToLower(k) }

// normKeywords returns keywords deduplicated case-insensitively (first
// spelling wins) and sorted; nil when there are none.
func normKeywords(kws []string) ([]string, error) {
	if len(kws) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(kws))
	seen := make(map[string]struct{}, len(kws))
	for _, k := range kws {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("invalid keyword %q", k)
		}
		if addKeyword(seen, k) {
			out = append(out, k)
		}
	}
	sortKeywords(out)
	return out, nil
}

// addKeyword adds k to set and reports whether it was new.
func addKeyword(set map[string]struct{}, k string) bool {
	lk := keywordKey(k)
	if _, ok := set[lk]; ok {
		return false
	}
	set[lk] = struct{}{}
	return true
}

func keywordSet(kws []string) map[string]struct{} {
	set := make(map[string]struct{}, len(kws))
	for _, k := range kws {
		addKeyword(set, k)
	}
	return set
}

func sortKeywords(kws []string) {
	sort.Slice(kws, func(i, j int) bool { return keywordKey(kws[i]) < keywordKey(kws[j]) })
}

// unionKeywords returns the distinct keywords (case-insensitively, first
// spelling kept) of lists.
func unionKeywords(lists ...[]string) []string {
	var out []string
	seen := map[string]struct{}{}
	for _, l := range lists {
		for _, k := range l {
			if addKeyword(seen, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// applyFlags computes the result of a flag operation on cur.
func applyFlags(cur store.Flags, op store.FlagOp, f store.Flags) store.Flags {
	switch op {
	case store.FlagsReplace:
		return store.Flags{Sys: f.Sys, Keywords: f.Keywords}
	case store.FlagsAdd:
		out := store.Flags{Sys: cur.Sys | f.Sys, Keywords: cur.Keywords}
		if len(f.Keywords) == 0 {
			return out
		}
		have := keywordSet(cur.Keywords)
		added := false
		for _, k := range f.Keywords {
			if addKeyword(have, k) {
				if !added {
					out.Keywords = append([]string(nil), out.Keywords...)
					added = true
				}
				out.Keywords = append(out.Keywords, k)
			}
		}
		if added {
			sortKeywords(out.Keywords)
		}
		return out
	default: // FlagsRemove
		out := store.Flags{Sys: cur.Sys &^ f.Sys}
		drop := keywordSet(f.Keywords)
		for _, k := range cur.Keywords {
			if _, ok := drop[keywordKey(k)]; !ok {
				out.Keywords = append(out.Keywords, k)
			}
		}
		return out
	}
}

func sameFlags(a, b store.Flags) bool {
	if a.Sys != b.Sys || len(a.Keywords) != len(b.Keywords) {
		return false
	}
	for i := range a.Keywords {
		if !strings.EqualFold(a.Keywords[i], b.Keywords[i]) {
			return false
		}
	}
	return true
}

// uidRanges is a normalized UID set: ordered, disjoint, non-adjacent
// ranges with Start <= Stop.
type uidRanges []imapnum.Range

// normalize turns a resolved set (no Star; ranges in any order, possibly
// overlapping or reversed) into uidRanges.
func normalize(set imapnum.Set) uidRanges {
	rs := uidRanges(set.Resolve(^uint32(0)))
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && uint64(r.Start) <= uint64(out[n-1].Stop)+1 {
			if r.Stop > out[n-1].Stop {
				out[n-1].Stop = r.Stop
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// bounds returns the ranges as two arrays (starts, stops) for SQL.
func (rs uidRanges) bounds() (lo, hi []int64) {
	lo, hi = make([]int64, len(rs)), make([]int64, len(rs))
	for i, r := range rs {
		lo[i], hi[i] = int64(r.Start), int64(r.Stop)
	}
	return lo, hi
}
