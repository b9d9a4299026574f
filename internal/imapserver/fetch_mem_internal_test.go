package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

// TestFetchBatchMemory: a FETCH holds the anatomies and inline contents
// of one batch of messages at a time, not of every message it has
// answered so far, and a batch's contents stay within contentBatchBytes.
func TestFetchBatchMemory(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, t.TempDir(), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 60, 100 << 10 // inline contents (up to 256 KiB)
	var batch []store.NewMessage
	for i := range n {
		msg := fmt.Sprintf("From: a@example.org\r\nSubject: %d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n%s\r\n--b--\r\n",
			i, strings.Repeat("x", size))
		ref, err := ingest.Write(ctx, st, strings.NewReader(msg), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, store.NewMessage{Blob: ref})
	}
	if _, err := st.Append(ctx, mb.ID, batch); err != nil {
		t.Fatal(err)
	}
	var msgs []store.Message
	if err := st.Fetch(ctx, mb.ID, imapnum.Set{{Start: 1, Stop: imapnum.Star}}, func(m store.Message) error {
		msgs = append(msgs, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("%d messages", len(msgs))
	}

	// Batches by size: each within contentBatchBytes, at least one
	// message.
	for rest := msgs; len(rest) > 0; {
		k := contentBatch(rest)
		var sum int64
		for _, m := range rest[:k] {
			sum += m.Size
		}
		if k < 1 || (k > 1 && sum > contentBatchBytes) || (k < len(rest) && sum+rest[k].Size <= contentBatchBytes) {
			t.Fatalf("batch of %d messages, %d bytes, of %d left", k, sum, len(rest))
		}
		rest = rest[k:]
	}
	big := []store.Message{{Size: 2 * contentBatchBytes}, {Size: 1}}
	if k := contentBatch(big); k != 1 {
		t.Fatalf("a message above the budget: batch of %d", k)
	}

	// The anatomies of earlier batches are let go.
	srv := New(Options{Store: st})
	f := &fetcher{c: &conn{srv: srv, sel: &selected{mailbox: mb}}, ctx: ctx}
	for _, b := range [][]store.Message{msgs[:10], msgs[10:15]} {
		got, err := f.withBodies(b, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(b) || len(f.roots) != len(b) {
			t.Fatalf("batch of %d: %d messages, %d anatomies held", len(b), len(got), len(f.roots))
		}
		for _, m := range got {
			if len(m.Content) < size || f.roots[m.Blob] == nil {
				t.Fatalf("UID %d: %d bytes of content, anatomy %v", m.UID, len(m.Content), f.roots[m.Blob] != nil)
			}
		}
	}
}
