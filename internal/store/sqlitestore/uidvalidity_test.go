package sqlitestore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/store"
)

// clockStore opens a store in dir whose UIDVALIDITY clock reads *now.
func clockStore(t *testing.T, dir string, now *int64) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.now = func() time.Time { return time.Unix(*now, 0) }
	return s
}

func retiredRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM retired_names`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUIDValidityFollowsTheClock: creating many mailboxes in one second,
// one command's 60 levels included, gives them all the current time
// (issue 12: 30,000 creations had pushed the server-wide counter 30,000
// seconds ahead); only a name created again within the second goes
// ahead, by one per incarnation, and no other name with it.
func TestUIDValidityFollowsTheClock(t *testing.T) {
	ctx := context.Background()
	now := int64(1_800_000_000)
	s := clockStore(t, t.TempDir(), &now)
	a, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMailbox(ctx, a.ID, strings.TrimSuffix(strings.Repeat("R/", 60), "/"), ""); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.CreateMailbox(ctx, a.ID, "flat"+strconv.Itoa(i), ""); err != nil {
			t.Fatal(err)
		}
	}
	mbs, err := s.Mailboxes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		if int64(m.UIDValidity) != now {
			t.Fatalf("%q has UIDVALIDITY %d, the clock says %d", m.Name, m.UIDValidity, now)
		}
	}
	// One name again and again: one more each time.
	for i := range 5 {
		m, err := s.CreateMailbox(ctx, a.ID, "again", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := now + int64(i); int64(m.UIDValidity) != want {
			t.Fatalf("incarnation %d of again: UIDVALIDITY %d, want %d", i, m.UIDValidity, want)
		}
		if err := s.DeleteMailbox(ctx, a.ID, "again"); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := s.CreateMailbox(ctx, a.ID, "other", ""); err != nil || int64(m.UIDValidity) != now {
		t.Fatalf("other = %+v, %v; want UIDVALIDITY %d", m, err, now)
	}
	// A second later the history no longer matters: "again" gets the
	// clock, and rows nobody can meet again are gone.
	now += 10
	if m, err := s.CreateMailbox(ctx, a.ID, "again", ""); err != nil || int64(m.UIDValidity) != now {
		t.Fatalf("again later = %+v, %v; want UIDVALIDITY %d", m, err, now)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "other"); err != nil {
		t.Fatal(err)
	}
	// The pinned rows (live mailboxes share their value) stay; the five
	// "again" values other than the clock's are gone.
	if n := retiredRows(t, s); n != 2 {
		t.Errorf("%d retired names kept, want 2 (again and other at the old clock, shared by live mailboxes)", n)
	}
	// Clock set back: still above everything handed out for a name.
	now -= 100
	m, err := s.CreateMailbox(ctx, a.ID, "again2", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "again2"); err != nil {
		t.Fatal(err)
	}
	if m2, err := s.CreateMailbox(ctx, a.ID, "again2", ""); err != nil || m2.UIDValidity <= m.UIDValidity {
		t.Fatalf("again2 after the clock went back: %+v, %v (was %d)", m2, err, m.UIDValidity)
	}
}

// TestRenameOntoRetiredUIDValidity: mailboxes created in the same second
// share a UIDVALIDITY; one renamed onto the name of a deleted other gets
// a new UIDVALIDITY and ID (a new incarnation) with its messages, so the
// name never designates two mailboxes with one UIDVALIDITY.
func TestRenameOntoRetiredUIDValidity(t *testing.T) {
	ctx := context.Background()
	now := int64(1_800_000_000)
	s := clockStore(t, t.TempDir(), &now)
	a, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	x, err := s.CreateMailbox(ctx, a.ID, "x", "")
	if err != nil {
		t.Fatal(err)
	}
	y, err := s.CreateMailbox(ctx, a.ID, "y/sub", "")
	if err != nil {
		t.Fatal(err)
	}
	yp, err := s.Mailbox(ctx, a.ID, "y")
	if err != nil {
		t.Fatal(err)
	}
	if x.UIDValidity != y.UIDValidity || x.UIDValidity != yp.UIDValidity {
		t.Fatalf("same second, different values: %d %d %d", x.UIDValidity, y.UIDValidity, yp.UIDValidity)
	}
	ref, err := s.WriteBlob(ctx, strings.NewReader("Subject: kept\r\n\r\nbody\r\n"), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, yp.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: store.FlagFlagged}}}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Quota(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, a.ID, "y", "x"); err != nil {
		t.Fatal(err)
	}
	nx, err := s.Mailbox(ctx, a.ID, "x")
	if err != nil {
		t.Fatal(err)
	}
	if nx.UIDValidity == x.UIDValidity || nx.ID == yp.ID || nx.ID == x.ID {
		t.Fatalf("y renamed onto x: %+v; the deleted x had UIDVALIDITY %d", nx, x.UIDValidity)
	}
	if nx.UIDNext != yp.UIDNext+1 {
		t.Fatalf("UIDNEXT %d, want %d", nx.UIDNext, yp.UIDNext+1)
	}
	st, err := s.Status(ctx, nx.ID)
	if err != nil || st.Messages != 1 || st.Unseen != 1 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if _, err := s.Status(ctx, yp.ID); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("the old incarnation: %v, want ErrNoSuchMailbox", err)
	}
	if after, err := s.Quota(ctx, a.ID); err != nil || after.Messages != before.Messages || after.StorageBytes != before.StorageBytes {
		t.Fatalf("usage %+v, was %+v (%v)", after, before, err)
	}
	// The child had no earlier mailbox of its new name: it keeps both.
	if sub, err := s.Mailbox(ctx, a.ID, "x/sub"); err != nil || sub.ID != y.ID || sub.UIDValidity != y.UIDValidity {
		t.Fatalf("x/sub = %+v, %v; was %+v", sub, err, y)
	}
}

// TestRetiredNamesCapped: at most retiredCap retired names are kept per
// account; live mailboxes sharing a dropped value get a new UIDVALIDITY
// when renamed, and later values stay above the dropped ones.
func TestRetiredNamesCapped(t *testing.T) {
	ctx := context.Background()
	now := int64(1_800_000_000)
	s := clockStore(t, t.TempDir(), &now)
	s.retiredCap = 3
	a, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	keep, err := s.CreateMailbox(ctx, a.ID, "keep", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		n := "tmp" + strconv.Itoa(i)
		if _, err := s.CreateMailbox(ctx, a.ID, n, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMailbox(ctx, a.ID, n); err != nil {
			t.Fatal(err)
		}
		if r := retiredRows(t, s); r > 3 {
			t.Fatalf("%d retired names kept, cap 3", r)
		}
	}
	if m, err := s.CreateMailbox(ctx, a.ID, "tmp0", ""); err != nil || int64(m.UIDValidity) <= now {
		t.Fatalf("tmp0 again = %+v, %v; want above %d", m, err, now)
	}
	if err := s.RenameMailbox(ctx, a.ID, "keep", "tmp1"); err != nil {
		t.Fatal(err)
	}
	m, err := s.Mailbox(ctx, a.ID, "tmp1")
	if err != nil || m.UIDValidity == keep.UIDValidity || m.ID == keep.ID {
		t.Fatalf("keep renamed to tmp1 = %+v, %v; was %+v", m, err, keep)
	}
}

// TestUIDValidityMigration: migration 0015 keeps every value handed out
// by the old server-wide counter below the new ones (here the counter was
// 30,000 seconds ahead), without pushing further; mailbox IDs continue;
// an account created again under a deleted one's name starts above it.
func TestUIDValidityMigration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := int64(1_800_000_000)
	s := clockStore(t, dir, &now)
	a, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.CreateMailbox(ctx, a.ID, "old", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ahead := now + 30000
	undoMigration(t, dir, 15,
		`DROP TABLE retired_names`, `DROP TABLE retired_accounts`, `DROP INDEX mailboxes_uidvalidity`,
		`ALTER TABLE accounts DROP COLUMN uidvalidity_floor`, `ALTER TABLE mailboxes DROP COLUMN renew_uidvalidity`,
		`DELETE FROM counters WHERE name = 'mailbox_id'`,
		`UPDATE counters SET value = `+strconv.FormatInt(ahead, 10)+` WHERE name = 'uidvalidity'`)
	s = clockStore(t, dir, &now)
	for i := range 3 {
		m, err := s.CreateMailbox(ctx, a.ID, "new"+strconv.Itoa(i), "")
		if err != nil {
			t.Fatal(err)
		}
		if int64(m.UIDValidity) != ahead+1 || m.ID <= old.ID {
			t.Fatalf("after the migration: %+v, want UIDVALIDITY %d and an ID above %d", m, ahead+1, old.ID)
		}
	}
	// Account deleted and created again in the same second.
	now = ahead + 50
	b, err := s.CreateAccount(ctx, "bob", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, b.ID, "INBOX")
	if err != nil || int64(inbox.UIDValidity) != now {
		t.Fatalf("bob's INBOX = %+v, %v; want UIDVALIDITY %d", inbox, err, now)
	}
	if err := s.DeleteAccount(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	b, err = s.CreateAccount(ctx, "bob", "x")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.Mailbox(ctx, b.ID, "INBOX"); err != nil || again.UIDValidity <= inbox.UIDValidity {
		t.Fatalf("bob's INBOX again = %+v, %v; the deleted one had %d", again, err, inbox.UIDValidity)
	}
}
