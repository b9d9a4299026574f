package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"rookery/internal/events"
	"rookery/internal/store"
)

const mboxCols = `id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect`

type scanner interface{ Scan(dest ...any) error }

func scanMailbox(sc scanner) (store.Mailbox, error) {
	var m store.Mailbox
	var uidvalidity, uidnext int64
	var hms int64
	err := sc.Scan(&m.ID, &m.Account, &m.Name, &uidvalidity, &uidnext, &hms, &m.SpecialUse, &m.NoSelect)
	m.UIDValidity, m.UIDNext, m.HighestModSeq = uint32(uidvalidity), uint32(uidnext), uint64(hms)
	return m, err
}

// Mailboxes implements store.Store.
func (s *Store) Mailboxes(ctx context.Context, acct store.AccountID) ([]store.Mailbox, error) {
	rows, err := s.readQuery(ctx, `SELECT `+mboxCols+` FROM mailboxes WHERE account = ? ORDER BY name`, acct)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, fmt.Errorf("list mailboxes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mailboxes: %w", err)
	}
	return out, nil
}

// Mailbox implements store.Store.
func (s *Store) Mailbox(ctx context.Context, acct store.AccountID, name string) (store.Mailbox, error) {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("mailbox %q: %w: %w", name, store.ErrNoSuchMailbox, err)
	}
	m, err := scanMailbox(s.readQueryRow(ctx, `SELECT `+mboxCols+` FROM mailboxes WHERE account = ? AND name = ?`, acct, cn))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, store.ErrNoSuchMailbox)
	}
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, err)
	}
	return m, nil
}

// UIDVALIDITY (migration 0015). A new mailbox gets the current time,
// unless an earlier mailbox of the same name had that value or a later
// one (retired_names), or the account's floor is not below it: then one
// more than the highest of those. Mailboxes of different names may
// share a value, so creating many mailboxes does not run ahead of the
// clock; only creating one name again faster than once a second does,
// for that name alone. A mailbox renamed to a name keeps its value
// unless an earlier mailbox of that name had it (RenameMailbox renews
// it then), so a name, UIDVALIDITY and UID never designate two messages
// (RFC 9051 §2.3.1.1).

// retiredCap bounds the retired_names rows kept per account.
const retiredCap = 10000

// uidValidityFor allocates the UIDVALIDITY of a new mailbox named name.
func (t *wtx) uidValidityFor(acct store.AccountID, name string) (uint32, error) {
	var floor int64
	var last sql.NullInt64
	if err := t.queryRow(`SELECT uidvalidity_floor,
		(SELECT max(uidvalidity) FROM retired_names WHERE account = ? AND name = ?)
		FROM accounts WHERE id = ?`, acct, name, acct).Scan(&floor, &last); err != nil {
		return 0, err
	}
	v := max(t.w.s.now().Unix(), floor+1)
	if last.Valid {
		v = max(v, last.Int64+1)
	}
	if v > int64(^uint32(0)) {
		return 0, errors.New("UIDVALIDITY space exhausted")
	}
	return uint32(v), nil
}

// nextMailboxID hands out a mailbox ID never used before (MAILBOXID,
// RFC 8474, must never name another mailbox).
func (t *wtx) nextMailboxID() (store.MailboxID, error) {
	var id store.MailboxID
	err := t.queryRow(`UPDATE counters SET value = value + 1 WHERE name = 'mailbox_id' RETURNING value`).Scan(&id)
	return id, err
}

func (t *wtx) insertMailbox(acct store.AccountID, name, specialUse string, noselect bool) (store.Mailbox, error) {
	uv, err := t.uidValidityFor(acct, name)
	if err != nil {
		return store.Mailbox{}, err
	}
	id, err := t.nextMailboxID()
	if err != nil {
		return store.Mailbox{}, err
	}
	m := store.Mailbox{ID: id, Account: acct, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, SpecialUse: specialUse, NoSelect: noselect}
	_, err = t.exec(`INSERT INTO mailboxes(id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from)
		VALUES (?, ?, ?, ?, 1, 1, ?, ?, 1)`, id, acct, name, uv, specialUse, noselect)
	return m, err
}

