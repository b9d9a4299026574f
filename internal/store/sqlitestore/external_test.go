package sqlitestore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"rookery/internal/events"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// TestExternalChangesPublished opens two stores on one data directory, as
// `rookery serve` and a `rookery deliver` process do, and checks that an
// append through the second reaches the first one's bus.
func TestExternalChangesPublished(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bus := events.NewMemory()
	server, err := Open(ctx, dir, Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	acct, err := server.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := server.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sub := bus.Subscribe(int64(acct.ID))
	defer sub.Close()

	deliver, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ingest.Write(ctx, deliver, bytes.NewReader([]byte("Subject: x\r\n\r\nbody\r\n")), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	if err := deliver.Close(); err != nil {
		t.Fatal(err)
	}
	want := inbox.HighestModSeq + 1
	deadline := time.After(20 * externalCheckInterval)
	for {
		select {
		case <-sub.C():
			evs, _ := sub.Drain()
			for _, ev := range evs {
				// ModSeq 0 (a mailbox this process has not seen change
				// yet) also makes sessions look.
				if ev.Mailbox == int64(inbox.ID) && (ev.ModSeq == 0 || ev.ModSeq >= uint64(want)) {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no event for the other process's append (want mailbox %d modseq %d)", inbox.ID, want)
		}
	}
}

// TestExternalPendingTextsIndexed: search texts another process left
// pending (a `rookery deliver` exits before its indexer ran) are indexed
// by the server's indexer once it notices that process's commit.
func TestExternalPendingTextsIndexed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server, inbox := openAlice(t, dir, Options{Bus: events.NewMemory()})
	deliver, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	deliver.w.indexPaused.Store(true)
	ref, err := ingest.Write(ctx, deliver, bytes.NewReader([]byte("Subject: x\r\n\r\nbody\r\n")), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	if err := deliver.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * externalCheckInterval)
	for {
		var n int
		if err := server.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d texts left by the other process never indexed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
