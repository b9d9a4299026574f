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
