package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"rookery/internal/store"
)

// DefaultQuota is the quota of accounts that have no limits of their own;
// 0 means unlimited.
type DefaultQuota struct {
	StorageBytes int64
	Messages     int64
}

// quotaCols selects an account's usage and effective limits; it takes the
// two defaults as arguments.
const quotaCols = `used_storage, used_messages, coalesce(quota_storage, ?), coalesce(quota_messages, ?)`

// SetQuota implements store.Store.
func (s *Store) SetQuota(ctx context.Context, name string, q store.Quota) error {
	err := s.w.do(ctx, func(t *wtx) error {
		id, err := t.accountID(name)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			col string
			v   *int64
		}{{"quota_storage", q.StorageBytes}, {"quota_messages", q.Messages}} {
			if c.v == nil {
				continue
			}
			var v any = *c.v
			if *c.v < 0 {
				v = nil // server default
			}
			if _, err := t.exec(`UPDATE accounts SET `+c.col+` = ? WHERE id = ?`, v, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set quota of %q: %w", name, err)
	}
	return nil
}

// Quota implements store.Store.
func (s *Store) Quota(ctx context.Context, acct store.AccountID) (store.QuotaUsage, error) {
	u := store.QuotaUsage{MailboxLimit: int64(s.limits.MaxMailboxes)}
	err := s.readQueryRow(ctx, `SELECT `+quotaCols+`, (SELECT count(*) FROM mailboxes WHERE account = accounts.id)
		FROM accounts WHERE id = ?`,
		s.defaultQuota.StorageBytes, s.defaultQuota.Messages, acct).
		Scan(&u.StorageBytes, &u.Messages, &u.StorageLimitBytes, &u.MessageLimit, &u.Mailboxes)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("quota of account %d: %w", acct, store.ErrNoSuchAccount)
	}
	if err != nil {
		return u, fmt.Errorf("quota of account %d: %w", acct, err)
	}
	return u, nil
}

// checkQuota fails with ErrOverQuota when the account of a mailbox is above
// one of its limits. It runs after a job's inserts (the usage triggers have
// counted them), so a failing job rolls back to its savepoint.
func (t *wtx) checkQuota(acct store.AccountID) error {
	var u store.QuotaUsage
	d := t.w.s.defaultQuota
	if err := t.queryRow(`SELECT `+quotaCols+` FROM accounts WHERE id = ?`, d.StorageBytes, d.Messages, acct).
		Scan(&u.StorageBytes, &u.Messages, &u.StorageLimitBytes, &u.MessageLimit); err != nil {
		return err
	}
	if u.StorageLimitBytes > 0 && u.StorageBytes > u.StorageLimitBytes {
		return fmt.Errorf("%w: storage %d of %d bytes", store.ErrOverQuota, u.StorageBytes, u.StorageLimitBytes)
	}
	if u.MessageLimit > 0 && u.Messages > u.MessageLimit {
		return fmt.Errorf("%w: %d of %d messages", store.ErrOverQuota, u.Messages, u.MessageLimit)
	}
	return nil
}

// SetSCRAMSecret implements store.Store.
func (s *Store) SetSCRAMSecret(ctx context.Context, name, secret string) error {
	if err := s.updateAccount(ctx, "scram", secret, name); err != nil {
		return fmt.Errorf("set SCRAM secret of %q: %w", name, err)
	}
	return nil
}
