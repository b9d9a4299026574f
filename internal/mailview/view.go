// Package mailview is one session's view of its selected mailbox: the
// message sequence numbers that client has been told about, the mod-sequence
// it is synchronised to, its \Recent messages, and the changes that are
// pending until the protocol allows reporting them.
//
// A View reads neither the network nor the store: the server feeds it the
// store's Changes (Apply) and asks it to report pending changes (Flush) at
// the moments RFC 9051 §7.5.1 allows. Invariants:
//   - uids is strictly ascending; sequence number n is its n-th UID.
//   - A UID leaves uids only when its EXPUNGE (or VANISHED) is flushed, so
//     sequence numbers in every response match what the client was told.
//   - New messages join uids only when their EXISTS is flushed.
//   - Every keyword of a message reported to the client has been announced
//     in a FLAGS response first (RFC 9051 §7.3.5): the announced set only
//     grows while the mailbox is selected.
package mailview

import (
	"errors"
	"sort"
	"strings"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// ErrBadSeq is returned for a sequence number the client was never told of.
var ErrBadSeq = errors.New("invalid message sequence number")

// Mode says what a Flush may report.
type Mode struct {
	// AllowExpunge is false during FETCH, STORE and SEARCH by sequence
	// number (RFC 9051 §7.5.1): expunges stay pending.
	AllowExpunge bool
	// Vanished reports expunges as VANISHED (QRESYNC enabled).
	Vanished bool
	// Recent reports RECENT counts (IMAP4rev1 only).
	Recent bool
}

// Sink receives the untagged responses of a Flush, in order.
type Sink interface {
	Expunge(seq uint32)
	Vanished(uids imapnum.Set)
	Exists(n uint32)
	Recent(n uint32)
	// Keywords announces the mailbox's keywords (an untagged FLAGS
	// response); it comes before any Flags that carries a new one.
	Keywords(all []string)
	// Flags reports new flags of a message the client knows.
	Flags(seq uint32, m store.Message, recent bool)
}

// View is a session's view of one selected mailbox. It is not safe for
// concurrent use: a session owns it.
//
// A view is held by every session with a selected mailbox, idling ones
// included, so it keeps nothing per message that it can do without: the
// UIDs are runs of consecutive UIDs (uidList), and no mod-sequence is kept
// for a message unchanged since the view was last in sync (see base).
type View struct {
	mailbox store.MailboxID
	uids    uidList
	highest store.ModSeq // the store mod-sequence this view has applied
	// base is a mod-sequence at which the view was in sync (the snapshot's,
	// then the highest one at the end of each Flush): every known message
	// not in reported was last reported to the client at its mod-sequence
	// of that moment, which is ≤ base, and a change made since has a
	// greater one. So a mod-sequence the message had since then is above
	// what the client last heard of exactly when it is above base.
	base store.ModSeq
	// reported holds the mod-sequences above base reported for messages
	// (own STOREs reported before their change was applied); nil if none.
	reported map[store.UID]store.ModSeq

	recent      []uidRange // \Recent ranges claimed by this session, [lo, hi), ascending
	recentN     uint32     // how many of uids are in recent
	lastRecent  uint32     // RECENT count last reported
	lastExists  uint32     // EXISTS count last reported
	newUIDs     []store.UID
	newModSeqs  []store.ModSeq
	expunged    map[store.UID]struct{} // pending expunges of UIDs in uids
	flagUpdates map[store.UID]store.Message

	keywords    []string            // announced to the client, in order of announcement
	keywordSet  map[string]struct{} // keywords, lower-cased (keywords compare case-insensitively)
	newKeywords bool                // keywords grew since they were last announced
}

type uidRange struct{ lo, hi store.UID }

// New returns the view of a freshly selected mailbox.
// The keywords of the snapshot count as announced: SELECT sends them in its
// FLAGS response.
func New(snap store.Snapshot) *View {
	v := &View{
		mailbox:    snap.ID,
		uids:       newUIDList(snap.UIDs),
		highest:    snap.HighestModSeq,
		base:       snap.HighestModSeq,
		lastExists: uint32(len(snap.UIDs)),
		keywordSet: make(map[string]struct{}, len(snap.Keywords)),
	}
	v.NoteKeywords(snap.Keywords)
	v.newKeywords = false
	return v
}

// NoteKeywords adds the keywords the client has not been told of to the
// mailbox's keyword list; the next TakeKeywords announces them.
func (v *View) NoteKeywords(kws []string) {
	for _, k := range kws {
		lk := strings.ToLower(k)
		if _, ok := v.keywordSet[lk]; ok {
			continue
		}
		v.keywordSet[lk] = struct{}{}
		v.keywords = append(v.keywords, k)
		v.newKeywords = true
	}
}

// TakeKeywords returns the keyword list if it grew since it was last
// announced (ok), and counts it as announced: the caller must send it in a
// FLAGS response before anything that carries the new keywords.
func (v *View) TakeKeywords() (all []string, ok bool) {
	if !v.newKeywords {
		return nil, false
	}
	v.newKeywords = false
	return v.keywords, true
}

// Keywords returns every keyword announced to the client.
func (v *View) Keywords() []string { return v.keywords }

// Mailbox returns the ID of the viewed mailbox.
func (v *View) Mailbox() store.MailboxID { return v.mailbox }

// Len is the number of messages the client knows (its EXISTS count).
func (v *View) Len() uint32 { return v.uids.len() }

// HighestModSeq is the mod-sequence the view is synchronised to.
func (v *View) HighestModSeq() store.ModSeq { return v.highest }

// UID returns the UID of sequence number seq (1-based); 0 if out of range.
func (v *View) UID(seq uint32) store.UID {
	if seq == 0 || seq > v.uids.len() {
		return 0
	}
	return v.uids.at(seq)
}

// Seq returns the sequence number of uid, if the client knows it.
func (v *View) Seq(uid store.UID) (uint32, bool) {
	return v.uids.seq(uid)
}

// MaxUID is the largest UID the client knows, 0 if none.
func (v *View) MaxUID() store.UID {
	return v.uids.max()
}

// SeqSet resolves a sequence set to the UIDs it names, ascending and
// without duplicates. A number above the message count is ErrBadSeq; "*"
// in an empty mailbox too.
func (v *View) SeqSet(set imapnum.Set) ([]store.UID, error) {
	n := v.uids.len()
	ranges := set.Resolve(n)
	for _, r := range ranges {
		if r.Start == 0 || r.Stop > n {
			return nil, ErrBadSeq
		}
	}
	// Merge overlapping ranges first, so that a hostile set repeating
	// "1:*" costs no more than one "1:*".
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].Start < ranges[j].Start })
	var out []store.UID
	var next uint32 = 1 // lowest sequence number not yet emitted
	for _, r := range ranges {
		if s := max(r.Start, next); s <= r.Stop {
			out = v.uids.appendSeqs(out, s, r.Stop)
		}
		next = max(next, r.Stop+1)
	}
	return out, nil
}

