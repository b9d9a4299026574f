package sqlitestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"rookery/internal/blob"
	"rookery/internal/store"
)

var _ store.Checker = (*Store)(nil)

// Check implements store.Checker for the embedded store: the database
// (SQLite's integrity and foreign-key checks, which include the FTS5
// index's own check), the contents against their rows (every row's content present
// with its recorded size, and with opts.Contents its recorded hash, the
// address; reference counts; files no row references), the counters the
// triggers keep (usage per account, migration 0003; STATUS per mailbox,
// migration 0010), UID and mod-sequence invariants, each mailbox's
// keyword set (migration 17) covering its messages' keywords, and the
// search index's coverage (every content's document is indexed or
// pending).
//
// Reads run in read transactions beside a live server; what another
// writer may have changed since (a content deleted, a file written) is
// read again before it is reported. Repairs run as writer jobs that
// recompute what they fix inside their transaction. Unreferenced files
// are removed inside a writer job too, after checking again that no row
// references them: an Append of the same content (which checks that its
// file exists in its own transaction) is then either seen or refused,
// never left with a missing file.
func (s *Store) Check(ctx context.Context, opts store.CheckOptions) (store.CheckReport, error) {
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = store.DefaultOrphanGrace
	}
	c := &checker{s: s, opts: opts, now: time.Now()}
	for _, step := range []struct {
		name string
		fn   func(context.Context) error
	}{
		{"database", c.database},
		{"contents", c.contents},
		{"files", c.files},
		{"counters", c.counters},
		{"UIDs", c.uids},
		{"keywords", c.keywords},
		{"search index", c.index},
	} {
		if err := step.fn(ctx); err != nil {
			return c.rep, fmt.Errorf("check %s: %w", step.name, err)
		}
	}
	return c.rep, nil
}

// checker is one Check run.
type checker struct {
	s    *Store
	opts store.CheckOptions
	now  time.Time
	rep  store.CheckReport
	// names are the mailboxes' "account/mailbox" names, for reports.
	names map[int64]string
}

// maxListed bounds the items a finding lists (messages of a lost
// content, examples of a miscount).
const maxListed = 5

// add records a finding and returns its index in the report.
func (c *checker) add(f store.Finding) int {
	c.rep.Findings = append(c.rep.Findings, f)
	return len(c.rep.Findings) - 1
}

// repair runs fn as a writer job when repairing and some of the findings
// at idx are repairable, then marks those repaired.
func (c *checker) repair(ctx context.Context, idx []int, fn func(t *wtx) error) error {
	if !c.opts.Repair || len(idx) == 0 {
		return nil
	}
	if err := c.s.w.do(ctx, fn); err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	for _, i := range idx {
		c.rep.Findings[i].Repaired = true
	}
	return nil
}

// mailboxName returns "account/mailbox" for a mailbox id.
func (c *checker) mailboxName(id int64) string {
	if n, ok := c.names[id]; ok {
		return n
	}
	return fmt.Sprintf("mailbox %d", id)
}

