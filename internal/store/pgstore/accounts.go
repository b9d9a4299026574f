package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
	"rookery/internal/store"
)

// byName ends a query of accounts: the row named $1, else the row named
// $2 (the canonical form of $1, store.Store.Account).
const byName = ` WHERE name IN ($1, $2) ORDER BY name = $1 DESC LIMIT 1`

// lookupNames returns the two names an account name is looked up under.
func lookupNames(name string) (exact, canon string) {
	return name, store.AccountKey(name)
}

// CreateAccount implements store.Store: the account is named
// store.CanonicalAccountName(name).
func (s *Store) CreateAccount(ctx context.Context, name, passwordHash string) (store.Account, error) {
	canon, err := store.CanonicalAccountName(name)
	if err != nil {
		return store.Account{}, fmt.Errorf("pgstore: create account: %w", s.lost(err))
	}
	acct := store.Account{Name: canon, PasswordHash: passwordHash, Created: time.Unix(time.Now().Unix(), 0)}
	err = s.write(ctx, func(t *wtx) error {
		// Above every UIDVALIDITY an earlier account of this name had,
		// and the installation's floor (migration 0003).
		err := t.queryRow(`INSERT INTO accounts(name, password_hash, created, uidvalidity_floor)
			VALUES ($1, $2, $3, greatest(coalesce((SELECT uidvalidity FROM retired_accounts WHERE name = $1), 0),
				coalesce((SELECT uidvalidity_floor FROM installation), 0)))
			ON CONFLICT (name) DO NOTHING RETURNING id`,
			canon, passwordHash, acct.Created.Unix()).Scan(&acct.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrAccountExists
		}
		if err != nil {
			return err
		}
		for _, m := range store.DefaultMailboxes() {
			if _, err := t.insertMailbox(acct.ID, m.Name, m.SpecialUse, false); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO subscriptions(account, name) VALUES ($1, $2)`, acct.ID, m.Name); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct.ID)})
		return nil
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("pgstore: create account %q: %w", canon, s.lost(err))
	}
	return acct, nil
}

// Account implements store.Store.
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	var a store.Account
	var created int64
	exact, canon := lookupNames(name)
	err := s.readRetry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT id, name, password_hash, scram, created FROM accounts`+byName, exact, canon).
			Scan(&a.ID, &a.Name, &a.PasswordHash, &a.SCRAMSecret, &created)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, fmt.Errorf("pgstore: account %q: %w", name, store.ErrNoSuchAccount)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("pgstore: account %q: %w", name, s.lost(err))
	}
	a.Created = time.Unix(created, 0)
	return a, nil
}

// accountID finds an account by name as Account does, in the
// transaction; ErrNoSuchAccount if there is none.
func (t *wtx) accountID(name string) (store.AccountID, error) {
	var id store.AccountID
	exact, canon := lookupNames(name)
	err := t.queryRow(`SELECT id FROM accounts`+byName, exact, canon).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ErrNoSuchAccount
	}
	return id, err
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context) ([]store.AccountInfo, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.name, a.password_hash, a.scram, a.created,
			(SELECT count(*) FROM mailboxes m WHERE m.account = a.id),
			a.used_messages, a.used_storage,
			coalesce(a.quota_storage, $1), coalesce(a.quota_messages, $2)
		FROM accounts a ORDER BY a.name`, s.quota.StorageBytes, s.quota.Messages)
	if err != nil {
		return nil, fmt.Errorf("pgstore: accounts: %w", s.lost(err))
	}
	defer rows.Close()
	var out []store.AccountInfo
	for rows.Next() {
		var ai store.AccountInfo
		var created int64
		if err := rows.Scan(&ai.ID, &ai.Name, &ai.PasswordHash, &ai.SCRAMSecret, &created, &ai.Mailboxes, &ai.Messages, &ai.Bytes,
			&ai.StorageLimit, &ai.MessageLimit); err != nil {
			return nil, fmt.Errorf("pgstore: accounts: %w", s.lost(err))
		}
		ai.Created = time.Unix(created, 0)
		out = append(out, ai)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: accounts: %w", s.lost(err))
	}
	return out, nil
}

// SetPasswordHash implements store.Store.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string) error {
	if err := s.updateAccount(ctx, `UPDATE accounts SET password_hash = $2 WHERE id = $1`, name, hash); err != nil {
		return fmt.Errorf("pgstore: set password of %q: %w", name, s.lost(err))
	}
	return nil
}

// SetSCRAMSecret implements store.Store.
func (s *Store) SetSCRAMSecret(ctx context.Context, name, secret string) error {
	if err := s.updateAccount(ctx, `UPDATE accounts SET scram = $2 WHERE id = $1`, name, secret); err != nil {
		return fmt.Errorf("pgstore: set SCRAM secret of %q: %w", name, s.lost(err))
	}
	return nil
}

// updateAccount runs q with the ID of the account found by name and
// args; ErrNoSuchAccount if there is none.
func (s *Store) updateAccount(ctx context.Context, q, name string, args ...any) error {
	return s.write(ctx, func(t *wtx) error {
		id, err := t.accountID(name)
		if err != nil {
			return err
		}
		_, err = t.exec(q, append([]any{id}, args...)...)
		return err
	})
}

// DeleteAccount implements store.Store.
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	err := s.write(ctx, func(t *wtx) error {
		id, err := t.accountID(name)
		if err != nil {
			return err
		}
		if err := t.lockAccount(id); err != nil {
			return err
		}
		// The mailbox rows first, in ID order, as every writer of
		// messages takes them.
		if _, err := t.exec(`SELECT id FROM mailboxes WHERE account = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return err
		}
		blobs, err := t.releaseMessages(`SELECT m.blob, count(*) FROM messages m JOIN mailboxes x ON x.id = m.mailbox
			WHERE x.account = $1 GROUP BY m.blob`, int64(id))
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM messages WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = $1)`, id); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO retired_accounts(name, uidvalidity)
			SELECT name, greatest(uidvalidity_floor,
				coalesce((SELECT max(uidvalidity) FROM mailboxes WHERE account = accounts.id), 0),
				coalesce((SELECT max(uidvalidity) FROM retired_names WHERE account = accounts.id), 0))
			FROM accounts WHERE id = $1
			ON CONFLICT (name) DO UPDATE SET uidvalidity = greatest(retired_accounts.uidvalidity, EXCLUDED.uidvalidity)`, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM accounts WHERE id = $1`, id); err != nil {
			return err
		}
		if err := t.collect(blobs); err != nil {
			return err
		}
		t.publish(events.Event{Account: int64(id)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete account %q: %w", name, s.lost(err))
	}
	return nil
}

// SetQuota implements store.Store.
func (s *Store) SetQuota(ctx context.Context, name string, q store.Quota) error {
	err := s.write(ctx, func(t *wtx) error {
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
			var v *int64 = c.v
			if *c.v < 0 {
				v = nil // server default
			}
			if _, err := t.exec(`UPDATE accounts SET `+c.col+` = $2 WHERE id = $1`, id, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: set quota of %q: %w", name, s.lost(err))
	}
	return nil
}

// Quota implements store.Store.
func (s *Store) Quota(ctx context.Context, acct store.AccountID) (store.QuotaUsage, error) {
	u := store.QuotaUsage{MailboxLimit: int64(s.limits.MaxMailboxes)}
	err := s.pool.QueryRow(ctx, `SELECT used_storage, used_messages, coalesce(quota_storage, $2), coalesce(quota_messages, $3),
			(SELECT count(*) FROM mailboxes WHERE account = accounts.id)
		FROM accounts WHERE id = $1`, int64(acct), s.quota.StorageBytes, s.quota.Messages).
		Scan(&u.StorageBytes, &u.Messages, &u.StorageLimitBytes, &u.MessageLimit, &u.Mailboxes)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("pgstore: quota of account %d: %w", acct, store.ErrNoSuchAccount)
	}
	if err != nil {
		return u, fmt.Errorf("pgstore: quota of account %d: %w", acct, s.lost(err))
	}
	return u, nil
}

// addUsage adds to an account's usage (locking its row until the end of
// the transaction) and, when check is set, fails with ErrOverQuota if the
// account is then above a limit it grew toward.
func (t *wtx) addUsage(acct store.AccountID, bytes, msgs int64, check bool) error {
	if bytes == 0 && msgs == 0 && !check {
		return nil
	}
	b := &pgx.Batch{}
	read := queueUsage(b, t.s.quota, acct, bytes, msgs)
	br := t.SendBatch(t.ctx, b)
	err := read(br, check)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// queueUsage queues addUsage's statement; the function it returns reads
// its result.
func queueUsage(b *pgx.Batch, d DefaultQuota, acct store.AccountID, bytes, msgs int64) func(pgx.BatchResults, bool) error {
	b.Queue(`UPDATE accounts SET used_storage = used_storage + $2, used_messages = used_messages + $3
		WHERE id = $1 RETURNING used_storage, used_messages, coalesce(quota_storage, $4), coalesce(quota_messages, $5)`,
		int64(acct), bytes, msgs, d.StorageBytes, d.Messages)
	return func(br pgx.BatchResults, check bool) error {
		var used, n, limStorage, limMsgs int64
		err := br.QueryRow().Scan(&used, &n, &limStorage, &limMsgs)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchAccount
		}
		if err != nil || !check {
			return err
		}
		if limStorage > 0 && used > limStorage && bytes > 0 {
			return fmt.Errorf("%w: storage %d of %d bytes", store.ErrOverQuota, used, limStorage)
		}
		if limMsgs > 0 && n > limMsgs && msgs > 0 {
			return fmt.Errorf("%w: %d of %d messages", store.ErrOverQuota, n, limMsgs)
		}
		return nil
	}
}
