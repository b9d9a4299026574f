package pgstore

import "rookery/internal/store"

// The naming, keyword, flag and UID-set rules are package store's
// (store.CanonicalMailboxName, store.NormalizeKeywords, store.ApplyFlags,
// store.NormalizeUIDs, ...).

const inbox = store.Inbox

// uidBounds returns the ranges as two arrays (starts, stops) for SQL.
func uidBounds(rs store.UIDRanges) (lo, hi []int64) {
	lo, hi = make([]int64, len(rs)), make([]int64, len(rs))
	for i, r := range rs {
		lo[i], hi[i] = int64(r.Start), int64(r.Stop)
	}
	return lo, hi
}
