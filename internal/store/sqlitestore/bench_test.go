package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"rookery/internal/blob"
	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

func openBench(b *testing.B) (*Store, store.MailboxID) {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), Options{Bus: events.NewMemory()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	a, err := s.CreateAccount(context.Background(), "bench", "x")
	if err != nil {
		b.Fatal(err)
	}
	m, err := s.Mailbox(context.Background(), a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	return s, m.ID
}

// BenchmarkAppendParallel: 8 goroutines, durable APPEND of distinct 5 KB
// messages (WriteBlob + Append each).
func BenchmarkAppendParallel(b *testing.B) {
	ctx := context.Background()
	s, mbox := openBench(b)
	body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz\r\n"), 5*1024/38)
	var next atomic.Int64
	b.SetBytes(int64(len(body)) + 16)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				msg := append(fmt.Appendf(nil, "Message-Id: %016d\r\n", n), body...)
				ref, err := ingest.Write(ctx, s, bytes.NewReader(msg), -1, nil)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := s.Append(ctx, mbox, []store.NewMessage{{Blob: ref}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func fill(b *testing.B, s *Store, mbox store.MailboxID, n int) {
	b.Helper()
	ctx := context.Background()
	ref, err := ingest.Write(ctx, s, bytes.NewReader([]byte("Subject: x\r\n\r\nx\r\n")), -1, nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	msgs := make([]store.NewMessage, batch)
	for i := 0; i < n; i += batch {
		for j := range msgs {
			msgs[j] = store.NewMessage{Blob: ref}
			if (i+j)%3 == 0 {
				msgs[j].Flags = store.Flags{Sys: store.FlagSeen}
			}
			if (i+j)%50 == 0 {
				msgs[j].Flags.Keywords = []string{"$Important"}
			}
		}
		if _, err := s.Append(ctx, mbox, msgs[:min(batch, n-i)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshot100k(b *testing.B) {
	s, mbox := openBench(b)
	fill(b, s, mbox, 100_000)
	b.ResetTimer()
	for b.Loop() {
		snap, err := s.Snapshot(context.Background(), mbox)
		if err != nil || len(snap.UIDs) != 100_000 {
			b.Fatal(len(snap.UIDs), err)
		}
	}
}

func BenchmarkFetch100k(b *testing.B) {
	s, mbox := openBench(b)
	fill(b, s, mbox, 100_000)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		var seen int
		err := s.Fetch(context.Background(), mbox, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(m store.Message) error {
			n++
			if m.Flags.Sys&store.FlagSeen != 0 {
				seen++
			}
			return nil
		})
		if err != nil || n != 100_000 {
			b.Fatal(n, err)
		}
	}
}

func TestBlobFaults(t *testing.T) {
	ctx := context.Background()
	ffs := blob.NewFaultFS(blob.OSFS{})
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{FS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []blob.Op{blob.OpWrite, blob.OpSync, blob.OpRename, blob.OpSyncDir} {
		ffs.FailOp(op)
		_, err := s.WriteBlob(ctx, bytes.NewReader(fileSized("content "+string(op))), -1)
		ffs.SetFail(nil)
		if !errors.Is(err, blob.ErrInjected) {
			t.Fatalf("%s: err = %v", op, err)
		}
	}
	var visible int
	if err := s.Blobs().List(ctx, func(string, int64) error { visible++; return nil }); err != nil {
		t.Fatal(err)
	}
	if visible != 1 { // only the one whose directory sync failed after the rename
		t.Fatalf("%d visible blobs after faults", visible)
	}
	// The store keeps working, and a failed file removal after a commit
	// only leaves an orphan.
	ref, err := s.WriteBlob(ctx, bytes.NewReader(fileSized("good")), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: store.FlagDeleted}}}); err != nil {
		t.Fatal(err)
	}
	ffs.FailOp(blob.OpRemove)
	if _, err := s.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	ffs.SetFail(nil)
	if st, err := s.Status(ctx, inbox.ID); err != nil || st.Messages != 0 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// fileSized returns a content of inlineMax+1 bytes starting with s: one
// that WriteBlob stores in a file.
func fileSized(s string) []byte {
	return append([]byte(s), bytes.Repeat([]byte{'.'}, inlineMax+1-len(s))...)
}

func TestUnreferencedBlobDeleted(t *testing.T) {
	for _, content := range [][]byte{[]byte("to be deleted"), fileSized("to be deleted")} {
		testUnreferencedBlobDeleted(t, content)
	}
}

func testUnreferencedBlobDeleted(t *testing.T, content []byte) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	ref, err := s.WriteBlob(ctx, bytes.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	if inline := ref.Content != nil; inline != (len(content) <= inlineMax) {
		t.Fatalf("%d bytes: inline %v", len(content), inline)
	}
	var files int
	if err := s.Blobs().List(ctx, func(string, int64) error { files++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := len(content) / (inlineMax + 1); files != want {
		t.Fatalf("%d bytes: %d files, want %d", len(content), files, want)
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: store.FlagDeleted}}}); err != nil {
		t.Fatal(err)
	}
	// Pretend the WriteBlob was long ago, so the file is not pinned.
	s.pinMu.Lock()
	delete(s.pins, string(ref.ID))
	s.pinMu.Unlock()
	if _, err := s.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBlob(ctx, ref.ID); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("blob still there: %v", err)
	}
	var rows int
	if err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM contents) + (SELECT count(*) FROM search_docs)`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d blob rows left (%v)", rows, err)
	}
}

// TestFetchContentInline checks that FetchContent brings small contents
// with their rows and leaves larger ones to OpenBlob.
func TestFetchContentInline(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	for _, content := range [][]byte{[]byte("Subject: small\r\n\r\nx\r\n"), fileSized("Subject: large\r\n\r\n")} {
		ref, err := s.WriteBlob(ctx, bytes.NewReader(content), -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	var inline []bool
	err := s.FetchContent(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, func(m store.Message) error {
		inline = append(inline, m.Content != nil)
		return nil
	})
	if err != nil || len(inline) != 2 || !inline[0] || inline[1] {
		t.Fatalf("inline contents %v, %v", inline, err)
	}
}
