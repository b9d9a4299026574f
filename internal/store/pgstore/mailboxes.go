package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
	"rookery/internal/store"
)

const mboxCols = `id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect`

func scanMailbox(row pgx.Row) (store.Mailbox, error) {
	var m store.Mailbox
	var uidvalidity, uidnext, hms int64
	err := row.Scan(&m.ID, &m.Account, &m.Name, &uidvalidity, &uidnext, &hms, &m.SpecialUse, &m.NoSelect)
	m.UIDValidity, m.UIDNext, m.HighestModSeq = uint32(uidvalidity), uint32(uidnext), uint64(hms)
	return m, err
}

// Mailboxes implements store.Store.
func (s *Store) Mailboxes(ctx context.Context, acct store.AccountID) ([]store.Mailbox, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+mboxCols+` FROM mailboxes WHERE account = $1 ORDER BY name`, int64(acct))
	if err != nil {
		return nil, fmt.Errorf("pgstore: list mailboxes: %w", s.lost(err))
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list mailboxes: %w", s.lost(err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list mailboxes: %w", s.lost(err))
	}
	return out, nil
}

// Mailbox implements store.Store.
func (s *Store) Mailbox(ctx context.Context, acct store.AccountID, name string) (store.Mailbox, error) {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: mailbox %q: %w: %w", name, store.ErrNoSuchMailbox, s.lost(err))
	}
	var m store.Mailbox
	err = s.readRetry(ctx, func() error {
		var err error
		m, err = scanMailbox(s.pool.QueryRow(ctx, `SELECT `+mboxCols+` FROM mailboxes WHERE account = $1 AND name = $2`, int64(acct), cn))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Mailbox{}, fmt.Errorf("pgstore: mailbox %q: %w", name, store.ErrNoSuchMailbox)
	}
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: mailbox %q: %w", name, s.lost(err))
	}
	return m, nil
}

// UIDVALIDITY. A new mailbox gets the current time, unless an earlier
// mailbox of the same name had that value or a later one
// (retired_names), or the account's floor is not below it: then one more
// than the highest of those. Mailboxes of different names may share a
// value. A mailbox renamed to a name keeps its value unless an earlier
// mailbox of that name had it (RenameMailbox then makes it a new
// incarnation), so a name, UIDVALIDITY and UID never designate two
// messages (RFC 9051 §2.3.1.1). Changes of an account's mailbox list
// hold the account's advisory lock (lockAccount), so they see each
// other's retired names.

// uidValidityFor allocates the UIDVALIDITY of a new mailbox named name.
func (t *wtx) uidValidityFor(acct store.AccountID, name string) (uint32, error) {
	var floor int64
	var last *int64
	if err := t.queryRow(`SELECT uidvalidity_floor,
		(SELECT max(uidvalidity) FROM retired_names WHERE account = $1 AND name = $2)
		FROM accounts WHERE id = $1`, int64(acct), name).Scan(&floor, &last); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, store.ErrNoSuchAccount
		}
		return 0, err
	}
	v := max(time.Now().Unix(), floor+1)
	if last != nil {
		v = max(v, *last+1)
	}
	if v > int64(^uint32(0)) {
		return 0, errors.New("UIDVALIDITY space exhausted")
	}
	return uint32(v), nil
}

func (t *wtx) insertMailbox(acct store.AccountID, name, specialUse string, noselect bool) (store.Mailbox, error) {
	uv, err := t.uidValidityFor(acct, name)
	if err != nil {
		return store.Mailbox{}, err
	}
	m := store.Mailbox{Account: acct, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, SpecialUse: specialUse, NoSelect: noselect}
	err = t.queryRow(`INSERT INTO mailboxes(account, name, uidvalidity, special_use, noselect)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, int64(acct), name, int64(uv), specialUse, noselect).Scan(&m.ID)
	return m, err
}

// retire records that the mailbox with UIDVALIDITY uv no longer has name.
func (t *wtx) retire(acct store.AccountID, name string, uv uint32) error {
	_, err := t.exec(`INSERT INTO retired_names(account, name, uidvalidity) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		int64(acct), name, int64(uv))
	return err
}

