package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/pgtest"
	"rookery/internal/store"
)

func openBench(b *testing.B) (*Store, store.MailboxID) {
	b.Helper()
	s, err := Open(context.Background(), pgtest.NewDatabase(b), Options{Bus: events.NewMemory()})
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
// messages to one mailbox (ingest.Write + Append each), as sqlitestore's.
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

// fill appends n messages with texts, a third \Seen, one in fifty with
// a keyword, one in a hundred with "needle" in its body.
func fill(b *testing.B, s *Store, mbox store.MailboxID, n int) {
	b.Helper()
	ctx := context.Background()
	const batch = 5000
	msgs := make([]store.NewMessage, batch)
	for i := 0; i < n; i += batch {
		for j := range msgs {
			word := "haystack"
			if (i+j)%100 == 0 {
				word = "needle"
			}
			ref, err := ingest.Write(ctx, s, bytes.NewReader(fmt.Appendf(nil, "Subject: %d\r\n\r\nsome %s text %d\r\n", i+j, word, i+j)), -1, nil)
			if err != nil {
				b.Fatal(err)
			}
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

func BenchmarkMailbox100k(b *testing.B) {
	s, mbox := openBench(b)
	fill(b, s, mbox, 100_000)
	ctx := context.Background()
	b.Run("Snapshot", func(b *testing.B) {
		for b.Loop() {
			snap, err := s.Snapshot(ctx, mbox)
			if err != nil || len(snap.UIDs) != 100_000 {
				b.Fatal(len(snap.UIDs), err)
			}
		}
	})
	b.Run("Fetch", func(b *testing.B) {
		for b.Loop() {
			n := 0
			err := s.Fetch(ctx, mbox, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(m store.Message) error {
				n++
				return nil
			})
			if err != nil || n != 100_000 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("SearchBody", func(b *testing.B) {
		for b.Loop() {
			uids, err := s.SearchCandidates(ctx, mbox, store.IndexKey{Op: store.IndexNeedle, Field: store.TextBody, Value: "NEEDLE"})
			if err != nil || len(uids) != 1000 {
				b.Fatal(len(uids), err)
			}
		}
	})
	b.Run("SearchFlag", func(b *testing.B) {
		for b.Loop() {
			uids, err := s.SearchCandidates(ctx, mbox, store.IndexKey{Op: store.IndexNot, Sub: []store.IndexKey{{Op: store.IndexFlag, Flag: store.FlagSeen}}})
			if err != nil || len(uids) == 0 {
				b.Fatal(len(uids), err)
			}
		}
	})
}
