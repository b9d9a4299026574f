package pgstore

import "rookery/internal/store"

// The naming, keyword, flag and UID-set rules are package store's
// (store.CanonicalMailboxName, store.NormalizeKeywords, store.ApplyFlags,
// store.NormalizeUIDs, ...).

const inbox = store.Inbox

// anyLimit is the largest set of several ranges that setQuery reads as
// a list of UIDs; a larger one is joined with its ranges (most of a
// mailbox, where scanning it is right).
const anyLimit = 4096

// uidCount returns how many UIDs the ranges hold, or anyLimit+1 if more.
func uidCount(rs store.UIDRanges) int {
	n := uint64(0)
	for _, r := range rs {
		n += uint64(r.Stop) - uint64(r.Start) + 1
		if n > anyLimit {
			return anyLimit + 1
		}
	}
	return int(n)
}

// uidList returns the n UIDs of the ranges as an SQL array.
func uidList(rs store.UIDRanges, n int) []int64 {
	out := make([]int64, 0, n)
	for _, r := range rs {
		for u := int64(r.Start); u <= int64(r.Stop); u++ {
			out = append(out, u)
		}
	}
	return out
}

// uidBounds returns the ranges as two arrays (starts, stops) for SQL.
func uidBounds(rs store.UIDRanges) (lo, hi []int64) {
	lo, hi = make([]int64, len(rs)), make([]int64, len(rs))
	for i, r := range rs {
		lo[i], hi[i] = int64(r.Start), int64(r.Stop)
	}
	return lo, hi
}
