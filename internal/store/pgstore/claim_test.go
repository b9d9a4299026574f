package pgstore

import (
	"sync"
	"testing"

	"rookery/internal/pgtest"
	"rookery/internal/store"
)

// TestClaimRecentConcurrent: sessions on two nodes claiming \Recent
// while messages arrive each get disjoint ranges, which together cover
// every message once.
func TestClaimRecentConcurrent(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := open(t, dsn, nil), open(t, dsn, nil)
	acct, err := a.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := a.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const msgs = 60
	var mu sync.Mutex
	owner := map[store.UID]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 6 {
		s := []*Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := false; !done; {
				select {
				case <-stop:
					done = true // one last claim after the appends
				default:
				}
				lo, hi, err := s.ClaimRecent(ctx, inbox.ID)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for u := lo; u < hi; u++ {
					if o, ok := owner[u]; ok {
						t.Errorf("UID %d claimed by sessions %d and %d", u, o, w)
					}
					owner[u] = w
				}
				mu.Unlock()
			}
		}()
	}
	for i := range msgs {
		appendOne(t, []*Store{a, b}[i%2], inbox.ID, i)
	}
	close(stop)
	wg.Wait()
	if len(owner) != msgs {
		t.Fatalf("%d of %d messages claimed", len(owner), msgs)
	}
	for u := store.UID(1); u <= msgs; u++ {
		if _, ok := owner[u]; !ok {
			t.Fatalf("UID %d never claimed", u)
		}
	}
}
