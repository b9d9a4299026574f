package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/search"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

// TestMigrationBlobRowKeys: migration 0016 moves inline contents into the
// contents table and the content → document link into the blob row
// without losing a content, a document or a message's link to either; the
// store then reads, searches, checks clean and deletes as before.
func TestMigrationBlobRowKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	bodies := []string{"alpha zebra", "bravo yak", "charlie xerus", strings.Repeat("delta wombat line\r\n", 20000)}
	var want [][]byte
	for i, body := range append(bodies, bodies[0]) { // the last one shares the first's content
		msg := "Subject: message " + string(rune('A'+i%len(bodies))) + "\r\n\r\n" + body + "\r\n"
		ref, err := ingest.Write(ctx, s, strings.NewReader(msg), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, []byte(msg))
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The schema of migration 0015, with the rows moved back.
	undoMigration(t, dir, 16,
		`CREATE TABLE blob_contents (id TEXT PRIMARY KEY REFERENCES blobs(id), content BLOB NOT NULL)`,
		`INSERT INTO blob_contents(rowid, id, content) SELECT c.id, b.id, c.content FROM contents c JOIN blobs b ON b.content = c.id`,
		`DROP TRIGGER blobs_delete`, `DROP TRIGGER search_docs_message_doc`, `DROP TRIGGER search_docs_pending_delete`,
		`CREATE TABLE search_docs_old (id INTEGER PRIMARY KEY, blob TEXT NOT NULL UNIQUE, date TEXT NOT NULL DEFAULT '',
			subject TEXT NOT NULL DEFAULT '', msgid TEXT NOT NULL DEFAULT '', inreplyto TEXT NOT NULL DEFAULT '',
			refs TEXT NOT NULL DEFAULT '', sent INTEGER, textver INTEGER NOT NULL DEFAULT 1)`,
		`INSERT INTO search_docs_old SELECT * FROM search_docs`,
		`DROP TABLE search_docs`, `ALTER TABLE search_docs_old RENAME TO search_docs`,
		`CREATE TRIGGER blobs_search_delete AFTER DELETE ON blobs BEGIN
			DELETE FROM search_text WHERE rowid IN (SELECT id FROM search_docs WHERE blob = OLD.id);
			DELETE FROM search_docs WHERE blob = OLD.id;
		END`,
		`CREATE TRIGGER search_docs_message_doc AFTER INSERT ON search_docs BEGIN
			UPDATE messages SET doc = NEW.id WHERE blob = NEW.blob;
		END`,
		`CREATE TRIGGER search_docs_pending_delete AFTER DELETE ON search_docs BEGIN
			DELETE FROM search_pending WHERE doc = OLD.id;
		END`,
		`DROP TABLE contents`,
		`ALTER TABLE blobs DROP COLUMN content`, `ALTER TABLE blobs DROP COLUMN doc`,
	)
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	var got [][]byte
	err = s.FetchContent(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 0}}, func(m store.Message) error {
		c := m.Content
		if c == nil {
			b, err := s.OpenBlob(ctx, m.Blob)
			if err != nil {
				return err
			}
			defer b.Close()
			c = make([]byte, b.Size())
			if _, err := b.ReadAt(c, 0); err != nil {
				return err
			}
		}
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages after the migration, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs after the migration", i+1)
		}
	}
	rep, err := s.Check(ctx, store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problems() != 0 {
		t.Fatalf("check after the migration: %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Kind == "unindexed" || f.Kind == "message-doc" {
			t.Fatalf("the migration lost a document link: %s %s", f.Kind, f.Detail)
		}
	}
	for word, n := range map[string]int{"zebra": 2, "xerus": 1, "wombat": 1} {
		uids, err := s.SearchCandidates(ctx, inbox.ID, searchtext.IndexKey(search.Key{Op: search.OpBody, Value: word}))
		if err != nil {
			t.Fatal(err)
		}
		if len(uids) != n {
			t.Errorf("candidates for %q: %v, want %d", word, uids, n)
		}
	}
	// Expunging everything leaves no content, document or blob row.
	if _, err := s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 0}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM contents) + (SELECT count(*) FROM search_docs)`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d rows left after expunging everything (%v)", rows, err)
	}
}

// TestCompactAfterMigration: a database that migrations left mostly free
// is rewritten to its used size; one with little free space is left as is.
func TestCompactAfterMigration(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "rookery.db"), connWrite))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	pages := func() int64 {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT page_count FROM pragma_page_count`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, q := range []string{`CREATE TABLE keep (b BLOB)`, `CREATE TABLE drop_me (b BLOB)`,
		`INSERT INTO keep VALUES (randomblob(100000))`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO drop_me SELECT randomblob(100000) FROM n`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	before := pages()
	if err := compactAfterMigration(ctx, db, log); err != nil || pages() != before {
		t.Fatalf("compacted a full database: %d pages -> %d (%v)", before, pages(), err)
	}
	if _, err := db.ExecContext(ctx, `DROP TABLE drop_me`); err != nil {
		t.Fatal(err)
	}
	if err := compactAfterMigration(ctx, db, log); err != nil {
		t.Fatal(err)
	}
	if after := pages(); after*10 > before {
		t.Fatalf("%d pages before, %d after compacting", before, after)
	}
	var ts int
	if err := db.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&ts); err != nil || ts != 2 {
		t.Fatalf("temp_store = %d after compacting (%v), want 2 (MEMORY)", ts, err)
	}
}
