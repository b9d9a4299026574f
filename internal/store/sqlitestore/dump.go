package sqlitestore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"rookery/internal/store"
)

// The store.Dumper of the embedded store. Index texts are not given back
// (MessageDump.Text is nil): once indexed, a text lives only in the FTS5
// table, which keeps no copy of it (contentless, migration 0013).

var _ store.Dumper = (*Store)(nil)

// DumpInstallation implements store.Dumper.
func (s *Store) DumpInstallation(ctx context.Context) (store.InstallationDump, error) {
	var d store.InstallationDump
	err := s.readRaw(ctx, func(tx rawTx) error {
		d = store.InstallationDump{}
		if err := tx.each(`SELECT coalesce((SELECT value FROM counters WHERE name = 'mailbox_id'), 0),
			coalesce((SELECT value FROM counters WHERE name = 'uidvalidity'), 0),
			(SELECT coalesce(max(id), 0) FROM mailboxes)`, nil, func(r []driver.Value) error {
			d.MailboxIDFloor = store.MailboxID(max(vInt(r[0]), vInt(r[2])))
			d.UIDValidityFloor = uint32(vInt(r[1]))
			return nil
		}); err != nil {
			return err
		}
		return tx.each(`SELECT name, uidvalidity FROM retired_accounts ORDER BY name`, nil, func(r []driver.Value) error {
			d.RetiredAccounts = append(d.RetiredAccounts, store.RetiredAccount{Name: vString(r[0]), UIDValidity: uint32(vInt(r[1]))})
			return nil
		})
	})
	if err != nil {
		return store.InstallationDump{}, fmt.Errorf("dump installation: %w", err)
	}
	return d, nil
}

// DumpAccount implements store.Dumper.
func (s *Store) DumpAccount(ctx context.Context, name string) (store.AccountDump, error) {
	var d store.AccountDump
	err := s.readRaw(ctx, func(tx rawTx) error {
		d = store.AccountDump{}
		var id int64
		found := false
		if err := tx.each(`SELECT id, name, password_hash, scram, created, quota_storage, quota_messages, uidvalidity_floor
			FROM accounts WHERE name = ?`, []any{name}, func(r []driver.Value) error {
			found = true
			id = vInt(r[0])
			d.Name, d.PasswordHash, d.SCRAMSecret = vString(r[1]), vString(r[2]), vString(r[3])
			d.Created = time.Unix(vInt(r[4]), 0)
			if r[5] != nil {
				v := vInt(r[5])
				d.StorageLimit = &v
			}
			if r[6] != nil {
				v := vInt(r[6])
				d.MessageLimit = &v
			}
			d.UIDValidityFloor = uint32(vInt(r[7]))
			return nil
		}); err != nil {
			return err
		}
		if !found {
			return store.ErrNoSuchAccount
		}
		if err := tx.each(`SELECT name FROM subscriptions WHERE account = ? ORDER BY name`, []any{id}, func(r []driver.Value) error {
			d.Subscriptions = append(d.Subscriptions, vString(r[0]))
			return nil
		}); err != nil {
			return err
		}
		if err := tx.each(`SELECT name, uidvalidity FROM retired_names WHERE account = ? ORDER BY name, uidvalidity`, []any{id},
			func(r []driver.Value) error {
				d.RetiredNames = append(d.RetiredNames, store.RetiredName{Name: vString(r[0]), UIDValidity: uint32(vInt(r[1]))})
				return nil
			}); err != nil {
			return err
		}
		index := map[int64]int{}
		if err := tx.each(`SELECT `+mboxCols+`, recent_from, renew_uidvalidity FROM mailboxes WHERE account = ? ORDER BY name`, []any{id},
			func(r []driver.Value) error {
				index[vInt(r[0])] = len(d.Mailboxes)
				d.Mailboxes = append(d.Mailboxes, store.MailboxDump{
					Mailbox: store.Mailbox{ID: store.MailboxID(vInt(r[0])), Account: store.AccountID(vInt(r[1])), Name: vString(r[2]),
						UIDValidity: uint32(vInt(r[3])), UIDNext: uint32(vInt(r[4])), HighestModSeq: uint64(vInt(r[5])),
						SpecialUse: vString(r[6]), NoSelect: vInt(r[7]) != 0},
					RecentFrom:    store.UID(vInt(r[8])),
					RenewOnRename: vInt(r[9]) != 0,
				})
				return nil
			}); err != nil {
			return err
		}
		// The keyword sets in keywordKey order, which is sortKeywords's.
		return tx.each(`SELECT k.mailbox, k.keyword FROM mailbox_keywords k JOIN mailboxes m ON m.id = k.mailbox
			WHERE m.account = ? ORDER BY k.mailbox, k.key`, []any{id}, func(r []driver.Value) error {
			if i, ok := index[vInt(r[0])]; ok {
				d.Mailboxes[i].Keywords = append(d.Mailboxes[i].Keywords, vString(r[1]))
			}
			return nil
		})
	})
	if err != nil {
		return store.AccountDump{}, fmt.Errorf("dump account %q: %w", name, err)
	}
	return d, nil
}

// DumpMessages implements store.Dumper.
func (s *Store) DumpMessages(ctx context.Context, mbox store.MailboxID, after store.UID, limit int) ([]store.MessageDump, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("dump messages of mailbox %d: limit %d is not positive", mbox, limit)
	}
	var out []store.MessageDump
	err := s.readRaw(ctx, func(tx rawTx) error {
		out = out[:0]
		return tx.each(`SELECT `+msgColsAnatomy+` FROM messages m LEFT JOIN blobs b ON b.id = m.blob
			WHERE m.mailbox = ? AND m.uid > ? ORDER BY m.uid LIMIT ?`, []any{int64(mbox), int64(after), int64(limit)},
			func(r []driver.Value) error {
				m := messageFromRow(r)
				if b, ok := r[9].([]byte); ok && len(b) > 0 {
					m.Anatomy = append([]byte(nil), b...)
				}
				out = append(out, store.MessageDump{Message: m})
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("dump messages of mailbox %d: %w", mbox, err)
	}
	return out, nil
}

// DumpExpunged implements store.Dumper.
func (s *Store) DumpExpunged(ctx context.Context, mbox store.MailboxID, after store.UID, limit int) ([]store.ExpungedUID, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("dump expunged UIDs of mailbox %d: limit %d is not positive", mbox, limit)
	}
	var out []store.ExpungedUID
	err := s.readRaw(ctx, func(tx rawTx) error {
		out = out[:0]
		return tx.each(`SELECT uid, modseq FROM expunged WHERE mailbox = ? AND uid > ? ORDER BY uid LIMIT ?`,
			[]any{int64(mbox), int64(after), int64(limit)}, func(r []driver.Value) error {
				out = append(out, store.ExpungedUID{UID: uint32(vInt(r[0])), ModSeq: uint64(vInt(r[1]))})
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("dump expunged UIDs of mailbox %d: %w", mbox, err)
	}
	return out, nil
}
