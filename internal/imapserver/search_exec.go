package imapserver

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/mailview"
	"rookery/internal/search"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

// searchChunk bounds how many messages one store read gathers, and
// searchRanges how many UID ranges: a store may answer a set of many
// ranges with one scan of the whole span, which sparse candidates (a
// rare word in a huge mailbox) must not cost.
const (
	searchChunk  = 8192
	searchRanges = 16
)

// fetchSets splits ascending UIDs into sets of at most searchChunk UIDs
// and searchRanges ranges.
func fetchSets(uids []store.UID) []imapnum.Set {
	var out []imapnum.Set
	for start := 0; start < len(uids); {
		end, ranges := start, 0
		for end < len(uids) && end-start < searchChunk {
			if end == start || uids[end] != uids[end-1]+1 {
				if ranges == searchRanges {
					break
				}
				ranges++
			}
			end++
		}
		out = append(out, imapnum.Compact(uids[start:end]))
		start = end
	}
	return out
}

// searcher runs searches over one session's view of a mailbox: the plan's
// Index part goes to the store's index when it has one, the Residual is
// evaluated in Go on messages loaded lazily (messageView).
type searcher struct {
	st   store.Store
	mbox store.MailboxID
	view *mailview.View
	log  *slog.Logger
	now  time.Time // OLDER/YOUNGER count back from it; zero: the time of the search
	// sortFields says that the extra needs of find are only the fields of
	// store.SortFields that sortWant names: they are then read from the
	// index when it has them, and messages are not opened.
	sortFields bool
	sortWant   store.SortWant
	// cache, when set, keeps the SORT fields of the mailbox (whose
	// UIDVALIDITY is uidValidity) across searches.
	cache       *sortCache
	uidValidity uint32
}

// options returns the search options of the view.
func (s *searcher) options() search.Options {
	return search.Options{MaxSeq: s.view.Len(), MaxUID: s.view.MaxUID(), Now: s.now, SaveDateSupported: true}
}

// rewrite turns sequence-number and RECENT keys into UID sets over the
// view, so that the store's index can answer them.
func (s *searcher) rewrite(k search.Key) search.Key {
	switch k.Op {
	case search.OpAnd, search.OpOr, search.OpNot:
		sub := make([]search.Key, len(k.Sub))
		for i, c := range k.Sub {
			sub[i] = s.rewrite(c)
		}
		k.Sub = sub
	case search.OpSeq:
		n := s.view.Len()
		var uids []store.UID
		for _, r := range k.Set.Resolve(n) {
			for seq := max(r.Start, 1); seq <= min(r.Stop, n); seq++ {
				uids = append(uids, s.view.UID(seq))
			}
		}
		return uidKey(uids)
	case search.OpRecent:
		var uids []store.UID
		for seq := uint32(1); seq <= s.view.Len(); seq++ {
			if u := s.view.UID(seq); s.view.IsRecent(u) {
				uids = append(uids, u)
			}
		}
		return uidKey(uids)
	}
	return k
}

// uidKey returns a key matching the given UIDs (none: nothing).
func uidKey(uids []store.UID) search.Key {
	if len(uids) == 0 {
		return search.Or()
	}
	slices.Sort(uids)
	return search.Key{Op: search.OpUID, Set: imapnum.Compact(slices.Compact(uids))}
}

// slabSize is how many messages find allocates at once.
const slabSize = 1024

