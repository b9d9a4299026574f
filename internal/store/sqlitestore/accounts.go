package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"rookery/internal/events"
	"rookery/internal/store"
)

// CreateAccount implements store.Store: the account is named
// store.CanonicalAccountName(name).
func (s *Store) CreateAccount(ctx context.Context, name, passwordHash string) (store.Account, error) {
	canon, err := store.CanonicalAccountName(name)
	if err != nil {
		return store.Account{}, fmt.Errorf("create account: %w", err)
	}
	acct := store.Account{Name: canon, PasswordHash: passwordHash, Created: time.Unix(time.Now().Unix(), 0)}
	err = s.w.do(ctx, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE name = ?`, canon).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrAccountExists
		}
		// Above every UIDVALIDITY of an earlier account of this name
		// and of the days of the server-wide counter (migration 0015).
		if err := t.queryRow(`INSERT INTO accounts(name, password_hash, created, uidvalidity_floor)
			VALUES (?, ?, ?, max((SELECT value FROM counters WHERE name = 'uidvalidity'),
				coalesce((SELECT uidvalidity FROM retired_accounts WHERE name = ?), 0)))
			RETURNING id`,
			canon, passwordHash, acct.Created.Unix(), canon).Scan(&acct.ID); err != nil {
			return err
		}
		for _, m := range store.DefaultMailboxes() {
			if _, err := t.insertMailbox(acct.ID, m.Name, m.SpecialUse, false); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO subscriptions(account, name) VALUES (?, ?)`, acct.ID, m.Name); err != nil {
				return err
			}
		}
		t.publish(events.Event{Account: int64(acct.ID)})
		return nil
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("create account %q: %w", canon, err)
	}
	return acct, nil
}

// lookupNames returns the two names an account name given to the store is
// looked up under (store.Store.Account): as given, then its canonical form
// (the name again when it has none). byName selects the first match.
func lookupNames(name string) (exact, canon string) {
	return name, store.AccountKey(name)
}

// byName ends a query of accounts: the row named ?1, else the row named
// ?2 (lookupNames).
const byName = ` WHERE name IN (?1, ?2) ORDER BY name = ?1 DESC LIMIT 1`

// Account implements store.Store.
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	var a store.Account
	var created int64
	exact, canon := lookupNames(name)
	err := s.readQueryRow(ctx, `SELECT id, name, password_hash, scram, created FROM accounts`+byName, exact, canon).
		Scan(&a.ID, &a.Name, &a.PasswordHash, &a.SCRAMSecret, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("account %q: %w", name, store.ErrNoSuchAccount)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	a.Created = time.Unix(created, 0)
	return a, nil
}

// accountID finds an account by name as Account does, in the job's
// transaction; ErrNoSuchAccount if there is none.
func (t *wtx) accountID(name string) (int64, error) {
	var id int64
	exact, canon := lookupNames(name)
	err := t.queryRow(`SELECT id FROM accounts`+byName, exact, canon).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNoSuchAccount
	}
	return id, err
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context) ([]store.AccountInfo, error) {
	rows, err := s.readQuery(ctx, `
		SELECT a.id, a.name, a.password_hash, a.created,
			(SELECT count(*) FROM mailboxes m WHERE m.account = a.id),
			a.used_messages, a.used_storage,
			coalesce(a.quota_storage, ?), coalesce(a.quota_messages, ?)
		FROM accounts a ORDER BY a.name`, s.defaultQuota.StorageBytes, s.defaultQuota.Messages)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	var out []store.AccountInfo
	for rows.Next() {
		var ai store.AccountInfo
		var created int64
		if err := rows.Scan(&ai.ID, &ai.Name, &ai.PasswordHash, &created, &ai.Mailboxes, &ai.Messages, &ai.Bytes,
			&ai.StorageLimit, &ai.MessageLimit); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		ai.Created = time.Unix(created, 0)
		out = append(out, ai)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
}

// SetPasswordHash implements store.Store.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string) error {
	if err := s.updateAccount(ctx, "password_hash", hash, name); err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return nil
}

// updateAccount sets column col of the account found by name (accountID)
// to value; ErrNoSuchAccount if there is none.
func (s *Store) updateAccount(ctx context.Context, col string, value any, name string) error {
	return s.w.do(ctx, func(t *wtx) error {
		id, err := t.accountID(name)
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE accounts SET `+col+` = ? WHERE id = ?`, value, id)
		return err
	})
}

// DeleteAccount implements store.Store.
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	err := s.w.do(ctx, func(t *wtx) error {
		id, err := t.accountID(name)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE blobs SET refcount = refcount - d.n
			FROM (SELECT g.blob AS blob, count(*) AS n FROM messages g JOIN mailboxes m ON g.mailbox = m.id
				WHERE m.account = ? GROUP BY g.blob) AS d
			WHERE blobs.id = d.blob`, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM messages WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`, id); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT OR REPLACE INTO retired_accounts(name, uidvalidity)
			SELECT name, max(uidvalidity_floor,
				coalesce((SELECT max(uidvalidity) FROM mailboxes WHERE account = accounts.id), 0),
				coalesce((SELECT max(uidvalidity) FROM retired_names WHERE account = accounts.id), 0),
				coalesce((SELECT uidvalidity FROM retired_accounts r WHERE r.name = accounts.name), 0))
			FROM accounts WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM accounts WHERE id = ?`, id); err != nil {
			return err
		}
		if err := t.collectUnreferenced(); err != nil {
			return err
		}
		t.publish(events.Event{Account: id})
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete account %q: %w", name, err)
	}
	return nil
}

// collectUnreferenced deletes blob rows without references (the trigger
// blobs_delete takes their inline contents and documents with them) and
// schedules the files of the others for deletion after the commit.
func (t *wtx) collectUnreferenced() error {
	rows, err := t.query(`DELETE FROM blobs WHERE refcount <= 0 RETURNING id, content IS NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var file bool
		if err := rows.Scan(&id, &file); err != nil {
			return err
		}
		if file {
			t.dropBlob(strings.Clone(id))
		}
	}
	return rows.Err()
}

// canonicalAccountNames is migration 14. Account names became
// case-insensitive (store.CanonicalAccountName): an account stored under
// another spelling ("Alice") is renamed to its canonical form ("alice"),
// oldest account first, unless that name is taken or the name has no
// canonical form; those keep their names and are found under exactly
// their spelling (store.Store.Account), and are logged. Nothing else
// refers to an account by name, so renaming loses nothing: the password
// hash and the SCRAM verifier do not depend on it.
func canonicalAccountNames(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM accounts ORDER BY id`)
	if err != nil {
		return err
	}
	type acct struct {
		id   int64
		name string
	}
	var accts []acct
	taken := make(map[string]bool)
	for rows.Next() {
		var a acct
		if err := rows.Scan(&a.id, &a.name); err != nil {
			rows.Close()
			return err
		}
		accts = append(accts, a)
		taken[a.name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range accts {
		canon, err := store.CanonicalAccountName(a.name)
		switch {
		case err != nil:
			log.Warn("account name has no canonical form; it keeps its name and is found only as spelt", "account", a.name, "err", err)
			continue
		case canon == a.name:
			continue
		case taken[canon]:
			log.Warn("account name differs from another only in case; it keeps its name and is found only as spelt", "account", a.name, "other", canon)
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name = ? WHERE id = ?`, canon, a.id); err != nil {
			return fmt.Errorf("rename account %q: %w", a.name, err)
		}
		delete(taken, a.name)
		taken[canon] = true
		log.Info("account renamed to the canonical form of its name", "from", a.name, "to", canon)
	}
	return nil
}