// UIDSet resolves a UID set to the known UIDs it contains, ascending. "*" is
// the largest known UID (RFC 9051 §6.4.8: "1:*" in an empty mailbox names
// nothing, and "N:*" always includes the largest UID).
func (v *View) UIDSet(set imapnum.Set) []store.UID {
	if v.uids.len() == 0 {
		return nil
	}
	ranges := set.Resolve(v.uids.max())
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].Start < ranges[j].Start })
	var out []store.UID
	var next uint64 // the lowest UID not yet emitted
	for _, r := range ranges {
		if lo := max(uint64(r.Start), next); lo <= uint64(r.Stop) {
			out = v.uids.appendUIDs(out, store.UID(lo), r.Stop)
		}
		next = max(next, uint64(r.Stop)+1)
	}
	return out
}

// Apply queues the store's changes since HighestModSeq for the next Flush.
func (v *View) Apply(ch store.Changes) {
	if ch.HighestModSeq > v.highest {
		v.highest = ch.HighestModSeq
	}
	maxKnown := v.MaxUID()
	if n := len(v.newUIDs); n > 0 {
		maxKnown = v.newUIDs[n-1]
	}
	for _, uid := range ch.Expunged {
		if _, ok := v.Seq(uid); ok {
			if v.expunged == nil {
				v.expunged = make(map[store.UID]struct{})
			}
			v.expunged[uid] = struct{}{}
			delete(v.flagUpdates, uid)
			continue
		}
		v.dropNew(uid)
	}
	for _, m := range ch.Updated {
		v.NoteKeywords(m.Flags.Keywords)
		if m.UID > maxKnown {
			v.newUIDs = append(v.newUIDs, m.UID)
			v.newModSeqs = append(v.newModSeqs, m.ModSeq)
			maxKnown = m.UID
			continue
		}
		if i, ok := v.indexNew(m.UID); ok {
			v.newModSeqs[i] = m.ModSeq
			continue
		}
		if _, ok := v.Seq(m.UID); !ok || m.ModSeq <= v.ModSeq(m.UID) {
			continue
		}
		if _, gone := v.expunged[m.UID]; gone {
			continue
		}
		if v.flagUpdates == nil {
			v.flagUpdates = make(map[store.UID]store.Message)
		}
		v.flagUpdates[m.UID] = m
	}
}

