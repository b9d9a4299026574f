package sqlitestore

import (
	"strings"

	"rookery/internal/store"
)

// The naming, keyword, flag and UID-set rules are package store's
// (store.CanonicalMailboxName, store.NormalizeKeywords, store.ApplyFlags,
// store.NormalizeUIDs, ...); what is here is how this backend stores
// keywords.

const inbox = store.Inbox

// encodeKeywords is a message's keywords as its keywords column holds
// them (normalized keywords are atoms: no spaces).
func encodeKeywords(kws []string) string { return strings.Join(kws, " ") }

// decodeKeywords reads a keywords column.
func decodeKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}
