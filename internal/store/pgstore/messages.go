package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// Writers of a mailbox's messages lock its row first (UPDATE … RETURNING
// or SELECT … FOR UPDATE; Copy and Move both rows in ID order), then
// contents, then the account row (addUsage): one order, so that they
// only wait for each other. The mailbox row lock serialises them per
// mailbox across nodes, and UIDNEXT and HIGHESTMODSEQ move under it.

const msgCols = `uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob`

// msgColsM is msgCols of messages m.
const msgColsM = `m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.internal_tz, m.save_date, m.size, m.blob`

// msgRow receives a row of msgCols.
type msgRow struct {
	uid, modseq        int64
	flags              int32
	keywords           []string
	idate, sdate, size int64
	tz                 int32
	blob               string
}

func (r *msgRow) dest() []any {
	return []any{&r.uid, &r.modseq, &r.flags, &r.keywords, &r.idate, &r.tz, &r.sdate, &r.size, &r.blob}
}

func (r *msgRow) message() store.Message {
	m := store.Message{
		UID:          uint32(r.uid),
		ModSeq:       uint64(r.modseq),
		Flags:        store.Flags{Sys: store.SysFlags(r.flags)},
		InternalDate: time.Unix(r.idate, 0).In(zone(int(r.tz))),
		SaveDate:     time.Unix(r.sdate, 0),
		Size:         r.size,
		Blob:         store.BlobID(r.blob),
	}
	if len(r.keywords) > 0 {
		m.Flags.Keywords = slices.Clone(r.keywords)
	}
	return m
}

func zone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", offset)
}

// flagCounts are the per-mailbox counters one message contributes.
type flagCounts struct{ n, unseen, deleted, size, sizeDeleted int64 }

func (c *flagCounts) add(flags store.SysFlags, size, sign int64) {
	c.n += sign
	c.size += sign * size
	if flags&store.FlagSeen == 0 {
		c.unseen += sign
	}
	if flags&store.FlagDeleted != 0 {
		c.deleted += sign
		c.sizeDeleted += sign * size
	}
}

// addCounts adds c to the counters of mailbox id.
func (t *wtx) addCounts(id store.MailboxID, c flagCounts) error {
	if c == (flagCounts{}) {
		return nil
	}
	_, err := t.exec(`UPDATE mailboxes SET n_messages = n_messages + $2, n_unseen = n_unseen + $3, n_deleted = n_deleted + $4,
		size_all = size_all + $5, size_deleted = size_deleted + $6 WHERE id = $1`,
		int64(id), c.n, c.unseen, c.deleted, c.size, c.sizeDeleted)
	return err
}

