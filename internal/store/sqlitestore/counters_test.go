package sqlitestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// countStatus computes what Status must report by counting the messages.
func countStatus(t *testing.T, s *Store, mbox store.MailboxID) store.MailboxStatus {
	t.Helper()
	var st store.MailboxStatus
	err := s.rdb.QueryRow(`SELECT count(*), coalesce(sum(flags & 1 = 0), 0), coalesce(sum(flags & 8 != 0), 0),
		coalesce(sum(size), 0), coalesce(sum(CASE WHEN flags & 8 != 0 THEN size ELSE 0 END), 0)
		FROM messages WHERE mailbox = ?`, mbox).Scan(&st.Messages, &st.Unseen, &st.Deleted, &st.Size, &st.DeletedSize)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func checkCounters(t *testing.T, s *Store, mboxes ...store.MailboxID) {
	t.Helper()
	for _, id := range mboxes {
		got, err := s.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := countStatus(t, s, id)
		if got.Messages != want.Messages || got.Unseen != want.Unseen || got.Deleted != want.Deleted ||
			got.Size != want.Size || got.DeletedSize != want.DeletedSize {
			t.Fatalf("mailbox %d: Status %+v, counted %+v", id, got, want)
		}
	}
}

// TestStatusCounters: the per-mailbox counters Status reads stay equal to
// a count of the messages through appends, flag changes, copies, moves,
// expunges, a rename of INBOX and deletions, and migration 0010 fills them
// for existing data.
func TestStatusCounters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	other, err := s.CreateMailbox(ctx, inbox.Account, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	flagSets := []store.SysFlags{0, store.FlagSeen, store.FlagDeleted, store.FlagSeen | store.FlagDeleted | store.FlagFlagged}
	for i := range 200 {
		boxes := []store.MailboxID{inbox.ID, other.ID}
		box := boxes[r.IntN(2)]
		uids := imapnum.Set{{Start: 1, Stop: imapnum.Star}}.Resolve(^uint32(0) - 1)
		switch op := r.IntN(10); {
		case op < 4:
			ref, err := s.WriteBlob(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("x", r.IntN(300)))), -1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, box, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: flagSets[r.IntN(len(flagSets))]}}}); err != nil {
				t.Fatal(err)
			}
		case op < 6:
			ops := []store.FlagOp{store.FlagsAdd, store.FlagsRemove, store.FlagsReplace}
			one := imapnum.Set{{Start: uint32(1 + r.IntN(50)), Stop: uint32(1 + r.IntN(50))}}.Resolve(0)
			if _, err := s.StoreFlags(ctx, box, one, ops[r.IntN(3)], store.Flags{Sys: flagSets[r.IntN(len(flagSets))]}, 0); err != nil {
				t.Fatal(err)
			}
		case op < 7:
			if _, err := s.Copy(ctx, box, uids, boxes[1-r.IntN(2)]); err != nil {
				t.Fatal(err)
			}
		case op < 8:
			if _, err := s.Move(ctx, box, imapnum.Set{{Start: 1, Stop: uint32(1 + r.IntN(30))}}, boxes[r.IntN(2)]); err != nil {
				t.Fatal(err)
			}
		default:
			if _, err := s.Expunge(ctx, box, nil); err != nil {
				t.Fatal(err)
			}
		}
		checkCounters(t, s, inbox.ID, other.ID)
	}
	// RENAME INBOX moves its messages to a new mailbox.
	if err := s.RenameMailbox(ctx, inbox.Account, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old, err := s.Mailbox(ctx, inbox.Account, "Old")
	if err != nil {
		t.Fatal(err)
	}
	checkCounters(t, s, inbox.ID, other.ID, old.ID)
	if err := s.DeleteMailbox(ctx, inbox.Account, "Other"); err != nil {
		t.Fatal(err)
	}
	checkCounters(t, s, inbox.ID, old.ID)

	// Migration 0010 on existing data.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	undoMigration(t, dir, 10,
		`DROP TRIGGER messages_counters_insert`, `DROP TRIGGER messages_counters_delete`, `DROP TRIGGER messages_counters_update`,
		`ALTER TABLE mailboxes DROP COLUMN n_messages`, `ALTER TABLE mailboxes DROP COLUMN n_unseen`,
		`ALTER TABLE mailboxes DROP COLUMN n_deleted`, `ALTER TABLE mailboxes DROP COLUMN size_all`,
		`ALTER TABLE mailboxes DROP COLUMN size_deleted`)
	if s, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkCounters(t, s, inbox.ID, old.ID)
	if st := countStatus(t, s, old.ID); st.Messages == 0 {
		t.Fatal("the test left no messages to count")
	}
}
