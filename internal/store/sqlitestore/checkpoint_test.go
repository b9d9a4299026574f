package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/ingest"
	"rookery/internal/store"
)

// TestCheckpointerCopiesWAL: the writer does no automatic checkpoints, so
// committed pages reach the database file only through the checkpointer;
// without it the file would stay as small as the schema while the WAL
// grew without end.
func TestCheckpointerCopiesWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	db := filepath.Join(dir, "rookery.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	start := fi.Size()
	const n, size = 100, 40 << 10
	for i := range n {
		msg := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat(fmt.Sprintf("line %d of a longer body\r\n", i), size/30))
		ref, err := ingest.Write(ctx, s, strings.NewReader(msg), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= start+n*size/2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (%d at the start) after %d KiB committed: no checkpoint", fi.Size(), start, n*size>>10)
		}
	}
}

// TestWALStartsAgainUnderLoad: with APPENDs arriving without a pause, the
// WAL still starts again from its beginning once longer than
// walRestartFrames and is truncated to walSizeLimit, instead of growing
// for as long as the load lasts (300 MB in 30 s before the writer took
// part in restarting it).
func TestWALStartsAgainUnderLoad(t *testing.T) {
	frames, limit := walRestartFrames, walSizeLimit
	walRestartFrames, walSizeLimit = 128, 1<<20
	t.Cleanup(func() { walRestartFrames, walSizeLimit = frames, limit })
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	wal := filepath.Join(dir, "rookery.db-wal")
	body := strings.Repeat("a line of a message body that fills pages\r\n", 400)
	var peak int64
	done := make(chan error, 4)
	stop := time.Now().Add(3 * time.Second)
	for g := range 4 {
		go func() {
			for i := 0; time.Now().Before(stop); i++ {
				msg := fmt.Sprintf("Subject: %d-%d\r\n\r\n%s", g, i, body)
				ref, err := ingest.Write(ctx, s, strings.NewReader(msg), -1, nil)
				if err == nil {
					_, err = s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}})
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for n := 0; n < 4; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			n++
		case <-time.After(20 * time.Millisecond):
			if fi, err := os.Stat(wal); err == nil {
				peak = max(peak, fi.Size())
			}
		}
	}
	var msgs int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM messages`).Scan(&msgs); err != nil {
		t.Fatal(err)
	}
	total := msgs * int64(len(body))
	if total < 8*walSizeLimit {
		t.Skipf("only %d messages (%d KiB) stored in 3 s: too few to tell", msgs, total>>10)
	}
	// Between two looks of the checkpointer (checkpointEvery) the
	// writer adds a few MB here; without the restarts the WAL held
	// nearly everything written (38 MB of 600 messages, against 6 MB).
	// On a fast machine the writer adds more between two looks: the bound
	// grows with what was stored, which the WAL without restarts held
	// whole and more (contents, texts, indexes).
	if bound := max(12*walSizeLimit, total/2); peak > bound {
		t.Fatalf("WAL reached %d KiB under load (%d messages of %d KiB); limit %d KiB", peak>>10, msgs, len(body)>>10, walSizeLimit>>10)
	}
}
