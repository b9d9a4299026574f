package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, env storetest.Env) store.Store {
		s, err := Open(context.Background(), env.Dir, Options{Bus: env.Bus, MailboxLimits: env.Limits})
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

// undoMigration runs stmts (which undo migration version) on the closed
// store in dir and forgets the migration, so that the next Open applies it
// again to the data already there.
func undoMigration(t *testing.T, dir string, version int, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, "rookery.db"), connWrite))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append(stmts, fmt.Sprintf(`DELETE FROM schema_version WHERE version = %d`, version)) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