// lockMailbox locks the row of a selectable mailbox and returns it.
func (t *wtx) lockMailbox(id store.MailboxID) (store.Mailbox, error) {
	m, err := scanMailbox(t.queryRow(`SELECT `+mboxCols+` FROM mailboxes WHERE id = $1 FOR UPDATE`, int64(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, store.ErrNoSuchMailbox
	}
	if err == nil && m.NoSelect {
		err = store.ErrMailboxNoSelect
	}
	return m, err
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, mbox store.MailboxID) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	var uidvalidity, uidnext, hms int64
	var n, unseen, deleted, recent int64
	err := s.readRetry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT `+mboxCols+`, n_messages, n_unseen, n_deleted, size_all, size_deleted,
			(SELECT count(*) FROM messages g WHERE g.mailbox = x.id AND g.uid >= x.recent_from)
		FROM mailboxes x WHERE id = $1`, int64(mbox)).
			Scan(&st.ID, &st.Account, &st.Name, &uidvalidity, &uidnext, &hms, &st.SpecialUse, &st.NoSelect,
				&n, &unseen, &deleted, &st.Size, &st.DeletedSize, &recent)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = store.ErrNoSuchMailbox
	case err == nil && st.NoSelect:
		err = store.ErrMailboxNoSelect
	}
	if err != nil {
		return store.MailboxStatus{}, fmt.Errorf("pgstore: status of mailbox %d: %w", mbox, s.lost(err))
	}
	st.UIDValidity, st.UIDNext, st.HighestModSeq = uint32(uidvalidity), uint32(uidnext), uint64(hms)
	st.Messages, st.Unseen, st.Deleted, st.Recent = uint32(n), uint32(unseen), uint32(deleted), uint32(recent)
	return st, nil
}

// addKeywords puts kws (distinct, case-insensitively) into the keyword
// set of mbox, whose row the transaction has locked, and enforces the
// limits on the keywords new to the set (checkKeywords).
func (t *wtx) addKeywords(mbox store.MailboxID, kws []string, named bool) error {
	if len(kws) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueKeywords(b, mbox, kws)
	br := t.SendBatch(t.ctx, b)
	added, err := readKeywords(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return t.checkKeywords(mbox, added, named)
}

// queueKeywords queues the insert of kws into the keyword set of mbox;
// readKeywords reads the keywords it added.
func queueKeywords(b *pgx.Batch, mbox store.MailboxID, kws []string) {
	keys := make([]string, len(kws))
	for i, k := range kws {
		keys[i] = store.KeywordKey(k)
	}
	b.Queue(`INSERT INTO mailbox_keywords(mailbox, key, keyword)
		SELECT $1, k, w FROM unnest($2::text[], $3::text[]) AS x(k, w)
		ON CONFLICT DO NOTHING RETURNING keyword`, int64(mbox), keys, kws)
}

func readKeywords(br pgx.BatchResults) ([]string, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// checkKeywords enforces the limits on the keywords just added to the
// set of mbox: at most MaxKeywordBytes each when named (STORE, APPEND),
// at most MaxKeywords in the set. The caller's transaction (or
// savepoint) is rolled back on error, the rows added with it.
func (t *wtx) checkKeywords(mbox store.MailboxID, added []string, named bool) error {
	if len(added) == 0 {
		return nil
	}
	lim := t.s.limits
	if named && lim.MaxKeywordBytes > 0 {
		for _, k := range added {
			if len(k) > lim.MaxKeywordBytes {
				return fmt.Errorf("%w: %d bytes, at most %d", store.ErrKeywordTooLong, len(k), lim.MaxKeywordBytes)
			}
		}
	}
	if lim.MaxKeywords > 0 {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM mailbox_keywords WHERE mailbox = $1`, int64(mbox)).Scan(&n); err != nil {
			return err
		}
		if n > lim.MaxKeywords {
			return fmt.Errorf("%w: %d new would make more than %d", store.ErrTooManyKeywords, len(added), lim.MaxKeywords)
		}
	}
	return nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Snapshot implements store.Store.
