// Command mkinstall fills a data directory of the embedded store with a
// large installation for benchmarks (the backup benchmark of
// BENCHMARKS.md): N messages of internal/benchcorpus, spread over the
// "Archive" mailbox of accounts user1..userU, which must exist (rookery
// user add). It writes through the store's bulk path (ingest, Append in
// batches) on a directory no server is using, and waits until the
// search index has every text.
//
//	go run ./tests/mkinstall -data DIR -users 20 -n 100000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"rookery/internal/benchcorpus"
	"rookery/internal/ingest"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

func main() {
	data := flag.String("data", "", "data directory (accounts user1..userU exist)")
	users := flag.Int("users", 20, "accounts")
	n := flag.Int("n", 100000, "messages in all")
	batch := flag.Int("batch", 250, "messages per Append")
	flag.Parse()
	if *data == "" || *users < 1 || *n < 0 || *batch < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *data, *users, *n, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "mkinstall:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, data string, users, n, batch int) error {
	st, err := sqlitestore.Open(ctx, data, sqlitestore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	boxes := make([]store.MailboxID, users)
	for u := range users {
		name := fmt.Sprintf("user%d", u+1)
		acct, err := st.Account(ctx, name)
		if err != nil {
			return fmt.Errorf("account %s: %w", name, err)
		}
		mb, err := st.Mailbox(ctx, acct.ID, "Archive")
		if err != nil {
			if mb, err = st.CreateMailbox(ctx, acct.ID, "Archive", ""); err != nil {
				return fmt.Errorf("create %s/Archive: %w", name, err)
			}
		}
		boxes[u] = mb.ID
	}
	start := time.Now()
	pending := make([][]store.NewMessage, users)
	flush := func(u int) error {
		if len(pending[u]) == 0 {
			return nil
		}
		if _, err := st.Append(ctx, boxes[u], pending[u]); err != nil {
			return err
		}
		pending[u] = pending[u][:0]
		return nil
	}
	for i := range n {
		u := i % users
		ref, err := ingest.Write(ctx, st, bytes.NewReader(benchcorpus.Message(i)), -1, nil)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		var fl store.Flags
		if i%3 == 0 {
			fl.Sys = store.FlagSeen
		}
		pending[u] = append(pending[u], store.NewMessage{Blob: ref, Flags: fl, InternalDate: benchcorpus.InternalDate(i)})
		if len(pending[u]) >= batch {
			if err := flush(u); err != nil {
				return err
			}
		}
		if (i+1)%10000 == 0 {
			fmt.Printf("%d messages, %.0f/s\n", i+1, float64(i+1)/time.Since(start).Seconds())
		}
	}
	for u := range users {
		if err := flush(u); err != nil {
			return err
		}
	}
	fmt.Printf("%d messages in %s; indexing\n", n, time.Since(start).Round(time.Second))
	if err := st.WaitIndexed(ctx); err != nil {
		return err
	}
	fmt.Printf("indexed after %s\n", time.Since(start).Round(time.Second))
	return nil
}
