package sqlitestore

import (
	"context"
	"database/sql/driver"
	"fmt"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// nullBytes maps an empty anatomy to SQL NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// msgColsAnatomy is msgCols of messages m joined with its blob's anatomy.
const msgColsAnatomy = `m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.internal_tz, m.save_date, m.size, m.blob, b.anatomy`

// FetchAnatomy implements store.Store.
func (s *Store) FetchAnatomy(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	err := s.scanMessages(ctx, mbox, uids,
		`SELECT `+msgColsAnatomy+` FROM messages m LEFT JOIN blobs b ON b.id = m.blob
			WHERE m.mailbox = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
		func(r []driver.Value) error {
			m := messageFromRow(r)
			if b, ok := r[9].([]byte); ok && len(b) > 0 {
				m.Anatomy = append([]byte(nil), b...)
			}
			return fn(m)
		})
	if err != nil {
		return fmt.Errorf("fetch from mailbox %d: %w", mbox, err)
	}
	return nil
}

// FetchContent implements store.Store: inline contents come with the
// rows (one read for a whole range instead of one per message).
func (s *Store) FetchContent(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	err := s.scanMessages(ctx, mbox, uids,
		`SELECT `+msgColsAnatomy+`, c.content FROM messages m LEFT JOIN blobs b ON b.id = m.blob
			LEFT JOIN contents c ON c.id = b.content
			WHERE m.mailbox = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
		func(r []driver.Value) error {
			m := messageFromRow(r)
			if b, ok := r[9].([]byte); ok && len(b) > 0 {
				m.Anatomy = append([]byte(nil), b...)
			}
			if b, ok := r[10].([]byte); ok {
				m.Content = append([]byte(nil), b...)
			}
			return fn(m)
		})
	if err != nil {
		return fmt.Errorf("fetch from mailbox %d: %w", mbox, err)
	}
	return nil
}

// olderAnatomy is true for a blob row whose anatomy is missing or of an
// older encoding version than ?1's (the version is the first byte).
const olderAnatomy = `(anatomy IS NULL OR substr(anatomy, 1, 1) < substr(?1, 1, 1))`

// SetAnatomy implements store.Store.
func (s *Store) SetAnatomy(ctx context.Context, id store.BlobID, anatomy []byte) error {
	err := s.w.do(ctx, func(t *wtx) error {
		_, err := t.exec(`UPDATE blobs SET anatomy = ?1 WHERE id = ?2 AND `+olderAnatomy, nullBytes(anatomy), string(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("set anatomy of blob %s: %w", id, err)
	}
	return nil
}
