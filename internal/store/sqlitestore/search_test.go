package sqlitestore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/search"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

func TestSearchIndexMaintenance(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	trash, _ := s.Mailbox(ctx, inbox.Account, "Trash")
	docs := func() int {
		var n int
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_docs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	find := func(mbox store.MailboxID, k search.Key) []store.UID {
		t.Helper()
		uids, err := s.SearchCandidates(ctx, mbox, searchtext.IndexKey(k))
		if err != nil {
			t.Fatal(err)
		}
		return uids
	}
	msgs := []string{
		"From: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\r\nSubject: ΣΊΣΥΦΟΣ\r\n\r\nquarterly report\r\n",
		"From: bob@example.org\r\nSubject: lunch\r\nContent-Transfer-Encoding: base64\r\n\r\nc2lzeXBodXMgd2FzIGhlcmU=\r\n",
	}
	var nm []store.NewMessage
	for _, m := range msgs {
		ref, err := ingest.Write(ctx, s, strings.NewReader(m), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Text == nil {
			t.Fatal("WriteBlob extracted no text")
		}
		nm = append(nm, store.NewMessage{Blob: ref})
	}
	if _, err := s.Append(ctx, inbox.ID, nm); err != nil {
		t.Fatal(err)
	}
	if n := docs(); n != 2 {
		t.Fatalf("%d documents after append, want 2", n)
	}
	cases := []struct {
		k    search.Key
		want []store.UID
	}{
		{search.Header("From", "JÖRG"), []store.UID{1}},
		{search.Header("Subject", "σίσυφος"), []store.UID{1}}, // final sigma folds to sigma
		{search.Key{Op: search.OpBody, Value: "SISYPHUS"}, []store.UID{2}},
		{search.Key{Op: search.OpText, Value: "report"}, []store.UID{1}},
		{search.Key{Op: search.OpBody, Value: "lunch"}, nil},
		{search.And(search.Key{Op: search.OpText, Value: "example"}, search.Not(search.Flag(store.FlagSeen))), []store.UID{1, 2}},
		{search.And(search.Header("From", "jörg"), search.Header("Subject", "σίσυφος")), []store.UID{1}},
		{search.And(search.Header("From", "bob"), search.Key{Op: search.OpBody, Value: "sisyphus"}, search.Key{Op: search.OpLarger, N: 10}), []store.UID{2}},
		{search.And(search.Header("From", "jörg"), search.Key{Op: search.OpBody, Value: "sisyphus"}), nil},
		{search.Or(search.Header("Subject", "lunch"), search.Key{Op: search.OpUID, Set: imapnum.Set{{Start: 1, Stop: 1}}}), []store.UID{1, 2}},
	}
	waitIndexed(t, s)
	for _, c := range cases {
		if got := find(inbox.ID, c.k); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.k, got, c.want)
		}
	}
	// A copy shares the document; expunging one reference keeps it.
	if _, err := s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, trash.ID); err != nil {
		t.Fatal(err)
	}
	if n := docs(); n != 2 {
		t.Fatalf("%d documents after copy, want 2", n)
	}
	if got := find(trash.ID, search.Key{Op: search.OpBody, Value: "sisyphus"}); !slices.Equal(got, []store.UID{2}) {
		t.Errorf("copy: got %v", got)
	}
	if _, err := s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	if n := docs(); n != 2 {
		t.Fatalf("%d documents after expunging one copy, want 2", n)
	}
	if err := s.DeleteMailbox(ctx, inbox.Account, "Trash"); err != nil {
		t.Fatal(err)
	}
	if n := docs(); n != 0 {
		t.Fatalf("%d documents after the last reference went, want 0", n)
	}
	var fts int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_text`).Scan(&fts); err != nil || fts != 0 {
		t.Fatalf("%d FTS rows left (%v)", fts, err)
	}
	// Reindex rebuilds what exists.
	ref, _ := ingest.Write(ctx, s, strings.NewReader(msgs[0]), -1, nil)
	ref.Text = nil // as if stored before the index existed
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	if got := find(inbox.ID, search.Key{Op: search.OpBody, Value: "nothing like it"}); len(got) != 1 {
		t.Errorf("unindexed message is not a candidate: %v", got)
	}
	if n, err := ingest.Reindex(ctx, s, "", nil); err != nil || n != 1 {
		t.Fatalf("Reindex = %d, %v", n, err)
	}
	waitIndexed(t, s)
	if got := find(inbox.ID, search.Key{Op: search.OpBody, Value: "nothing like it"}); len(got) != 0 {
		t.Errorf("after reindex: %v", got)
	}
	if got := find(inbox.ID, search.Key{Op: search.OpBody, Value: "quarterly"}); len(got) != 1 {
		t.Errorf("after reindex: %v", got)
	}
}

// TestSearchAddressText checks the address text of the index (what
// FROM/TO/CC/BCC search, search.OpAddress) and that a document written
// before it (text version 1) stays a candidate for address keys until
// it is reindexed.
func TestSearchAddressText(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	msgs := []string{
		"From: <ann-x (note)@ (note) example.net>\r\nTo: crew: a@example.net;\r\n\r\none\r\n",
		"From: Bo <bo@example.net>\r\nTo: b@example.net\r\n\r\ntwo\r\n",
	}
	var nm []store.NewMessage
	for _, m := range msgs {
		ref, err := ingest.Write(ctx, s, strings.NewReader(m), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		nm = append(nm, store.NewMessage{Blob: ref})
	}
	if _, err := s.Append(ctx, inbox.ID, nm); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		k    search.Key
		want []store.UID
	}{
		{search.Address("From", "ann-x@example.net"), []store.UID{1}},
		{search.Address("To", "crew:"), []store.UID{1}},
		{search.Address("From", "bo <bo@"), []store.UID{2}},
		{search.And(search.Address("From", "example.net"), search.Address("To", "b@example")), []store.UID{2}},
	}
	check := func(s *Store, old bool) {
		t.Helper()
		waitIndexed(t, s)
		for _, c := range cases {
			want := c.want
			if old && c.k.Op != search.OpHeader {
				want = []store.UID{1, 2} // every old document is a candidate
			}
			got, err := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(c.k))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("old %v, %v: got %v, want %v", old, c.k, got, want)
			}
		}
	}
	check(s, false)
	// Documents of version 1, as migration 0009 leaves them.
	err := s.w.do(ctx, func(t *wtx) error {
		_, err := t.exec(`UPDATE search_docs SET textver = 1`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, dir)
	check(s, true)
	if _, err := ingest.Reindex(ctx, s, "", nil); err != nil {
		t.Fatal(err)
	}
	check(s, false)
}

// waitIndexed waits (bounded) until the indexer has no text pending.
func waitIndexed(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatalf("search texts still pending: %d", s.PendingTexts())
	}
}

// reopen opens an existing store.
func reopen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestSearchTextsInBatches checks the deferred FTS insert (insertTexts)
// under group commit: appends and expunges of shared contents from many
// goroutines land in common batches, where a document can be created,
// deleted and its rowid reused before the texts are written. Every
// document must end with exactly its own text, and no text without one.
func TestSearchTextsInBatches(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				body := fmt.Sprintf("Subject: m%d\r\n\r\nword%d body\r\n", (g+i)%5, (g+i)%5)
				ref, err := ingest.Write(ctx, s, strings.NewReader(body), -1, nil)
				if err != nil {
					errs <- err
					return
				}
				res, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}})
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					set := imapnum.Set{{Start: res.UIDs[0], Stop: res.UIDs[0]}}
					if _, err := s.StoreFlags(ctx, inbox.ID, set, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
						errs <- err
						return
					}
					if _, err := s.Expunge(ctx, inbox.ID, set); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitIndexed(t, s)
	var orphans, missing, docs int
	q := `SELECT (SELECT count(*) FROM search_text WHERE rowid NOT IN (SELECT id FROM search_docs)),
		(SELECT count(*) FROM search_docs WHERE id NOT IN (SELECT rowid FROM search_text)),
		(SELECT count(*) FROM search_docs)`
	if err := s.rdb.QueryRowContext(ctx, q).Scan(&orphans, &missing, &docs); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || missing != 0 || docs == 0 {
		t.Errorf("%d texts without document, %d documents without text, %d documents", orphans, missing, docs)
	}
	// Each remaining document's text is its own: the index holds no
	// copy of the text (migration 0013), so ask it which documents hold
	// each body's distinctive trigram.
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, subject FROM search_docs`)
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		id   int64
		subj string
	}
	var all []doc
	for rows.Next() {
		var d doc
		if err := rows.Scan(&d.id, &d.subj); err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		for k := range 5 {
			var n int
			q := fmt.Sprintf(`body : "rd%d"`, k)
			if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM search_text WHERE search_text MATCH ? AND rowid = ?`, q, d.id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := d.subj == fmt.Sprintf("m%d", k); (n == 1) != want {
				t.Errorf("document %d with subject %q: text holds word%d: %v", d.id, d.subj, k, n == 1)
			}
		}
	}
}

// TestPendingTextsAreCandidates: a message whose text the indexer has not
// reached yet is a candidate for every text search (exactness never waits
// for the index), and once indexed only matching searches return it; the
// pending texts survive a restart and are indexed after it.
func TestPendingTextsAreCandidates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	s.w.indexPaused.Store(true)
	ref, err := ingest.Write(ctx, s, strings.NewReader("Subject: hello\r\n\r\nquarterly numbers\r\n"), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	if n := s.PendingTexts(); n != 1 {
		t.Fatalf("%d texts pending, want 1", n)
	}
	time.Sleep(20 * time.Millisecond)
	if n, lag, err := s.IndexBacklog(ctx); err != nil || n != 1 || lag < 20*time.Millisecond || lag > time.Hour {
		t.Fatalf("IndexBacklog = %d, %v, %v; want 1 and the time since the append", n, lag, err)
	}
	for _, k := range []search.Key{{Op: search.OpBody, Value: "quarterly"}, {Op: search.OpBody, Value: "nowhere"}} {
		if got, err := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(k)); err != nil || !slices.Equal(got, []store.UID{1}) {
			t.Fatalf("%v while pending: %v, %v; want [1]", k, got, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, dir)
	waitIndexed(t, s)
	if n, lag, err := s.IndexBacklog(ctx); err != nil || n != 0 || lag != 0 {
		t.Fatalf("IndexBacklog after indexing = %d, %v, %v", n, lag, err)
	}
	if got, _ := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: "nowhere"})); len(got) != 0 {
		t.Fatalf("indexed after the restart, a non-matching search still returns %v", got)
	}
	if got, _ := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: "quarterly"})); !slices.Equal(got, []store.UID{1}) {
		t.Fatalf("indexed after the restart: %v, want [1]", got)
	}
}

// TestMigrationTrigramSets checks migration 0013: the texts of an index
// made before it (positions and a copy of the text) go back to pending,
// stay candidates meanwhile, and are indexed again in the new table.
func TestMigrationTrigramSets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	for _, m := range []string{"Subject: hello\r\n\r\nquarterly numbers\r\n", "Subject: other\r\n\r\nlunch at noon\r\n"} {
		ref, err := ingest.Write(ctx, s, strings.NewReader(m), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	waitIndexed(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	undoMigration(t, dir, 13,
		`DROP TABLE search_text`,
		`CREATE VIRTUAL TABLE search_text USING fts5(hfrom, hto, hcc, hbcc, hsubject, hother, body, tokenize = 'trigram')`,
		`INSERT INTO search_text(rowid, hfrom, hto, hcc, hbcc, hsubject, hother, body)
			SELECT id, '', '', '', '', upper(subject), '', CASE WHEN subject = 'hello' THEN 'QUARTERLY NUMBERS' ELSE 'LUNCH AT NOON' END FROM search_docs`)
	s = reopen(t, dir)
	s.w.indexPaused.Store(true)
	if n := s.PendingTexts(); n != 2 {
		t.Errorf("%d texts pending after the migration, want 2", n)
	}
	body := func(v string) store.IndexKey {
		return searchtext.IndexKey(search.Key{Op: search.OpBody, Value: v})
	}
	if got, err := s.SearchCandidates(ctx, inbox.ID, body("quarterly")); err != nil || !slices.Equal(got, []store.UID{1, 2}) {
		t.Errorf("pending: candidates %v, %v; want both", got, err)
	}
	s.w.indexPaused.Store(false)
	// A write wakes the writer, which indexes once it is idle again.
	if _, err := s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	waitIndexed(t, s)
	for v, want := range map[string][]store.UID{"quarterly": {1}, "at noon": {2}, "nowhere": nil} {
		if got, err := s.SearchCandidates(ctx, inbox.ID, body(v)); err != nil || !slices.Equal(got, want) {
			t.Errorf("BODY %q after reindexing: %v, %v; want %v", v, got, err, want)
		}
	}
}

// TestIndexSegmentsMerged checks that the indexer merges the FTS5
// segments itself (automatic merges are off, migration 0013): indexing
// documents one step at a time makes a segment per step, which only
// merging keeps few for searches to read.
func TestIndexSegmentsMerged(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	const n = 300
	for i := range n {
		msg := fmt.Sprintf("Subject: note %d\r\n\r\nword%d body text\r\n", i, i)
		ref, err := ingest.Write(ctx, s, strings.NewReader(msg), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
		waitIndexed(t, s) // one step, one segment, per message
	}
	var segs int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(DISTINCT segid) FROM search_text_idx`).Scan(&segs); err != nil {
		t.Fatal(err)
	}
	// Merged four at a time (FTS5's usermerge) the segments stay a few;
	// FTS5's emergency merge alone leaves about fifteen.
	if segs > 8 {
		t.Errorf("%d index segments after %d steps: not merged", segs, n)
	}
	got, err := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: "word123 "}))
	if err != nil || !slices.Equal(got, []store.UID{124}) {
		t.Errorf("BODY word123: %v, %v", got, err)
	}
}

