package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

const msgCols = `uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob`

func scanMessage(sc scanner) (store.Message, error) {
	var m store.Message
	var uid, modseq, flags, idate, tz, sdate int64
	var kw, blobID string
	if err := sc.Scan(&uid, &modseq, &flags, &kw, &idate, &tz, &sdate, &m.Size, &blobID); err != nil {
		return m, err
	}
	m.UID, m.ModSeq = uint32(uid), uint64(modseq)
	m.Flags = store.Flags{Sys: store.SysFlags(flags), Keywords: decodeKeywords(kw)}
	m.InternalDate = time.Unix(idate, 0).In(zone(int(tz)))
	m.SaveDate = time.Unix(sdate, 0)
	m.Blob = store.BlobID(blobID)
	return m, nil
}

var utcZone = time.UTC

func zone(offset int) *time.Location {
	if offset == 0 {
		return utcZone
	}
	return time.FixedZone("", offset)
}

// rangeScanLimit is the number of ranges above which a UID set is matched by
// one scan of the mailbox filtered in Go instead of one query per range.
const rangeScanLimit = 32

type querier func(q string, args ...any) (*sql.Rows, error)

// scanSet runs the queries that return the messages of mbox in rs, in UID
// order, and calls fn for each row. Rows outside rs may be passed (when the
// set is matched by one scan): fn must skip UIDs for which rs.Contains is
// false. cols must start with uid.
func scanSet(query querier, mbox store.MailboxID, rs store.UIDRanges, cols string, fn func(*sql.Rows) error) error {
	for _, r := range spans(rs) {
		rows, err := query(`SELECT `+cols+` FROM messages WHERE mailbox = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mbox, r.Start, r.Stop)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// spans are the UID ranges to query for rs: its ranges, or one range over
// all of them when there are more than rangeScanLimit (the caller then
// skips the UIDs rs does not contain).
func spans(rs store.UIDRanges) store.UIDRanges {
	if len(rs) > rangeScanLimit {
		return store.UIDRanges{{Start: rs[0].Start, Stop: rs[len(rs)-1].Stop}}
	}
	return rs
}

// readMailboxRaw reads a mailbox and its first unclaimed \Recent UID in a
// read transaction; a \Noselect mailbox is ErrMailboxNoSelect.
func readMailboxRaw(tx rawTx, id store.MailboxID) (store.Mailbox, int64, error) {
	var m store.Mailbox
	var recentFrom int64
	found := false
	err := tx.each(`SELECT `+mboxCols+`, recent_from FROM mailboxes WHERE id = ?`, []any{int64(id)}, func(r []driver.Value) error {
		found = true
		m = store.Mailbox{ID: store.MailboxID(vInt(r[0])), Account: store.AccountID(vInt(r[1])), Name: vString(r[2]),
			UIDValidity: uint32(vInt(r[3])), UIDNext: uint32(vInt(r[4])), HighestModSeq: uint64(vInt(r[5])),
			SpecialUse: vString(r[6]), NoSelect: vInt(r[7]) != 0}
		recentFrom = vInt(r[8])
		return nil
	})
	switch {
	case err != nil:
		return m, 0, err
	case !found:
		return m, 0, store.ErrNoSuchMailbox
	case m.NoSelect:
		return m, 0, store.ErrMailboxNoSelect
	}
	return m, recentFrom, nil
}

// messageFromRow decodes a row of msgCols.
func messageFromRow(r []driver.Value) store.Message {
	return store.Message{
		UID:          uint32(vInt(r[0])),
		ModSeq:       uint64(vInt(r[1])),
		Flags:        store.Flags{Sys: store.SysFlags(vInt(r[2])), Keywords: decodeKeywords(vString(r[3]))},
		InternalDate: time.Unix(vInt(r[4]), 0).In(zone(int(vInt(r[5])))),
		SaveDate:     time.Unix(vInt(r[6]), 0),
		Size:         vInt(r[7]),
		Blob:         store.BlobID(vString(r[8])),
	}
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, mbox store.MailboxID) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := s.readRaw(ctx, func(tx rawTx) error {
		m, recentFrom, err := readMailboxRaw(tx, mbox)
		if err != nil {
			return err
		}
		st.Mailbox = m
		// The counters are kept by triggers (migration 0010); the \Recent
		// messages are a range of the primary key.
		err = tx.each(`SELECT n_messages, n_unseen, n_deleted, size_all, size_deleted FROM mailboxes WHERE id = ?`,
			[]any{int64(mbox)}, func(r []driver.Value) error {
				st.Messages, st.Unseen, st.Deleted = uint32(vInt(r[0])), uint32(vInt(r[1])), uint32(vInt(r[2]))
				st.Size, st.DeletedSize = vInt(r[3]), vInt(r[4])
				return nil
			})
		if err != nil {
			return err
		}
		return tx.each(`SELECT count(*) FROM messages WHERE mailbox = ? AND uid >= ?`, []any{int64(mbox), recentFrom},
			func(r []driver.Value) error {
				st.Recent = uint32(vInt(r[0]))
				return nil
			})
	})
	if err != nil {
		return store.MailboxStatus{}, fmt.Errorf("status of mailbox %d: %w", mbox, err)
	}
	return st, nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, mbox store.MailboxID, msgs []store.NewMessage) (store.AppendResult, error) {
	type prepared struct {
		kw    string
		idate time.Time
	}
	prep := make([]prepared, len(msgs))
	var all []string // the keywords of every message
	for i, m := range msgs {
		kws, err := store.NormalizeKeywords(m.Flags.Keywords)
		if err != nil {
			return store.AppendResult{}, fmt.Errorf("append to mailbox %d: %w", mbox, err)
		}
		d := m.InternalDate
		if d.IsZero() {
			d = time.Now()
		}
		prep[i] = prepared{encodeKeywords(kws), d}
		if len(kws) > 0 {
			all = store.UnionKeywords(all, kws)
		}
	}
	var res store.AppendResult
	err := s.w.do(ctx, func(t *wtx) error {
		m, err := t.selectable(mbox)
		if err != nil {
			return err
		}
		if err := t.addKeywords(mbox, all, true); err != nil {
			return err
		}
		modseq := m.HighestModSeq + 1
		uid := m.UIDNext
		now := time.Now().Unix()
		res = store.AppendResult{UIDValidity: m.UIDValidity, UIDs: make([]store.UID, 0, len(msgs)), ModSeq: modseq}
		for i, nm := range msgs {
			size, err := t.refBlob(nm.Blob)
			if err != nil {
				return err
			}
			_, off := prep[i].idate.Zone()
			if _, err := t.exec(`INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?10, (SELECT doc FROM blobs WHERE id = ?10))`,
				mbox, uid, modseq, int(nm.Flags.Sys), prep[i].kw, prep[i].idate.Unix(), off, now, size, string(nm.Blob.ID)); err != nil {
				return err
			}
			res.UIDs = append(res.UIDs, uid)
			uid++
		}
		if uid == 0 { // wrapped around
			return errors.New("UID space exhausted")
		}
		if _, err := t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`, uid, modseq, mbox); err != nil {
			return err
		}
		if err := t.checkQuota(m.Account); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: modseq})
		return nil
	})
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("append to mailbox %d: %w", mbox, err)
	}
	return res, nil
}