// database runs SQLite's checks (integrity_check includes FTS5's own
// check of its index against the texts it stores, read-only, since SQLite
// 3.44) and counts what there is; the FTS5 index is rebuilt from its
// texts when repairing.
func (c *checker) database(ctx context.Context) error {
	integrity, fks, err := c.s.sqliteChecks(ctx)
	if err != nil {
		return err
	}
	c.names = map[int64]string{}
	err = c.s.readRaw(ctx, func(tx rawTx) error {
		if err := tx.each(`SELECT x.id, a.name, x.name FROM mailboxes x JOIN accounts a ON a.id = x.account`, nil, func(r []driver.Value) error {
			c.names[vInt(r[0])] = vString(r[1]) + "/" + vString(r[2])
			return nil
		}); err != nil {
			return err
		}
		return tx.each(`SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM mailboxes),
			(SELECT count(*) FROM messages), (SELECT count(*) FROM blobs)`, nil, func(r []driver.Value) error {
			c.rep.Accounts, c.rep.Mailboxes, c.rep.Messages, c.rep.Contents = vInt(r[0]), vInt(r[1]), vInt(r[2]), vInt(r[3])
			return nil
		})
	})
	if err != nil {
		return err
	}
	var fts []string
	for _, m := range integrity {
		if strings.Contains(strings.ToLower(m), "fts5") {
			fts = append(fts, m)
			continue
		}
		c.add(store.Finding{Kind: "integrity", Problem: true, Subject: "database rookery.db", Detail: m})
	}
	for _, rel := range slices.Sorted(maps.Keys(fks)) {
		n := fks[rel]
		c.add(store.Finding{Kind: "foreign-key", Problem: true, Subject: "table " + rel,
			Detail: fmt.Sprintf("%d rows refer to rows that do not exist", n)})
	}
	if len(fts) == 0 {
		return nil
	}
	// The FTS5 index is damaged. It keeps no copy of the texts
	// (migration 0013), so it is emptied: every document is then lost
	// to it, and the index pass lists their contents to reindex.
	i := c.add(store.Finding{Kind: "index", Problem: true, Repairable: true, Subject: "search index (FTS5)",
		Detail: strings.Join(fts, "; ")})
	return c.repair(ctx, []int{i}, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO search_text(search_text) VALUES ('delete-all')`)
		return err
	})
}

// sqliteChecks runs PRAGMA integrity_check and foreign_key_check on a
// connection of their own, opened for them: on a pooled read connection
// that has read the FTS5 index before, integrity_check run as the first
// statement of a read transaction reports "fts5: checksum mismatch" after
// another connection changed the index (FTS5's cached index structure is
// not refreshed on that path in SQLite 3.54), which is no fault of the
// data.
func (s *Store) sqliteChecks(ctx context.Context) (integrity []string, fks map[string]int, err error) {
	db, err := sql.Open("sqlite", dsn(filepath.Join(s.dir, "rookery.db"), connRead))
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	fks = map[string]int{}
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(100)`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if v != "ok" {
			integrity = append(integrity, v)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid, fkid any
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, nil, err
		}
		fks[table+" → "+parent]++
	}
	return integrity, fks, rows.Err()
}

// blobRow is a content's row as contents reads it.
type blobRow struct {
	id              string
	size, refcount  int64
	refs            int64 // messages that reference it
	inline          bool
	inlineLen       int64
	missing, resize bool // its file is missing, or of another size
}

// contents checks every content row: its content present (inline or a
// file) with the recorded size, and with opts.Contents the recorded hash;
// its reference count; the size its messages record.
func (c *checker) contents(ctx context.Context) error {
	var rows []*blobRow
	type sizeDiff struct{ mailbox, uid, size, blob int64 }
	var sizes []sizeDiff
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		if err := tx.each(`SELECT b.id, b.size, b.refcount, (SELECT count(*) FROM messages m WHERE m.blob = b.id),
			b.content IS NOT NULL, coalesce(length(c.content), -1)
			FROM blobs b LEFT JOIN contents c ON c.id = b.content`, nil, func(r []driver.Value) error {
			rows = append(rows, &blobRow{id: vString(r[0]), size: vInt(r[1]), refcount: vInt(r[2]), refs: vInt(r[3]),
				inline: vInt(r[4]) != 0, inlineLen: vInt(r[5])})
			return nil
		}); err != nil {
			return err
		}
		return tx.each(`SELECT m.mailbox, m.uid, m.size, b.size FROM messages m JOIN blobs b ON b.id = m.blob
			WHERE m.size != b.size`, nil, func(r []driver.Value) error {
			sizes = append(sizes, sizeDiff{vInt(r[0]), vInt(r[1]), vInt(r[2]), vInt(r[3])})
			return nil
		})
	})
	if err != nil {
		return err
	}
	var refFix []int
	for _, b := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.refcount != b.refs {
			refFix = append(refFix, c.add(store.Finding{Kind: "refcount", Problem: true, Repairable: true,
				Subject: "content " + b.id,
				Detail:  fmt.Sprintf("reference count %d, referenced by %d messages", b.refcount, b.refs)}))
		}
		switch {
		case b.inline && b.inlineLen != b.size:
			c.add(store.Finding{Kind: "content-size", Problem: true, Subject: "content " + b.id,
				Detail: fmt.Sprintf("%d bytes in the database, %d recorded%s", b.inlineLen, b.size, c.affected(ctx, b.id))})
			continue
		case !b.inline:
			if err := c.checkFile(ctx, b); err != nil {
				return err
			}
			if b.missing || b.resize {
				continue
			}
		}
		if c.opts.Contents {
			if err := c.checkHash(ctx, b); err != nil {
				return err
			}
		}
	}
	if err := c.repair(ctx, refFix, func(t *wtx) error {
		if _, err := t.exec(`UPDATE blobs SET refcount = (SELECT count(*) FROM messages m WHERE m.blob = blobs.id)
			WHERE refcount != (SELECT count(*) FROM messages m WHERE m.blob = blobs.id)`); err != nil {
			return err
		}
		// A content no message references is garbage: its rows go;
		// its file, if any, is then an unreferenced file, removed by
		// files below once older than the grace period (a Put of the
		// same content may be about to reference it again).
		// (The trigger blobs_delete takes the inline content along.)
		_, err := t.exec(`DELETE FROM blobs WHERE refcount <= 0`)
		return err
	}); err != nil {
		return err
	}

	var sizeFix []int
	for i, d := range sizes {
		if i == maxListed {
			sizeFix = append(sizeFix, c.add(store.Finding{Kind: "message-size", Problem: true, Repairable: true,
				Subject: fmt.Sprintf("%d more messages", len(sizes)-maxListed), Detail: "size differs from their content's"}))
			break
		}
		sizeFix = append(sizeFix, c.add(store.Finding{Kind: "message-size", Problem: true, Repairable: true,
			Subject: fmt.Sprintf("%s UID %d", c.mailboxName(d.mailbox), d.uid),
			Detail:  fmt.Sprintf("size %d, its content has %d bytes", d.size, d.blob)}))
	}
	return c.repair(ctx, sizeFix, func(t *wtx) error {
		// The counter triggers follow the sizes (migrations 0003, 0010).
		_, err := t.exec(`UPDATE messages SET size = (SELECT b.size FROM blobs b WHERE b.id = messages.blob)
			WHERE size != (SELECT b.size FROM blobs b WHERE b.id = messages.blob)`)
		return err
	})
}