// TestIndexStepsKeepJobsDurable: index steps commit without fsync, and
// every job after one commits with synchronous=FULL again.
func TestIndexStepsKeepJobsDurable(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	for i := range 3 {
		ref, err := ingest.Write(ctx, s, strings.NewReader(fmt.Sprintf("Subject: s%d\r\n\r\nbody text\r\n", i)), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		var mode int
		if err := s.w.do(ctx, func(tx *wtx) error {
			return tx.queryRow(`PRAGMA synchronous`).Scan(&mode)
		}); err != nil {
			t.Fatal(err)
		}
		if mode != 2 {
			t.Fatalf("a job after an index step runs with synchronous=%d, want 2 (FULL)", mode)
		}
	}
}

// TestTextMatchesBothWays checks both ways textMatches joins the
// documents a text query matched to a mailbox's messages: by looking up
// each match (few matches for the mailbox's size) and by reading the
// mailbox's messages (many matches, most of them in other mailboxes).
func TestTextMatchesBothWays(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	small, err := s.CreateMailbox(ctx, inbox.Account, "Small", "")
	if err != nil {
		t.Fatal(err)
	}
	add := func(mbox store.MailboxID, subject, body string) {
		t.Helper()
		ref, err := ingest.Write(ctx, s, strings.NewReader("Subject: "+subject+"\r\n\r\n"+body+"\r\n"), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, mbox, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	// INBOX: 60 messages about the budget, one also mentions a zeppelin.
	for i := range 60 {
		body := fmt.Sprintf("budget line %d", i)
		if i == 41 {
			body += " and a zeppelin"
		}
		add(inbox.ID, fmt.Sprintf("budget %d", i), body)
	}
	// Small: three messages, one about the budget, one about a zeppelin.
	add(small.ID, "lunch", "budget for lunch")
	add(small.ID, "travel", "by zeppelin")
	add(small.ID, "photos", "nothing")
	waitIndexed(t, s)
	for _, tc := range []struct {
		mbox store.MailboxID
		word string
		want []store.UID
	}{
		{inbox.ID, "zeppelin", []store.UID{42}}, // 2 matches, 60 messages: looked up
		{inbox.ID, "budget", seqUIDs(1, 60)},    // 61 matches: the mailbox is read
		{small.ID, "budget", []store.UID{1}},    // read
		{small.ID, "zeppelin", []store.UID{2}},  // read
		{small.ID, "nowhere", nil},
		{inbox.ID, "photos", nil}, // 1 match, in Small: looked up
	} {
		got, err := s.SearchCandidates(ctx, tc.mbox, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: tc.word}))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("mailbox %d, BODY %s: %v, want %v", tc.mbox, tc.word, got, tc.want)
		}
	}
	// Two text keys share one read of the mailbox.
	k := searchtext.IndexKey(search.Key{Op: search.OpAnd, Sub: []search.Key{{Op: search.OpBody, Value: "budget"}, {Op: search.OpHeader, Field: "Subject", Envelope: true, Value: "lunch"}}})
	if got, err := s.SearchCandidates(ctx, small.ID, k); err != nil || !slices.Equal(got, []store.UID{1}) {
		t.Fatalf("BODY budget SUBJECT lunch in Small: %v, %v; want [1]", got, err)
	}
}