func (v *View) indexNew(uid store.UID) (int, bool) {
	i := sort.Search(len(v.newUIDs), func(i int) bool { return v.newUIDs[i] >= uid })
	return i, i < len(v.newUIDs) && v.newUIDs[i] == uid
}

func (v *View) dropNew(uid store.UID) {
	if i, ok := v.indexNew(uid); ok {
		v.newUIDs = append(v.newUIDs[:i], v.newUIDs[i+1:]...)
		v.newModSeqs = append(v.newModSeqs[:i], v.newModSeqs[i+1:]...)
	}
}

// Reported records that the session itself told the client the flags of uid
// at modseq (its own STORE), so a later Apply does not report them again.
func (v *View) Reported(uid store.UID, modseq store.ModSeq) {
	if _, ok := v.Seq(uid); ok && modseq > v.ModSeq(uid) {
		v.setReported(uid, modseq)
		if m, ok := v.flagUpdates[uid]; ok && m.ModSeq <= modseq {
			delete(v.flagUpdates, uid)
		}
	}
}

// setReported records modseq, above what was recorded, for uid.
func (v *View) setReported(uid store.UID, modseq store.ModSeq) {
	if modseq <= v.base {
		return
	}
	if v.reported == nil {
		v.reported = make(map[store.UID]store.ModSeq)
	}
	v.reported[uid] = modseq
}

// ModSeq returns, for a known uid, the last mod-sequence reported for it
// if that is above the view's last point of synchronisation, else that
// point (see View.base): any mod-sequence the message had since then
// compares with it as with the exact one, and that is all a caller may
// ask of it. 0 for an unknown uid.
func (v *View) ModSeq(uid store.UID) store.ModSeq {
	if _, ok := v.Seq(uid); !ok {
		return 0
	}
	if ms, ok := v.reported[uid]; ok {
		return ms
	}
	return v.base
}

// rebase makes the view's highest mod-sequence its point of
// synchronisation: called when nothing is pending but expunges, so every
// known message was reported at its mod-sequence as of v.highest (or at a
// greater one, which reported keeps).
func (v *View) rebase() {
	v.base = v.highest
	for uid, ms := range v.reported {
		if ms <= v.base {
			delete(v.reported, uid)
		}
	}
	if len(v.reported) == 0 {
		v.reported = nil // a map keeps its size once grown
	}
}

