package mailview

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// recorder is a Sink that records responses as IMAP-like lines.
type recorder struct{ lines []string }

func (r *recorder) Expunge(seq uint32)        { r.add("%d EXPUNGE", seq) }
func (r *recorder) Vanished(uids imapnum.Set) { r.add("VANISHED %s", uids) }
func (r *recorder) Exists(n uint32)           { r.add("%d EXISTS", n) }
func (r *recorder) Recent(n uint32)           { r.add("%d RECENT", n) }
func (r *recorder) Keywords(all []string)     { r.add("FLAGS %s", strings.Join(all, " ")) }
func (r *recorder) Flags(seq uint32, m store.Message, recent bool) {
	if len(m.Flags.Keywords) > 0 {
		r.add("%d FETCH UID %d FLAGS %d %s recent=%v", seq, m.UID, m.Flags.Sys, strings.Join(m.Flags.Keywords, " "), recent)
		return
	}
	r.add("%d FETCH UID %d FLAGS %d recent=%v", seq, m.UID, m.Flags.Sys, recent)
}
func (r *recorder) add(f string, a ...any) { r.lines = append(r.lines, fmt.Sprintf(f, a...)) }

func snap(uids ...store.UID) store.Snapshot {
	return store.Snapshot{Mailbox: store.Mailbox{ID: 7, HighestModSeq: 1}, UIDs: uids}
}

func msg(uid store.UID, modseq store.ModSeq, f store.SysFlags, kws ...string) store.Message {
	return store.Message{UID: uid, ModSeq: modseq, Flags: store.Flags{Sys: f, Keywords: kws}}
}

func TestFlush(t *testing.T) {
	tests := []struct {
		name    string
		uids    []store.UID
		changes []store.Changes
		mode    Mode
		want    []string
		wantLen uint32
	}{
		{
			name: "expunges in ascending order shift later numbers",
			uids: []store.UID{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 2},
				Expunged: []store.UID{30, 40, 70, 110}}},
			mode:    Mode{AllowExpunge: true},
			want:    []string{"3 EXPUNGE", "3 EXPUNGE", "5 EXPUNGE", "8 EXPUNGE"},
			wantLen: 7,
		},
		{
			name: "expunges held back when not allowed, new messages still announced",
			uids: []store.UID{1, 2, 3},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 3},
				Expunged: []store.UID{2},
				Updated:  []store.Message{msg(4, 3, 0)}}},
			mode:    Mode{},
			want:    []string{"4 EXISTS"},
			wantLen: 4,
		},
		{
			name: "vanished instead of expunge",
			uids: []store.UID{1, 2, 3, 4},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 2},
				Expunged: []store.UID{2, 3}}},
			mode:    Mode{AllowExpunge: true, Vanished: true},
			want:    []string{"VANISHED 2:3"},
			wantLen: 2,
		},
		{
			name: "flag change of a known message, unknown expunge ignored",
			uids: []store.UID{5, 6},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 4},
				Expunged: []store.UID{3},
				Updated:  []store.Message{msg(6, 4, store.FlagSeen)}}},
			mode:    Mode{AllowExpunge: true},
			want:    []string{"2 FETCH UID 6 FLAGS 1 recent=false"},
			wantLen: 2,
		},
		{
			name: "message appended and expunged before the flush is never shown",
			uids: []store.UID{1},
			changes: []store.Changes{
				{Mailbox: store.Mailbox{HighestModSeq: 2}, Updated: []store.Message{msg(2, 2, 0)}},
				{Mailbox: store.Mailbox{HighestModSeq: 3}, Expunged: []store.UID{2}},
			},
			mode:    Mode{AllowExpunge: true},
			want:    nil,
			wantLen: 1,
		},
		{
			name: "flag change of an expunge-pending message is dropped",
			uids: []store.UID{1, 2},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 3},
				Expunged: []store.UID{2},
				Updated:  []store.Message{msg(2, 3, store.FlagDeleted)}}},
			mode:    Mode{},
			want:    nil,
			wantLen: 2,
		},
		{
			name: "a new keyword is announced before the FETCH that carries it",
			uids: []store.UID{1, 2},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 2},
				Updated: []store.Message{msg(2, 2, 0, "$Work")}}},
			mode:    Mode{AllowExpunge: true},
			want:    []string{"FLAGS $Work", "2 FETCH UID 2 FLAGS 0 $Work recent=false"},
			wantLen: 2,
		},
		{
			name: "a new message's keyword is announced with its EXISTS",
			uids: []store.UID{1},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 2},
				Updated: []store.Message{msg(2, 2, 0, "$A", "$B")}}},
			mode:    Mode{},
			want:    []string{"FLAGS $A $B", "2 EXISTS"},
			wantLen: 2,
		},
		{
			name: "keywords announced once, case-insensitively",
			uids: []store.UID{1, 2},
			changes: []store.Changes{
				{Mailbox: store.Mailbox{HighestModSeq: 2}, Updated: []store.Message{msg(1, 2, 0, "$Work")}},
				{Mailbox: store.Mailbox{HighestModSeq: 3}, Updated: []store.Message{msg(2, 3, 0, "$WORK")}},
			},
			mode: Mode{AllowExpunge: true},
			want: []string{"FLAGS $Work", "1 FETCH UID 1 FLAGS 0 $Work recent=false",
				"2 FETCH UID 2 FLAGS 0 $WORK recent=false"},
			wantLen: 2,
		},
		{
			name: "stale update at or below the known modseq is not echoed",
			uids: []store.UID{1},
			changes: []store.Changes{{Mailbox: store.Mailbox{HighestModSeq: 1},
				Updated: []store.Message{msg(1, 1, store.FlagSeen)}}},
			mode:    Mode{AllowExpunge: true},
			want:    nil,
			wantLen: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(snap(tt.uids...))
			for _, ch := range tt.changes {
				v.Apply(ch)
			}
			var r recorder
			v.Flush(&r, tt.mode)
			if !reflect.DeepEqual(r.lines, tt.want) {
				t.Errorf("flush:\n got %q\nwant %q", r.lines, tt.want)
			}
			if v.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", v.Len(), tt.wantLen)
			}
		})
	}
}