// refBlob adds a reference to a blob, checking that its file exists when
// this is its first reference, and returns its size.
func (t *wtx) refBlob(ref store.BlobRef) (int64, error) {
	var size int64
	// A blob row that exists keeps its anatomy (or gets this one if it
	// had none).
	err := t.queryRow(`UPDATE blobs SET refcount = refcount + 1, anatomy = coalesce(anatomy, ?) WHERE id = ? RETURNING size`,
		nullBytes(ref.Anatomy), string(ref.ID)).Scan(&size)
	if err == nil {
		if ref.Text != nil && t.w.s.unindexed.Load() {
			// Content stored before it could be indexed.
			return size, t.indexBlob(ref.ID, ref.Text)
		}
		return size, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if ref.Content != nil {
		size = int64(len(ref.Content))
		var content int64
		if err := t.queryRow(`INSERT INTO contents(content) VALUES (?) RETURNING id`, ref.Content).Scan(&content); err != nil {
			return 0, err
		}
		if _, err := t.exec(`INSERT INTO blobs(id, size, refcount, anatomy, content) VALUES (?, ?, 1, ?, ?)`, string(ref.ID), size, nullBytes(ref.Anatomy), content); err != nil {
			return 0, err
		}
		return size, t.indexBlob(ref.ID, ref.Text)
	}
	size, err = t.w.s.blobs.Stat(string(ref.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w: %w", ref.ID, store.ErrNoSuchMessage, err)
	}
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", ref.ID, err)
	}
	if _, err := t.exec(`INSERT INTO blobs(id, size, refcount, anatomy) VALUES (?, ?, 1, ?)`, string(ref.ID), size, nullBytes(ref.Anatomy)); err != nil {
		return 0, err
	}
	return size, t.indexBlob(ref.ID, ref.Text)
}

// Snapshot implements store.Store.
func (s *Store) Snapshot(ctx context.Context, mbox store.MailboxID) (store.Snapshot, error) {
	var snap store.Snapshot
	err := s.readRaw(ctx, func(tx rawTx) error {
		m, recentFrom, err := readMailboxRaw(tx, mbox)
		if err != nil {
			return err
		}
		snap.Mailbox = m
		snap.RecentFrom = store.UID(recentFrom)
		var n int64
		if err := tx.each(`SELECT count(*) FROM messages WHERE mailbox = ?`, []any{int64(mbox)}, func(r []driver.Value) error {
			n = vInt(r[0])
			return nil
		}); err != nil {
			return err
		}
		snap.UIDs = make([]store.UID, 0, n)
		err = tx.each(`SELECT uid, flags FROM messages WHERE mailbox = ? ORDER BY uid`, []any{int64(mbox)}, func(r []driver.Value) error {
			uid := uint32(vInt(r[0]))
			snap.UIDs = append(snap.UIDs, uid)
			if snap.FirstUnseen == 0 && store.SysFlags(vInt(r[1]))&store.FlagSeen == 0 {
				snap.FirstUnseen = uid
			}
			return nil
		})
		if err != nil {
			return err
		}
		// The keyword set (keywords.go), in keywordKey order, which is
		// sortKeywords's.
		return tx.each(`SELECT keyword FROM mailbox_keywords WHERE mailbox = ? ORDER BY key`, []any{int64(mbox)}, func(r []driver.Value) error {
			snap.Keywords = append(snap.Keywords, vString(r[0]))
			return nil
		})
	})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("snapshot of mailbox %d: %w", mbox, err)
	}
	return snap, nil
}