func seqUIDs(from, to store.UID) []store.UID {
	var out []store.UID
	for u := from; u <= to; u++ {
		out = append(out, u)
	}
	return out
}

// TestIndexGathersTexts checks that the indexer lets a few texts gather
// (indexGather) instead of making an index segment of each, and indexes
// at once when indexGatherN wait; and that the migration to 0018 set
// FTS5's deletemerge.
func TestIndexGathersTexts(t *testing.T) {
	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	var dm int
	if err := s.rdb.QueryRowContext(ctx, `SELECT v FROM search_text_config WHERE k = 'deletemerge'`).Scan(&dm); err != nil || dm != 50 {
		t.Fatalf("deletemerge = %d, %v; want 50", dm, err)
	}
	// Neither the gathering nor the step between batches (after
	// indexMaxWait, which 5 appends reach on a loaded machine) comes.
	s.w.gather.Store(int64(time.Hour))
	s.w.maxWait.Store(int64(time.Hour))
	add := func(i int) {
		t.Helper()
		ref, err := ingest.Write(ctx, s, strings.NewReader(fmt.Sprintf("Subject: note %d\r\n\r\ntext %d\r\n", i, i)), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		add(i)
		time.Sleep(2 * indexIdle) // the writer is idle: it used to index now
	}
	if n := s.PendingTexts(); n != 5 {
		t.Fatalf("%d texts pending after 5 appends with pauses, want 5 (gathered)", n)
	}
	for i := 5; i < indexGatherN; i++ {
		add(i)
	}
	for deadline := time.Now().Add(time.Minute); s.PendingTexts() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d texts pending a minute after %d were: not indexed", s.PendingTexts(), indexGatherN)
		}
	}
	got, err := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: "text 7"}))
	if err != nil || !slices.Contains(got, 8) {
		t.Fatalf("BODY \"text 7\" after indexing: %v, %v", got, err)
	}
	// One text, gathering for an hour: WaitIndexed does not wait for it.
	add(indexGatherN)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.WaitIndexed(wctx); err != nil || s.PendingTexts() != 0 {
		t.Fatalf("WaitIndexed with one text gathering: %v, %d pending", err, s.PendingTexts())
	}
}

