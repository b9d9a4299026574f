package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// sortSubjects returns the stored Subject SortFields gives for each
// message of mbox ("-" when it gives none).
func sortSubjects(t *testing.T, s *Store, mbox store.MailboxID) []string {
	t.Helper()
	var out []string
	err := s.SortFields(context.Background(), mbox, imapnum.Set{{Start: 1, Stop: 1 << 31}}, store.SortSubject, func(_ store.Message, f *store.SortFields) error {
		if f == nil {
			out = append(out, "-")
		} else {
			out = append(out, f.Subject)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSortFieldsDoc checks that messages.doc (migration 0006) links each
// message to its blob's document through Append, Copy, Move, Reindex and
// the migration's backfill.
func TestSortFieldsDoc(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.Mailbox(ctx, acct.ID, "INBOX")
	trash, _ := s.Mailbox(ctx, inbox.Account, "Trash")
	write := func(subject string, indexed bool) store.BlobRef {
		t.Helper()
		ref, err := ingest.Write(ctx, s, strings.NewReader("Subject: "+subject+"\r\n\r\nbody\r\n"), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !indexed {
			ref.Text = nil // as if stored before the index existed
		}
		return ref
	}
	want := func(mbox store.MailboxID, w ...string) {
		t.Helper()
		if got := sortSubjects(t, s, mbox); strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("mailbox %d: subjects %q, want %q", mbox, got, w)
		}
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: write("one", true)}, {Blob: write("two", false)}}); err != nil {
		t.Fatal(err)
	}
	want(inbox.ID, "one", "-")
	// The same content appended again shares the existing document.
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: write("one", true)}}); err != nil {
		t.Fatal(err)
	}
	want(inbox.ID, "one", "-", "one")
	if _, err := s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, trash.ID); err != nil {
		t.Fatal(err)
	}
	want(trash.ID, "one", "-")
	// Reindex writes the missing document: the messages that exist get it.
	if _, err := ingest.Reindex(ctx, s, "", nil); err != nil {
		t.Fatal(err)
	}
	want(inbox.ID, "one", "two", "one")
	want(trash.ID, "one", "two")
	if _, err := s.Move(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, trash.ID); err != nil {
		t.Fatal(err)
	}
	want(inbox.ID, "one", "one")
	want(trash.ID, "one", "two", "two")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Undo migration 0006 and reopen: the backfill links every message.
	undoMigration(t, dir, 6, `DROP TRIGGER search_docs_message_doc`, `ALTER TABLE messages DROP COLUMN doc`)
	if s, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(inbox.ID, "one", "one")
	want(trash.ID, "one", "two", "two")
	var unlinked int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE doc IS NULL`).Scan(&unlinked); err != nil || unlinked != 0 {
		t.Errorf("%d messages without doc after the migration (%v)", unlinked, err)
	}
}

// TestSortFieldsSent checks that SortFields gives the sent date parsed at
// indexing (migration 0007), the Date field itself for documents written
// before it or without a valid date, and only the fields asked for.
func TestSortFieldsSent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	var msgs []store.NewMessage
	for _, date := range []string{"Tue, 3 Jan 2023 10:00:00 +0200", "not a date", "Wed, 4 Jan 2023 00:00:00 -0000"} {
		ref, err := ingest.Write(ctx, s, strings.NewReader("Date: "+date+"\r\nSubject: s\r\n\r\nbody\r\n"), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, store.NewMessage{Blob: ref})
	}
	if _, err := s.Append(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	// The third document as if written before the migration.
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, "rookery.db"), connWrite))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `UPDATE search_docs SET sent = NULL WHERE date LIKE 'Wed%'`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = s.SortFields(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 3}}, store.SortDate, func(m store.Message, f *store.SortFields) error {
		if f.Subject != "" || m.Blob != "" {
			t.Errorf("uid %d: fields not asked for: %+v, blob %q", m.UID, f, m.Blob)
		}
		got = append(got, f.Date+"|"+f.Sent.Format(time.RFC3339))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"|2023-01-03T08:00:00Z",
		"not a date|0001-01-01T00:00:00Z",
		"Wed, 4 Jan 2023 00:00:00 -0000|0001-01-01T00:00:00Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMigrationSentDates checks that documents written before migration
// 0007 give their Date field (readers parse it) until reindex gives them
// their sent date.
func TestMigrationSentDates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	for _, date := range []string{"Tue, 3 Jan 2023 10:00:00 +0200", "garbage", ""} {
		ref, err := ingest.Write(ctx, s, strings.NewReader("Date: "+date+"\r\nSubject: s\r\n\r\nbody\r\n"), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	undoMigration(t, dir, 7, `ALTER TABLE search_docs DROP COLUMN sent`)
	var err error
	if s, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dates := func() string {
		t.Helper()
		var got []string
		err := s.SortFields(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 3}}, store.SortDate, func(_ store.Message, f *store.SortFields) error {
			got = append(got, f.Date+"|"+f.Sent.Format(time.RFC3339))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	want := "Tue, 3 Jan 2023 10:00:00 +0200|0001-01-01T00:00:00Z garbage|0001-01-01T00:00:00Z |0001-01-01T00:00:00Z"
	if got := dates(); got != want {
		t.Errorf("after the migration: got %q, want %q", got, want)
	}
	if _, err := ingest.Reindex(ctx, s, "", nil); err != nil {
		t.Fatal(err)
	}
	want = "|2023-01-03T08:00:00Z garbage|0001-01-01T00:00:00Z |0001-01-01T00:00:00Z"
	if got := dates(); got != want {
		t.Errorf("after reindex: got %q, want %q", got, want)
	}
}
