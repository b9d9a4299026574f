package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rookery/internal/events"
	"rookery/internal/store"
)

// The store.Restorer of the PostgreSQL store. Each call is one
// transaction (Store.write) whose statements go in few pipelines, with
// the rows of a call in multi-row statements (unnest of arrays), not
// one round trip per row. Restored rows keep every counter the other
// writers keep: the mailbox counters (n_*, size_*), the account's usage,
// the contents' reference counts, messages.textver and the keyword
// sets. Contents come from WriteBlob (a large one is committed and
// pinned there, a small one travels in BlobRef.Content and is inserted
// here), with the anatomy and index text the caller gives. Restores
// check no quota and no MailboxLimits: the data exist already.

var _ store.Restorer = (*Store)(nil)

// RestoreInstallation implements store.Restorer: it raises the
// mailbox_ids sequence to at least d.MailboxIDFloor, the installation's
// UIDVALIDITY floor and the retired account names, never lowering them.
func (s *Store) RestoreInstallation(ctx context.Context, d store.InstallationDump) error {
	names := make([]string, len(d.RetiredAccounts))
	uvs := make([]int64, len(d.RetiredAccounts))
	for i, r := range d.RetiredAccounts {
		names[i], uvs[i] = r.Name, int64(r.UIDValidity)
	}
	err := s.write(ctx, func(t *wtx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE installation SET uidvalidity_floor = greatest(uidvalidity_floor, $1)`, int64(d.UIDValidityFloor))
		b.Queue(`INSERT INTO retired_accounts(name, uidvalidity) SELECT n, max(u) FROM unnest($1::text[], $2::bigint[]) AS x(n, u) GROUP BY n
			ON CONFLICT (name) DO UPDATE SET uidvalidity = greatest(retired_accounts.uidvalidity, EXCLUDED.uidvalidity)`, names, uvs)
		if err := t.SendBatch(t.ctx, b).Close(); err != nil {
			return err
		}
		return t.raiseMailboxIDs(d.MailboxIDFloor)
	})
	if err != nil {
		return fmt.Errorf("pgstore: restore installation: %w", err)
	}
	return nil
}

// raiseMailboxIDs makes the mailbox_ids sequence give IDs above floor
// from now on (never lowering it). A sequence is not transactional: the
// raise stays if the transaction fails, which only skips IDs.
func (t *wtx) raiseMailboxIDs(floor store.MailboxID) error {
	if floor <= 0 {
		return nil
	}
	// Serialised with other raises (not with nextval, which only
	// moves the sequence up).
	if _, err := t.exec(`SELECT pg_advisory_xact_lock($1)`, mailboxIDLock); err != nil {
		return err
	}
	_, err := t.exec(`SELECT setval('mailbox_ids', $1) FROM mailbox_ids WHERE NOT is_called OR last_value < $1`, int64(floor))
	return err
}

// mailboxIDLock is the key of the advisory lock raiseMailboxIDs holds
// (account IDs, the keys of lockAccount, are positive; migrationLock is
// another negative key).
const mailboxIDLock int64 = -0x6d626f786964 // "mboxid"

// checkAccountDump refuses a dump that the store could not have made.
func checkAccountDump(d store.AccountDump) error {
	if d.Name == "" || len(d.Name) > store.MaxAccountName {
		return fmt.Errorf("%w: name must be 1 to %d bytes", store.ErrInvalidAccountName, store.MaxAccountName)
	}
	seen := make(map[store.MailboxID]bool, len(d.Mailboxes))
	for _, m := range d.Mailboxes {
		if cn, err := store.CanonicalMailboxName(m.Name); err != nil {
			return err
		} else if cn != m.Name {
			return fmt.Errorf("mailbox name %q is not in canonical form (%q): %w", m.Name, cn, store.ErrInvalidName)
		}
		if su, err := store.CanonicalSpecialUse(m.SpecialUse); err != nil {
			return fmt.Errorf("mailbox %q: %w", m.Name, err)
		} else if su != m.SpecialUse {
			return fmt.Errorf("mailbox %q: special-use %q is not in canonical form: %w", m.Name, m.SpecialUse, store.ErrSpecialUseInvalid)
		}
		if m.ID <= 0 || m.UIDValidity == 0 || m.UIDNext == 0 {
			return fmt.Errorf("mailbox %q: ID %d, UIDVALIDITY %d, UIDNEXT %d: none may be 0", m.Name, m.ID, m.UIDValidity, m.UIDNext)
		}
		if m.RecentFrom > m.UIDNext {
			return fmt.Errorf("mailbox %q: first \\Recent UID %d is beyond UIDNEXT %d", m.Name, m.RecentFrom, m.UIDNext)
		}
		if seen[m.ID] {
			return fmt.Errorf("%w: mailbox ID %d given twice", store.ErrRestoreConflict, m.ID)
		}
		seen[m.ID] = true
		if _, err := store.NormalizeKeywords(m.Keywords); err != nil {
			return fmt.Errorf("mailbox %q: %w", m.Name, err)
		}
	}
	return nil
}

// quotaValue maps an own limit to its column: nil (and a negative value,
// QuotaDefault) to NULL, the server default.
func quotaValue(v *int64) *int64 {
	if v == nil || *v < 0 {
		return nil
	}
	return v
}

// RestoreAccount implements store.Restorer.
func (s *Store) RestoreAccount(ctx context.Context, d store.AccountDump) (store.Account, error) {
	if err := checkAccountDump(d); err != nil {
		return store.Account{}, fmt.Errorf("pgstore: restore account %q: %w", d.Name, err)
	}
	acct := store.Account{Name: d.Name, PasswordHash: d.PasswordHash, SCRAMSecret: d.SCRAMSecret, Created: time.Unix(d.Created.Unix(), 0)}
	n := len(d.Mailboxes)
	ids, uvs, nexts, hmss, recents := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	names, uses := make([]string, n), make([]string, n)
	noselect, renew := make([]bool, n), make([]bool, n)
	var kwBox []int64
	var kwKeys, kwWords []string
	var top store.MailboxID
	for i, m := range d.Mailboxes {
		ids[i], names[i], uvs[i], nexts[i], hmss[i] = int64(m.ID), m.Name, int64(m.UIDValidity), int64(m.UIDNext), int64(m.HighestModSeq)
		uses[i], noselect[i], recents[i], renew[i] = m.SpecialUse, m.NoSelect, int64(m.RecentFrom), m.RenewOnRename
		for _, k := range m.Keywords {
			kwBox, kwKeys, kwWords = append(kwBox, int64(m.ID)), append(kwKeys, store.KeywordKey(k)), append(kwWords, k)
		}
		top = max(top, m.ID)
	}
	rnNames := make([]string, len(d.RetiredNames))
	rnUVs := make([]int64, len(d.RetiredNames))
	for i, r := range d.RetiredNames {
		rnNames[i], rnUVs[i] = r.Name, int64(r.UIDValidity)
	}
	err := s.write(ctx, func(t *wtx) error {
		err := t.queryRow(`INSERT INTO accounts(name, password_hash, scram, created, quota_storage, quota_messages, uidvalidity_floor)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING id`,
			d.Name, d.PasswordHash, d.SCRAMSecret, acct.Created.Unix(), quotaValue(d.StorageLimit), quotaValue(d.MessageLimit),
			int64(d.UIDValidityFloor)).Scan(&acct.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrAccountExists
		}
		if err != nil {
			return err
		}
		var inUse []int64
		rows, err := t.Query(t.ctx, `SELECT id FROM mailboxes WHERE id = ANY($1) ORDER BY id`, ids)
		if err != nil {
			return err
		}
		if inUse, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if len(inUse) > 0 {
			return fmt.Errorf("%w: mailbox ID %d is in use", store.ErrRestoreConflict, inUse[0])
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO mailboxes(id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from, renew_uidvalidity)
			SELECT x.id, $1, x.name, x.uv, x.next, x.hms, x.su, x.ns, x.rf, x.rn
			FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bool[], $9::bigint[], $10::bool[])
				AS x(id, name, uv, next, hms, su, ns, rf, rn)`,
			int64(acct.ID), ids, names, uvs, nexts, hmss, uses, noselect, recents, renew)
		b.Queue(`INSERT INTO mailbox_keywords(mailbox, key, keyword) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
			ON CONFLICT DO NOTHING`, kwBox, kwKeys, kwWords)
		b.Queue(`INSERT INTO subscriptions(account, name) SELECT $1, n FROM unnest($2::text[]) AS n ON CONFLICT DO NOTHING`,
			int64(acct.ID), d.Subscriptions)
		b.Queue(`INSERT INTO retired_names(account, name, uidvalidity) SELECT $1, n, u FROM unnest($2::text[], $3::bigint[]) AS x(n, u)
			ON CONFLICT DO NOTHING`, int64(acct.ID), rnNames, rnUVs)
		if err := t.SendBatch(t.ctx, b).Close(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "mailboxes_pkey" {
				// Taken by a concurrent writer since the check.
				return fmt.Errorf("%w: a mailbox ID is in use: %w", store.ErrRestoreConflict, err)
			}
			return err
		}
		if err := t.raiseMailboxIDs(top); err != nil {
			return err
		}
		for _, m := range d.Mailboxes {
			t.publish(events.Event{Account: int64(acct.ID), Mailbox: int64(m.ID)})
		}
		t.publish(events.Event{Account: int64(acct.ID)})
		return nil
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("pgstore: restore account %q: %w", d.Name, err)
	}
	return acct, nil
}

