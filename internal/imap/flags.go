package imap

import (
	"sort"
	"strings"

	"rookery/internal/store"
)

// System flag names.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
	FlagRecent   = `\Recent`
)

var sysFlags = [...]struct {
	name string
	bit  store.SysFlags
}{
	{FlagSeen, store.FlagSeen},
	{FlagAnswered, store.FlagAnswered},
	{FlagFlagged, store.FlagFlagged},
	{FlagDeleted, store.FlagDeleted},
	{FlagDraft, store.FlagDraft},
}

// ParseFlags converts flags as sent by a client into store flags. \Recent
// and unknown system flags (other backslash names) are rejected with ok=false
// and the offending flag.
func ParseFlags(in []string) (f store.Flags, bad string, ok bool) {
	for _, s := range in {
		if strings.HasPrefix(s, `\`) {
			found := false
			for _, sf := range sysFlags {
				if strings.EqualFold(s, sf.name) {
					f.Sys |= sf.bit
					found = true
					break
				}
			}
			if !found {
				return store.Flags{}, s, false
			}
			continue
		}
		f.Keywords = AddKeyword(f.Keywords, s)
	}
	return f, "", true
}

// AddKeyword inserts kw into a sorted keyword list unless present
// (case-insensitively).
func AddKeyword(kws []string, kw string) []string {
	for _, k := range kws {
		if strings.EqualFold(k, kw) {
			return kws
		}
	}
	kws = append(kws, kw)
	sort.Strings(kws)
	return kws
}

// FlagNames lists the names of f, system flags first, then keywords; recent
// adds \Recent.
func FlagNames(f store.Flags, recent bool) []string {
	out := make([]string, 0, 6+len(f.Keywords))
	for _, sf := range sysFlags {
		if f.Sys&sf.bit != 0 {
			out = append(out, sf.name)
		}
	}
	if recent {
		out = append(out, FlagRecent)
	}
	return append(out, f.Keywords...)
}
