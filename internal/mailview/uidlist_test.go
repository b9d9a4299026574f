package mailview

import (
	"math/rand/v2"
	"slices"
	"testing"

	"rookery/internal/store"
)

func TestUIDListTable(t *testing.T) {
	tests := []struct {
		name     string
		uids     []store.UID
		wantRuns int
	}{
		{"empty", nil, 0},
		{"one run", []store.UID{1, 2, 3, 4}, 1},
		{"gaps", []store.UID{1, 2, 4, 7, 8, 9}, 3},
		{"singletons", []store.UID{2, 4, 6}, 3},
		{"top of the UID space", []store.UID{1, 4294967294, 4294967295}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newUIDList(tt.uids)
			if len(l.runs) != tt.wantRuns {
				t.Errorf("runs = %d, want %d", len(l.runs), tt.wantRuns)
			}
			checkUIDList(t, &l, tt.uids)
		})
	}
}

// checkUIDList compares every query of l with the plain slice want.
func checkUIDList(t *testing.T, l *uidList, want []store.UID) {
	t.Helper()
	if l.len() != uint32(len(want)) {
		t.Fatalf("len = %d, want %d", l.len(), len(want))
	}
	wantMax := store.UID(0)
	if len(want) > 0 {
		wantMax = want[len(want)-1]
	}
	if l.max() != wantMax {
		t.Fatalf("max = %d, want %d", l.max(), wantMax)
	}
	for i, u := range want {
		if got := l.at(uint32(i + 1)); got != u {
			t.Fatalf("at(%d) = %d, want %d", i+1, got, u)
		}
	}
	// Every UID held, its neighbours, and the ends of the UID space.
	probes := []store.UID{0, 1, 4294967295}
	for _, u := range want {
		probes = append(probes, u-1, u, u+1)
	}
	for _, u := range probes {
		i, found := slices.BinarySearch(want, u)
		seq, ok := l.seq(u)
		if ok != found || (ok && seq != uint32(i+1)) {
			t.Fatalf("seq(%d) = %d, %v; want %d, %v", u, seq, ok, i+1, found)
		}
		if got := l.rank(u); got != uint32(i) {
			t.Fatalf("rank(%d) = %d, want %d", u, got, i)
		}
	}
	for range 20 {
		if len(want) == 0 {
			break
		}
		a := 1 + rand.IntN(len(want))
		b := a + rand.IntN(len(want)-a+1)
		if got := l.appendSeqs(nil, uint32(a), uint32(b)); !slices.Equal(got, want[a-1:b]) {
			t.Fatalf("appendSeqs(%d, %d) = %v, want %v", a, b, got, want[a-1:b])
		}
		lo := probes[rand.IntN(len(probes))]
		hi := probes[rand.IntN(len(probes))]
		if lo > hi {
			lo, hi = hi, lo
		}
		var exp []store.UID
		for _, u := range want {
			if u >= lo && u <= hi {
				exp = append(exp, u)
			}
		}
		if got := l.appendUIDs(nil, lo, hi); !slices.Equal(got, exp) {
			t.Fatalf("appendUIDs(%d, %d) = %v, want %v", lo, hi, got, exp)
		}
	}
}

// TestUIDListModel pushes runs and single UIDs and removes random subsets
// (with UIDs the list does not hold among them), comparing every query and
// the sequence numbers of removals with a plain slice.
func TestUIDListModel(t *testing.T) {
	for seed := range 50 {
		rng := rand.New(rand.NewPCG(uint64(seed), 12))
		var l uidList
		var model []store.UID
		next := store.UID(1 + rng.IntN(5))
		for step := range 200 {
			switch rng.IntN(3) {
			case 0, 1: // arrivals: a run, sometimes after a gap
				if rng.IntN(3) == 0 {
					next += store.UID(1 + rng.IntN(4))
				}
				for range 1 + rng.IntN(20) {
					l.push(next)
					model = append(model, next)
					next++
				}
			case 2: // expunge a random subset plus UIDs not held
				var gone []store.UID
				for u := store.UID(0); u <= next; u++ {
					if rng.IntN(4) == 0 {
						gone = append(gone, u)
					}
				}
				var wantSeqs, gotSeqs []uint32
				kept := model[:0:0]
				for _, u := range model {
					if _, ok := slices.BinarySearch(gone, u); ok {
						wantSeqs = append(wantSeqs, uint32(len(kept)+1))
						continue
					}
					kept = append(kept, u)
				}
				model = kept
				l.remove(gone, func(seq uint32, uid store.UID) {
					gotSeqs = append(gotSeqs, seq)
				})
				if !slices.Equal(gotSeqs, wantSeqs) {
					t.Fatalf("seed %d step %d: removal seqs %v, want %v", seed, step, gotSeqs, wantSeqs)
				}
			}
			checkUIDList(t, &l, model)
			for i := 1; i < len(l.runs); i++ {
				if l.runs[i].lo == l.last(i-1)+1 {
					t.Fatalf("seed %d step %d: runs %d and %d are adjacent", seed, step, i-1, i)
				}
			}
		}
	}
}
