package imapserver_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"rookery/internal/benchcorpus"
	"rookery/internal/imaptest"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// The search benchmarks run on one generated mailbox of searchBenchN
// messages (ROOKERY_SEARCH_BENCH_N overrides the default 100,000), made
// through the store: the corpus of internal/benchcorpus (distinct
// contents of realistic shape, 2–40 KB each), which tests/searchcmp loads
// into Rookery and Dovecot over IMAP for the side-by-side comparison.

func searchBenchN() int {
	if v, err := strconv.Atoi(os.Getenv("ROOKERY_SEARCH_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return benchcorpus.DefaultN
}

var searchCorpus struct {
	once  sync.Once
	srv   *imaptest.Server
	bytes int64
}

// searchServer returns the shared server with alice's INBOX filled.
func searchServer(b *testing.B) *imaptest.Server {
	searchCorpus.once.Do(func() {
		srv := imaptest.StartServerOn(keepDir{nopCleanup{b}}, benchBackend(), imaptest.DefaultMailboxLimits())
		ctx := context.Background()
		acct, err := srv.Store.Account(ctx, "alice")
		if err != nil {
			b.Fatal(err)
		}
		mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		n := searchBenchN()
		start := time.Now()
		const batch = 500
		refs := make([]store.BlobRef, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < n; i += 4 {
					ref, err := ingest.Write(ctx, srv.Store, bytes.NewReader(benchcorpus.Message(i)), -1, nil)
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					refs[i] = ref
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		wrote := time.Since(start)
		for done := 0; done < n; done += batch {
			msgs := make([]store.NewMessage, 0, batch)
			for i := done; i < min(done+batch, n); i++ {
				searchCorpus.bytes += refs[i].Size
				msgs = append(msgs, store.NewMessage{Blob: refs[i], InternalDate: benchcorpus.InternalDate(i)})
			}
			if _, err := srv.Store.Append(ctx, mb.ID, msgs); err != nil {
				b.Fatal(err)
			}
			refs = refs[:len(refs):len(refs)]
		}
		appended := time.Since(start) - wrote
		// The embedded store indexes texts behind its commits: the
		// benchmarks measure searches of an indexed mailbox, not the
		// catch-up (PostgreSQL indexes at commit).
		idxStart := time.Now()
		if err := srv.Store.WaitIndexed(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("search corpus: %d messages, %d MB, ingest.Write %v, Append %v, index catch-up %v",
			n, searchCorpus.bytes>>20, wrote, appended, time.Since(idxStart))
		searchCorpus.srv = srv
	})
	if searchCorpus.srv == nil {
		b.Fatal("setup failed")
	}
	return searchCorpus.srv
}

func benchSearch(b *testing.B, line string, minLines int) {
	c := benchDial(b, searchServer(b).Addr, "alice")
	c.cmd(b, "EXAMINE INBOX")
	b.ResetTimer()
	for b.Loop() {
		if n := c.cmd(b, line); n < minLines {
			b.Fatalf("%s: %d lines", line, n)
		}
	}
}

// BenchmarkSearchBodyRare: SEARCH BODY "rare-word" (target < 200 ms).
func BenchmarkSearchBodyRare(b *testing.B) {
	benchSearch(b, `SEARCH BODY "`+benchcorpus.RareWord+`"`, 1)
}

// BenchmarkSearchFromSubject: SEARCH FROM "x" SUBJECT "y" (target < 50 ms).
func BenchmarkSearchFromSubject(b *testing.B) {
	benchSearch(b, `SEARCH FROM "user1234@" SUBJECT "re:"`, 1)
}

// BenchmarkSearchFlags: SEARCH UNSEEN LARGER 10000 (metadata only).
func BenchmarkSearchFlags(b *testing.B) {
	benchSearch(b, `SEARCH UNSEEN LARGER 10000`, 1)
}

// BenchmarkSortDate: SORT (DATE) UTF-8 ALL (target < 300 ms).
func BenchmarkSortDate(b *testing.B) {
	benchSearch(b, `SORT (DATE) UTF-8 ALL`, 1)
}

// BenchmarkThreadReferences: THREAD REFERENCES UTF-8 ALL (target < 1 s).
func BenchmarkThreadReferences(b *testing.B) {
	benchSearch(b, `THREAD REFERENCES UTF-8 ALL`, 1)
}

// BenchmarkAppendIndexed measures ingest.Write+Append of one corpus
// message with its search text indexed; BenchmarkAppendUnindexed the same
// with the text dropped before Append (no FTS insert). ingest.Write
// extracts the text in both: BenchmarkExtractText in package searchtext is that part.
func BenchmarkAppendIndexed(b *testing.B)   { benchAppend(b, true) }
func BenchmarkAppendUnindexed(b *testing.B) { benchAppend(b, false) }

func benchAppend(b *testing.B, indexed bool) {
	srv := imaptest.StartServer(b)
	ctx := context.Background()
	acct, _ := srv.Store.Account(ctx, "alice")
	mb, _ := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ref, err := ingest.Write(ctx, srv.Store, bytes.NewReader(benchcorpus.Message(i)), -1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !indexed {
			ref.Text = nil
		}
		if _, err := srv.Store.Append(ctx, mb.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			b.Fatal(err)
		}
	}
}