func TestKeywordsAnnounced(t *testing.T) {
	s := snap(1)
	s.Keywords = []string{"$Old"}
	v := New(s)
	if _, ok := v.TakeKeywords(); ok {
		t.Fatal("the snapshot's keywords count as announced by SELECT")
	}
	v.NoteKeywords([]string{"$old", "$New"})
	all, ok := v.TakeKeywords()
	if !ok || strings.Join(all, " ") != "$Old $New" {
		t.Fatalf("TakeKeywords = %q, %v; want [$Old $New], true", all, ok)
	}
	if _, ok := v.TakeKeywords(); ok {
		t.Fatal("keywords announced twice")
	}
	var r recorder
	v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: 2}, Updated: []store.Message{msg(1, 2, 0, "$New")}})
	v.Flush(&r, Mode{AllowExpunge: true})
	if want := []string{"1 FETCH UID 1 FLAGS 0 $New recent=false"}; !reflect.DeepEqual(r.lines, want) {
		t.Fatalf("got %q, want %q", r.lines, want)
	}
}

func TestPendingExpungeKeepsSequenceNumbers(t *testing.T) {
	v := New(snap(1, 2, 3))
	v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: 2}, Expunged: []store.UID{1}})
	var r recorder
	v.Flush(&r, Mode{})
	if got := v.UID(3); got != 3 {
		t.Fatalf("UID(3) = %d before the expunge is reported, want 3", got)
	}
	v.Flush(&r, Mode{AllowExpunge: true})
	if got, want := strings.Join(r.lines, ","), "1 EXPUNGE"; got != want {
		t.Fatalf("lines %q, want %q", got, want)
	}
	if got := v.UID(2); got != 3 {
		t.Fatalf("UID(2) = %d after the expunge, want 3", got)
	}
}

func TestReportedSuppressesEcho(t *testing.T) {
	v := New(snap(1, 2))
	v.Reported(2, 5) // own STORE told the client
	v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: 5}, Updated: []store.Message{msg(2, 5, store.FlagSeen)}})
	var r recorder
	v.Flush(&r, Mode{AllowExpunge: true})
	if len(r.lines) != 0 {
		t.Fatalf("own change echoed: %q", r.lines)
	}
	v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: 6}, Updated: []store.Message{msg(2, 6, 0)}})
	v.Flush(&r, Mode{AllowExpunge: true})
	if len(r.lines) != 1 {
		t.Fatalf("later change by another session not reported: %q", r.lines)
	}
}

func TestRecent(t *testing.T) {
	v := New(snap(1, 2, 3))
	v.AddRecent(3, 6)
	if n := v.RecentCount(); n != 1 {
		t.Fatalf("RecentCount = %d, want 1", n)
	}
	var r recorder
	v.Flush(&r, Mode{Recent: true})
	v.Apply(store.Changes{Mailbox: store.Mailbox{HighestModSeq: 2}, Updated: []store.Message{msg(4, 2, 0), msg(5, 2, 0)}})
	r.lines = nil
	v.Flush(&r, Mode{Recent: true})
	want := []string{"5 EXISTS", "3 RECENT"}
	if !reflect.DeepEqual(r.lines, want) {
		t.Fatalf("got %q, want %q", r.lines, want)
	}
	if !v.IsRecent(5) || v.IsRecent(2) {
		t.Fatal("IsRecent wrong")
	}
}