// pruneRetired drops the retired_names rows of acct that can no longer
// matter: a value in the past that no live mailbox of the account has
// can never be carried by a mailbox again, once the account's floor is
// at least it (new values are allocated above the floor).
func (t *wtx) pruneRetired(acct store.AccountID) error {
	_, err := t.exec(`WITH gone AS (
			DELETE FROM retired_names r WHERE r.account = $1 AND r.uidvalidity < $2
				AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.account = r.account AND m.uidvalidity = r.uidvalidity)
			RETURNING r.uidvalidity)
		UPDATE accounts SET uidvalidity_floor = greatest(uidvalidity_floor, (SELECT max(uidvalidity) FROM gone))
		WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)`, int64(acct), time.Now().Unix())
	return err
}

// wasRetired reports whether an earlier mailbox named name had
// UIDVALIDITY uv.
func (t *wtx) wasRetired(acct store.AccountID, name string, uv uint32) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM retired_names WHERE account = $1 AND name = $2 AND uidvalidity = $3)`,
		int64(acct), name, int64(uv)).Scan(&ok)
	return ok, err
}

// renewMailbox renames the mailbox id to name as a new incarnation: a
// new UIDVALIDITY and a new ID (sessions that have the old one selected
// see it gone), with its messages, UIDs, flags, counters and keywords.
// The caller has moved the old row out of the name's way.
func (t *wtx) renewMailbox(acct store.AccountID, id store.MailboxID, name string) (store.MailboxID, error) {
	uv, err := t.uidValidityFor(acct, name)
	if err != nil {
		return 0, err
	}
	var nid store.MailboxID
	if err := t.queryRow(`INSERT INTO mailboxes(account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from,
			n_messages, n_unseen, n_deleted, size_all, size_deleted)
		SELECT account, $2, $3, uidnext, highestmodseq, special_use, noselect, recent_from,
			n_messages, n_unseen, n_deleted, size_all, size_deleted FROM mailboxes WHERE id = $1
		RETURNING id`, int64(id), name, int64(uv)).Scan(&nid); err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE messages SET mailbox = $2 WHERE mailbox = $1`, int64(id), int64(nid)); err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE mailbox_keywords SET mailbox = $2 WHERE mailbox = $1`, int64(id), int64(nid)); err != nil {
		return 0, err
	}
	if _, err := t.exec(`DELETE FROM mailboxes WHERE id = $1`, int64(id)); err != nil {
		return 0, err
	}
	return nid, nil
}

// mailboxByName returns the mailbox or pgx.ErrNoRows.
func (t *wtx) mailboxByName(acct store.AccountID, name string) (store.Mailbox, error) {
	return scanMailbox(t.queryRow(`SELECT `+mboxCols+` FROM mailboxes WHERE account = $1 AND name = $2`, int64(acct), name))
}

func (t *wtx) accountExists(acct store.AccountID) error {
	var ok bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, int64(acct)).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return store.ErrNoSuchAccount
	}
	return nil
}

func (t *wtx) hasChildren(acct store.AccountID, name string) (bool, error) {
	lo, hi := store.ChildBounds(name)
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account = $1 AND name > $2 AND name < $3)`,
		int64(acct), lo, hi).Scan(&ok)
	return ok, err
}

// createParents creates the missing ancestors of name as plain mailboxes.
func (t *wtx) createParents(acct store.AccountID, name string) error {
	for _, p := range store.ParentNames(name) {
		_, err := t.mailboxByName(acct, p)
		if err == nil {
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		m, err := t.insertMailbox(acct, p, "", false)
		if err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(acct), Mailbox: int64(m.ID)})
	}
	return nil
}