// retire records that the mailbox with UIDVALIDITY uv no longer has
// name; pruneRetired should follow once the job's changes are made.
func (t *wtx) retire(acct store.AccountID, name string, uv uint32) error {
	_, err := t.exec(`INSERT OR IGNORE INTO retired_names(account, name, uidvalidity) VALUES (?, ?, ?)`, acct, name, uv)
	return err
}

// wasRetired reports whether an earlier mailbox named name had
// UIDVALIDITY uv.
func (t *wtx) wasRetired(acct store.AccountID, name string, uv uint32) (bool, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM retired_names WHERE account = ? AND name = ? AND uidvalidity = ?`, acct, name, uv).Scan(&n)
	return n > 0, err
}

// pruneRetired drops the retired_names rows of acct that can no longer
// matter and keeps at most retiredCap (migration 0015).
func (t *wtx) pruneRetired(acct store.AccountID) error {
	const unpinned = `account = ? AND uidvalidity < ? AND NOT EXISTS (
		SELECT 1 FROM mailboxes m WHERE m.account = retired_names.account AND m.uidvalidity = retired_names.uidvalidity)`
	now := t.w.s.now().Unix()
	var top sql.NullInt64
	if err := t.queryRow(`SELECT max(uidvalidity) FROM retired_names WHERE `+unpinned, acct, now).Scan(&top); err != nil {
		return err
	}
	if top.Valid {
		if _, err := t.exec(`DELETE FROM retired_names WHERE `+unpinned, acct, now); err != nil {
			return err
		}
		if err := t.raiseFloor(acct, top.Int64); err != nil {
			return err
		}
	}
	var n int
	if err := t.queryRow(`SELECT count(*) FROM retired_names WHERE account = ?`, acct).Scan(&n); err != nil {
		return err
	}
	limit := t.w.s.retiredCap
	if n <= limit {
		return nil
	}
	// Drop the lowest values; live mailboxes that share one of them
	// can no longer be told apart from its retired names.
	var x int64
	if err := t.queryRow(`SELECT uidvalidity FROM retired_names WHERE account = ? ORDER BY uidvalidity LIMIT 1 OFFSET ?`,
		acct, n-limit-1).Scan(&x); err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE mailboxes SET renew_uidvalidity = 1 WHERE account = ? AND uidvalidity <= ?
		AND uidvalidity IN (SELECT uidvalidity FROM retired_names WHERE account = ? AND uidvalidity <= ?)`, acct, x, acct, x); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM retired_names WHERE account = ? AND uidvalidity <= ?`, acct, x); err != nil {
		return err
	}
	return t.raiseFloor(acct, x)
}

// raiseFloor makes every later UIDVALIDITY of acct greater than v.
func (t *wtx) raiseFloor(acct store.AccountID, v int64) error {
	_, err := t.exec(`UPDATE accounts SET uidvalidity_floor = max(uidvalidity_floor, ?) WHERE id = ?`, v, acct)
	return err
}

// renewMailbox renames the mailbox id to name as a new incarnation: a
// new UIDVALIDITY and a new ID (sessions that have the old one selected
// see it gone), with its messages, UIDs and flags.
func (t *wtx) renewMailbox(acct store.AccountID, id store.MailboxID, name string) (store.MailboxID, error) {
	uv, err := t.uidValidityFor(acct, name)
	if err != nil {
		return 0, err
	}
	nid, err := t.nextMailboxID()
	if err != nil {
		return 0, err
	}
	// The per-mailbox counters start at 0: the triggers move them with
	// the messages.
	if _, err := t.exec(`INSERT INTO mailboxes(id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from)
		SELECT ?, account, ?, ?, uidnext, highestmodseq, special_use, noselect, recent_from FROM mailboxes WHERE id = ?`,
		nid, name, uv, id); err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE messages SET mailbox = ? WHERE mailbox = ?`, nid, id); err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE mailbox_keywords SET mailbox = ? WHERE mailbox = ?`, nid, id); err != nil {
		return 0, err
	}
	if _, err := t.exec(`DELETE FROM mailboxes WHERE id = ?`, id); err != nil {
		return 0, err
	}
	return nid, nil
}

// mailboxByName returns the mailbox or sql.ErrNoRows.
func (t *wtx) mailboxByName(acct store.AccountID, name string) (store.Mailbox, error) {
	return scanMailbox(t.queryRow(`SELECT `+mboxCols+` FROM mailboxes WHERE account = ? AND name = ?`, acct, name))
}

// mailboxByID returns the mailbox, failing with ErrNoSuchMailbox.
func (t *wtx) mailboxByID(id store.MailboxID) (store.Mailbox, error) {
	m, err := scanMailbox(t.queryRow(`SELECT `+mboxCols+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, store.ErrNoSuchMailbox
	}
	return m, err
}

// selectable returns the mailbox, failing unless it exists and is selectable.
func (t *wtx) selectable(id store.MailboxID) (store.Mailbox, error) {
	m, err := t.mailboxByID(id)
	if err == nil && m.NoSelect {
		err = store.ErrMailboxNoSelect
	}
	return m, err
}

func (t *wtx) accountExists(acct store.AccountID) error {
	var n int
	if err := t.queryRow(`SELECT count(*) FROM accounts WHERE id = ?`, acct).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNoSuchAccount
	}
	return nil
}

func (t *wtx) hasChildren(acct store.AccountID, name string) (bool, error) {
	lo, hi := store.ChildBounds(name)
	var n int
	err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE account = ? AND name > ? AND name < ? LIMIT 1`, acct, lo, hi).Scan(&n)
	return n > 0, err
}