// checkFile checks the file of a content kept in a file, reading its row
// again before reporting it missing or of another size (it may have been
// deleted, with its last message, since the rows were read).
func (c *checker) checkFile(ctx context.Context, b *blobRow) error {
	fi, err := c.s.blobs.Info(b.id)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b.missing = true
	case err != nil:
		return err
	case fi.Size() != b.size:
		b.resize = true
	default:
		return nil
	}
	var inline, exists bool
	if err := c.s.readQueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE id = ?1),
		EXISTS (SELECT 1 FROM blobs WHERE id = ?1 AND content IS NOT NULL)`, b.id).Scan(&exists, &inline); err != nil {
		return err
	}
	if !exists || inline {
		b.missing, b.resize = false, false
		return nil
	}
	fi, err = c.s.blobs.Info(b.id)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.add(store.Finding{Kind: "content-missing", Problem: true, Subject: "content " + b.id,
			Detail: "its file " + c.s.blobs.Path(b.id) + " is missing" + c.affected(ctx, b.id)})
	case err != nil:
		return err
	case fi.Size() != b.size:
		c.add(store.Finding{Kind: "content-size", Problem: true, Subject: "content " + b.id,
			Detail: fmt.Sprintf("its file has %d bytes, %d recorded%s", fi.Size(), b.size, c.affected(ctx, b.id))})
	default:
		b.missing, b.resize = false, false
	}
	return nil
}

// checkHash reads a content and compares its SHA-256 with its address.
func (c *checker) checkHash(ctx context.Context, b *blobRow) error {
	f, err := c.s.openContent(ctx, b.id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted since (checkFile looked)
	}
	if err != nil {
		return fmt.Errorf("open content %s: %w", b.id, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, f.Size())); err != nil {
		return fmt.Errorf("read content %s: %w", b.id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.id {
		c.add(store.Finding{Kind: "content-hash", Problem: true, Subject: "content " + b.id,
			Detail: "its bytes hash to " + got + c.affected(ctx, b.id)})
	}
	return nil
}

// affected lists (up to maxListed) the messages of a content, for a
// finding about a content that is lost or damaged.
func (c *checker) affected(ctx context.Context, id string) string {
	var ms []string
	n := 0
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		return tx.each(`SELECT m.mailbox, m.uid FROM messages m WHERE m.blob = ? ORDER BY m.mailbox, m.uid`, []any{id}, func(r []driver.Value) error {
			if n++; n <= maxListed {
				ms = append(ms, fmt.Sprintf("%s UID %d", c.mailboxName(vInt(r[0])), vInt(r[1])))
			}
			return nil
		})
	})
	if err != nil || n == 0 {
		return ""
	}
	if n > maxListed {
		ms = append(ms, fmt.Sprintf("%d more", n-maxListed))
	}
	return "; messages: " + strings.Join(ms, ", ")
}

// files looks for content files that no row references (a crash between
// a file's write and the commit that references it, or between a commit
// and the file's deletion): a problem once older than the grace period,
// removed when repairing; a notice before.
func (c *checker) files(ctx context.Context) error {
	referenced := map[string]bool{}
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		return tx.each(`SELECT id FROM blobs WHERE content IS NULL`, nil,
			func(r []driver.Value) error {
				referenced[vString(r[0])] = true
				return nil
			})
	})
	if err != nil {
		return err
	}
	type orphan struct {
		id    string
		idx   int
		stale bool
	}
	var orphans []orphan
	err = c.s.blobs.ListInfo(ctx, func(id string, fi fs.FileInfo) error {
		c.rep.Files++
		if referenced[id] {
			return nil
		}
		if ref, err := c.fileReferenced(ctx, id); err != nil || ref {
			return err // referenced since the rows were read
		}
		age := c.now.Sub(fi.ModTime())
		f := store.Finding{Kind: "orphan-file", Subject: "file " + c.s.blobs.Path(id),
			Detail: fmt.Sprintf("%d bytes, written %s ago, referenced by no content row", fi.Size(), age.Round(time.Second))}
		stale := age > c.opts.OrphanGrace
		if stale {
			f.Problem, f.Repairable = true, true
		} else {
			f.Detail += fmt.Sprintf(" (younger than the grace period, %s: kept)", c.opts.OrphanGrace)
		}
		orphans = append(orphans, orphan{id: id, idx: c.add(f), stale: stale})
		return nil
	})
	if err != nil {
		return err
	}
	if !c.opts.Repair {
		return nil
	}
	for _, o := range orphans {
		if !o.stale {
			continue
		}
		// One job per file, so that the write lock is held only while
		// one file is checked again and removed.
		removed, backup := false, false
		err := c.s.w.do(ctx, func(t *wtx) error {
			// An online backup may still copy it (its snapshot may be
			// older than the row's deletion): kept while one runs.
			unlock, err := c.s.lockGC()
			if errors.Is(err, blob.ErrLocked) {
				backup = true
				return nil
			} else if err != nil {
				return err
			}
			defer unlock()
			var ref bool
			if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM blobs WHERE id = ? AND content IS NULL)`, o.id).Scan(&ref); err != nil {
				return err
			}
			fi, err := c.s.blobs.Info(o.id)
			if ref || errors.Is(err, fs.ErrNotExist) || (err == nil && time.Since(fi.ModTime()) <= c.opts.OrphanGrace) {
				return nil // referenced or written again meanwhile, or gone
			}
			if err != nil {
				return err
			}
			removed = true
			return c.s.blobs.Delete(o.id)
		})
		if err != nil {
			return fmt.Errorf("repair: remove %s: %w", o.id, err)
		}
		if removed {
			c.rep.Findings[o.idx].Repaired = true
		} else if backup {
			c.rep.Findings[o.idx].Detail += " (a backup is running: kept, run the repair again later)"
		} else {
			c.rep.Findings[o.idx].Detail += " (referenced or written again since: kept)"
			c.rep.Findings[o.idx].Problem = false
		}
	}
	return nil
}

