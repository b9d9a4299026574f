package sqlitestore

import (
	"context"
	"errors"
	"testing"

	"rookery/internal/store"
)

// TestMigrationAccountNames checks migration 14 on accounts created under
// spellings that the canonical-name rule would not give: each is renamed
// to its canonical form unless that is taken (or there is none), and
// every account stays reachable under the spelling it was created with.
func TestMigrationAccountNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob", "carol", "dave", "erin"} {
		if _, err := s.CreateAccount(ctx, name, "hash-"+name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Names as an older `rookery user add` stored them.
	undoMigration(t, dir, 14,
		`UPDATE accounts SET name = 'Alice' WHERE name = 'bob'`,   // renamed to alice
		`UPDATE accounts SET name = 'ALICE' WHERE name = 'carol'`, // alice is taken: kept
		`UPDATE accounts SET name = 'snow☃' WHERE name = 'dave'`,  // no canonical form: kept
		`UPDATE accounts SET name = 'Zoë' WHERE name = 'erin'`,    // renamed to zoë
	)
	if s, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	infos, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range infos {
		names = append(names, a.Name)
	}
	if got, want := names, []string{"ALICE", "alice", "snow☃", "zoë"}; !equal(got, want) {
		t.Errorf("accounts after the migration: %q, want %q", got, want)
	}
	for _, tt := range []struct{ login, hash string }{
		{"Alice", "hash-bob"}, {"alice", "hash-bob"}, {"aLiCe", "hash-bob"},
		{"ALICE", "hash-carol"},
		{"snow☃", "hash-dave"},
		{"Zoë", "hash-erin"}, {"ZOË", "hash-erin"},
	} {
		a, err := s.Account(ctx, tt.login)
		if err != nil || a.PasswordHash != tt.hash {
			t.Errorf("Account(%q) = %+v, %v; want the account with %s", tt.login, a, err, tt.hash)
		}
	}
	if _, err := s.Account(ctx, "SNOW☃"); !errors.Is(err, store.ErrNoSuchAccount) {
		t.Errorf("Account(SNOW☃): %v, want ErrNoSuchAccount (no canonical form: only as spelt)", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