// AddRecent records that UIDs in [lo, hi) are \Recent for this session.
// Claims come in ascending order (each starts at the previous UIDNEXT);
// one that does not is merged in place.
func (v *View) AddRecent(lo, hi store.UID) {
	if lo >= hi {
		return
	}
	a, b := v.uids.rank(lo), v.uids.rank(hi)
	n := len(v.recent)
	switch {
	case n == 0 || v.recent[n-1].hi < lo:
		v.recent = append(v.recent, uidRange{lo, hi})
	case v.recent[n-1].hi == lo:
		v.recent[n-1].hi = hi
	default:
		// Out of order or overlapping: rebuild the count from scratch.
		v.recent = mergeRanges(append(v.recent, uidRange{lo, hi}))
		v.recentN = 0
		for _, r := range v.recent {
			v.recentN += v.uids.rank(r.hi) - v.uids.rank(r.lo)
		}
		return
	}
	v.recentN += b - a
}

// mergeRanges sorts rs and merges overlapping or adjacent ranges.
func mergeRanges(rs []uidRange) []uidRange {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// IsRecent reports whether uid is \Recent in this session.
func (v *View) IsRecent(uid store.UID) bool {
	i := sort.Search(len(v.recent), func(i int) bool { return v.recent[i].hi > uid })
	return i < len(v.recent) && v.recent[i].lo <= uid
}

// RecentCount counts the known messages that are \Recent in this session.
// It is kept as messages come and go: a session that shares a busy
// mailbox claims many small ranges, and counting them again at every
// response grew with the mailbox.
func (v *View) RecentCount() uint32 { return v.recentN }

// Pending reports whether a Flush would write anything in mode m.
func (v *View) Pending(m Mode) bool {
	return len(v.newUIDs) > 0 || len(v.flagUpdates) > 0 || v.newKeywords ||
		(m.AllowExpunge && len(v.expunged) > 0) ||
		(m.Recent && v.RecentCount() != v.lastRecent)
}

// Flush reports pending changes allowed by m to s: new keywords first,
// then expunges (when allowed), EXISTS and RECENT for new messages, then
// flag changes.
func (v *View) Flush(s Sink, m Mode) {
	if kws, ok := v.TakeKeywords(); ok {
		s.Keywords(kws)
	}
	if m.AllowExpunge && len(v.expunged) > 0 {
		v.flushExpunges(s, m)
	}
	if len(v.newUIDs) > 0 {
		for i, uid := range v.newUIDs {
			if v.IsRecent(uid) {
				v.recentN++
			}
			v.uids.push(uid)
			v.setReported(uid, v.newModSeqs[i])
		}
		// Dropped rather than kept for the next arrivals: an idle
		// session should not hold the largest batch it ever saw.
		v.newUIDs, v.newModSeqs = nil, nil
	}
	if n := v.uids.len(); n > v.lastExists {
		s.Exists(n)
	}
	v.lastExists = v.uids.len()
	if m.Recent {
		if r := v.RecentCount(); r != v.lastRecent {
			s.Recent(r)
			v.lastRecent = r
		}
	}
	if len(v.flagUpdates) > 0 {
		ups := make([]store.Message, 0, len(v.flagUpdates))
		for _, u := range v.flagUpdates {
			ups = append(ups, u)
		}
		sort.Slice(ups, func(i, j int) bool { return ups[i].UID < ups[j].UID })
		for _, u := range ups {
			seq, ok := v.Seq(u.UID)
			if !ok {
				continue
			}
			if u.ModSeq > v.ModSeq(u.UID) {
				v.setReported(u.UID, u.ModSeq)
			}
			s.Flags(seq, u, v.IsRecent(u.UID))
		}
		v.flagUpdates = nil
	}
	v.rebase()
}

func (v *View) flushExpunges(s Sink, m Mode) {
	gone := make([]store.UID, 0, len(v.expunged))
	for uid := range v.expunged {
		gone = append(gone, uid)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	if m.Vanished {
		s.Vanished(imapnum.Compact(gone))
	}
	// Report in ascending order; each EXPUNGE shifts the later numbers
	// down. The work grows with the runs of UIDs and the expunged
	// messages, not with the messages.
	v.uids.remove(gone, func(seq uint32, uid store.UID) {
		if !m.Vanished {
			s.Expunge(seq)
		}
		if v.IsRecent(uid) {
			v.recentN--
		}
		delete(v.reported, uid)
	})
	v.lastExists = v.uids.len()
	v.expunged = nil
}
