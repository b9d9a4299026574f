package sqlitestore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// checkEnv is a store with a few messages, one of them kept in a file,
// all indexed, and a second connection to its database that corrupts it
// as another process (or a bug, or a disk) could.
type checkEnv struct {
	s     *Store
	dir   string
	inbox store.Mailbox
	big   string // the content kept in a file
	db    *sql.DB
}

func newCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	e := &checkEnv{s: s, dir: dir, inbox: inbox}
	for i, body := range []string{"one", "two", "three", strings.Repeat("a big message body line\r\n", 12000)} {
		ref, err := ingest.Write(ctx, s, strings.NewReader("Subject: message "+string(rune('A'+i))+"\r\n\r\n"+body+"\r\n"), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Content == nil {
			e.big = string(ref.ID)
		}
		if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
	}
	if e.big == "" {
		t.Fatal("no content kept in a file")
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, "rookery.db"), connWrite))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	e.db = db
	return e
}

func (e *checkEnv) exec(t *testing.T, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// orphan writes a file no row references, last written age ago.
func (e *checkEnv) orphan(t *testing.T, age time.Duration) string {
	t.Helper()
	id := strings.Repeat("ab", 32)
	p := e.s.Blobs().Path(id)
	if err := os.WriteFile(p, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Now().Add(-age), time.Now().Add(-age)); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *checkEnv) check(t *testing.T, opts store.CheckOptions) store.CheckReport {
	t.Helper()
	rep, err := e.s.Check(context.Background(), opts)
	if err != nil {
		t.Fatalf("Check(%+v): %v", opts, err)
	}
	return rep
}

func findings(rep store.CheckReport, kind string) []store.Finding {
	var out []store.Finding
	for _, f := range rep.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func dump(rep store.CheckReport) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		b.WriteString("\n  " + f.Kind + " " + f.Subject + ": " + f.Detail)
		if f.Repaired {
			b.WriteString(" [repaired]")
		}
	}
	return b.String()
}

func TestCheckClean(t *testing.T) {
	e := newCheckEnv(t)
	rep := e.check(t, store.CheckOptions{Contents: true})
	if len(rep.Findings) != 0 {
		t.Errorf("findings on a sound store:%s", dump(rep))
	}
	if rep.Accounts != 1 || rep.Mailboxes != 6 || rep.Messages != 4 || rep.Contents != 4 || rep.Files != 1 {
		t.Errorf("counted %+v", rep)
	}
}