func (s *Store) Snapshot(ctx context.Context, mbox store.MailboxID) (store.Snapshot, error) {
	var snap store.Snapshot
	// The three reads with their transaction in one round trip.
	err := s.readPipeline(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT `+mboxCols+`, recent_from, n_messages FROM mailboxes WHERE id = $1`, int64(mbox))
		b.Queue(`SELECT uid, flags FROM messages WHERE mailbox = $1 ORDER BY uid`, int64(mbox))
		b.Queue(`SELECT keyword FROM mailbox_keywords WHERE mailbox = $1 ORDER BY key`, int64(mbox))
	}, func(br pgx.BatchResults) error {
		var uidvalidity, uidnext, hms, recentFrom, n int64
		m := &snap.Mailbox
		err := br.QueryRow().Scan(&m.ID, &m.Account, &m.Name, &uidvalidity, &uidnext, &hms, &m.SpecialUse, &m.NoSelect, &recentFrom, &n)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNoSuchMailbox
		case err != nil:
			return err
		case m.NoSelect:
			return store.ErrMailboxNoSelect
		}
		m.UIDValidity, m.UIDNext, m.HighestModSeq = uint32(uidvalidity), uint32(uidnext), uint64(hms)
		snap.RecentFrom = store.UID(recentFrom)
		snap.UIDs = make([]store.UID, 0, n)
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var uid int64
		var flags int32
		_, err = pgx.ForEachRow(rows, []any{&uid, &flags}, func() error {
			snap.UIDs = append(snap.UIDs, uint32(uid))
			if snap.FirstUnseen == 0 && store.SysFlags(flags)&store.FlagSeen == 0 {
				snap.FirstUnseen = uint32(uid)
			}
			return nil
		})
		if err != nil {
			return err
		}
		rows, err = br.Query()
		if err != nil {
			return err
		}
		snap.Keywords, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if len(snap.Keywords) == 0 {
			snap.Keywords = nil
		}
		return err
	})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("pgstore: snapshot of mailbox %d: %w", mbox, s.lost(err))
	}
	return snap, nil
}

// ClaimRecent implements store.Store.
func (s *Store) ClaimRecent(ctx context.Context, mbox store.MailboxID) (lo, hi store.UID, err error) {
	// One statement: the CTE locks the row if it has something to claim
	// (rechecked on the row's latest version after a wait), the UPDATE
	// moves recent_from past it; with nothing to claim, the row's state
	// instead (no row: no mailbox).
	var claimed, noselect bool
	var from, next int64
	err = s.pool.QueryRow(ctx, `WITH o AS (
			SELECT id, recent_from, uidnext FROM mailboxes WHERE id = $1 AND recent_from < uidnext AND NOT noselect FOR UPDATE),
		u AS (UPDATE mailboxes m SET recent_from = o.uidnext FROM o WHERE m.id = o.id RETURNING o.recent_from, o.uidnext)
		SELECT true, recent_from, uidnext, false FROM u
		UNION ALL
		SELECT false, recent_from, uidnext, noselect FROM mailboxes WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM u)`,
		int64(mbox)).Scan(&claimed, &from, &next, &noselect)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = store.ErrNoSuchMailbox
	case err == nil && noselect:
		err = store.ErrMailboxNoSelect
	case err == nil && !claimed:
		next = from // nothing claimed (another session may have meanwhile)
	}
	lo, hi = uint32(from), uint32(next)
	if err != nil {
		return 0, 0, fmt.Errorf("pgstore: claim recent in mailbox %d: %w", mbox, s.lost(err))
	}
	return lo, hi, nil
}

// scanSet runs a query of the messages m of mbox in uids, in UID order,
// and calls row for each row: cols are its columns, joins what follows
// "messages m" in its FROM clause, extra a further condition ("" for
// none). A set of several ranges is joined as an array of ranges, one
// index range scan each.
func (s *Store) scanSet(ctx context.Context, q pgx.Tx, mbox store.MailboxID, uids imapnum.Set, cols, joins, extra string, dest []any, row func() error) error {
	sql, args, ok := setQuery(mbox, uids, cols, joins, extra)
	if !ok {
		return nil
	}
	var rows pgx.Rows
	var err error
	if q != nil {
		rows, err = q.Query(ctx, sql, args...)
	} else {
		rows, err = s.pool.Query(ctx, sql, args...)
	}
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, row)
	return err
}

// setQuery returns the query of scanSet with its arguments; !ok when
// uids is empty.
func setQuery(mbox store.MailboxID, uids imapnum.Set, cols, joins, extra string) (sql string, args []any, ok bool) {
	rs := store.NormalizeUIDs(uids)
	if len(rs) == 0 {
		return "", nil, false
	}
	if len(rs) == 1 {
		sql = `SELECT ` + cols + ` FROM messages m ` + joins + ` WHERE m.mailbox = $1 AND m.uid BETWEEN $2 AND $3`
		args = []any{int64(mbox), int64(rs[0].Start), int64(rs[0].Stop)}
	} else if n := uidCount(rs); n <= anyLimit {
		// A list: the planner estimates it by its length and probes the
		// primary key (and the joined tables' keys) per UID. It cannot
		// estimate the join with the ranges below: five UIDs in a
		// 100,000-message mailbox were read with a scan of the mailbox
		// and of every blob (260 ms, as SEARCH BODY's candidates).
		sql = `SELECT ` + cols + ` FROM messages m ` + joins + ` WHERE m.mailbox = $1 AND m.uid = ANY($2::bigint[])`
		args = []any{int64(mbox), uidList(rs, n)}
	} else {
		lo, hi := uidBounds(rs)
		sql = `SELECT ` + cols + ` FROM unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) JOIN messages m ON m.mailbox = $1 AND m.uid BETWEEN r.lo AND r.hi ` +
			joins + ` WHERE true`
		args = []any{int64(mbox), lo, hi}
	}
	if extra != "" {
		sql += ` AND ` + extra
	}
	return sql + ` ORDER BY m.uid`, args, true
}

// fetchRows reads the messages of mbox in uids with scanSet (cols,
// joins; msg makes a message of the scanned row) into memory, trying
// once more on a fresh connection if the database could not be reached,
// and then calls fn for each: fn runs with no connection held (the
// caller bounds the set: imapserver reads at most 512 at a time).
func (s *Store) fetchRows(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, cols, joins string, dest []any, msg func() store.Message, fn func(store.Message) error) error {
	var msgs []store.Message
	err := s.readRetry(ctx, func() error {
		msgs = msgs[:0]
		return s.scanSet(ctx, nil, mbox, uids, cols, joins, "", dest, func() error {
			msgs = append(msgs, msg())
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("pgstore: fetch from mailbox %d: %w", mbox, err)
	}
	for _, m := range msgs {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Fetch implements store.Store.
func (s *Store) Fetch(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	var r msgRow
	return s.fetchRows(ctx, mbox, uids, msgColsM, "", r.dest(), r.message, fn)
}

// FetchAnatomy implements store.Store.
func (s *Store) FetchAnatomy(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	var r msgRow
	var anat []byte
	return s.fetchRows(ctx, mbox, uids, msgColsM+`, b.anatomy`, `LEFT JOIN blobs b ON b.id = m.blob`,
		append(r.dest(), &anat), func() store.Message {
			m := r.message()
			if len(anat) > 0 {
				m.Anatomy = slices.Clone(anat)
			}
			return m
		}, fn)
}

// FetchContent implements store.Store: small contents come with the rows.
func (s *Store) FetchContent(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	var r msgRow
	var anat, content []byte
	return s.fetchRows(ctx, mbox, uids, msgColsM+`, b.anatomy, b.content`, `LEFT JOIN blobs b ON b.id = m.blob`,
		append(r.dest(), &anat, &content), func() store.Message {
			m := r.message()
			if len(anat) > 0 {
				m.Anatomy = slices.Clone(anat)
			}
			if content != nil {
				m.Content = slices.Clone(content)
			}
			return m
		}, fn)
}

// loadSet reads the messages of mbox in rs inside a write transaction.
func (t *wtx) loadSet(mbox store.MailboxID, uids imapnum.Set) ([]store.Message, error) {
	var out []store.Message
	var r msgRow
	err := t.s.scanSet(t.ctx, t.Tx, mbox, uids, msgColsM, "", "", r.dest(), func() error {
		out = append(out, r.message())
		return nil
	})
	return out, err
}

// lockAndLoad locks the row of the selectable mailbox mbox and reads
// its messages in uids, in one round trip.
func (t *wtx) lockAndLoad(mbox store.MailboxID, uids imapnum.Set) (store.Mailbox, []store.Message, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+mboxCols+` FROM mailboxes WHERE id = $1 FOR UPDATE`, int64(mbox))
	sql, args, load := setQuery(mbox, uids, msgColsM, "", "")
	if load {
		b.Queue(sql, args...)
	}
	br := t.SendBatch(t.ctx, b)
	defer br.Close()
	m, err := scanMailbox(br.QueryRow())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return m, nil, store.ErrNoSuchMailbox
	case err != nil:
		return m, nil, err
	case m.NoSelect:
		return m, nil, store.ErrMailboxNoSelect
	}
	var msgs []store.Message
	if load {
		rows, err := br.Query()
		if err != nil {
			return m, nil, err
		}
		var r msgRow
		if _, err := pgx.ForEachRow(rows, r.dest(), func() error {
			msgs = append(msgs, r.message())
			return nil
		}); err != nil {
			return m, nil, err
		}
	}
	return m, msgs, br.Close()
}

// StoreFlags implements store.Store.
func (s *Store) StoreFlags(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) (store.StoreResult, error) {
	kws, err := store.NormalizeKeywords(flags.Keywords)
	if err != nil {
		return store.StoreResult{}, fmt.Errorf("pgstore: store flags in mailbox %d: %w", mbox, s.lost(err))
	}
	flags.Keywords = kws
	var res store.StoreResult
	err = s.write(ctx, func(t *wtx) error {
		res = store.StoreResult{}
		m, msgs, err := t.lockAndLoad(mbox, uids)
		if err != nil {
			return err
		}
		modseq := m.HighestModSeq + 1
		if op != store.FlagsRemove && len(flags.Keywords) > 0 &&
			slices.ContainsFunc(msgs, func(msg store.Message) bool { return unchangedSince == 0 || msg.ModSeq <= unchangedSince }) {
			if err := t.addKeywords(mbox, flags.Keywords, true); err != nil {
				return err
			}
		}
		var upUIDs []int64
		var upFlags []int32
		var upKws []string
		var c flagCounts
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
			upUIDs = append(upUIDs, int64(msg.UID))
			upFlags = append(upFlags, int32(nf.Sys))
			upKws = append(upKws, strings.Join(nf.Keywords, " "))
			c.add(msg.Flags.Sys, msg.Size, -1)
			c.add(nf.Sys, msg.Size, 1)
			res.PrevModSeqs = append(res.PrevModSeqs, msg.ModSeq)
			msg.Flags, msg.ModSeq = nf, modseq
			if len(msg.Flags.Keywords) == 0 {
				msg.Flags.Keywords = nil
			}
			res.Updated = append(res.Updated, msg)
		}
		if len(res.Updated) == 0 {
			return nil
		}
		// Both updates in one round trip.
		b := &pgx.Batch{}
		b.Queue(`UPDATE messages m SET flags = x.f,
				keywords = CASE WHEN x.k = '' THEN '{}'::text[] ELSE string_to_array(x.k, ' ') END, modseq = $2
			FROM unnest($3::bigint[], $4::int[], $5::text[]) AS x(u, f, k)
			WHERE m.mailbox = $1 AND m.uid = x.u`, int64(mbox), int64(modseq), upUIDs, upFlags, upKws)
		b.Queue(`UPDATE mailboxes SET highestmodseq = $2, n_unseen = n_unseen + $3, n_deleted = n_deleted + $4,
				size_deleted = size_deleted + $5 WHERE id = $1`, int64(mbox), int64(modseq), c.unseen, c.deleted, c.sizeDeleted)
		if err := t.SendBatch(t.ctx, b).Close(); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: modseq})
		return nil
	})
	if err != nil {
		return store.StoreResult{}, fmt.Errorf("pgstore: store flags in mailbox %d: %w", mbox, s.lost(err))
	}
	return res, nil
}

// expungeUIDs removes the messages uids of m (whose row is locked) at
// modseq, records them as expunged and takes them off the counters;
// with release it also drops their content references and the usage.
func (t *wtx) expungeUIDs(m store.Mailbox, uids []int64, modseq store.ModSeq, release bool) error {
	rows, err := t.Query(t.ctx, `DELETE FROM messages WHERE mailbox = $1 AND uid = ANY($2) RETURNING flags, size, blob`, int64(m.ID), uids)
	if err != nil {
		return err
	}
	var c flagCounts
	var blobs []string
	var flags int32
	var size int64
	var blob string
	if _, err := pgx.ForEachRow(rows, []any{&flags, &size, &blob}, func() error {
		c.add(store.SysFlags(flags), size, -1)
		blobs = append(blobs, blob)
		return nil
	}); err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO expunged(mailbox, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) u
		ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = EXCLUDED.modseq`, int64(m.ID), int64(modseq), uids); err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = $2, n_messages = n_messages + $3, n_unseen = n_unseen + $4,
			n_deleted = n_deleted + $5, size_all = size_all + $6, size_deleted = size_deleted + $7 WHERE id = $1`,
		int64(m.ID), int64(modseq), c.n, c.unseen, c.deleted, c.size, c.sizeDeleted); err != nil {
		return err
	}
	if release {
		free, err := t.releaseBlobs(blobs)
		if err != nil {
			return err
		}
		if err := t.addUsage(m.Account, c.size, c.n, false); err != nil {
			return err
		}
		if err := t.collect(free); err != nil {
			return err
		}
	}
	t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(m.ID), ModSeq: modseq})
	return nil
}

// Expunge implements store.Store.
func (s *Store) Expunge(ctx context.Context, mbox store.MailboxID, uids imapnum.Set) (store.ExpungeResult, error) {
	if uids == nil {
		uids = imapnum.Set{{Start: 1, Stop: ^uint32(0)}}
	}
	var out store.ExpungeResult
	err := s.write(ctx, func(t *wtx) error {
		out = store.ExpungeResult{}
		m, err := t.lockMailbox(mbox)
		if err != nil {
			return err
		}
		// Only the \Deleted messages are read (index messages_deleted).
		var del []int64
		var uid int64
		if err := t.s.scanSet(t.ctx, t.Tx, mbox, uids, `m.uid`, "", `m.flags & 8 <> 0`, []any{&uid}, func() error {
			del = append(del, uid)
			return nil
		}); err != nil {
			return err
		}
		if len(del) == 0 {
			return nil
		}
		modseq := m.HighestModSeq + 1
		if err := t.expungeUIDs(m, del, modseq, true); err != nil {
			return err
		}
		out.UIDs = make([]store.UID, len(del))
		for i, u := range del {
			out.UIDs[i] = uint32(u)
		}
		out.ModSeq = modseq
		return nil
	})
	if err != nil {
		return store.ExpungeResult{}, fmt.Errorf("pgstore: expunge in mailbox %d: %w", mbox, s.lost(err))
	}
	return out, nil
}

// lockPair locks the rows of src and dst in ID order and returns them,
// both selectable.
func (t *wtx) lockPair(src, dst store.MailboxID) (sm, dm store.Mailbox, err error) {
	rows, err := t.Query(t.ctx, `SELECT `+mboxCols+` FROM mailboxes WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, int64(src), int64(dst))
	if err != nil {
		return sm, dm, err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return sm, dm, err
		}
		if m.ID == src {
			sm = m
		}
		if m.ID == dst {
			dm = m
		}
	}
	if err := rows.Err(); err != nil {
		return sm, dm, err
	}
	for _, m := range []store.Mailbox{sm, dm} {
		if m.ID == 0 {
			return sm, dm, store.ErrNoSuchMailbox
		}
		if m.NoSelect {
			return sm, dm, store.ErrMailboxNoSelect
		}
	}
	return sm, dm, nil
}