// fileReferenced reads whether a content row references the file id.
func (c *checker) fileReferenced(ctx context.Context, id string) (bool, error) {
	var ref bool
	err := c.s.readQueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE id = ? AND content IS NULL)`, id).Scan(&ref)
	return ref, err
}

// Counter recomputations: what the triggers of migrations 0003 (usage per
// account) and 0010 (STATUS per mailbox) keep, computed from the messages.
const (
	usedStorage  = `(SELECT coalesce(sum(g.size), 0) FROM messages g JOIN mailboxes m ON g.mailbox = m.id WHERE m.account = accounts.id)`
	usedMessages = `(SELECT count(*) FROM messages g JOIN mailboxes m ON g.mailbox = m.id WHERE m.account = accounts.id)`
	nMessages    = `(SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id)`
	nUnseen      = `(SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 1 = 0)`
	nDeleted     = `(SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 8 != 0)`
	sizeAll      = `(SELECT coalesce(sum(g.size), 0) FROM messages g WHERE g.mailbox = mailboxes.id)`
	sizeDeleted  = `(SELECT coalesce(sum(g.size), 0) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 8 != 0)`
)

// counters compares the counters the triggers keep with the messages.
func (c *checker) counters(ctx context.Context) error {
	var quotaFix, statusFix []int
	var accts, mboxes []int64
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		if err := tx.each(`SELECT id, name, used_storage, used_messages, `+usedStorage+`, `+usedMessages+` FROM accounts`, nil,
			func(r []driver.Value) error {
				if vInt(r[2]) == vInt(r[4]) && vInt(r[3]) == vInt(r[5]) {
					return nil
				}
				accts = append(accts, vInt(r[0]))
				quotaFix = append(quotaFix, c.add(store.Finding{Kind: "quota-counter", Problem: true, Repairable: true,
					Subject: "account " + vString(r[1]),
					Detail: fmt.Sprintf("usage %d bytes in %d messages recorded, %d in %d counted",
						vInt(r[2]), vInt(r[3]), vInt(r[4]), vInt(r[5]))}))
				return nil
			}); err != nil {
			return err
		}
		return tx.each(`SELECT id, n_messages, n_unseen, n_deleted, size_all, size_deleted, `+
			nMessages+`, `+nUnseen+`, `+nDeleted+`, `+sizeAll+`, `+sizeDeleted+` FROM mailboxes`, nil,
			func(r []driver.Value) error {
				var diffs []string
				for i, name := range []string{"messages", "unseen", "deleted", "size", "deleted size"} {
					if vInt(r[1+i]) != vInt(r[6+i]) {
						diffs = append(diffs, fmt.Sprintf("%s %d recorded, %d counted", name, vInt(r[1+i]), vInt(r[6+i])))
					}
				}
				if len(diffs) == 0 {
					return nil
				}
				mboxes = append(mboxes, vInt(r[0]))
				statusFix = append(statusFix, c.add(store.Finding{Kind: "status-counter", Problem: true, Repairable: true,
					Subject: "mailbox " + c.mailboxName(vInt(r[0])), Detail: strings.Join(diffs, ", ")}))
				return nil
			})
	})
	if err != nil {
		return err
	}
	if err := c.repair(ctx, quotaFix, func(t *wtx) error {
		for _, id := range accts {
			if _, err := t.exec(`UPDATE accounts SET used_storage = `+usedStorage+`, used_messages = `+usedMessages+` WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return c.repair(ctx, statusFix, func(t *wtx) error {
		for _, id := range mboxes {
			if _, err := t.exec(`UPDATE mailboxes SET n_messages = `+nMessages+`, n_unseen = `+nUnseen+`, n_deleted = `+nDeleted+
				`, size_all = `+sizeAll+`, size_deleted = `+sizeDeleted+` WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// uids checks the invariants of UIDs and mod-sequences: every UID of a
// mailbox (present or expunged) below its UIDNEXT, every mod-sequence at
// most its HIGHESTMODSEQ, no UID both present and expunged, the \Recent
// mark at most UIDNEXT, and the UIDVALIDITY counter at least every
// mailbox's UIDVALIDITY (a new mailbox must never get an old one).
func (c *checker) uids(ctx context.Context) error {
	var uidFix, modFix, recentFix, idFix []int
	var reused []string
	var dup []string
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		if err := tx.each(`SELECT x.id, x.uidnext, x.highestmodseq, x.recent_from,
			max(coalesce((SELECT max(uid) FROM messages WHERE mailbox = x.id), 0), coalesce((SELECT max(uid) FROM expunged WHERE mailbox = x.id), 0)),
			max(coalesce((SELECT max(modseq) FROM messages WHERE mailbox = x.id), 0), coalesce((SELECT max(modseq) FROM expunged WHERE mailbox = x.id), 0))
			FROM mailboxes x`, nil, func(r []driver.Value) error {
			id, uidnext, hms, recent, maxUID, maxMod := vInt(r[0]), vInt(r[1]), vInt(r[2]), vInt(r[3]), vInt(r[4]), vInt(r[5])
			name := "mailbox " + c.mailboxName(id)
			if maxUID >= uidnext {
				uidFix = append(uidFix, c.add(store.Finding{Kind: "uidnext", Problem: true, Repairable: true, Subject: name,
					Detail: fmt.Sprintf("UIDNEXT %d, but UID %d exists or was expunged: it could be given out again", uidnext, maxUID)}))
			}
			if maxMod > hms {
				modFix = append(modFix, c.add(store.Finding{Kind: "highestmodseq", Problem: true, Repairable: true, Subject: name,
					Detail: fmt.Sprintf("HIGHESTMODSEQ %d, but a change has mod-sequence %d", hms, maxMod)}))
			}
			if recent > max(uidnext, maxUID+1) {
				recentFix = append(recentFix, c.add(store.Finding{Kind: "recent", Problem: true, Repairable: true, Subject: name,
					Detail: fmt.Sprintf("\\Recent starts at UID %d, above UIDNEXT %d", recent, uidnext)}))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.each(`SELECT e.mailbox, e.uid FROM expunged e JOIN messages m ON m.mailbox = e.mailbox AND m.uid = e.uid
			ORDER BY e.mailbox, e.uid LIMIT 100`, nil, func(r []driver.Value) error {
			dup = append(dup, fmt.Sprintf("%s UID %d", c.mailboxName(vInt(r[0])), vInt(r[1])))
			return nil
		}); err != nil {
			return err
		}
		// UIDVALIDITY is allocated per name (migration 0015): a live
		// mailbox must not carry a value an earlier mailbox of its name
		// had, and mailbox IDs are never given twice.
		if err := tx.each(`SELECT m.id, m.uidvalidity FROM mailboxes m JOIN retired_names r
			ON r.account = m.account AND r.name = m.name AND r.uidvalidity = m.uidvalidity
			ORDER BY m.id LIMIT 100`, nil, func(r []driver.Value) error {
			reused = append(reused, fmt.Sprintf("%s UIDVALIDITY %d", c.mailboxName(vInt(r[0])), vInt(r[1])))
			return nil
		}); err != nil {
			return err
		}
		return tx.each(`SELECT value, (SELECT coalesce(max(id), 0) FROM mailboxes) FROM counters WHERE name = 'mailbox_id'`, nil,
			func(r []driver.Value) error {
				if vInt(r[0]) < vInt(r[1]) {
					idFix = append(idFix, c.add(store.Finding{Kind: "mailbox-id-counter", Problem: true, Repairable: true,
						Subject: "mailbox ID counter", Detail: fmt.Sprintf("%d, below a mailbox's ID %d", vInt(r[0]), vInt(r[1]))}))
				}
				return nil
			})
	})
	if err != nil {
		return err
	}
	for _, d := range reused {
		c.add(store.Finding{Kind: "uidvalidity-reused", Problem: true, Subject: d,
			Detail: "an earlier mailbox of this name had this UIDVALIDITY (clients may take its messages for the old ones)"})
	}
	for _, d := range dup {
		c.add(store.Finding{Kind: "uid-expunged", Problem: true, Subject: d,
			Detail: "the message exists and its UID is recorded as expunged (clients may have been told it is gone)"})
	}
	const maxUID = `max(uidnext, coalesce((SELECT max(uid) FROM messages WHERE mailbox = mailboxes.id), 0) + 1,
		coalesce((SELECT max(uid) FROM expunged WHERE mailbox = mailboxes.id), 0) + 1)`
	for _, r := range []struct {
		idx []int
		q   string
	}{
		{uidFix, `UPDATE mailboxes SET uidnext = ` + maxUID + ` WHERE uidnext != ` + maxUID},
		{modFix, `UPDATE mailboxes SET highestmodseq = max(highestmodseq,
			coalesce((SELECT max(modseq) FROM messages WHERE mailbox = mailboxes.id), 0),
			coalesce((SELECT max(modseq) FROM expunged WHERE mailbox = mailboxes.id), 0))`},
		{recentFix, `UPDATE mailboxes SET recent_from = uidnext WHERE recent_from > uidnext`},
		{idFix, `UPDATE counters SET value = (SELECT max(id) FROM mailboxes)
			WHERE name = 'mailbox_id' AND value < (SELECT max(id) FROM mailboxes)`},
	} {
		if err := c.repair(ctx, r.idx, func(t *wtx) error {
			_, err := t.exec(r.q)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// contentRows checks the pointers of migration 0016: each blob row's
// document is a search document of that content, and every document and
// inline content belongs to a blob row. It runs before the rest of index,
// so that a content whose pointer the repair clears is then listed for
// reindexing.
func (c *checker) contentRows(ctx context.Context) error {
	var badDocRefs, orphanDocs, orphanContents int64
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		for _, q := range []struct {
			sql string
			n   *int64
		}{
			{`SELECT count(*) FROM blobs b WHERE b.doc IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = b.doc AND d.blob = b.id)`, &badDocRefs},
			{`SELECT count(*) FROM search_docs WHERE id NOT IN (SELECT doc FROM blobs WHERE doc IS NOT NULL)`, &orphanDocs},
			{`SELECT count(*) FROM contents WHERE id NOT IN (SELECT content FROM blobs WHERE content IS NOT NULL)`, &orphanContents},
		} {
			if err := tx.each(q.sql, nil, func(r []driver.Value) error { *q.n = vInt(r[0]); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if badDocRefs+orphanDocs+orphanContents > 0 {
		i := c.add(store.Finding{Kind: "content-rows", Problem: true, Repairable: true, Subject: "contents",
			Detail: fmt.Sprintf("%d contents point at a document that is not theirs, %d documents and %d inline contents belong to no content",
				badDocRefs, orphanDocs, orphanContents)})
		if err := c.repair(ctx, []int{i}, func(t *wtx) error {
			for _, q := range []string{
				`UPDATE blobs SET doc = NULL WHERE doc IS NOT NULL
					AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = blobs.doc AND d.blob = blobs.id)`,
				`DELETE FROM search_text WHERE rowid IN (SELECT id FROM search_docs
					WHERE id NOT IN (SELECT doc FROM blobs WHERE doc IS NOT NULL))`,
				`DELETE FROM search_docs WHERE id NOT IN (SELECT doc FROM blobs WHERE doc IS NOT NULL)`,
				`DELETE FROM contents WHERE id NOT IN (SELECT content FROM blobs WHERE content IS NOT NULL)`,
			} {
				if _, err := t.exec(q); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// keywords checks that each mailbox's keyword set (mailbox_keywords,
// keywords.go) holds every keyword its messages carry: SELECT's FLAGS
// and PERMANENTFLAGS list the set, and the set is what MaxKeywords
// counts. Repair adds the missing keywords (whatever the limit: they
// exist on messages already). Keywords of the set that no message
// carries are no problem: the set never shrinks.
func (c *checker) keywords(ctx context.Context) error {
	type miss struct {
		mbox int64
		kws  []string
	}
	var missing []miss
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		missing = nil
		set := map[int64]map[string]bool{}
		if err := tx.each(`SELECT mailbox, key FROM mailbox_keywords`, nil, func(r []driver.Value) error {
			m := set[vInt(r[0])]
			if m == nil {
				m = map[string]bool{}
				set[vInt(r[0])] = m
			}
			m[vString(r[1])] = true
			return nil
		}); err != nil {
			return err
		}
		cur := miss{mbox: -1}
		seen := map[string]bool{}
		flush := func() {
			if len(cur.kws) > 0 {
				missing = append(missing, cur)
			}
		}
		// Each distinct keyword list once: a mailbox's messages share few.
		err := tx.each(`SELECT DISTINCT mailbox, keywords FROM messages WHERE keywords != '' ORDER BY mailbox`, nil, func(r []driver.Value) error {
			if id := vInt(r[0]); id != cur.mbox {
				flush()
				cur, seen = miss{mbox: id}, map[string]bool{}
			}
			for _, k := range decodeKeywords(vString(r[1])) {
				if key := store.KeywordKey(k); !set[cur.mbox][key] && !seen[key] {
					seen[key] = true
					cur.kws = append(cur.kws, k)
				}
			}
			return ctx.Err()
		})
		flush()
		return err
	})
	if err != nil {
		return err
	}
	var idx []int
	for _, m := range missing {
		store.SortKeywords(m.kws)
		listed := m.kws[:min(len(m.kws), maxListed)]
		for i, k := range listed {
			if len(k) > 64 { // a keyword may be as long as a command line
				listed[i] = k[:64] + "..."
			}
		}
		more := ""
		if len(m.kws) > maxListed {
			more = fmt.Sprintf(" and %d more", len(m.kws)-maxListed)
		}
		idx = append(idx, c.add(store.Finding{Kind: "keyword-set", Problem: true, Repairable: true,
			Subject: "mailbox " + c.mailboxName(m.mbox),
			Detail: fmt.Sprintf("%d keywords its messages carry are not in its keyword set (FLAGS omits them): %s%s",
				len(m.kws), strings.Join(listed, " "), more)}))
	}
	return c.repair(ctx, idx, func(t *wtx) error {
		// Read again inside the transaction: messages may have changed.
		for _, m := range missing {
			mbox := store.MailboxID(m.mbox)
			sets, err := messageKeywords(t.query, &mbox)
			if err != nil {
				return err
			}
			for key, kw := range sets[m.mbox] {
				if _, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`, m.mbox, key, kw); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// index checks that every content's search document is in exactly one of
// the FTS5 index and the indexer's queue (migration 0011), that the index
// holds nothing else (a later document reusing the id could not be
// indexed), and that messages point at their content's document. It
// reads FTS5's docsize table (one small row per indexed document) rather
// than the index itself, whose full scan would read every text.
//
// Contents whose document is lost, and contents without one (stored
// before the index existed, or whose text could not be extracted, which
// searches read instead), are listed for the caller to reindex: texts
// come from package ingest, which a backend does not run.
func (c *checker) index(ctx context.Context) error {
	var lost, none []store.BlobID
	var both, orphanText, orphanPending []int64
	if err := c.contentRows(ctx); err != nil {
		return err
	}
	var staleDocs int64
	err := c.s.readRaw(ctx, func(tx rawTx) error {
		for _, q := range []struct {
			sql string
			fn  func(r []driver.Value)
		}{
			{`SELECT d.blob FROM search_docs d WHERE NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.doc = d.id)
				AND NOT EXISTS (SELECT 1 FROM search_text_docsize z WHERE z.id = d.id)`,
				func(r []driver.Value) { lost = append(lost, store.BlobID(vString(r[0]))) }},
			{`SELECT id FROM blobs WHERE doc IS NULL`,
				func(r []driver.Value) { none = append(none, store.BlobID(vString(r[0]))) }},
			{`SELECT p.doc FROM search_pending p WHERE EXISTS (SELECT 1 FROM search_text_docsize z WHERE z.id = p.doc)`,
				func(r []driver.Value) { both = append(both, vInt(r[0])) }},
			{`SELECT z.id FROM search_text_docsize z WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = z.id)`,
				func(r []driver.Value) { orphanText = append(orphanText, vInt(r[0])) }},
			{`SELECT p.doc FROM search_pending p WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = p.doc)`,
				func(r []driver.Value) { orphanPending = append(orphanPending, vInt(r[0])) }},
			{`SELECT count(*) FROM messages m JOIN blobs b ON b.id = m.blob WHERE m.doc IS NOT b.doc`,
				func(r []driver.Value) { staleDocs = vInt(r[0]) }},
		} {
			if err := tx.each(q.sql, nil, func(r []driver.Value) error { q.fn(r); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(lost) > 0 {
		c.add(store.Finding{Kind: "index-missing", Problem: true, Repairable: true, Subject: "search index",
			Detail:  fmt.Sprintf("%d contents have a document that is neither indexed nor queued for the indexer: text searches miss their messages", len(lost)),
			Reindex: lost})
	}
	if len(none) > 0 {
		c.add(store.Finding{Kind: "unindexed", Repairable: true, Subject: "search index",
			Detail:  fmt.Sprintf("%d contents have no search document (stored before the index, or their text could not be extracted): searches read them instead", len(none)),
			Reindex: none})
	}
	if len(both) > 0 {
		i := c.add(store.Finding{Kind: "index-duplicate", Problem: true, Repairable: true, Subject: "search index",
			Detail: fmt.Sprintf("%d documents are both indexed and queued: the indexer cannot take them in", len(both))})
		if err := c.repair(ctx, []int{i}, func(t *wtx) error {
			// The queued text is the later one: the indexer takes it in.
			for _, doc := range both {
				if _, err := t.exec(`DELETE FROM search_text WHERE rowid = ?1 AND EXISTS (SELECT 1 FROM search_pending WHERE doc = ?1)`, doc); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(orphanText)+len(orphanPending) > 0 {
		i := c.add(store.Finding{Kind: "index-orphan", Problem: true, Repairable: true, Subject: "search index",
			Detail: fmt.Sprintf("%d indexed and %d queued texts belong to no document (a new document reusing the id could not be indexed)",
				len(orphanText), len(orphanPending))})
		if err := c.repair(ctx, []int{i}, func(t *wtx) error {
			for _, id := range orphanText {
				if _, err := t.exec(`DELETE FROM search_text WHERE rowid = ?1 AND NOT EXISTS (SELECT 1 FROM search_docs WHERE id = ?1)`, id); err != nil {
					return err
				}
			}
			_, err := t.exec(`DELETE FROM search_pending WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = search_pending.doc)`)
			return err
		}); err != nil {
			return err
		}
	}
	if staleDocs > 0 {
		i := c.add(store.Finding{Kind: "message-doc", Problem: true, Repairable: true, Subject: "search index",
			Detail: fmt.Sprintf("%d messages do not point at their content's document (SORT and THREAD parse them instead)", staleDocs)})
		if err := c.repair(ctx, []int{i}, func(t *wtx) error {
			_, err := t.exec(`UPDATE messages SET doc = (SELECT b.doc FROM blobs b WHERE b.id = messages.blob)
				WHERE messages.doc IS NOT (SELECT b.doc FROM blobs b WHERE b.id = messages.blob)`)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
