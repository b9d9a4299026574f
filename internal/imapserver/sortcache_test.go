package imapserver

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// fakeIndex answers SortFields from a table of messages and records the
// UIDs each call read.
type fakeIndex struct {
	msgs  map[store.UID]bool // UID → indexed
	reads [][]store.UID
}

func (f *fakeIndex) SearchCandidates(context.Context, store.MailboxID, store.IndexKey) ([]store.UID, error) {
	return nil, nil
}

func (f *fakeIndex) SortFields(_ context.Context, _ store.MailboxID, uids imapnum.Set, want store.SortWant, fn func(store.Message, *store.SortFields) error) error {
	if want != sortCacheWant && want != sortCacheWant|sortCacheIDs {
		return fmt.Errorf("want %b", want)
	}
	var read []store.UID
	for _, r := range uids {
		for u := r.Start; u <= r.Stop; u++ {
			indexed, ok := f.msgs[u]
			if !ok {
				continue
			}
			read = append(read, u)
			m := store.Message{UID: u, InternalDate: time.Unix(int64(u), 0), Size: int64(u)}
			var sf *store.SortFields
			if indexed {
				sf = &store.SortFields{Subject: fmt.Sprint("s", u)}
				if want&sortCacheIDs != 0 {
					sf.MessageID = fmt.Sprint("<", u, "@x>")
				}
			}
			if err := fn(m, sf); err != nil {
				return err
			}
		}
	}
	f.reads = append(f.reads, read)
	return nil
}

// sorted runs the cache over set for SORT and returns the UIDs given and
// the subjects of those with fields.
func sorted(t *testing.T, c *sortCache, idx *fakeIndex, k sortBoxKey, live int, set imapnum.Set) []string {
	t.Helper()
	return cached(t, c, idx, k, live, set, sortCacheWant)
}

// cached is sorted with the fields want names; with the THREAD fields
// the Message-ID follows the subject.
func cached(t *testing.T, c *sortCache, idx *fakeIndex, k sortBoxKey, live int, set imapnum.Set, want store.SortWant) []string {
	t.Helper()
	var got []string
	err := c.sortFields(context.Background(), idx, k, live, set, want, func(m store.Message, f *store.SortFields) error {
		s := fmt.Sprint(m.UID, ":-")
		if f != nil {
			s = fmt.Sprint(m.UID, ":", f.Subject, f.MessageID)
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestSortCache(t *testing.T) {
	idx := &fakeIndex{msgs: map[store.UID]bool{1: true, 2: true, 3: false, 5: true}}
	c := newSortCache(700) // five rows of one mailbox (114 bytes each), not ten
	box := sortBoxKey{mbox: 1, uidValidity: 7}
	all := imapnum.Set{{Start: 1, Stop: 6}}
	want := []string{"1:s1", "2:s2", "3:-", "5:s5"}

	if got := sorted(t, c, idx, box, 4, all); !slices.Equal(got, want) {
		t.Fatalf("first: %v", got)
	}
	// Again: only what is not cached is read (3: not indexed; 4, 6: none).
	if got := sorted(t, c, idx, box, 4, all); !slices.Equal(got, want) {
		t.Fatalf("second: %v", got)
	}
	if r := idx.reads[len(idx.reads)-1]; !slices.Equal(r, []store.UID{3}) {
		t.Fatalf("second read %v", r)
	}
	// A new message is read alone.
	idx.msgs[6] = true
	sorted(t, c, idx, box, 5, all)
	if r := idx.reads[len(idx.reads)-1]; !slices.Equal(r, []store.UID{3, 6}) {
		t.Fatalf("read after arrival %v", r)
	}
	// An older message indexed later (rookery reindex) joins in UID order.
	idx.msgs[3] = true
	if got := sorted(t, c, idx, box, 5, all); !slices.Equal(got, []string{"1:s1", "2:s2", "3:s3", "5:s5", "6:s6"}) {
		t.Fatalf("after reindex: %v", got)
	}
	var uids []store.UID
	for _, r := range c.boxes[box].rows {
		uids = append(uids, r.uid)
	}
	if !slices.Equal(uids, []store.UID{1, 2, 3, 5, 6}) {
		t.Fatalf("rows %v", uids)
	}
	sorted(t, c, idx, box, 5, all)
	if r := idx.reads[len(idx.reads)-1]; len(r) != 0 {
		t.Fatalf("read %v with everything cached", r)
	}
	// Another UIDVALIDITY is another mailbox; above maxBytes the least
	// recently used mailbox goes.
	other := sortBoxKey{mbox: 1, uidValidity: 8}
	sorted(t, c, idx, other, 5, all)
	if _, ok := c.boxes[box]; ok || c.bytes != 5*114 {
		t.Fatalf("after eviction: boxes %v, %d bytes", c.boxes, c.bytes)
	}
	if r := idx.reads[len(idx.reads)-1]; len(r) != 5 {
		t.Fatalf("new UIDVALIDITY read %v", r)
	}
	// A box dropped while it was being filled is not counted.
	dropped := &sortBox{}
	c.resized(sortBoxKey{mbox: 9}, dropped, 3)
	if c.bytes != 5*114 {
		t.Fatalf("%d bytes after a dropped box's fill", c.bytes)
	}
	// THREAD needs the Message-ID too: the mailbox is read again with
	// it, and then answered from memory, for THREAD and SORT alike.
	withIDs := []string{"1:s1<1@x>", "2:s2<2@x>", "3:s3<3@x>", "5:s5<5@x>", "6:s6<6@x>"}
	c = newSortCache(1 << 20)
	sorted(t, c, idx, box, 5, all)
	if got := cached(t, c, idx, box, 5, all, sortCacheWant|sortCacheIDs); !slices.Equal(got, withIDs) {
		t.Fatalf("THREAD fields: %v", got)
	}
	if r := idx.reads[len(idx.reads)-1]; len(r) != 5 {
		t.Fatalf("THREAD fields read %v", r)
	}
	cached(t, c, idx, box, 5, all, sortCacheWant|sortCacheIDs)
	sorted(t, c, idx, box, 5, all)
	if r := idx.reads[len(idx.reads)-1]; len(r) != 0 {
		t.Fatalf("read %v with everything cached", r)
	}
}

// TestSortCachePrunes checks that a mailbox whose cached entries far
// outnumber its messages (expunged ones) starts afresh.
func TestSortCachePrunes(t *testing.T) {
	idx := &fakeIndex{msgs: map[store.UID]bool{}}
	for u := store.UID(1); u <= 3000; u++ {
		idx.msgs[u] = true
	}
	c := newSortCache(1 << 20)
	box := sortBoxKey{mbox: 2, uidValidity: 1}
	sorted(t, c, idx, box, 3000, imapnum.Set{{Start: 1, Stop: 3000}})
	// All but one expunged, one new message.
	idx.msgs = map[store.UID]bool{3000: true, 3001: true}
	got := sorted(t, c, idx, box, 2, imapnum.Set{{Start: 3000, Stop: 3001}})
	if !slices.Equal(got, []string{"3000:s3000", "3001:s3001"}) {
		t.Fatalf("got %v", got)
	}
	if rows := c.boxes[box].rows; len(rows) != 1 || c.bytes != rows[0].memSize() {
		t.Fatalf("%d rows, %d bytes after pruning", len(rows), c.bytes)
	}
}
