package pgstore

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/pgtest"
	"rookery/internal/store"
)

// TestCheckRepairs breaks what Check verifies and checks that it finds
// each problem, repairs it, and then finds none.
func TestCheckRepairs(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t), nil)
	acct, err := s.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		appendOne(t, s, inbox.ID, i)
	}
	ref, err := s.WriteBlob(ctx, strings.NewReader(strings.Repeat("orphan content\r\n", 10000)), -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE mailboxes SET n_messages = 7, uidnext = 2, highestmodseq = 1, recent_from = 99 WHERE id = ` + itoa(int64(inbox.ID)),
		`UPDATE accounts SET used_messages = 40`,
		`UPDATE blobs SET refcount = 5 WHERE refcount = 1 AND id = (SELECT min(blob) FROM messages)`,
		`UPDATE messages SET keywords = '{Lost}' WHERE uid = 1`,
		`UPDATE messages SET textver = 5 WHERE uid = 2`,
		`UPDATE blobs SET pinned_until = now() - interval '3 days' WHERE id = '` + string(ref.ID) + `'`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rep, err := s.Check(ctx, store.CheckOptions{Repair: true, Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range rep.Findings {
		if !f.Problem {
			continue // contents without a text (written without ingest)
		}
		if !f.Repaired {
			t.Errorf("not repaired: %+v", f)
		}
		kinds = append(kinds, f.Kind)
	}
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	want := []string{"highestmodseq", "keyword-set", "message-doc", "orphan-file", "quota-counter", "recent", "refcount", "status-counter", "uidnext"}
	if !slices.Equal(kinds, want) {
		t.Errorf("found %v, want %v", kinds, want)
	}
	rep, err = s.Check(ctx, store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem {
			t.Errorf("after repair: %+v", f)
		}
	}
	if _, err := s.OpenBlob(ctx, ref.ID); err == nil {
		t.Error("old unreferenced content not removed")
	}
	if rep.Accounts != 1 || rep.Messages != 3 {
		t.Errorf("counted %+v", rep)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
