package cli

import (
	"strings"

	"rookery/internal/store"
)

// sysFlagNames are the system flags a store keeps, as an archive
// spells them.
var sysFlagNames = []struct {
	bit  store.SysFlags
	name string
}{{store.FlagSeen, `\Seen`}, {store.FlagAnswered, `\Answered`}, {store.FlagFlagged, `\Flagged`},
	{store.FlagDeleted, `\Deleted`}, {store.FlagDraft, `\Draft`}}

// archiveFlags returns f as an archive's flag list: system flags, then
// keywords.
func archiveFlags(f store.Flags) []string {
	out := make([]string, 0, 5+len(f.Keywords))
	for _, s := range sysFlagNames {
		if f.Sys&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	return append(out, f.Keywords...)
}

// storeFlags reads an archive's flag list: system flags compared
// case-insensitively, \Recent and other backslash flags dropped (no
// store keeps them), keywords kept when valid. It returns the flags
// and those it dropped.
func storeFlags(list []string) (store.Flags, []string) {
	var f store.Flags
	var kws, dropped []string
next:
	for _, name := range list {
		if strings.HasPrefix(name, `\`) {
			for _, s := range sysFlagNames {
				if strings.EqualFold(name, s.name) {
					f.Sys |= s.bit
					continue next
				}
			}
			if !strings.EqualFold(name, `\Recent`) {
				dropped = append(dropped, name)
			}
			continue
		}
		if _, err := store.NormalizeKeywords([]string{name}); err != nil || strings.ContainsAny(name, `(){%*"]`) {
			dropped = append(dropped, name)
			continue
		}
		kws = append(kws, name)
	}
	f.Keywords, _ = store.NormalizeKeywords(kws)
	return f, dropped
}