// restoreBatch is a RestoreMessages call in columns, the messages the
// mailbox lacks only.
type restoreBatch struct {
	uids, modseqs, idates, sdates []int64
	flags, tzs                    []int32
	kws, blobs                    []string
	counts                        map[store.BlobID]int64 // references added per content
	refs                          map[store.BlobID]store.BlobRef
}

// RestoreMessages implements store.Restorer. Its statements go in two
// pipelines before the commit: the mailbox row locked with the UIDs it
// holds already (as messages or expunged), then the contents, texts,
// messages, counters and keywords (restoreRows).
func (s *Store) RestoreMessages(ctx context.Context, mbox store.MailboxID, msgs []store.RestoreMessage) (int, error) {
	kws := make([]string, len(msgs))
	var all []string // the keywords of every message
	uids := make([]int64, len(msgs))
	for i, m := range msgs {
		k, err := store.NormalizeKeywords(m.Flags.Keywords)
		if err != nil {
			return 0, fmt.Errorf("pgstore: restore messages to mailbox %d: UID %d: %w", mbox, m.UID, err)
		}
		kws[i] = strings.Join(k, " ")
		all = store.UnionKeywords(all, k)
		uids[i] = int64(m.UID)
	}
	added := 0
	err := s.write(ctx, func(t *wtx) error {
		added = 0
		b := &pgx.Batch{}
		b.Queue(`SELECT `+mboxCols+` FROM mailboxes WHERE id = $1 FOR UPDATE`, int64(mbox))
		b.Queue(`SELECT uid FROM messages WHERE mailbox = $1 AND uid = ANY($2)
			UNION ALL SELECT -uid FROM expunged WHERE mailbox = $1 AND uid = ANY($2)`, int64(mbox), uids)
		br := t.SendBatch(t.ctx, b)
		m, err := scanMailbox(br.QueryRow())
		var have []int64
		if err == nil {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				have, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNoSuchMailbox
		case err != nil:
			return err
		case m.NoSelect:
			return store.ErrMailboxNoSelect
		}
		present := make(map[store.UID]bool, len(have))
		for _, u := range have {
			if u < 0 {
				return fmt.Errorf("%w: UID %d is expunged", store.ErrRestoreConflict, -u)
			}
			present[store.UID(u)] = true
		}
		rb := restoreBatch{counts: map[store.BlobID]int64{}, refs: map[store.BlobID]store.BlobRef{}}
		for i, msg := range msgs {
			if msg.UID == 0 || msg.UID >= m.UIDNext {
				return fmt.Errorf("%w: UID %d, UIDNEXT %d", store.ErrRestoreConflict, msg.UID, m.UIDNext)
			}
			if msg.ModSeq == 0 || msg.ModSeq > m.HighestModSeq {
				return fmt.Errorf("%w: UID %d has mod-sequence %d, HIGHESTMODSEQ %d", store.ErrRestoreConflict, msg.UID, msg.ModSeq, m.HighestModSeq)
			}
			if present[msg.UID] {
				continue // restored before (or earlier in msgs)
			}
			present[msg.UID] = true
			_, off := msg.InternalDate.Zone()
			rb.uids = append(rb.uids, int64(msg.UID))
			rb.modseqs = append(rb.modseqs, int64(msg.ModSeq))
			rb.flags = append(rb.flags, int32(msg.Flags.Sys))
			rb.kws = append(rb.kws, kws[i])
			rb.idates = append(rb.idates, msg.InternalDate.Unix())
			rb.tzs = append(rb.tzs, int32(off))
			rb.sdates = append(rb.sdates, msg.SaveDate.Unix())
			rb.blobs = append(rb.blobs, string(msg.Blob.ID))
			rb.counts[msg.Blob.ID]++
			rb.refs[msg.Blob.ID] = mergeRef(rb.refs[msg.Blob.ID], msg.Blob)
		}
		if len(rb.uids) > 0 {
			if err := t.restoreRows(m, rb, all); err != nil {
				return err
			}
			added = len(rb.uids)
			t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: m.HighestModSeq})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: restore messages to mailbox %d: %w", mbox, err)
	}
	return added, nil
}