// ClaimRecent implements store.Store.
func (s *Store) ClaimRecent(ctx context.Context, mbox store.MailboxID) (lo, hi store.UID, err error) {
	err = s.w.do(ctx, func(t *wtx) error {
		var from, next int64
		var noselect bool
		err := t.queryRow(`SELECT recent_from, uidnext, noselect FROM mailboxes WHERE id = ?`, mbox).Scan(&from, &next, &noselect)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNoSuchMailbox
		}
		if err != nil {
			return err
		}
		if noselect {
			return store.ErrMailboxNoSelect
		}
		lo, hi = uint32(from), uint32(next)
		if from < next {
			_, err = t.exec(`UPDATE mailboxes SET recent_from = ? WHERE id = ?`, next, mbox)
		}
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("claim recent in mailbox %d: %w", mbox, err)
	}
	return lo, hi, nil
}

// Fetch implements store.Store.
func (s *Store) Fetch(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	err := s.scanMessages(ctx, mbox, uids,
		`SELECT `+msgCols+` FROM messages WHERE mailbox = ? AND uid BETWEEN ? AND ? ORDER BY uid`,
		func(r []driver.Value) error { return fn(messageFromRow(r)) })
	if err != nil {
		return fmt.Errorf("fetch from mailbox %d: %w", mbox, err)
	}
	return nil
}