// TestCheckCorruptions corrupts a data directory in one way at a time and
// checks that Check reports it, that Repair (with a reindex of what it
// lists, as `rookery check --repair` does) fixes what can be fixed, and
// that what cannot stays reported.
func TestCheckCorruptions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		opts    store.CheckOptions
		corrupt func(t *testing.T, e *checkEnv)
		kind    string
		problem bool // a problem, not a notice
		fixed   bool // nothing of the kind is left after the repair
		after   func(t *testing.T, e *checkEnv)
	}{
		{
			name: "STATUS counters",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `UPDATE mailboxes SET n_messages = 9, n_unseen = 0, size_all = 1 WHERE name = 'INBOX'`)
			},
			kind: "status-counter", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				st, err := e.s.Status(ctx, e.inbox.ID)
				if err != nil || st.Messages != 4 || st.Unseen != 4 {
					t.Errorf("STATUS after repair: %+v %v", st, err)
				}
			},
		},
		{
			name:    "quota counters",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE accounts SET used_messages = 0, used_storage = 7`) },
			kind:    "quota-counter", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				q, err := e.s.Quota(ctx, e.inbox.Account)
				if err != nil || q.Messages != 4 || q.StorageBytes < 100000 {
					t.Errorf("quota after repair: %+v %v", q, err)
				}
			},
		},
		{
			name:    "UIDNEXT below a UID",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE mailboxes SET uidnext = 3 WHERE name = 'INBOX'`) },
			kind:    "uidnext", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				if mb, err := e.s.Mailbox(ctx, e.inbox.Account, "INBOX"); err != nil || mb.UIDNext != 5 {
					t.Errorf("UIDNEXT after repair: %d %v", mb.UIDNext, err)
				}
			},
		},
		{
			name: "UIDNEXT below an expunged UID",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `INSERT INTO expunged(mailbox, uid, modseq) SELECT id, 9, 1 FROM mailboxes WHERE name = 'INBOX'`)
			},
			kind: "uidnext", problem: true, fixed: true,
		},
		{
			name: "HIGHESTMODSEQ below a mod-sequence",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `UPDATE mailboxes SET highestmodseq = 1 WHERE name = 'INBOX'`)
			},
			kind: "highestmodseq", problem: true, fixed: true,
		},
		{
			name: "UID present and expunged",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `INSERT INTO expunged(mailbox, uid, modseq) SELECT id, 2, 1 FROM mailboxes WHERE name = 'INBOX'`)
			},
			kind: "uid-expunged", problem: true, fixed: false,
		},
		{
			name: "\\Recent mark above UIDNEXT",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `UPDATE mailboxes SET recent_from = 50 WHERE name = 'INBOX'`)
			},
			kind: "recent", problem: true, fixed: true,
		},
		{
			name:    "mailbox ID counter behind",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE counters SET value = 1 WHERE name = 'mailbox_id'`) },
			kind:    "mailbox-id-counter", problem: true, fixed: true,
		},
		{
			name: "UIDVALIDITY of an earlier mailbox of the name",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `INSERT INTO retired_names(account, name, uidvalidity)
					SELECT account, name, uidvalidity FROM mailboxes WHERE name = 'INBOX'`)
			},
			kind: "uidvalidity-reused", problem: true, fixed: false,
		},
		{
			name:    "reference count",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE blobs SET refcount = refcount + 2`) },
			kind:    "refcount", problem: true, fixed: true,
		},
		{
			name:    "message size",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE messages SET size = size + 10 WHERE uid = 2`) },
			kind:    "message-size", problem: true, fixed: true,
		},
		{
			name:    "content file deleted",
			corrupt: func(t *testing.T, e *checkEnv) { must(t, os.Remove(e.s.Blobs().Path(e.big))) },
			kind:    "content-missing", problem: true, fixed: false,
		},
		{
			name: "content file truncated",
			corrupt: func(t *testing.T, e *checkEnv) {
				must(t, os.Truncate(e.s.Blobs().Path(e.big), 1000))
			},
			kind: "content-size", problem: true, fixed: false,
		},
		{
			name: "content file altered",
			opts: store.CheckOptions{Contents: true},
			corrupt: func(t *testing.T, e *checkEnv) {
				f, err := os.OpenFile(e.s.Blobs().Path(e.big), os.O_WRONLY, 0)
				must(t, err)
				_, err = f.WriteAt([]byte("X"), 500)
				must(t, err)
				must(t, f.Close())
			},
			kind: "content-hash", problem: true, fixed: false,
		},
		{
			name: "content row deleted",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `PRAGMA foreign_keys = OFF`,
					`DELETE FROM blobs WHERE id = (SELECT blob FROM messages WHERE uid = 1)`,
					`PRAGMA foreign_keys = ON`)
			},
			kind: "foreign-key", problem: true, fixed: false,
		},
		{
			name:    "old orphan file",
			corrupt: func(t *testing.T, e *checkEnv) { e.orphan(t, 48*time.Hour) },
			kind:    "orphan-file", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				if _, err := os.Stat(e.s.Blobs().Path(strings.Repeat("ab", 32))); !os.IsNotExist(err) {
					t.Errorf("orphan after repair: %v", err)
				}
				if _, err := os.Stat(e.s.Blobs().Path(e.big)); err != nil {
					t.Errorf("referenced file after repair: %v", err)
				}
			},
		},
		{
			name:    "young orphan file",
			corrupt: func(t *testing.T, e *checkEnv) { e.orphan(t, time.Minute) },
			kind:    "orphan-file", problem: false, fixed: false, // kept, still noticed
			after: func(t *testing.T, e *checkEnv) {
				if _, err := os.Stat(e.s.Blobs().Path(strings.Repeat("ab", 32))); err != nil {
					t.Errorf("young orphan removed: %v", err)
				}
			},
		},
		{
			name: "search index row deleted",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `DELETE FROM search_text WHERE rowid = (SELECT doc FROM messages WHERE uid = 2)`)
			},
			kind: "index-missing", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				uids, err := e.s.SearchCandidates(ctx, e.inbox.ID, store.IndexKey{Op: store.IndexNeedle, Field: store.TextBody, Value: "two"})
				if err != nil || len(uids) != 1 || uids[0] != 2 {
					t.Errorf("search for message 2 after repair: %v %v", uids, err)
				}
			},
		},
		{
			name: "search document deleted",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `DELETE FROM search_docs WHERE id = (SELECT doc FROM messages WHERE uid = 3)`)
			},
			kind: "index-orphan", problem: true, fixed: true,
		},
		{
			name: "content never indexed",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `DELETE FROM search_text WHERE rowid = (SELECT doc FROM messages WHERE uid = 3)`,
					`DELETE FROM search_docs WHERE id = (SELECT doc FROM messages WHERE uid = 3)`,
					`UPDATE blobs SET doc = NULL WHERE id = (SELECT blob FROM messages WHERE uid = 3)`,
					`UPDATE messages SET doc = NULL WHERE uid = 3`)
			},
			kind: "unindexed", problem: false, fixed: true,
		},
		{
			name: "search text indexed and queued",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `INSERT INTO search_pending(doc, hfrom, hto, hcc, hbcc, hsubject, hother, body, queued)
					SELECT doc, '', '', '', '', '', '', 'one', 0 FROM messages WHERE uid = 1`)
			},
			kind: "index-duplicate", problem: true, fixed: true,
		},
		{
			name:    "message without its document id",
			corrupt: func(t *testing.T, e *checkEnv) { e.exec(t, `UPDATE messages SET doc = NULL`) },
			kind:    "message-doc", problem: true, fixed: true,
		},
		{
			name: "keywords missing from the mailbox's set",
			corrupt: func(t *testing.T, e *checkEnv) {
				if _, err := e.s.StoreFlags(ctx, e.inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, store.FlagsAdd,
					store.Flags{Keywords: []string{"Kept", "Lost"}}, 0); err != nil {
					t.Fatal(err)
				}
				e.exec(t, `DELETE FROM mailbox_keywords WHERE key = 'lost'`,
					`UPDATE messages SET keywords = 'Kept Lost Zeta' WHERE uid = 3`)
			},
			kind: "keyword-set", problem: true, fixed: true,
			after: func(t *testing.T, e *checkEnv) {
				snap, err := e.s.Snapshot(ctx, e.inbox.ID)
				if err != nil || !equal(snap.Keywords, []string{"Kept", "Lost", "Zeta"}) {
					t.Errorf("keywords after repair: %q %v", snap.Keywords, err)
				}
			},
		},
		{
			name: "FTS5 index damaged",
			corrupt: func(t *testing.T, e *checkEnv) {
				e.exec(t, `DELETE FROM search_text_data WHERE id > 10`)
			},
			kind: "index", problem: true, fixed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCheckEnv(t)
			tc.corrupt(t, e)
			rep := e.check(t, tc.opts)
			fs := findings(rep, tc.kind)
			if len(fs) == 0 || fs[0].Problem != tc.problem || fs[0].Repaired {
				t.Fatalf("Check found no %s finding (problem %v):%s", tc.kind, tc.problem, dump(rep))
			}
			if want := 0; tc.problem {
				if rep.Problems() == want {
					t.Errorf("Problems() = 0:%s", dump(rep))
				}
			}
			opts := tc.opts
			opts.Repair = true
			rep = e.check(t, opts)
			var reindex []store.BlobID
			for _, f := range rep.Findings {
				reindex = append(reindex, f.Reindex...)
				if f.Problem && f.Repairable != f.Repaired && f.Reindex == nil {
					t.Errorf("repairable %v but repaired %v: %s %s", f.Repairable, f.Repaired, f.Kind, f.Detail)
				}
			}
			if len(reindex) > 0 {
				if _, err := ingest.ReindexContents(ctx, e.s, reindex, nil); err != nil {
					t.Fatal(err)
				}
			}
			rep = e.check(t, tc.opts)
			left := findings(rep, tc.kind)
			if tc.fixed && (rep.Problems() != 0 || len(left) != 0) {
				t.Errorf("findings left after the repair:%s", dump(rep))
			}
			if !tc.fixed && (len(left) == 0 || left[0].Problem != tc.problem) {
				t.Errorf("an unrepairable %s is no longer reported:%s", tc.kind, dump(rep))
			}
			if tc.after != nil {
				tc.after(t, e)
			}
			// The store still works.
			if _, err := e.s.Snapshot(ctx, e.inbox.ID); err != nil {
				t.Error(err)
			}
			if err := e.s.Fetch(ctx, e.inbox.ID, imapnum.Set{{Start: 1, Stop: 10}}, func(store.Message) error { return nil }); err != nil {
				t.Error(err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckBesideWrites runs Check (and Repair, which must find nothing
// to do) while messages, small and in files, are appended, flagged,
// copied and expunged: what other writers change meanwhile must never be
// reported as a problem.
func TestCheckBesideWrites(t *testing.T) {
	ctx := context.Background()
	e := newCheckEnv(t)
	trash, err := e.s.Mailbox(ctx, e.inbox.Account, "Trash")
	must(t, err)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return nil
				default:
				}
				body := "small " + strings.Repeat("x", i%50)
				if i%3 == 0 {
					body = strings.Repeat("large message line\r\n", 14000+i)
				}
				ref, err := ingest.Write(ctx, e.s, strings.NewReader("Subject: w\r\n\r\n"+body+"\r\n"), -1, nil)
				if err != nil {
					return err
				}
				res, err := e.s.Append(ctx, e.inbox.ID, []store.NewMessage{{Blob: ref}})
				if err != nil {
					return err
				}
				uid := imapnum.Set{{Start: res.UIDs[0], Stop: res.UIDs[0]}}
				if _, err := e.s.Copy(ctx, e.inbox.ID, uid, trash.ID); err != nil {
					return err
				}
				if _, err := e.s.StoreFlags(ctx, e.inbox.ID, uid, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
					return err
				}
				if i%2 == 0 {
					if _, err := e.s.Expunge(ctx, e.inbox.ID, nil); err != nil {
						return err
					}
				}
			}
		}()
	}()
	for i := range 6 {
		rep := e.check(t, store.CheckOptions{Repair: i%2 == 1, Contents: i == 0})
		for _, f := range rep.Findings {
			if f.Problem || f.Repaired {
				t.Errorf("check %d beside writes: %s %s: %s", i, f.Kind, f.Subject, f.Detail)
			}
		}
	}
	close(stop)
	must(t, <-done)
	st, err := e.s.Status(ctx, trash.ID)
	must(t, err)
	t.Logf("%d messages written beside the checks", st.Messages)
	if rep := e.check(t, store.CheckOptions{Contents: true}); len(rep.Findings) != 0 {
		t.Errorf("after the writes:%s", dump(rep))
	}
}