// TestIndexKeepsUp checks that the indexer steps in more often between
// batches once texts wait longer than indexLagTarget, and that the
// writer reads when the oldest pending text was queued.
func TestIndexKeepsUp(t *testing.T) {
	now := time.Now()
	w := &writer{}
	w.maxWait.Store(int64(indexMaxWait))
	for _, tc := range []struct {
		oldest time.Time
		want   time.Duration
	}{
		{time.Time{}, indexMaxWait},
		{now.Add(-indexLagTarget / 2), indexMaxWait},
		{now.Add(-2 * indexLagTarget), indexBehindGap},
	} {
		w.oldestPending = tc.oldest
		if got := w.busyGap(now); got != tc.want {
			t.Errorf("oldest pending %v ago: gap %v, want %v", now.Sub(tc.oldest), got, tc.want)
		}
	}

	ctx := context.Background()
	s, inbox := openAlice(t, t.TempDir(), Options{})
	s.w.indexPaused.Store(true)
	start := time.Now()
	var msgs []store.NewMessage
	for i := range 3 * indexMinN {
		ref, err := ingest.Write(ctx, s, strings.NewReader(fmt.Sprintf("Subject: n %d\r\n\r\nbody %d\r\n", i, i)), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, store.NewMessage{Blob: ref})
	}
	if _, err := s.Append(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	oldest := func() time.Time {
		t.Helper()
		var o time.Time
		// A job runs on the writer goroutine, whose state this is.
		if err := s.w.do(ctx, func(t *wtx) error {
			err := t.w.readOldestPending()
			o = t.w.oldestPending
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := oldest(); o.IsZero() || o.After(after) || o.Before(start.Add(-time.Second)) {
		t.Fatalf("texts queued between %v and %v: oldest pending %v", start, after, o)
	}
	s.w.indexPaused.Store(false)
	waitIndexed(t, s)
	if o := oldest(); !o.IsZero() {
		t.Fatalf("nothing pending: oldest %v", o)
	}
}