// mailboxCount is the number of mailboxes of acct (placeholders
// included), or 0 when there is no limit to check it against.
func (t *wtx) mailboxCount(acct store.AccountID) (int, error) {
	if t.s.limits.MaxMailboxes <= 0 {
		return 0, nil
	}
	var n int
	err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE account = $1`, int64(acct)).Scan(&n)
	return n, err
}

// checkMailboxCount fails with ErrTooManyMailboxes when the transaction
// added mailboxes to acct (it had before) and left more than the limit.
func (t *wtx) checkMailboxCount(acct store.AccountID, before int) error {
	limit := t.s.limits.MaxMailboxes
	if limit <= 0 {
		return nil
	}
	n, err := t.mailboxCount(acct)
	if err != nil {
		return err
	}
	if n > before && n > limit {
		return fmt.Errorf("%w: at most %d", store.ErrTooManyMailboxes, limit)
	}
	return nil
}

// CreateMailbox implements store.Store.
func (s *Store) CreateMailbox(ctx context.Context, acct store.AccountID, name, specialUse string) (store.Mailbox, error) {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: create mailbox: %w", s.lost(err))
	}
	if err := s.limits.CheckName(cn); err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: create mailbox: %w", s.lost(err))
	}
	su, err := store.CanonicalSpecialUse(specialUse)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: create mailbox %q: %w", name, s.lost(err))
	}
	var m store.Mailbox
	err = s.write(ctx, func(t *wtx) error {
		if err := t.lockAccount(acct); err != nil {
			return err
		}
		if err := t.accountExists(acct); err != nil {
			return err
		}
		before, err := t.mailboxCount(acct)
		if err != nil {
			return err
		}
		old, err := t.mailboxByName(acct, cn)
		switch {
		case err == nil && !old.NoSelect:
			return store.ErrMailboxExists
		case err == nil:
			// Over a placeholder: a new incarnation.
			if _, err := t.exec(`DELETE FROM mailboxes WHERE id = $1`, int64(old.ID)); err != nil {
				return err
			}
			if err := t.retire(acct, cn, old.UIDValidity); err != nil {
				return err
			}
			t.publish(events.Event{Account: int64(acct), Mailbox: int64(old.ID)})
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if err := t.createParents(acct, cn); err != nil {
			return err
		}
		m, err = t.insertMailbox(acct, cn, su, false)
		if err != nil {
			return err
		}
		if err := t.checkMailboxCount(acct, before); err != nil {
			return err
		}
		if old.ID != 0 {
			if err := t.pruneRetired(acct); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct), Mailbox: int64(m.ID)})
		return nil
	})
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("pgstore: create mailbox %q: %w", name, s.lost(err))
	}
	return m, nil
}

// dropMessages deletes every message of a mailbox (whose row the
// transaction has locked) and releases their contents and usage.
func (t *wtx) dropMessages(m store.Mailbox) error {
	blobs, err := t.releaseMessages(`SELECT blob, count(*) FROM messages WHERE mailbox = $1 GROUP BY blob`, int64(m.ID))
	if err != nil {
		return err
	}
	var n, size int64
	if err := t.queryRow(`SELECT n_messages, size_all FROM mailboxes WHERE id = $1`, int64(m.ID)).Scan(&n, &size); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM messages WHERE mailbox = $1`, int64(m.ID)); err != nil {
		return err
	}
	if err := t.addUsage(m.Account, -size, -n, false); err != nil {
		return err
	}
	return t.collect(blobs)
}