// find returns the messages of the view matching k, in sequence order.
// Each message's accessors read what extra asks for (SORT and THREAD)
// besides what the residual key needs; metadata-only searches never open
// message files. withMeta asks for flags, dates and sizes even when the
// residual does not need them (MODSEQ in the response).
func (s *searcher) find(ctx context.Context, k search.Key, extra search.Needs, withMeta bool) ([]*search.Message, error) {
	opts := s.options()
	k = s.rewrite(k)
	plan, err := search.NewPlan(k, opts)
	if err != nil {
		return nil, err
	}
	var cands []store.UID
	idx, hasIndex := s.st.(store.SearchIndex)
	if hasIndex && plan.Index.Op != search.OpAll {
		cands, err = idx.SearchCandidates(ctx, s.mbox, searchtext.IndexKey(plan.Index))
		if err != nil {
			return nil, err
		}
	} else {
		cands = make([]store.UID, 0, s.view.Len())
		for seq := uint32(1); seq <= s.view.Len(); seq++ {
			cands = append(cands, s.view.UID(seq))
		}
		if plan.Index.Op != search.OpAll {
			// No index: the whole key is evaluated per message.
			plan.Residual = k
		}
	}
	residualAll := plan.Residual.Op == search.OpAll
	needs := plan.Residual.Needs() | extra
	var out []*search.Message
	if residualAll && needs == 0 && !withMeta {
		for _, u := range cands {
			if seq, ok := s.view.Seq(u); ok {
				out = append(out, &search.Message{Seq: seq, UID: u})
			}
		}
		return out, nil
	}
	mt, err := search.Compile(plan.Residual, opts)
	if err != nil {
		return nil, err
	}
	// SORT by date or subject and THREAD read their fields from the
	// index when the residual does not open messages anyway.
	fromIndex := hasIndex && s.sortFields && plan.Residual.Needs() == 0
	fetch := func(ctx context.Context, mbox store.MailboxID, set imapnum.Set, fn func(store.Message, *store.SortFields) error) error {
		f := s.st.Fetch
		if needs != 0 {
			f = s.st.FetchAnatomy
		}
		return f(ctx, mbox, set, func(m store.Message) error { return fn(m, nil) })
	}
	if fromIndex {
		want := s.sortWant
		if !residualAll {
			want |= store.SortMeta
		}
		fetch = func(ctx context.Context, mbox store.MailboxID, set imapnum.Set, fn func(store.Message, *store.SortFields) error) error {
			return idx.SortFields(ctx, mbox, set, want, fn)
		}
		if s.cache != nil && want&^(sortCacheWant|sortCacheIDs) == 0 {
			key, live := sortBoxKey{s.mbox, s.uidValidity}, int(s.view.Len())
			fetch = func(ctx context.Context, _ store.MailboxID, set imapnum.Set, fn func(store.Message, *store.SortFields) error) error {
				return s.cache.sortFields(ctx, idx, key, live, set, want, fn)
			}
		}
	}
	// Header fields that an envelope holds are read from it unless the
	// residual itself looks at headers (it then needs every occurrence).
	useEnvelope := plan.Residual.Needs()&search.NeedsHeader == 0
	// Messages and their views come from slabs: one allocation per
	// thousand messages instead of two per message (SORT of a large
	// mailbox spent a fifth of its time allocating).
	var msgSlab []search.Message
	var viewSlab []messageView
	for _, set := range fetchSets(cands) {
		err := fetch(ctx, s.mbox, set, func(m store.Message, sf *store.SortFields) error {
			seq, ok := s.view.Seq(m.UID)
			if !ok {
				return nil
			}
			if len(msgSlab) == cap(msgSlab) {
				msgSlab = make([]search.Message, 0, slabSize)
			}
			msgSlab = append(msgSlab, search.Message{
				Seq: seq, UID: m.UID, Flags: m.Flags, Recent: s.view.IsRecent(m.UID),
				InternalDate: m.InternalDate, SaveDate: m.SaveDate, Size: m.Size, ModSeq: m.ModSeq,
			})
			msg := &msgSlab[len(msgSlab)-1]
			var view *messageView
			if needs != 0 {
				if len(viewSlab) == cap(viewSlab) {
					viewSlab = make([]messageView, 0, slabSize)
				}
				viewSlab = append(viewSlab, messageView{ctx: ctx, s: s, m: m, useEnvelope: useEnvelope})
				v := &viewSlab[len(viewSlab)-1]
				v.sort = sf
				v.bind(msg)
				view = v
			}
			if !residualAll {
				ok, err := mt.Match(msg)
				if err != nil || !ok {
					return err
				}
				if view != nil && view.gone {
					// Expunged by another session since the candidates
					// were read: its content is gone, so it matches
					// nothing (as FETCH returns nothing of it).
					return nil
				}
			}
			out = append(out, msg)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *search.Message) int { return int(a.Seq) - int(b.Seq) })
	return out, nil
}