// mergeRef returns r completed with what o carries (two references to
// one content in a batch: either may carry the content, anatomy, text).
func mergeRef(r, o store.BlobRef) store.BlobRef {
	if r.ID == "" {
		return o
	}
	if r.Content == nil {
		r.Content = o.Content
	}
	if len(r.Anatomy) == 0 {
		r.Anatomy = o.Anatomy
	}
	if r.Text == nil {
		r.Text = o.Text
	}
	return r
}

// restoreRows writes the rows of rb into the mailbox m (locked) in one
// pipeline: the contents (in ID order, as Append locks them), their
// texts, the messages, the mailbox's counters and keyword set and the
// account's usage.
func (t *wtx) restoreRows(m store.Mailbox, rb restoreBatch, all []string) error {
	ids := make([]store.BlobID, 0, len(rb.refs))
	for id := range rb.refs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// Contents that travel with their refs are inserted (or found);
	// the others were committed by WriteBlob and must be there.
	var inID, upID []string
	var inSize, inN, upN []int64
	var inContent, inAnat, upAnat [][]byte
	for _, id := range ids {
		r := rb.refs[id]
		if r.Content != nil {
			inID, inSize, inN = append(inID, string(id)), append(inSize, int64(len(r.Content))), append(inN, rb.counts[id])
			inContent, inAnat = append(inContent, r.Content), append(inAnat, nilIfEmpty(r.Anatomy))
		} else {
			upID, upN, upAnat = append(upID, string(id)), append(upN, rb.counts[id]), append(upAnat, nilIfEmpty(r.Anatomy))
		}
	}
	b := &pgx.Batch{}
	if len(inID) > 0 {
		b.Queue(`INSERT INTO blobs(id, size, refcount, content, anatomy)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bytea[]) ORDER BY 1
			ON CONFLICT (id) DO UPDATE SET refcount = blobs.refcount + EXCLUDED.refcount, anatomy = coalesce(blobs.anatomy, EXCLUDED.anatomy)`,
			inID, inSize, inN, inContent, inAnat)
	}
	if len(upID) > 0 {
		b.Queue(`UPDATE blobs b SET refcount = b.refcount + x.n, anatomy = coalesce(b.anatomy, x.a)
			FROM (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS x(id, n, a) ORDER BY id) AS x
			WHERE b.id = x.id RETURNING b.id`, upID, upN, upAnat)
	}
	texts := queueTexts(b, ids, rb.refs)
	// The messages, then their counts added to the mailbox's counters
	// and the account's usage (its row locked last, as writers do).
	b.Queue(`WITH ins AS (
			INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, textver)
			SELECT $1, x.u, x.ms, x.f, CASE WHEN x.k = '' THEN '{}'::text[] ELSE string_to_array(x.k, ' ') END,
				x.d, x.tz, x.sd, bl.size, x.b, (SELECT t.textver FROM blob_texts t WHERE t.blob = x.b)
			FROM unnest($3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::bigint[], $8::int[], $9::bigint[], $10::text[])
				AS x(u, ms, f, k, d, tz, sd, b)
			JOIN blobs bl ON bl.id = x.b
			RETURNING size, flags),
		c AS (SELECT count(*) AS n, count(*) FILTER (WHERE flags & 1 = 0) AS u, count(*) FILTER (WHERE flags & 8 <> 0) AS d,
			coalesce(sum(size), 0) AS s, coalesce(sum(size) FILTER (WHERE flags & 8 <> 0), 0) AS sd FROM ins),
		mb AS (UPDATE mailboxes x SET n_messages = x.n_messages + c.n, n_unseen = x.n_unseen + c.u, n_deleted = x.n_deleted + c.d,
			size_all = x.size_all + c.s, size_deleted = x.size_deleted + c.sd FROM c WHERE x.id = $1)
		UPDATE accounts a SET used_storage = a.used_storage + c.s, used_messages = a.used_messages + c.n
		FROM c WHERE a.id = $2 RETURNING c.n`,
		int64(m.ID), int64(m.Account), rb.uids, rb.modseqs, rb.flags, rb.kws, rb.idates, rb.tzs, rb.sdates, rb.blobs)
	if len(all) > 0 {
		queueKeywords(b, m.ID, all) // no limit: the keywords exist
	}
	br := t.SendBatch(t.ctx, b)
	err := readRestore(br, len(inID) > 0, upID, texts, len(rb.uids))
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readRestore reads the results of restoreRows's pipeline: every
// content found, every message inserted.
func readRestore(br pgx.BatchResults, inserted bool, upID []string, texts bool, n int) error {
	if inserted {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if len(upID) > 0 {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(found) < len(upID) {
			for _, id := range upID {
				if !slices.Contains(found, id) {
					return fmt.Errorf("blob %s: %w", id, store.ErrNoSuchMessage)
				}
			}
		}
	}
	if texts {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	var got int64
	if err := br.QueryRow().Scan(&got); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchAccount
		}
		return err
	}
	if got != int64(n) {
		return fmt.Errorf("%d of %d messages inserted", got, n)
	}
	return nil
}

// queueTexts queues (and reports whether it queued) the insert of the index texts the refs of ids carry,
// for contents that have none yet, and the textver of the messages
// stored before the content had a text (as queueText does for one).
func queueTexts(b *pgx.Batch, ids []store.BlobID, refs map[store.BlobID]store.BlobRef) bool {
	var (
		blob                                         []string
		ver                                          []int32
		from, to, cc, bcc, subj, other, body         []string
		date, sortSubj, msgid, inReplyTo, references []string
		sent                                         []*int64
	)
	for _, id := range ids {
		t := refs[id].Text
		if t == nil {
			continue
		}
		sf := t.Sort
		var sn *int64
		if !sf.Sent.IsZero() {
			v := sf.Sent.Unix()
			sn = &v
		}
		blob, ver = append(blob, string(id)), append(ver, int32(t.Version))
		from, to, cc, bcc = append(from, clean(t.From)), append(to, clean(t.To)), append(cc, clean(t.Cc)), append(bcc, clean(t.Bcc))
		subj, other, body = append(subj, clean(t.Subject)), append(other, clean(t.Other)), append(body, clean(t.Body))
		date, sortSubj, msgid = append(date, clean(sf.Date)), append(sortSubj, clean(sf.Subject)), append(msgid, clean(sf.MessageID))
		inReplyTo, references, sent = append(inReplyTo, clean(sf.InReplyTo)), append(references, clean(sf.References)), append(sent, sn)
	}
	if len(blob) == 0 {
		return false
	}
	b.Queue(`WITH ins AS (
			INSERT INTO blob_texts(blob, textver, hfrom, hto, hcc, hbcc, hsubject, hother, body, date, subject, msgid, inreplyto, refs, sent)
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
				$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bigint[])
			ON CONFLICT (blob) DO NOTHING RETURNING blob, textver)
		UPDATE messages m SET textver = ins.textver FROM ins WHERE m.blob = ins.blob AND m.textver IS NULL`,
		blob, ver, from, to, cc, bcc, subj, other, body, date, sortSubj, msgid, inReplyTo, references, sent)
	return true
}

// RestoreExpunged implements store.Restorer: one pipeline locks the
// mailbox row and reads which UIDs are messages, a second inserts the
// entries.
func (s *Store) RestoreExpunged(ctx context.Context, mbox store.MailboxID, exp []store.ExpungedUID) error {
	uids := make([]int64, len(exp))
	modseqs := make([]int64, len(exp))
	for i, e := range exp {
		uids[i], modseqs[i] = int64(e.UID), int64(e.ModSeq)
	}
	err := s.write(ctx, func(t *wtx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT `+mboxCols+` FROM mailboxes WHERE id = $1 FOR UPDATE`, int64(mbox))
		b.Queue(`SELECT uid FROM messages WHERE mailbox = $1 AND uid = ANY($2) ORDER BY uid LIMIT 1`, int64(mbox), uids)
		br := t.SendBatch(t.ctx, b)
		m, err := scanMailbox(br.QueryRow())
		var msg []int64
		if err == nil {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				msg, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNoSuchMailbox
		case err != nil:
			return err
		}
		for _, e := range exp {
			if e.UID == 0 || e.UID >= m.UIDNext {
				return fmt.Errorf("%w: expunged UID %d, UIDNEXT %d", store.ErrRestoreConflict, e.UID, m.UIDNext)
			}
			if e.ModSeq == 0 || e.ModSeq > m.HighestModSeq {
				return fmt.Errorf("%w: UID %d expunged at mod-sequence %d, HIGHESTMODSEQ %d", store.ErrRestoreConflict, e.UID, e.ModSeq, m.HighestModSeq)
			}
		}
		if len(msg) > 0 {
			return fmt.Errorf("%w: UID %d is both a message and expunged", store.ErrRestoreConflict, msg[0])
		}
		if len(exp) == 0 {
			return nil
		}
		// The first entry of a UID given twice wins, as a second call
		// leaves the first call's.
		if _, err := t.exec(`INSERT INTO expunged(mailbox, uid, modseq)
			SELECT DISTINCT ON (u) $1, u, ms FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS x(u, ms, i) ORDER BY u, i
			ON CONFLICT DO NOTHING`, int64(mbox), uids, modseqs); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: m.HighestModSeq})
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: restore expunged UIDs of mailbox %d: %w", mbox, err)
	}
	return nil
}

// RestoreMailbox implements store.Restorer. It holds the account's
// advisory lock, like every change of the account's mailbox list.
func (s *Store) RestoreMailbox(ctx context.Context, acct store.AccountID, d store.MailboxDump) (store.Mailbox, error) {
	if err := store.CheckRestoreMailbox(d); err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: restore mailbox: %w", err)
	}
	kws, err := store.NormalizeKeywords(d.Keywords)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: restore mailbox %q: %w", d.Name, err)
	}
	keys := make([]string, len(kws))
	for i, k := range kws {
		keys[i] = store.KeywordKey(k)
	}
	var m store.Mailbox
	err = s.write(ctx, func(t *wtx) error {
		m = store.Mailbox{Account: acct, Name: d.Name, UIDValidity: d.UIDValidity, UIDNext: d.UIDNext,
			HighestModSeq: d.HighestModSeq, SpecialUse: d.SpecialUse}
		if err := t.lockAccount(acct); err != nil {
			return err
		}
		if err := t.accountExists(acct); err != nil {
			return err
		}
		old, err := t.mailboxByName(acct, d.Name)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			old = store.Mailbox{}
		case err != nil:
			return err
		case old.UIDNext > 1 && !old.NoSelect:
			return store.ErrMailboxExists
		default:
			// Never used, or a placeholder: a new incarnation.
			if _, err := t.exec(`DELETE FROM mailboxes WHERE id = $1`, int64(old.ID)); err != nil {
				return err
			}
			if old.UIDNext > 1 {
				if err := t.retire(acct, d.Name, old.UIDValidity); err != nil {
					return err
				}
			}
			t.publish(events.Event{Account: int64(acct), Mailbox: int64(old.ID)})
		}
		var floor int64
		var last *int64
		if err := t.queryRow(`SELECT uidvalidity_floor,
			(SELECT max(uidvalidity) FROM retired_names WHERE account = $1 AND name = $2)
			FROM accounts WHERE id = $1`, int64(acct), d.Name).Scan(&floor, &last); err != nil {
			return err
		}
		if v := int64(d.UIDValidity); v <= floor || (last != nil && v <= *last) {
			var l int64
			if last != nil {
				l = *last
			}
			return fmt.Errorf("%w: UIDVALIDITY %d of %q is not above the account's floor %d and the earlier mailboxes of that name (%d)",
				store.ErrRestoreConflict, d.UIDValidity, d.Name, floor, l)
		}
		if err := t.createParents(acct, d.Name); err != nil {
			return err
		}
		if err := t.queryRow(`INSERT INTO mailboxes(account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from)
			VALUES ($1, $2, $3, $4, $5, $6, false, $4) RETURNING id`, int64(acct), d.Name, int64(d.UIDValidity), int64(d.UIDNext),
			int64(d.HighestModSeq), d.SpecialUse).Scan(&m.ID); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO mailbox_keywords(mailbox, key, keyword) SELECT $1, k, w FROM unnest($2::text[], $3::text[]) AS x(k, w)
			ON CONFLICT DO NOTHING`, int64(m.ID), keys, kws); err != nil {
			return err
		}
		if old.ID != 0 && old.UIDNext > 1 {
			if err := t.pruneRetired(acct); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct), Mailbox: int64(m.ID)})
		return nil
	})
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: restore mailbox %q: %w", d.Name, err)
	}
	return m, nil
}
