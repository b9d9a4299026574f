package migrate

import (
	"sort"
	"strings"
	"time"

	"rookery/internal/store"
)

// SourceMessage is what the source says of a message before its content
// is fetched.
type SourceMessage struct {
	UID          uint32
	Size         int64
	InternalDate time.Time
	Flags        store.Flags
}

// TargetMessage is a message the target mailbox holds.
type TargetMessage struct {
	UID          store.UID
	Size         int64
	InternalDate time.Time
	Flags        store.Flags
	Blob         store.BlobID
}

// key groups messages that may be copies of each other: same size and
// same internal date (to the second, the precision IMAP gives).
type key struct {
	size int64
	date int64
}

// contentKey identifies a copy once the content is known: the content
// hash (a BlobID is the SHA-256 of the bytes) and the internal date.
type contentKey struct {
	blob store.BlobID
	date int64
}

// Pair is a source message found in the target.
type Pair struct {
	Source SourceMessage
	Target TargetMessage
}

// Matcher finds which source messages a target mailbox holds already.
// The target is the migration's state: a message is in it or not, and
// an interrupted run leaves nothing else behind (each Append commits
// whole), so a run after any interruption, a killed process included,
// copies exactly what is missing.
//
// Messages are compared as multisets. Source and target messages with
// the same size and internal date are matched one to one when the
// target has at least as many of them as the source (preferring target
// messages with the same flags); a group where the target has fewer is
// settled by content: those source messages are fetched, and each one
// whose content hash and internal date a not yet matched target message
// has is that message (Claim). So identical messages in the source are
// copied as many times as they occur, and a message counts as present
// only against a target message not already counted for another one.
type Matcher struct {
	byContent map[contentKey][]*TargetMessage
}

// Match pairs src (one mailbox of the source, any order) with the target
// mailbox's messages tgt. It returns the pairs found by size and date,
// the source messages to fetch (in UID order) and a Matcher that settles
// those by content.
func Match(src []SourceMessage, tgt []TargetMessage) (pairs []Pair, fetch []SourceMessage, m *Matcher) {
	srcBy := map[key][]SourceMessage{}
	for _, s := range src {
		k := key{s.Size, s.InternalDate.Unix()}
		srcBy[k] = append(srcBy[k], s)
	}
	tgtBy := map[key][]*TargetMessage{}
	for i := range tgt {
		t := &tgt[i]
		k := key{t.Size, t.InternalDate.Unix()}
		tgtBy[k] = append(tgtBy[k], t)
	}
	m = &Matcher{byContent: map[contentKey][]*TargetMessage{}}
	paired := map[store.UID]bool{}
	for k, ss := range srcBy {
		ts := tgtBy[k]
		if len(ts) < len(ss) {
			fetch = append(fetch, ss...)
			continue
		}
		for _, p := range pairGroup(ss, ts) {
			pairs = append(pairs, p)
			paired[p.Target.UID] = true
		}
	}
	// Target messages paired by size and date are no candidates for
	// content matches.
	for i := range tgt {
		t := &tgt[i]
		if !paired[t.UID] {
			ck := contentKey{t.Blob, t.InternalDate.Unix()}
			m.byContent[ck] = append(m.byContent[ck], t)
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Source.UID < pairs[j].Source.UID })
	sort.Slice(fetch, func(i, j int) bool { return fetch[i].UID < fetch[j].UID })
	return pairs, fetch, m
}

// pairGroup pairs each of ss with one of ts (len(ts) >= len(ss)), those
// with equal flags first, then in UID order.
func pairGroup(ss []SourceMessage, ts []*TargetMessage) []Pair {
	used := make([]bool, len(ts))
	out := make([]Pair, 0, len(ss))
	var rest []SourceMessage
	for _, s := range ss {
		found := false
		for i, t := range ts {
			if !used[i] && store.SameFlags(s.Flags, t.Flags) {
				used[i], found = true, true
				out = append(out, Pair{Source: s, Target: *t})
				break
			}
		}
		if !found {
			rest = append(rest, s)
		}
	}
	for _, s := range rest {
		for i, t := range ts {
			if !used[i] {
				used[i] = true
				out = append(out, Pair{Source: s, Target: *t})
				break
			}
		}
	}
	return out
}

// Claim reports whether the target holds an unclaimed message with the
// content blob and the internal date of s, and claims it: the pair is
// returned. A message fetched whose content the target lacks is to be
// copied.
func (m *Matcher) Claim(s SourceMessage, blob store.BlobID) (Pair, bool) {
	ck := contentKey{blob, s.InternalDate.Unix()}
	l := m.byContent[ck]
	if len(l) == 0 {
		return Pair{}, false
	}
	t := l[0]
	m.byContent[ck] = l[1:]
	return Pair{Source: s, Target: *t}, true
}

// FlagsFromIMAP converts IMAP flags to the flags a store keeps: the
// system flags it knows, and keywords (atoms not starting with "\");
// \Recent and other "\" flags are dropped (they are not stored flags).
func FlagsFromIMAP(flags []string) store.Flags {
	var f store.Flags
	var kws []string
	for _, fl := range flags {
		switch strings.ToLower(fl) {
		case `\seen`:
			f.Sys |= store.FlagSeen
		case `\answered`:
			f.Sys |= store.FlagAnswered
		case `\flagged`:
			f.Sys |= store.FlagFlagged
		case `\deleted`:
			f.Sys |= store.FlagDeleted
		case `\draft`:
			f.Sys |= store.FlagDraft
		default:
			if !strings.HasPrefix(fl, `\`) && fl != "" {
				kws = append(kws, fl)
			}
		}
	}
	f.Keywords, _ = store.NormalizeKeywords(validKeywords(kws))
	return f
}

// validKeywords drops keywords a store refuses (spaces or controls: no
// IMAP server sends them as atoms, but a broken one might).
func validKeywords(kws []string) []string {
	out := kws[:0]
	for _, k := range kws {
		if !strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			out = append(out, k)
		}
	}
	return out
}
