package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"rookery/internal/store"
)

// Each mailbox's keyword set (store.Snapshot.Keywords) is kept in
// mailbox_keywords (migration 17), one row per keyword, keyed by
// keywordKey so that spellings differing in case are one keyword. A row
// is added in the transaction that first gives a message of the mailbox
// the keyword (StoreFlags, Append, Copy, Move), which also enforces
// MailboxLimits.MaxKeywords and MaxKeywordBytes there; rows are never
// removed while the mailbox exists (ON DELETE CASCADE removes them with
// it). SELECT reads the set instead of every message's keywords, and
// counting it costs one index range of at most the limit's rows.

// keywordsTable creates mailbox_keywords.
const keywordsTable = `CREATE TABLE mailbox_keywords (
	mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	key     TEXT NOT NULL, -- store.KeywordKey(keyword)
	keyword TEXT NOT NULL, -- the spelling first stored
	PRIMARY KEY (mailbox, key)
) WITHOUT ROWID`

// mailboxKeywordsMigration is migration 17: it creates mailbox_keywords
// and fills it with the keywords the messages of each mailbox carry. It
// is written in Go because a keyword's key (keywordKey) is Go's lower
// case, which SQLite's lower() is not beyond ASCII. The first spelling in
// the order of the stored keyword lists becomes a keyword's spelling.
// Mailboxes holding more keywords than a limit set later keep them all.
func mailboxKeywordsMigration(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	if _, err := tx.ExecContext(ctx, keywordsTable); err != nil {
		return fmt.Errorf("create mailbox_keywords: %w", err)
	}
	sets, err := messageKeywords(func(q string, args ...any) (*sql.Rows, error) {
		return tx.QueryContext(ctx, q, args...)
	}, nil)
	if err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	for _, mbox := range slices.Sorted(maps.Keys(sets)) {
		for key, kw := range sets[mbox] {
			if _, err := st.ExecContext(ctx, mbox, key, kw); err != nil {
				return fmt.Errorf("keyword of mailbox %d: %w", mbox, err)
			}
			n++
		}
	}
	if n > 0 {
		log.Info("recorded the keywords of every mailbox", "mailboxes", len(sets), "keywords", n)
	}
	return nil
}

// messageKeywords returns, for each mailbox (only mbox when not nil), the
// keywords its messages carry: keywordKey → the first spelling in the
// order of the stored keyword lists. Each distinct list is decoded once.
func messageKeywords(query querier, mbox *store.MailboxID) (map[int64]map[string]string, error) {
	q := `SELECT DISTINCT mailbox, keywords FROM messages WHERE keywords != '' ORDER BY mailbox, keywords`
	var args []any
	if mbox != nil {
		q = `SELECT DISTINCT mailbox, keywords FROM messages WHERE mailbox = ? AND keywords != '' ORDER BY keywords`
		args = []any{int64(*mbox)}
	}
	rows, err := query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read keywords: %w", err)
	}
	defer rows.Close()
	sets := map[int64]map[string]string{}
	for rows.Next() {
		var id int64
		var list string
		if err := rows.Scan(&id, &list); err != nil {
			return nil, fmt.Errorf("read keywords: %w", err)
		}
		set := sets[id]
		if set == nil {
			set = map[string]string{}
			sets[id] = set
		}
		for _, k := range decodeKeywords(list) {
			if _, ok := set[store.KeywordKey(k)]; !ok {
				set[store.KeywordKey(k)] = k
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read keywords: %w", err)
	}
	return sets, nil
}

// addKeywords puts kws (normalised: distinct, case-insensitively) into
// the keyword set of mbox, for a change that gives messages of mbox those
// keywords, and enforces the limits on the keywords new to the set: at
// most MaxKeywordBytes each when named (the client named them: STORE,
// APPEND; COPY and MOVE bring keywords that exist already), and at most
// MaxKeywords in the set. The set is counted once, at the first new
// keyword, so a refused STORE of thousands of new keywords stops after
// the limit's worth. The caller's transaction is rolled back on error,
// the rows added with it.
func (t *wtx) addKeywords(mbox store.MailboxID, kws []string, named bool) error {
	lim := t.w.s.limits
	added, n := 0, -1 // n: the set's size once counted
	for _, k := range kws {
		res, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords(mailbox, key, keyword) VALUES (?, ?, ?)`, mbox, store.KeywordKey(k), k)
		if err != nil {
			return err
		}
		ins, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if ins == 0 {
			continue // in the set already
		}
		added++
		if named && lim.MaxKeywordBytes > 0 && len(k) > lim.MaxKeywordBytes {
			return fmt.Errorf("%w: %d bytes, at most %d", store.ErrKeywordTooLong, len(k), lim.MaxKeywordBytes)
		}
		if lim.MaxKeywords <= 0 {
			continue
		}
		if n < 0 {
			if err := t.queryRow(`SELECT count(*) FROM mailbox_keywords WHERE mailbox = ?`, mbox).Scan(&n); err != nil {
				return err
			}
		} else {
			n++
		}
		if n > lim.MaxKeywords {
			return fmt.Errorf("%w: %d new would make more than %d", store.ErrTooManyKeywords, added, lim.MaxKeywords)
		}
	}
	return nil
}