// createParents creates the missing ancestors of name as plain mailboxes.
func (t *wtx) createParents(acct store.AccountID, name string) error {
	for _, p := range store.ParentNames(name) {
		_, err := t.mailboxByName(acct, p)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := t.insertMailbox(acct, p, "", false); err != nil {
			return err
		}
	}
	return nil
}

// mailboxCount is the number of mailboxes of acct (placeholders
// included), or 0 when there is no limit to check it against.
func (t *wtx) mailboxCount(acct store.AccountID) (int, error) {
	if t.w.s.limits.MaxMailboxes <= 0 {
		return 0, nil
	}
	var n int
	err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE account = ?`, acct).Scan(&n)
	return n, err
}

// checkMailboxCount fails with ErrTooManyMailboxes when the job added
// mailboxes to acct (it had before) and left more than the limit; the
// job's savepoint then undoes them.
func (t *wtx) checkMailboxCount(acct store.AccountID, before int) error {
	limit := t.w.s.limits.MaxMailboxes
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

// checkSubscriptionCount fails with ErrTooManySubscriptions when acct
// has as many subscriptions as the limit and name is not one of them.
func (t *wtx) checkSubscriptionCount(acct store.AccountID, name string) error {
	limit := t.w.s.limits.MaxMailboxes
	if limit <= 0 {
		return nil
	}
	var n, have int
	if err := t.queryRow(`SELECT count(*), count(*) FILTER (WHERE name = ?) FROM subscriptions WHERE account = ?`, name, acct).
		Scan(&n, &have); err != nil {
		return err
	}
	if have == 0 && n >= limit {
		return fmt.Errorf("%w: at most %d", store.ErrTooManySubscriptions, limit)
	}
	return nil
}

// CreateMailbox implements store.Store.
func (s *Store) CreateMailbox(ctx context.Context, acct store.AccountID, name, specialUse string) (store.Mailbox, error) {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("create mailbox: %w", err)
	}
	if err := s.limits.CheckName(cn); err != nil {
		// Its parents are shorter and shallower.
		return store.Mailbox{}, fmt.Errorf("create mailbox: %w", err)
	}
	su, err := store.CanonicalSpecialUse(specialUse)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("create mailbox %q: %w", name, err)
	}
	var m store.Mailbox
	err = s.w.do(ctx, func(t *wtx) error {
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
			// Over a placeholder: a new incarnation (new ID and UIDVALIDITY).
			if _, err := t.exec(`DELETE FROM mailboxes WHERE id = ?`, old.ID); err != nil {
				return err
			}
			if err := t.retire(acct, cn, old.UIDValidity); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
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
		return store.Mailbox{}, fmt.Errorf("create mailbox %q: %w", name, err)
	}
	return m, nil
}

// dropMessages deletes every message of a mailbox and releases their blobs.
func (t *wtx) dropMessages(id store.MailboxID) error {
	if _, err := t.exec(`UPDATE blobs SET refcount = refcount - d.n
		FROM (SELECT blob, count(*) AS n FROM messages WHERE mailbox = ? GROUP BY blob) AS d
		WHERE blobs.id = d.blob`, id); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM messages WHERE mailbox = ?`, id); err != nil {
		return err
	}
	return t.collectUnreferenced()
}