// scanMessages runs query, which takes (mailbox, lo, hi) and returns rows
// in UID order whose first column is the UID, over the ranges of uids, and
// calls row for each row whose UID is in uids. A set of many ranges becomes
// one scan of its span, filtered here.
func (s *Store) scanMessages(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, query string, row func([]driver.Value) error) error {
	rs := store.NormalizeUIDs(uids)
	return s.readRaw(ctx, func(tx rawTx) error {
		for _, sp := range spans(rs) {
			err := tx.each(query, []any{int64(mbox), int64(sp.Start), int64(sp.Stop)}, func(r []driver.Value) error {
				if !rs.Contains(uint32(vInt(r[0]))) {
					return nil
				}
				return row(r)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// loadSet reads the messages of mbox in rs inside a write job.
func (t *wtx) loadSet(mbox store.MailboxID, rs store.UIDRanges) ([]store.Message, error) {
	var out []store.Message
	err := scanSet(t.query, mbox, rs, msgCols, func(r *sql.Rows) error {
		m, err := scanMessage(r)
		if err == nil && rs.Contains(m.UID) {
			out = append(out, m)
		}
		return err
	})
	return out, err
}

// StoreFlags implements store.Store.
func (s *Store) StoreFlags(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) (store.StoreResult, error) {
	kws, err := store.NormalizeKeywords(flags.Keywords)
	if err != nil {
		return store.StoreResult{}, fmt.Errorf("store flags in mailbox %d: %w", mbox, err)
	}
	flags.Keywords = kws
	rs := store.NormalizeUIDs(uids)
	var res store.StoreResult
	err = s.w.do(ctx, func(t *wtx) error {
		res = store.StoreResult{}
		m, err := t.selectable(mbox)
		if err != nil {
			return err
		}
		msgs, err := t.loadSet(mbox, rs)
		if err != nil {
			return err
		}
		modseq := m.HighestModSeq + 1
		if op != store.FlagsRemove && len(flags.Keywords) > 0 &&
			slices.ContainsFunc(msgs, func(msg store.Message) bool { return unchangedSince == 0 || msg.ModSeq <= unchangedSince }) {
			// Every message the STORE may change carries all of
			// flags.Keywords afterwards (one it leaves unchanged had
			// them): the keyword set is checked before any work per
			// message.
			if err := t.addKeywords(mbox, flags.Keywords, true); err != nil {
				return err
			}
		}
		for _, msg := range msgs {
			if unchangedSince > 0 && msg.ModSeq > unchangedSince {
				res.Modified = append(res.Modified, msg.UID)
				continue
			}
			nf := store.ApplyFlags(msg.Flags, op, flags)
			if store.SameFlags(nf, msg.Flags) {
				res.Unchanged = append(res.Unchanged, msg)
				continue
			}
			if _, err := t.exec(`UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox = ? AND uid = ?`,
				int(nf.Sys), encodeKeywords(nf.Keywords), modseq, mbox, msg.UID); err != nil {
				return err
			}
			res.PrevModSeqs = append(res.PrevModSeqs, msg.ModSeq)
			msg.Flags, msg.ModSeq = nf, modseq
			res.Updated = append(res.Updated, msg)
		}
		if len(res.Updated) > 0 {
			if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, mbox); err != nil {
				return err
			}
			t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: modseq})
		}
		return nil
	})
	if err != nil {
		return store.StoreResult{}, fmt.Errorf("store flags in mailbox %d: %w", mbox, err)
	}
	return res, nil
}

// expungeMessages removes msgs from m at modseq (records them as expunged);
// release says whether their blob references are dropped.
func (t *wtx) expungeMessages(m store.Mailbox, msgs []store.Message, modseq store.ModSeq, release bool) error {
	for _, msg := range msgs {
		if _, err := t.exec(`DELETE FROM messages WHERE mailbox = ? AND uid = ?`, m.ID, msg.UID); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES (?, ?, ?)`, m.ID, msg.UID, modseq); err != nil {
			return err
		}
		if release {
			if _, err := t.exec(`UPDATE blobs SET refcount = refcount - 1 WHERE id = ?`, string(msg.Blob)); err != nil {
				return err
			}
		}
	}
	if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, modseq, m.ID); err != nil {
		return err
	}
	if release {
		if err := t.collectUnreferenced(); err != nil {
			return err
		}
	}
	t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(m.ID), ModSeq: modseq})
	return nil
}

// Expunge implements store.Store.
func (s *Store) Expunge(ctx context.Context, mbox store.MailboxID, uids imapnum.Set) (store.ExpungeResult, error) {
	rs := store.UIDRanges{{Start: 1, Stop: ^uint32(0)}}
	if uids != nil {
		rs = store.NormalizeUIDs(uids)
	}
	var out store.ExpungeResult
	err := s.w.do(ctx, func(t *wtx) error {
		out = store.ExpungeResult{}
		m, err := t.selectable(mbox)
		if err != nil {
			return err
		}
		// Only the \Deleted messages are read (partial index
		// messages_deleted, migration 0012), whatever the mailbox's size.
		var del []store.Message
		for _, r := range spans(rs) {
			rows, err := t.query(`SELECT uid, blob FROM messages INDEXED BY messages_deleted WHERE mailbox = ? AND flags & 8 != 0
				AND uid BETWEEN ? AND ? ORDER BY uid`, mbox, r.Start, r.Stop)
			if err != nil {
				return err
			}
			for rows.Next() {
				var uid int64
				var b string
				if err := rows.Scan(&uid, &b); err != nil {
					rows.Close()
					return err
				}
				if rs.Contains(uint32(uid)) {
					del = append(del, store.Message{UID: uint32(uid), Blob: store.BlobID(b)})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if len(del) == 0 {
			return nil
		}
		if err := t.expungeMessages(m, del, m.HighestModSeq+1, true); err != nil {
			return err
		}
		for _, d := range del {
			out.UIDs = append(out.UIDs, d.UID)
		}
		out.ModSeq = m.HighestModSeq + 1
		return nil
	})
	if err != nil {
		return store.ExpungeResult{}, fmt.Errorf("expunge in mailbox %d: %w", mbox, err)
	}
	return out, nil
}

// copyMessages inserts copies of msgs into dst (UIDs in order), adding blob
// references when addRefs.
func (t *wtx) copyMessages(src, dst store.MailboxID, rs store.UIDRanges, addRefs bool) (store.CopyResult, store.Mailbox, []store.Message, error) {
	var res store.CopyResult
	sm, err := t.selectable(src)
	if err != nil {
		return res, sm, nil, err
	}
	dm, err := t.selectable(dst)
	if err != nil {
		return res, sm, nil, err
	}
	msgs, err := t.loadSet(src, rs)
	if err != nil || len(msgs) == 0 {
		res.UIDValidity = dm.UIDValidity
		return res, sm, nil, err
	}
	if src == dst {
		// Re-read: loadSet saw the same counters.
		dm, err = t.mailboxByID(dst)
		if err != nil {
			return res, sm, nil, err
		}
	}
	kws := make([][]string, len(msgs))
	for i, msg := range msgs {
		kws[i] = msg.Flags.Keywords
	}
	// Refused as a whole beyond MaxKeywords: dropping keywords would
	// lose what the user set.
	if err := t.addKeywords(dst, store.UnionKeywords(kws...), false); err != nil {
		return res, sm, nil, err
	}
	modseq := dm.HighestModSeq + 1
	uid := dm.UIDNext
	now := time.Now().Unix()
	res = store.CopyResult{UIDValidity: dm.UIDValidity, SrcUIDs: make([]store.UID, 0, len(msgs)), DstUIDs: make([]store.UID, 0, len(msgs))}
	for _, msg := range msgs {
		_, off := msg.InternalDate.Zone()
		if _, err := t.exec(`INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?10, (SELECT doc FROM blobs WHERE id = ?10))`,
			dst, uid, modseq, int(msg.Flags.Sys), encodeKeywords(msg.Flags.Keywords), msg.InternalDate.Unix(), off, now, msg.Size, string(msg.Blob)); err != nil {
			return res, sm, nil, err
		}
		if addRefs {
			if _, err := t.exec(`UPDATE blobs SET refcount = refcount + 1 WHERE id = ?`, string(msg.Blob)); err != nil {
				return res, sm, nil, err
			}
		}
		res.SrcUIDs = append(res.SrcUIDs, msg.UID)
		res.DstUIDs = append(res.DstUIDs, uid)
		uid++
		if uid == 0 {
			return res, sm, nil, errors.New("UID space exhausted")
		}
	}
	if _, err := t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?`, uid, modseq, dst); err != nil {
		return res, sm, nil, err
	}
	if addRefs { // a MOVE leaves the account's usage unchanged
		if err := t.checkQuota(dm.Account); err != nil {
			return res, sm, nil, err
		}
	}
	t.publish(events.Event{Account: int64(dm.Account), Mailbox: int64(dst), ModSeq: modseq})
	return res, sm, msgs, nil
}

// Copy implements store.Store.
func (s *Store) Copy(ctx context.Context, src store.MailboxID, uids imapnum.Set, dst store.MailboxID) (store.CopyResult, error) {
	rs := store.NormalizeUIDs(uids)
	var res store.CopyResult
	err := s.w.do(ctx, func(t *wtx) error {
		var err error
		res, _, _, err = t.copyMessages(src, dst, rs, true)
		return err
	})
	if err != nil {
		return store.CopyResult{}, fmt.Errorf("copy from mailbox %d to %d: %w", src, dst, err)
	}
	return res, nil
}

// Move implements store.Store.
func (s *Store) Move(ctx context.Context, src store.MailboxID, uids imapnum.Set, dst store.MailboxID) (store.CopyResult, error) {
	rs := store.NormalizeUIDs(uids)
	var res store.CopyResult
	err := s.w.do(ctx, func(t *wtx) error {
		r, _, msgs, err := t.copyMessages(src, dst, rs, false)
		if err != nil || len(msgs) == 0 {
			res = r
			return err
		}
		sm, err := t.mailboxByID(src) // counters after the copy (src may be dst)
		if err != nil {
			return err
		}
		r.ModSeq = sm.HighestModSeq + 1
		if err := t.expungeMessages(sm, msgs, r.ModSeq, false); err != nil {
			return err
		}
		res = r
		return nil
	})
	if err != nil {
		return store.CopyResult{}, fmt.Errorf("move from mailbox %d to %d: %w", src, dst, err)
	}
	return res, nil
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, mbox store.MailboxID, since store.ModSeq) (store.Changes, error) {
	var ch store.Changes
	err := s.readRaw(ctx, func(tx rawTx) error {
		m, _, err := readMailboxRaw(tx, mbox)
		if err != nil {
			return err
		}
		ch.Mailbox = m
		args := []any{int64(mbox), int64(since)}
		err = tx.each(`SELECT `+msgCols+` FROM messages WHERE mailbox = ? AND modseq > ? ORDER BY uid`, args, func(r []driver.Value) error {
			ch.Updated = append(ch.Updated, messageFromRow(r))
			return nil
		})
		if err != nil {
			return err
		}
		return tx.each(`SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid`, args, func(r []driver.Value) error {
			ch.Expunged = append(ch.Expunged, uint32(vInt(r[0])))
			return nil
		})
	})
	if err != nil {
		return store.Changes{}, fmt.Errorf("changes in mailbox %d: %w", mbox, err)
	}
	return ch, nil
}
