package mailview

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"rookery/internal/store"
)

// modseqStore is a toy mailbox with mod-sequences, as a store keeps them.
type modseqStore struct {
	highest  store.ModSeq
	msgs     map[store.UID]store.ModSeq // live messages
	expunged map[store.UID]store.ModSeq
	next     store.UID
}

// changes is what Store.Changes(since) returns.
func (s *modseqStore) changes(since store.ModSeq) store.Changes {
	ch := store.Changes{Mailbox: store.Mailbox{HighestModSeq: s.highest}}
	for _, u := range slices.Sorted(maps.Keys(s.msgs)) {
		if ms := s.msgs[u]; ms > since {
			ch.Updated = append(ch.Updated, msg(u, ms, 0))
		}
	}
	for _, u := range slices.Sorted(maps.Keys(s.expunged)) {
		if s.expunged[u] > since {
			ch.Expunged = append(ch.Expunged, u)
		}
	}
	return ch
}

// TestModSeqModel drives a view with changes by other sessions (applied
// late, as events arrive), the session's own STOREs (reported before or
// after their change is applied), arrivals, expunges and flushes, and
// checks it against a model that keeps the exact mod-sequence last
// reported for every message: FETCH responses of a flush, and every
// comparison a caller makes with View.ModSeq (reportStore: is the
// message's mod-sequence before or after its own STORE above what the
// client last heard of).
func TestModSeqModel(t *testing.T) {
	for seed := range 30 {
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		st := &modseqStore{highest: 5, msgs: map[store.UID]store.ModSeq{}, expunged: map[store.UID]store.ModSeq{}, next: 1}
		var uids []store.UID
		for range 20 {
			st.msgs[st.next] = store.ModSeq(1 + rng.IntN(5))
			uids = append(uids, st.next)
			st.next++
		}
		v := New(store.Snapshot{Mailbox: store.Mailbox{ID: 7, HighestModSeq: st.highest}, UIDs: uids})
		// The model: exact mod-sequence last reported per known message.
		told := map[store.UID]store.ModSeq{}
		for _, u := range uids {
			told[u] = st.msgs[u]
		}
		sync := func() {
			ch := st.changes(v.HighestModSeq())
			v.Apply(ch)
		}
		for step := range 400 {
			live := slices.Sorted(maps.Keys(st.msgs))
			switch op := rng.IntN(7); {
			case op == 0 && len(live) > 0: // another session changes flags
				u := live[rng.IntN(len(live))]
				st.highest++
				st.msgs[u] = st.highest
			case op == 1 && len(live) > 0: // own STORE
				u := live[rng.IntN(len(live))]
				if _, known := v.Seq(u); !known {
					break
				}
				prev := st.msgs[u]
				st.highest++
				st.msgs[u] = st.highest
				// reportStore's question, with the exact and the
				// view's answer.
				if got, want := prev > v.ModSeq(u), prev > told[u]; got != want {
					t.Fatalf("seed %d step %d: uid %d prev %d: view says changed by others %v, model %v (ModSeq %d, told %d)",
						seed, step, u, prev, got, want, v.ModSeq(u), told[u])
				}
				v.Reported(u, st.highest)
				told[u] = st.highest
				if rng.IntN(2) == 0 && v.HighestModSeq() == st.highest-1 {
					// applyOwnChange
					v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: st.highest},
						Updated: []store.Message{msg(u, st.highest, 0)}})
				}
			case op == 2: // arrivals
				st.highest++
				for range 1 + rng.IntN(3) {
					st.msgs[st.next] = st.highest
					st.next++
				}
			case op == 3 && len(live) > 0: // expunge
				u := live[rng.IntN(len(live))]
				st.highest++
				delete(st.msgs, u)
				st.expunged[u] = st.highest
			case op == 4: // an event arrives
				sync()
			default: // flush after syncing, as after a command
				sync()
				var r recorder
				v.Flush(&r, Mode{AllowExpunge: rng.IntN(3) > 0})
				var got, want []string
				for _, l := range r.lines {
					if strings.Contains(l, "FETCH") {
						var seq, uid uint32
						fmt.Sscanf(l, "%d FETCH UID %d", &seq, &uid)
						got = append(got, fmt.Sprint(uid))
					}
				}
				for _, u := range slices.Sorted(maps.Keys(st.msgs)) {
					if ms, ok := told[u]; ok && st.msgs[u] > ms {
						want = append(want, fmt.Sprint(u))
						told[u] = st.msgs[u]
					}
				}
				for u := range st.msgs {
					if _, ok := told[u]; !ok {
						if _, known := v.Seq(u); known {
							told[u] = st.msgs[u] // joined with its EXISTS
						}
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: FETCH for %v, want %v", seed, step, got, want)
				}
			}
			// Every comparison a caller may make: the message's current
			// mod-sequence against what the client last heard of.
			for u, ms := range st.msgs {
				if _, known := v.Seq(u); !known {
					continue
				}
				if got, want := ms > v.ModSeq(u), ms > told[u]; got != want {
					t.Fatalf("seed %d step %d: uid %d at %d: view says unreported %v, model %v", seed, step, u, ms, got, want)
				}
			}
		}
		if len(v.reported) > 0 && v.HighestModSeq() == st.highest {
			// After a flush in sync, only STOREs ahead of it are kept.
			var r recorder
			v.Flush(&r, Mode{AllowExpunge: true})
			if len(v.reported) != 0 {
				t.Errorf("seed %d: %d mod-sequences kept after a flush in sync", seed, len(v.reported))
			}
		}
	}
}
