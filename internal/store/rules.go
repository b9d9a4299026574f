package store

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"rookery/internal/imapnum"
)

// The rules below are the same for every backend: mailbox names,
// special-use attributes, keywords, flag operations and UID sets, as the
// package invariants describe them.

// Inbox is the canonical spelling of INBOX.
const Inbox = "INBOX"

// CanonicalMailboxName validates a mailbox name and returns it with a
// top-level "INBOX" (matched case-insensitively, as the whole name) in
// canonical case. Other names, children of INBOX included, are
// case-sensitive. It fails with ErrInvalidName.
func CanonicalMailboxName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty mailbox name: %w", ErrInvalidName)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("mailbox name %q is not UTF-8: %w", name, ErrInvalidName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", fmt.Errorf("mailbox name %q has a control character: %w", name, ErrInvalidName)
		}
	}
	for _, level := range strings.Split(name, string(Separator)) {
		if level == "" {
			return "", fmt.Errorf("mailbox name %q has an empty level: %w", name, ErrInvalidName)
		}
	}
	if strings.EqualFold(name, Inbox) {
		return Inbox, nil
	}
	return name, nil
}

// ParentNames returns the ancestors of a (valid) name, outermost first.
func ParentNames(name string) []string {
	var ps []string
	for i := 0; i < len(name); i++ {
		if name[i] == Separator {
			p, _ := CanonicalMailboxName(name[:i])
			ps = append(ps, p)
		}
	}
	return ps
}

// ChildBounds returns lo, hi such that the descendants of name are
// exactly the names n with lo < n < hi in bytewise order ('0' follows
// '/').
func ChildBounds(name string) (lo, hi string) {
	return name + "/", name + "0"
}

// CanonicalSpecialUse returns the canonical spelling of a special-use
// attribute ("" for none); ErrSpecialUseInvalid for one not in
// SpecialUses.
func CanonicalSpecialUse(su string) (string, error) {
	if su == "" {
		return "", nil
	}
	if v, ok := SpecialUse(su); ok {
		return v, nil
	}
	return "", fmt.Errorf("special-use %q: %w", su, ErrSpecialUseInvalid)
}

// KeywordKey is the key of a keyword in a set: keywords compare
// case-insensitively (they are atoms, ASCII).
func KeywordKey(k string) string { return strings.ToLower(k) }

// NormalizeKeywords returns keywords deduplicated case-insensitively
// (first spelling wins) and sorted; nil when there are none. Linear in
// the keywords given (plus the sort): a STORE may name thousands.
func NormalizeKeywords(kws []string) ([]string, error) {
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
	SortKeywords(out)
	return out, nil
}

// addKeyword adds k to set and reports whether it was new.
func addKeyword(set map[string]struct{}, k string) bool {
	lk := KeywordKey(k)
	if _, ok := set[lk]; ok {
		return false
	}
	set[lk] = struct{}{}
	return true
}

// keywordSet returns the set of kws.
func keywordSet(kws []string) map[string]struct{} {
	set := make(map[string]struct{}, len(kws))
	for _, k := range kws {
		addKeyword(set, k)
	}
	return set
}

// SortKeywords sorts keywords case-insensitively.
func SortKeywords(kws []string) {
	sort.Slice(kws, func(i, j int) bool { return KeywordKey(kws[i]) < KeywordKey(kws[j]) })
}

// UnionKeywords returns the distinct keywords (case-insensitively, first
// spelling kept) of lists.
func UnionKeywords(lists ...[]string) []string {
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

// ApplyFlags computes the result of a flag operation on cur (keywords
// of cur and f normalized).
func ApplyFlags(cur Flags, op FlagOp, f Flags) Flags {
	switch op {
	case FlagsReplace:
		return Flags{Sys: f.Sys, Keywords: f.Keywords}
	case FlagsAdd:
		out := Flags{Sys: cur.Sys | f.Sys, Keywords: cur.Keywords}
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
			SortKeywords(out.Keywords)
		}
		return out
	default: // FlagsRemove
		out := Flags{Sys: cur.Sys &^ f.Sys}
		drop := keywordSet(f.Keywords)
		for _, k := range cur.Keywords {
			if _, ok := drop[KeywordKey(k)]; !ok {
				out.Keywords = append(out.Keywords, k)
			}
		}
		return out
	}
}

// SameFlags reports whether a and b (keywords normalized) are the same
// flags.
func SameFlags(a, b Flags) bool {
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

// UIDRanges is a normalized UID set: ordered, disjoint, non-adjacent
// ranges with Start <= Stop.
type UIDRanges []imapnum.Range

// NormalizeUIDs turns a resolved set (ranges in any order, possibly
// overlapping or reversed) into UIDRanges. A 0 (Star) is read as the
// largest UID, as a store is never given one.
func NormalizeUIDs(set imapnum.Set) UIDRanges {
	rs := UIDRanges(set.Resolve(^uint32(0)))
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

// Contains reports whether uid is in rs.
func (rs UIDRanges) Contains(uid uint32) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Stop >= uid })
	return i < len(rs) && rs[i].Start <= uid
}

// DefaultMailbox is a mailbox CreateAccount creates (subscribed).
type DefaultMailbox struct {
	Name, SpecialUse string
}

// DefaultMailboxes are the mailboxes every new account gets: INBOX and
// the special-use Drafts, Sent, Trash, Junk and Archive.
func DefaultMailboxes() []DefaultMailbox {
	return []DefaultMailbox{
		{Inbox, ""},
		{"Drafts", `\Drafts`},
		{"Sent", `\Sent`},
		{"Trash", `\Trash`},
		{"Junk", `\Junk`},
		{"Archive", `\Archive`},
	}
}