// DeleteMailbox implements store.Store.
func (s *Store) DeleteMailbox(ctx context.Context, acct store.AccountID, name string) error {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return fmt.Errorf("delete mailbox: %w: %w", store.ErrNoSuchMailbox, err)
	}
	if cn == inbox {
		return fmt.Errorf("delete mailbox: %w", store.ErrInboxDelete)
	}
	err = s.w.do(ctx, func(t *wtx) error {
		m, err := t.mailboxByName(acct, cn)
		if errors.Is(err, sql.ErrNoRows) {
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
		if err := t.dropMessages(m.ID); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM mailboxes WHERE id = ?`, m.ID); err != nil {
			return err
		}
		if err := t.retire(acct, cn, m.UIDValidity); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(acct), Mailbox: int64(m.ID)})
		if children {
			// Keep the name as a NoSelect placeholder: a new incarnation,
			// so sessions holding the old ID see it gone.
			if _, err := t.insertMailbox(acct, cn, "", true); err != nil {
				return err
			}
		}
		return t.pruneRetired(acct)
	})
	if err != nil {
		return fmt.Errorf("delete mailbox %q: %w", name, err)
	}
	return nil
}

// RenameMailbox implements store.Store.
func (s *Store) RenameMailbox(ctx context.Context, acct store.AccountID, from, to string) error {
	cf, err := store.CanonicalMailboxName(from)
	if err != nil {
		return fmt.Errorf("rename mailbox: %w: %w", store.ErrNoSuchMailbox, err)
	}
	ct, err := store.CanonicalMailboxName(to)
	if err != nil {
		return fmt.Errorf("rename mailbox: %w", err)
	}
	// Renaming INBOX moves only its messages, not its children, so
	// "INBOX" → "INBOX/old" is allowed (RFC 9051 §6.3.6).
	if strings.HasPrefix(ct, cf+"/") && cf != inbox {
		return fmt.Errorf("rename mailbox %q to its own child %q: %w", from, to, store.ErrInvalidName)
	}
	if err := s.limits.CheckName(ct); err != nil {
		return fmt.Errorf("rename mailbox %q: %w", from, err)
	}
	err = s.w.do(ctx, func(t *wtx) error {
		src, err := t.mailboxByName(acct, cf)
		if errors.Is(err, sql.ErrNoRows) {
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
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cf == inbox {
			if err := t.renameInbox(src, ct); err != nil {
				return err
			}
			return t.checkMailboxCount(acct, before)
		}
		// Collect the subtree first, check for clashes, then rename.
		lo, hi := store.ChildBounds(cf)
		rows, err := t.query(`SELECT id, name, uidvalidity, renew_uidvalidity FROM mailboxes
			WHERE account = ? AND (id = ? OR (name > ? AND name < ?))`, acct, src.ID, lo, hi)
		if err != nil {
			return err
		}
		type ren struct {
			id        store.MailboxID
			old, name string
			uv        uint32
			renew     bool
		}
		var list []ren
		for rows.Next() {
			var r ren
			if err := rows.Scan(&r.id, &r.old, &r.uv, &r.renew); err != nil {
				rows.Close()
				return err
			}
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
			// The descendants' new names are longer and deeper.
			if err := s.limits.CheckName(r.name); err != nil {
				return err
			}
			if _, err := t.mailboxByName(acct, r.name); err == nil {
				return store.ErrMailboxExists
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		for _, r := range list {
			if err := t.retire(acct, r.old, r.uv); err != nil {
				return err
			}
		}
		for _, r := range list {
			// A mailbox keeps its UIDVALIDITY unless an earlier mailbox
			// of its new name had it (or that can no longer be told).
			renew := r.renew
			if !renew {
				if renew, err = t.wasRetired(acct, r.name, r.uv); err != nil {
					return err
				}
			}
			if !renew {
				if _, err := t.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, r.name, r.id); err != nil {
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
		return fmt.Errorf("rename mailbox %q to %q: %w", from, to, err)
	}
	return nil
}

// renameInbox moves INBOX's messages into a new mailbox named to (new
// UIDVALIDITY, UIDs 1..n in order) and leaves INBOX empty, with the moved
// messages recorded as expunged there.
func (t *wtx) renameInbox(src store.Mailbox, to string) error {
	if err := t.createParents(src.Account, to); err != nil {
		return err
	}
	dst, err := t.insertMailbox(src.Account, to, "", false)
	if err != nil {
		return err
	}
	srcMod := src.HighestModSeq + 1
	dstMod := dst.HighestModSeq + 1
	uids, err := t.uidList(`SELECT uid FROM messages WHERE mailbox = ? ORDER BY uid`, src.ID)
	if err != nil {
		return err
	}
	next := uint32(1)
	for _, uid := range uids {
		if _, err := t.exec(`UPDATE messages SET mailbox = ?, uid = ?, modseq = ? WHERE mailbox = ? AND uid = ?`,
			dst.ID, next, dstMod, src.ID, uid); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES (?, ?, ?)`, src.ID, uid, srcMod); err != nil {
			return err
		}
		next++
	}
	if _, err := t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, recent_from = ? WHERE id = ?`, next, dstMod, next, dst.ID); err != nil {
		return err
	}
	// The new mailbox gets INBOX's keyword set, which INBOX keeps (a
	// keyword set never shrinks): never refused for the limits.
	if _, err := t.exec(`INSERT INTO mailbox_keywords(mailbox, key, keyword)
		SELECT ?, key, keyword FROM mailbox_keywords WHERE mailbox = ?`, dst.ID, src.ID); err != nil {
		return err
	}
	if len(uids) > 0 {
		if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, srcMod, src.ID); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(src.Account), Mailbox: int64(src.ID), ModSeq: srcMod})
	}
	t.publish(events.Event{Account: int64(src.Account), Mailbox: int64(dst.ID)})
	return nil
}

func (t *wtx) uidList(q string, args ...any) ([]uint32, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, uint32(u))
	}
	return out, rows.Err()
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, acct store.AccountID) ([]string, error) {
	rows, err := s.readQuery(ctx, `SELECT name FROM subscriptions WHERE account = ? ORDER BY name`, acct)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("subscriptions: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	return out, nil
}

// SetSubscribed implements store.Store.
func (s *Store) SetSubscribed(ctx context.Context, acct store.AccountID, name string, subscribed bool) error {
	cn, err := store.CanonicalMailboxName(name)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if subscribed {
		if err := s.limits.CheckName(cn); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	err = s.w.do(ctx, func(t *wtx) error {
		if err := t.accountExists(acct); err != nil {
			return err
		}
		q := `DELETE FROM subscriptions WHERE account = ? AND name = ?`
		if subscribed {
			q = `INSERT OR IGNORE INTO subscriptions(account, name) VALUES (?, ?)`
			if err := t.checkSubscriptionCount(acct, cn); err != nil {
				return err
			}
		}
		if _, err := t.exec(q, acct, cn); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(acct)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("subscribe %q: %w", name, err)
	}
	return nil
}
