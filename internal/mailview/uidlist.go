package mailview

import (
	"sort"

	"rookery/internal/store"
)

// uidList is an ascending list of UIDs (sequence number n is the n-th),
// held as runs of consecutive UIDs. A mailbox's UIDs are assigned in
// ascending order and only expunges split them, so the UIDs of most
// mailboxes are a few long runs: a 10,000-message mailbox without gaps is
// one run of 8 bytes where a slice of UIDs took 40 KB in every session
// that selected it. A list without any two consecutive UIDs costs 8 bytes
// a message, twice a plain slice.
type uidList struct {
	runs []uidRun
}

// uidRun is a run of consecutive UIDs starting at lo; end is the sequence
// number of its last UID (the number of UIDs in it and the runs before).
type uidRun struct {
	lo  store.UID
	end uint32
}

// newUIDList returns the list of uids, which must be strictly ascending.
func newUIDList(uids []store.UID) uidList {
	var l uidList
	n := 0
	for i := range uids {
		if i == 0 || uids[i] != uids[i-1]+1 {
			n++
		}
	}
	l.runs = make([]uidRun, 0, n)
	for _, u := range uids {
		l.push(u)
	}
	return l
}

// len is the number of UIDs.
func (l *uidList) len() uint32 {
	if len(l.runs) == 0 {
		return 0
	}
	return l.runs[len(l.runs)-1].end
}

// before is the number of UIDs in the runs before run i.
func (l *uidList) before(i int) uint32 {
	if i == 0 {
		return 0
	}
	return l.runs[i-1].end
}

// last is the last UID of run i.
func (l *uidList) last(i int) store.UID {
	return l.runs[i].lo + (l.runs[i].end - l.before(i)) - 1
}

// max is the largest UID, 0 if none.
func (l *uidList) max() store.UID {
	if len(l.runs) == 0 {
		return 0
	}
	return l.last(len(l.runs) - 1)
}

// at returns the UID of sequence number seq, 1 ≤ seq ≤ len.
func (l *uidList) at(seq uint32) store.UID {
	i := sort.Search(len(l.runs), func(i int) bool { return l.runs[i].end >= seq })
	return l.runs[i].lo + (seq - l.before(i) - 1)
}

// runOf returns the index of the last run starting at or below uid, -1 if
// none.
func (l *uidList) runOf(uid store.UID) int {
	return sort.Search(len(l.runs), func(i int) bool { return l.runs[i].lo > uid }) - 1
}

// seq returns the sequence number of uid, if the list holds it.
func (l *uidList) seq(uid store.UID) (uint32, bool) {
	i := l.runOf(uid)
	if i < 0 || uid > l.last(i) {
		return 0, false
	}
	return l.before(i) + (uid - l.runs[i].lo) + 1, true
}

// rank is the number of UIDs below uid.
func (l *uidList) rank(uid store.UID) uint32 {
	i := l.runOf(uid)
	if i < 0 {
		return 0
	}
	if uid > l.last(i) {
		return l.runs[i].end
	}
	return l.before(i) + (uid - l.runs[i].lo)
}

// push appends uid, which is above every UID of the list.
func (l *uidList) push(uid store.UID) {
	if n := len(l.runs); n > 0 && uid == l.last(n-1)+1 {
		l.runs[n-1].end++
		return
	}
	l.runs = append(l.runs, uidRun{lo: uid, end: l.len() + 1})
}

// appendSeqs appends the UIDs of sequence numbers a to b (1 ≤ a ≤ b ≤ len)
// to out.
func (l *uidList) appendSeqs(out []store.UID, a, b uint32) []store.UID {
	i := sort.Search(len(l.runs), func(i int) bool { return l.runs[i].end >= a })
	for s := uint64(a); s <= uint64(b); i++ {
		r := l.runs[i]
		for u := r.lo + (uint32(s) - l.before(i) - 1); s <= uint64(min(b, r.end)); u++ {
			out = append(out, u)
			s++
		}
	}
	return out
}

// appendUIDs appends the UIDs of the list in [a, b] to out.
func (l *uidList) appendUIDs(out []store.UID, a, b store.UID) []store.UID {
	i := max(l.runOf(a), 0)
	for ; i < len(l.runs) && l.runs[i].lo <= b; i++ {
		lo, hi := max(a, l.runs[i].lo), min(b, l.last(i))
		for u := uint64(lo); u <= uint64(hi); u++ {
			out = append(out, store.UID(u))
		}
	}
	return out
}

// remove removes the UIDs of gone (ascending) that the list holds, in
// ascending order, calling fn with each one's sequence number at the
// moment of its removal (after the removals before it), as successive
// EXPUNGE responses number them.
func (l *uidList) remove(gone []store.UID, fn func(seq uint32, uid store.UID)) {
	out := make([]uidRun, 0, len(l.runs)+len(gone))
	var kept uint32
	keep := func(lo, hi uint64) { // [lo, hi)
		if lo < hi {
			kept += uint32(hi - lo)
			out = append(out, uidRun{lo: store.UID(lo), end: kept})
		}
	}
	g := 0
	for i := range l.runs {
		cur, hi := uint64(l.runs[i].lo), uint64(l.last(i))+1
		for ; g < len(gone) && uint64(gone[g]) < hi; g++ {
			u := uint64(gone[g])
			if u < cur {
				continue // below the run, or a duplicate
			}
			keep(cur, u)
			fn(kept+1, gone[g])
			cur = u + 1
		}
		keep(cur, hi)
	}
	if cap(out) > 2*len(out)+8 {
		out = append([]uidRun(nil), out...)
	}
	l.runs = out
}