func TestSets(t *testing.T) {
	v := New(snap(3, 5, 9, 12))
	tests := []struct {
		set     imapnum.Set
		seq     bool
		want    []store.UID
		wantErr bool
	}{
		{set: imapnum.Set{{Start: 1, Stop: imapnum.Star}}, seq: true, want: []store.UID{3, 5, 9, 12}},
		{set: imapnum.Set{{Start: 4, Stop: 2}}, seq: true, want: []store.UID{5, 9, 12}},
		{set: imapnum.Set{{Start: 5, Stop: 5}}, seq: true, wantErr: true},
		{set: imapnum.Set{{Start: 2, Stop: 2}, {Start: 1, Stop: 2}}, seq: true, want: []store.UID{3, 5}},
		{set: imapnum.Set{{Start: 4, Stop: 10}}, want: []store.UID{5, 9}},
		{set: imapnum.Set{{Start: 100, Stop: imapnum.Star}}, want: []store.UID{12}},
		{set: imapnum.Set{{Start: 1, Stop: 2}}, want: nil},
		{set: imapnum.Set{{Start: 9, Stop: 9}, {Start: 1, Stop: 9}}, want: []store.UID{3, 5, 9}},
	}
	for i, tt := range tests {
		var got []store.UID
		var err error
		if tt.seq {
			got, err = v.SeqSet(tt.set)
		} else {
			got = v.UIDSet(tt.set)
		}
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%d: got %v, %v; want %v (err %v)", i, got, err, tt.want, tt.wantErr)
		}
	}
	empty := New(snap())
	if _, err := empty.SeqSet(imapnum.Set{{Start: 1, Stop: imapnum.Star}}); err == nil {
		t.Error("1:* in an empty mailbox should be an error for sequence numbers")
	}
	if got := empty.UIDSet(imapnum.Set{{Start: 1, Stop: imapnum.Star}}); len(got) != 0 {
		t.Errorf("UID 1:* in an empty mailbox = %v", got)
	}
}

// TestRecentAndExpungeModel drives a view with random arrivals,
// \Recent claims in fragments (as when sessions share a busy mailbox)
// and expunges, and checks RecentCount, IsRecent and the EXPUNGE sequence
// numbers against a plain model after every flush.
func TestRecentAndExpungeModel(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		v := New(snap(1, 2, 3))
		known := []store.UID{1, 2, 3} // the model: UIDs reported, in order
		recent := map[store.UID]bool{}
		next, modseq := store.UID(4), store.ModSeq(1)
		reported := next                // the UIDs below it are in known (or expunged)
		pending := map[store.UID]bool{} // expunged, not yet flushed
		for step := range 300 {
			modseq++
			switch op := rng.IntN(4); {
			case op == 0: // arrivals, some claimed by this session
				n := store.UID(1 + rng.IntN(3))
				var ch store.Changes
				for u := next; u < next+n; u++ {
					ch.Updated = append(ch.Updated, msg(u, modseq, 0))
				}
				ch.Mailbox.HighestModSeq = modseq
				v.Apply(ch)
				if rng.IntN(2) == 0 {
					lo := next + store.UID(rng.IntN(int(n)))
					v.AddRecent(lo, next+n)
					for u := lo; u < next+n; u++ {
						recent[u] = true
					}
				}
				next += n
			case op == 1 && len(known) > 0: // expunge a known message
				u := known[rng.IntN(len(known))]
				if !pending[u] {
					pending[u] = true
					v.Apply(store.Changes{Expunged: []store.UID{u}, Mailbox: store.Mailbox{HighestModSeq: modseq}})
				}
			default: // flush, expunges allowed or not
				var r recorder
				allow := rng.IntN(2) == 0
				v.Flush(&r, Mode{Recent: true, AllowExpunge: allow})
				if allow {
					var want []string
					kept := known[:0]
					for _, u := range known {
						if pending[u] {
							want = append(want, fmt.Sprintf("%d EXPUNGE", len(kept)+1))
							continue
						}
						kept = append(kept, u)
					}
					known = kept
					clear(pending)
					var got []string
					for _, l := range r.lines {
						if strings.HasSuffix(l, "EXPUNGE") {
							got = append(got, l)
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d step %d: expunges %q, want %q", seed, step, got, want)
					}
				}
				for ; reported < next; reported++ {
					known = append(known, reported)
				}
				n := uint32(0)
				for _, u := range known {
					if recent[u] {
						n++
					}
					if v.IsRecent(u) != recent[u] {
						t.Fatalf("seed %d step %d: IsRecent(%d) = %v", seed, step, u, !recent[u])
					}
				}
				if got := v.RecentCount(); got != n {
					t.Fatalf("seed %d step %d: RecentCount %d, want %d", seed, step, got, n)
				}
			}
		}
	}
}