// copyMessages inserts copies of the messages of src in uids into dst
// (UIDs in order), adding content references and usage when addRefs.
func (t *wtx) copyMessages(src, dst store.MailboxID, uids imapnum.Set, addRefs bool) (store.CopyResult, store.Mailbox, []store.Message, error) {
	var res store.CopyResult
	sm, dm, err := t.lockPair(src, dst)
	if err != nil {
		return res, sm, nil, err
	}
	res.UIDValidity = dm.UIDValidity
	msgs, err := t.loadSet(src, uids)
	if err != nil || len(msgs) == 0 {
		return res, sm, nil, err
	}
	kws := make([][]string, len(msgs))
	for i, msg := range msgs {
		kws[i] = msg.Flags.Keywords
	}
	// Refused as a whole beyond MaxKeywords: keywords are never dropped.
	if err := t.addKeywords(dst, store.UnionKeywords(kws...), false); err != nil {
		return res, sm, nil, err
	}
	n := int64(len(msgs))
	var first, modseq int64
	if err := t.queryRow(`UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
		WHERE id = $1 RETURNING uidnext - $2, highestmodseq`, int64(dst), n).Scan(&first, &modseq); err != nil {
		return res, sm, nil, err
	}
	if first+n > int64(^uint32(0)) {
		return res, sm, nil, errors.New("UID space exhausted")
	}
	srcUIDs := make([]int64, len(msgs))
	var c flagCounts
	var blobs []string
	res.SrcUIDs = make([]store.UID, len(msgs))
	res.DstUIDs = make([]store.UID, len(msgs))
	for i, msg := range msgs {
		srcUIDs[i] = int64(msg.UID)
		c.add(msg.Flags.Sys, msg.Size, 1)
		blobs = append(blobs, string(msg.Blob))
		res.SrcUIDs[i] = msg.UID
		res.DstUIDs[i] = uint32(first) + uint32(i)
	}
	if _, err := t.exec(`INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, textver)
		SELECT $2, $3 + x.i - 1, $4, m.flags, m.keywords, m.internal_date, m.internal_tz, $5, m.size, m.blob, m.textver
		FROM unnest($6::bigint[]) WITH ORDINALITY AS x(u, i) JOIN messages m ON m.mailbox = $1 AND m.uid = x.u`,
		int64(src), int64(dst), first, modseq, time.Now().Unix(), srcUIDs); err != nil {
		return res, sm, nil, err
	}
	if err := t.addCounts(dst, c); err != nil {
		return res, sm, nil, err
	}
	if addRefs { // a MOVE leaves the account's usage and references as they are
		if _, err := t.exec(`UPDATE blobs b SET refcount = b.refcount + d.n
			FROM (SELECT x, count(*) AS n FROM unnest($1::text[]) AS x GROUP BY x) AS d WHERE b.id = d.x`, blobs); err != nil {
			return res, sm, nil, err
		}
		if err := t.addUsage(dm.Account, c.size, c.n, true); err != nil {
			return res, sm, nil, err
		}
	}
	t.publish(events.Event{Account: int64(dm.Account), Mailbox: int64(dst), ModSeq: uint64(modseq)})
	return res, sm, msgs, nil
}

