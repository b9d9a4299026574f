package sqlitestore

import (
	"context"
	"testing"

	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, env storetest.Env) store.Store {
		s, err := Open(context.Background(), env.Dir, Options{Bus: env.Bus})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// openAlice opens a store in dir with the account alice and returns it
// with alice's INBOX. The store is closed when the test ends (Close may
// also be called before).
func openAlice(t *testing.T, dir string, opts Options) (*Store, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	acct, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s, inbox
}
