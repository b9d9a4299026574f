package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"rookery/internal/events"
	"rookery/internal/store"
)

// The store.Restorer of the embedded store. Restored rows go through the
// same triggers as every other change, so usage (accounts.used_*),
// mailbox counters (mailboxes.n_*) and message documents (messages.doc)
// follow; blob reference counts, anatomies and index texts are written by
// refBlob as for Append, and keyword sets are restored as dumped.

var _ store.Restorer = (*Store)(nil)

// RestoreInstallation implements store.Restorer.
func (s *Store) RestoreInstallation(ctx context.Context, d store.InstallationDump) error {
	err := s.w.do(ctx, func(t *wtx) error {
		if _, err := t.exec(`UPDATE counters SET value = max(value, ?) WHERE name = 'mailbox_id'`, int64(d.MailboxIDFloor)); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE counters SET value = max(value, ?) WHERE name = 'uidvalidity'`, int64(d.UIDValidityFloor)); err != nil {
			return err
		}
		for _, r := range d.RetiredAccounts {
			if _, err := t.exec(`INSERT INTO retired_accounts(name, uidvalidity) VALUES (?, ?)
				ON CONFLICT(name) DO UPDATE SET uidvalidity = max(uidvalidity, excluded.uidvalidity)`, r.Name, int64(r.UIDValidity)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore installation: %w", err)
	}
	return nil
}

// checkAccountDump refuses a dump that the store could not have made.
func checkAccountDump(d store.AccountDump) error {
	if d.Name == "" || len(d.Name) > store.MaxAccountName {
		return fmt.Errorf("%w: name must be 1 to %d bytes", store.ErrInvalidAccountName, store.MaxAccountName)
	}
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
		if _, err := store.NormalizeKeywords(m.Keywords); err != nil {
			return fmt.Errorf("mailbox %q: %w", m.Name, err)
		}
	}
	return nil
}

// quotaValue maps an own limit to its column: nil (and a negative value,
// QuotaDefault) to NULL, the server default.
func quotaValue(v *int64) any {
	if v == nil || *v < 0 {
		return nil
	}
	return *v
}

// RestoreAccount implements store.Restorer.
func (s *Store) RestoreAccount(ctx context.Context, d store.AccountDump) (store.Account, error) {
	if err := checkAccountDump(d); err != nil {
		return store.Account{}, fmt.Errorf("restore account %q: %w", d.Name, err)
	}
	acct := store.Account{Name: d.Name, PasswordHash: d.PasswordHash, SCRAMSecret: d.SCRAMSecret, Created: time.Unix(d.Created.Unix(), 0)}
	err := s.w.do(ctx, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE name = ?`, d.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrAccountExists
		}
		if err := t.queryRow(`INSERT INTO accounts(name, password_hash, scram, created, quota_storage, quota_messages, uidvalidity_floor)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Name, d.PasswordHash, d.SCRAMSecret, acct.Created.Unix(), quotaValue(d.StorageLimit), quotaValue(d.MessageLimit),
			int64(d.UIDValidityFloor)).Scan(&acct.ID); err != nil {
			return err
		}
		var top store.MailboxID
		for _, m := range d.Mailboxes {
			if err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE id = ?`, m.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: mailbox ID %d (of %q) is in use", store.ErrRestoreConflict, m.ID, m.Name)
			}
			if _, err := t.exec(`INSERT INTO mailboxes(id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect,
				recent_from, renew_uidvalidity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.ID, acct.ID, m.Name, int64(m.UIDValidity), int64(m.UIDNext), int64(m.HighestModSeq), m.SpecialUse, m.NoSelect,
				int64(m.RecentFrom), m.RenewOnRename); err != nil {
				return fmt.Errorf("mailbox %q: %w", m.Name, err)
			}
			for _, k := range m.Keywords {
				if _, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`, m.ID, store.KeywordKey(k), k); err != nil {
					return err
				}
			}
			top = max(top, m.ID)
			t.publish(events.Event{Account: int64(acct.ID), Mailbox: int64(m.ID)})
		}
		if _, err := t.exec(`UPDATE counters SET value = max(value, ?) WHERE name = 'mailbox_id'`, int64(top)); err != nil {
			return err
		}
		for _, name := range d.Subscriptions {
			if _, err := t.exec(`INSERT OR IGNORE INTO subscriptions(account, name) VALUES (?, ?)`, acct.ID, name); err != nil {
				return err
			}
		}
		for _, r := range d.RetiredNames {
			if _, err := t.exec(`INSERT OR IGNORE INTO retired_names(account, name, uidvalidity) VALUES (?, ?, ?)`,
				acct.ID, r.Name, int64(r.UIDValidity)); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct.ID)})
		return nil
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("restore account %q: %w", d.Name, err)
	}
	return acct, nil
}