// Copy implements store.Store.
func (s *Store) Copy(ctx context.Context, src store.MailboxID, uids imapnum.Set, dst store.MailboxID) (store.CopyResult, error) {
	var res store.CopyResult
	err := s.write(ctx, func(t *wtx) error {
		var err error
		res, _, _, err = t.copyMessages(src, dst, uids, true)
		return err
	})
	if err != nil {
		return store.CopyResult{}, fmt.Errorf("pgstore: copy from mailbox %d to %d: %w", src, dst, s.lost(err))
	}
	return res, nil
}

// Move implements store.Store.
func (s *Store) Move(ctx context.Context, src store.MailboxID, uids imapnum.Set, dst store.MailboxID) (store.CopyResult, error) {
	var res store.CopyResult
	err := s.write(ctx, func(t *wtx) error {
		r, _, msgs, err := t.copyMessages(src, dst, uids, false)
		if err != nil || len(msgs) == 0 {
			res = r
			return err
		}
		sm, err := t.lockMailbox(src) // counters after the copy (src may be dst)
		if err != nil {
			return err
		}
		r.ModSeq = sm.HighestModSeq + 1
		del := make([]int64, len(msgs))
		for i, m := range msgs {
			del[i] = int64(m.UID)
		}
		if err := t.expungeUIDs(sm, del, r.ModSeq, false); err != nil {
			return err
		}
		res = r
		return nil
	})
	if err != nil {
		return store.CopyResult{}, fmt.Errorf("pgstore: move from mailbox %d to %d: %w", src, dst, s.lost(err))
	}
	return res, nil
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, mbox store.MailboxID, since store.ModSeq) (store.Changes, error) {
	var ch store.Changes
	// The three reads with their transaction in one round trip.
	err := s.readPipeline(ctx, func(b *pgx.Batch) {
		b.Queue(`SELECT `+mboxCols+` FROM mailboxes WHERE id = $1`, int64(mbox))
		b.Queue(`SELECT `+msgCols+` FROM messages WHERE mailbox = $1 AND modseq > $2 ORDER BY uid`, int64(mbox), int64(since))
		b.Queue(`SELECT uid FROM expunged WHERE mailbox = $1 AND modseq > $2 ORDER BY uid`, int64(mbox), int64(since))
	}, func(br pgx.BatchResults) error {
		m, err := scanMailbox(br.QueryRow())
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNoSuchMailbox
		case err != nil:
			return err
		case m.NoSelect:
			return store.ErrMailboxNoSelect
		}
		ch.Mailbox = m
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var r msgRow
		if _, err := pgx.ForEachRow(rows, r.dest(), func() error {
			ch.Updated = append(ch.Updated, r.message())
			return nil
		}); err != nil {
			return err
		}
		rows, err = br.Query()
		if err != nil {
			return err
		}
		var uid int64
		_, err = pgx.ForEachRow(rows, []any{&uid}, func() error {
			ch.Expunged = append(ch.Expunged, uint32(uid))
			return nil
		})
		return err
	})
	if err != nil {
		return store.Changes{}, fmt.Errorf("pgstore: changes in mailbox %d: %w", mbox, s.lost(err))
	}
	return ch, nil
}