// DeleteMailbox implements store.Store.
func (s *Store) DeleteMailbox(ctx context.Context, acct store.AccountID, name string) error {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return fmt.Errorf("pgstore: delete mailbox: %w: %w", store.ErrNoSuchMailbox, s.lost(err))
	}
	if cn == inbox {
		return fmt.Errorf("pgstore: delete mailbox: %w", store.ErrInboxDelete)
	}
	err = s.write(ctx, func(t *wtx) error {
		if err := t.lockAccount(acct); err != nil {
			return err
		}
		m, err := scanMailbox(t.queryRow(`SELECT `+mboxCols+` FROM mailboxes WHERE account = $1 AND name = $2 FOR UPDATE`, int64(acct), cn))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchMailbox
		}
		if err != nil {
			return err
		}
		children, err := t.hasChildren(acct, cn)
		if err != nil {
			return err
		}
		if children && m.NoSelect {
			return store.ErrHasChildren
		}
		if err := t.dropMessages(m); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM mailboxes WHERE id = $1`, int64(m.ID)); err != nil {
			return err
		}
		if err := t.retire(acct, cn, m.UIDValidity); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(acct), Mailbox: int64(m.ID)})
		if children {
			// Keep the name as a NoSelect placeholder: a new incarnation.
			ph, err := t.insertMailbox(acct, cn, "", true)
			if err != nil {
				return err
			}
			t.publish(events.Event{Account: int64(acct), Mailbox: int64(ph.ID)})
		}
		return t.pruneRetired(acct)
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete mailbox %q: %w", name, s.lost(err))
	}
	return nil
}

// RenameMailbox implements store.Store.
func (s *Store) RenameMailbox(ctx context.Context, acct store.AccountID, from, to string) error {
	cf, err := store.CanonicalMailboxName(from)
	if err != nil {
		return fmt.Errorf("pgstore: rename mailbox: %w: %w", store.ErrNoSuchMailbox, s.lost(err))
	}
	ct, err := store.CanonicalMailboxName(to)
	if err != nil {
		return fmt.Errorf("pgstore: rename mailbox: %w", s.lost(err))
	}
	// Renaming INBOX moves only its messages, not its children, so
	// "INBOX" → "INBOX/old" is allowed (RFC 9051 §6.3.6).
	if strings.HasPrefix(ct, cf+"/") && cf != inbox {
		return fmt.Errorf("pgstore: rename mailbox %q to its own child %q: %w", from, to, store.ErrInvalidName)
	}
	if err := s.limits.CheckName(ct); err != nil {
		return fmt.Errorf("pgstore: rename mailbox %q: %w", from, s.lost(err))
	}
	err = s.write(ctx, func(t *wtx) error {
		if err := t.lockAccount(acct); err != nil {
			return err
		}
		src, err := t.mailboxByName(acct, cf)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchMailbox
		}
		if err != nil {
			return err
		}
		before, err := t.mailboxCount(acct)
		if err != nil {
			return err
		}
		if _, err := t.mailboxByName(acct, ct); err == nil {
			return store.ErrMailboxExists
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cf == inbox {
			if err := t.renameInbox(src, ct); err != nil {
				return err
			}
			return t.checkMailboxCount(acct, before)
		}
		// The subtree, locked in ID order as writers of messages lock
		// mailbox rows.
		lo, hi := store.ChildBounds(cf)
		rows, err := t.Query(t.ctx, `SELECT id, name, uidvalidity, renew_uidvalidity FROM mailboxes
			WHERE account = $1 AND (id = $2 OR (name > $3 AND name < $4)) ORDER BY id FOR UPDATE`, int64(acct), int64(src.ID), lo, hi)
		if err != nil {
			return err
		}
		type ren struct {
			id        store.MailboxID
			old, name string
			uv        uint32
			renew     bool // renew_uidvalidity (migration 0003)
		}
		var list []ren
		for rows.Next() {
			var r ren
			var uv int64
			if err := rows.Scan(&r.id, &r.old, &uv, &r.renew); err != nil {
				rows.Close()
				return err
			}
			r.uv = uint32(uv)
			r.name = ct + r.old[len(cf):]
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range list {
			if r.id == src.ID {
				continue // checked above
			}
			if err := s.limits.CheckName(r.name); err != nil {
				return err
			}
			if _, err := t.mailboxByName(acct, r.name); err == nil {
				return store.ErrMailboxExists
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		for _, r := range list {
			if err := t.retire(acct, r.old, r.uv); err != nil {
				return err
			}
		}
		// Names are unique: move the subtree out of the way first, so
		// that renaming "a" to "a2" never meets a half-renamed subtree.
		for _, r := range list {
			if _, err := t.exec(`UPDATE mailboxes SET name = $2 WHERE id = $1`, int64(r.id), fmt.Sprintf("\x01rename\x01%d", r.id)); err != nil {
				return err
			}
		}
		for _, r := range list {
			renew, err := t.wasRetired(acct, r.name, r.uv)
			if err != nil {
				return err
			}
			if !renew && !r.renew {
				if _, err := t.exec(`UPDATE mailboxes SET name = $2 WHERE id = $1`, int64(r.id), r.name); err != nil {
					return err
				}
				t.publish(events.Event{Account: int64(acct), Mailbox: int64(r.id)})
				continue
			}
			nid, err := t.renewMailbox(acct, r.id, r.name)
			if err != nil {
				return err
			}
			t.publish(events.Event{Account: int64(acct), Mailbox: int64(r.id)})
			t.publish(events.Event{Account: int64(acct), Mailbox: int64(nid)})
		}
		if err := t.createParents(acct, ct); err != nil {
			return err
		}
		if err := t.checkMailboxCount(acct, before); err != nil {
			return err
		}
		return t.pruneRetired(acct)
	})
	if err != nil {
		return fmt.Errorf("pgstore: rename mailbox %q to %q: %w", from, to, s.lost(err))
	}
	return nil
}

// renameInbox moves INBOX's messages into a new mailbox named to (new
// UIDVALIDITY, UIDs 1..n in order) and leaves INBOX empty, with the
// moved messages recorded as expunged there.
func (t *wtx) renameInbox(src store.Mailbox, to string) error {
	if err := t.createParents(src.Account, to); err != nil {
		return err
	}
	dst, err := t.insertMailbox(src.Account, to, "", false)
	if err != nil {
		return err
	}
	// Lock INBOX (the new mailbox is not visible to others yet).
	var hms int64
	if err := t.queryRow(`SELECT highestmodseq FROM mailboxes WHERE id = $1 FOR UPDATE`, int64(src.ID)).Scan(&hms); err != nil {
		return err
	}
	srcMod := hms + 1
	dstMod := int64(dst.HighestModSeq) + 1
	tag, err := t.exec(`INSERT INTO expunged(mailbox, uid, modseq) SELECT mailbox, uid, $2 FROM messages WHERE mailbox = $1
		ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = EXCLUDED.modseq`, int64(src.ID), srcMod)
	if err != nil {
		return err
	}
	n := tag.RowsAffected()
	if _, err := t.exec(`UPDATE messages m SET mailbox = $2, uid = r.n, modseq = $3
		FROM (SELECT uid, row_number() OVER (ORDER BY uid) AS n FROM messages WHERE mailbox = $1) r
		WHERE m.mailbox = $1 AND m.uid = r.uid`, int64(src.ID), int64(dst.ID), dstMod); err != nil {
		return err
	}
	// The counters move with the messages.
	if _, err := t.exec(`UPDATE mailboxes d SET uidnext = $3, highestmodseq = $4, recent_from = $3,
			n_messages = s.n_messages, n_unseen = s.n_unseen, n_deleted = s.n_deleted, size_all = s.size_all, size_deleted = s.size_deleted
		FROM mailboxes s WHERE s.id = $1 AND d.id = $2`, int64(src.ID), int64(dst.ID), n+1, dstMod); err != nil {
		return err
	}
	// The new mailbox gets INBOX's keyword set, which INBOX keeps.
	if _, err := t.exec(`INSERT INTO mailbox_keywords(mailbox, key, keyword)
		SELECT $2, key, keyword FROM mailbox_keywords WHERE mailbox = $1`, int64(src.ID), int64(dst.ID)); err != nil {
		return err
	}
	if n > 0 {
		if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = $2,
				n_messages = 0, n_unseen = 0, n_deleted = 0, size_all = 0, size_deleted = 0 WHERE id = $1`,
			int64(src.ID), srcMod); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(src.Account), Mailbox: int64(src.ID), ModSeq: uint64(srcMod)})
	}
	t.publish(events.Event{Account: int64(src.Account), Mailbox: int64(dst.ID)})
	return nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, acct store.AccountID) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM subscriptions WHERE account = $1 ORDER BY name`, int64(acct))
	if err != nil {
		return nil, fmt.Errorf("pgstore: subscriptions: %w", s.lost(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: subscriptions: %w", s.lost(err))
	}
	return out, nil
}

// SetSubscribed implements store.Store.
func (s *Store) SetSubscribed(ctx context.Context, acct store.AccountID, name string, subscribed bool) error {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return fmt.Errorf("pgstore: subscribe: %w", s.lost(err))
	}
	if subscribed {
		if err := s.limits.CheckName(cn); err != nil {
			return fmt.Errorf("pgstore: subscribe: %w", s.lost(err))
		}
	}
	err = s.write(ctx, func(t *wtx) error {
		if err := t.lockAccount(acct); err != nil {
			return err
		}
		if err := t.accountExists(acct); err != nil {
			return err
		}
		if !subscribed {
			if _, err := t.exec(`DELETE FROM subscriptions WHERE account = $1 AND name = $2`, int64(acct), cn); err != nil {
				return err
			}
		} else {
			if limit := s.limits.MaxMailboxes; limit > 0 {
				var n, have int
				if err := t.queryRow(`SELECT count(*), count(*) FILTER (WHERE name = $2) FROM subscriptions WHERE account = $1`,
					int64(acct), cn).Scan(&n, &have); err != nil {
					return err
				}
				if have == 0 && n >= limit {
					return fmt.Errorf("%w: at most %d", store.ErrTooManySubscriptions, limit)
				}
			}
			if _, err := t.exec(`INSERT INTO subscriptions(account, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, int64(acct), cn); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: subscribe %q: %w", name, s.lost(err))
	}
	return nil
}