// RestoreMessages implements store.Restorer.
func (s *Store) RestoreMessages(ctx context.Context, mbox store.MailboxID, msgs []store.RestoreMessage) (int, error) {
	kws := make([]string, len(msgs))
	var all []string // the keywords of every message
	for i, m := range msgs {
		k, err := store.NormalizeKeywords(m.Flags.Keywords)
		if err != nil {
			return 0, fmt.Errorf("restore messages to mailbox %d: UID %d: %w", mbox, m.UID, err)
		}
		kws[i] = encodeKeywords(k)
		all = store.UnionKeywords(all, k)
	}
	added := 0
	err := s.w.do(ctx, func(t *wtx) error {
		added = 0
		m, err := t.selectable(mbox)
		if err != nil {
			return err
		}
		for i, msg := range msgs {
			if msg.UID == 0 || msg.UID >= m.UIDNext {
				return fmt.Errorf("%w: UID %d, UIDNEXT %d", store.ErrRestoreConflict, msg.UID, m.UIDNext)
			}
			if msg.ModSeq == 0 || msg.ModSeq > m.HighestModSeq {
				return fmt.Errorf("%w: UID %d has mod-sequence %d, HIGHESTMODSEQ %d", store.ErrRestoreConflict, msg.UID, msg.ModSeq, m.HighestModSeq)
			}
			var n int
			if err := t.queryRow(`SELECT count(*) FROM messages WHERE mailbox = ? AND uid = ?`, mbox, msg.UID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue // restored before
			}
			size, err := t.refBlob(msg.Blob)
			if err != nil {
				return fmt.Errorf("UID %d: %w", msg.UID, err)
			}
			_, off := msg.InternalDate.Zone()
			if _, err := t.exec(`INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?10, (SELECT doc FROM blobs WHERE id = ?10))`,
				mbox, msg.UID, int64(msg.ModSeq), int(msg.Flags.Sys), kws[i], msg.InternalDate.Unix(), off, msg.SaveDate.Unix(),
				size, string(msg.Blob.ID)); err != nil {
				return fmt.Errorf("UID %d: %w", msg.UID, err)
			}
			added++
		}
		// The dumped keyword set holds these already; a message carrying
		// one it lacks must still find it there (no limits: the
		// keywords exist).
		for _, k := range all {
			if _, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`, mbox, store.KeywordKey(k), k); err != nil {
				return err
			}
		}
		if added > 0 {
			t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: m.HighestModSeq})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("restore messages to mailbox %d: %w", mbox, err)
	}
	return added, nil
}

// RestoreExpunged implements store.Restorer.
func (s *Store) RestoreExpunged(ctx context.Context, mbox store.MailboxID, exp []store.ExpungedUID) error {
	err := s.w.do(ctx, func(t *wtx) error {
		m, err := t.mailboxByID(mbox)
		if err != nil {
			return err
		}
		for _, e := range exp {
			if e.UID == 0 || e.UID >= m.UIDNext {
				return fmt.Errorf("%w: expunged UID %d, UIDNEXT %d", store.ErrRestoreConflict, e.UID, m.UIDNext)
			}
			if e.ModSeq == 0 || e.ModSeq > m.HighestModSeq {
				return fmt.Errorf("%w: UID %d expunged at mod-sequence %d, HIGHESTMODSEQ %d", store.ErrRestoreConflict, e.UID, e.ModSeq, m.HighestModSeq)
			}
			var n int
			if err := t.queryRow(`SELECT count(*) FROM messages WHERE mailbox = ? AND uid = ?`, mbox, e.UID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: UID %d is both a message and expunged", store.ErrRestoreConflict, e.UID)
			}
			if _, err := t.exec(`INSERT OR IGNORE INTO expunged(mailbox, uid, modseq) VALUES (?, ?, ?)`, mbox, e.UID, int64(e.ModSeq)); err != nil {
				return err
			}
		}
		if len(exp) > 0 {
			t.publish(events.Event{Account: int64(m.Account), Mailbox: int64(mbox), ModSeq: m.HighestModSeq})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore expunged UIDs of mailbox %d: %w", mbox, err)
	}
	return nil
}

// RestoreMailbox implements store.Restorer.
func (s *Store) RestoreMailbox(ctx context.Context, acct store.AccountID, d store.MailboxDump) (store.Mailbox, error) {
	if err := store.CheckRestoreMailbox(d); err != nil {
		return store.Mailbox{}, fmt.Errorf("restore mailbox: %w", err)
	}
	kws, err := store.NormalizeKeywords(d.Keywords)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("restore mailbox %q: %w", d.Name, err)
	}
	m := store.Mailbox{Account: acct, Name: d.Name, UIDValidity: d.UIDValidity, UIDNext: d.UIDNext,
		HighestModSeq: d.HighestModSeq, SpecialUse: d.SpecialUse}
	err = s.w.do(ctx, func(t *wtx) error {
		if err := t.accountExists(acct); err != nil {
			return err
		}
		old, err := t.mailboxByName(acct, d.Name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case old.UIDNext > 1 && !old.NoSelect:
			return store.ErrMailboxExists
		default:
			// Never used, or a placeholder: a new incarnation.
			if _, err := t.exec(`DELETE FROM mailboxes WHERE id = ?`, old.ID); err != nil {
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
		var last sql.NullInt64
		if err := t.queryRow(`SELECT uidvalidity_floor,
			(SELECT max(uidvalidity) FROM retired_names WHERE account = ? AND name = ?)
			FROM accounts WHERE id = ?`, acct, d.Name, acct).Scan(&floor, &last); err != nil {
			return err
		}
		if v := int64(d.UIDValidity); v <= floor || (last.Valid && v <= last.Int64) {
			return fmt.Errorf("%w: UIDVALIDITY %d of %q is not above the account's floor %d and the earlier mailboxes of that name (%d)",
				store.ErrRestoreConflict, d.UIDValidity, d.Name, floor, last.Int64)
		}
		if err := t.createParents(acct, d.Name); err != nil {
			return err
		}
		if m.ID, err = t.nextMailboxID(); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO mailboxes(id, account, name, uidvalidity, uidnext, highestmodseq, special_use, noselect, recent_from)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`, m.ID, acct, d.Name, int64(d.UIDValidity), int64(d.UIDNext), int64(d.HighestModSeq),
			d.SpecialUse, int64(d.UIDNext)); err != nil {
			return err
		}
		for _, k := range kws {
			if _, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`, m.ID, store.KeywordKey(k), k); err != nil {
				return err
			}
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
		return store.Mailbox{}, fmt.Errorf("restore mailbox %q: %w", d.Name, err)
	}
	return m, nil
}
