package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/store"
)

// The store.Dumper of the PostgreSQL store. Each call reads in one
// repeatable-read transaction (Store.read). Index texts are given back
// (MessageDump.Text) as blob_texts holds them, so a copy out of this
// store need not extract them again.

var _ store.Dumper = (*Store)(nil)

// DumpInstallation implements store.Dumper. MailboxIDFloor is the
// highest ID the mailbox_ids sequence gave (or a restore set it to),
// and at least every mailbox's ID.
func (s *Store) DumpInstallation(ctx context.Context) (store.InstallationDump, error) {
	var d store.InstallationDump
	err := s.read(ctx, func(tx pgx.Tx) error {
		d = store.InstallationDump{}
		var floor, uvFloor int64
		if err := tx.QueryRow(ctx, `SELECT greatest((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM mailbox_ids),
				(SELECT coalesce(max(id), 0) FROM mailboxes)),
			coalesce((SELECT uidvalidity_floor FROM installation), 0)`).Scan(&floor, &uvFloor); err != nil {
			return err
		}
		d.MailboxIDFloor, d.UIDValidityFloor = store.MailboxID(floor), uint32(uvFloor)
		rows, err := tx.Query(ctx, `SELECT name, uidvalidity FROM retired_accounts ORDER BY name`)
		if err != nil {
			return err
		}
		var name string
		var uv int64
		_, err = pgx.ForEachRow(rows, []any{&name, &uv}, func() error {
			d.RetiredAccounts = append(d.RetiredAccounts, store.RetiredAccount{Name: name, UIDValidity: uint32(uv)})
			return nil
		})
		return err
	})
	if err != nil {
		return store.InstallationDump{}, fmt.Errorf("pgstore: dump installation: %w", err)
	}
	return d, nil
}

// DumpAccount implements store.Dumper.
func (s *Store) DumpAccount(ctx context.Context, name string) (store.AccountDump, error) {
	var d store.AccountDump
	err := s.read(ctx, func(tx pgx.Tx) error {
		d = store.AccountDump{}
		var id, created, uvFloor int64
		err := tx.QueryRow(ctx, `SELECT id, name, password_hash, scram, created, quota_storage, quota_messages, uidvalidity_floor
			FROM accounts WHERE name = $1`, name).
			Scan(&id, &d.Name, &d.PasswordHash, &d.SCRAMSecret, &created, &d.StorageLimit, &d.MessageLimit, &uvFloor)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchAccount
		}
		if err != nil {
			return err
		}
		d.Created, d.UIDValidityFloor = time.Unix(created, 0), uint32(uvFloor)
		// The other reads in one pipeline.
		b := &pgx.Batch{}
		b.Queue(`SELECT name FROM subscriptions WHERE account = $1 ORDER BY name`, id)
		b.Queue(`SELECT name, uidvalidity FROM retired_names WHERE account = $1 ORDER BY name, uidvalidity`, id)
		b.Queue(`SELECT `+mboxCols+`, recent_from, renew_uidvalidity,
				coalesce((SELECT array_agg(k.keyword ORDER BY k.key) FROM mailbox_keywords k WHERE k.mailbox = x.id), '{}')
			FROM mailboxes x WHERE account = $1 ORDER BY name`, id)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		rows, err := br.Query()
		if err != nil {
			return err
		}
		if d.Subscriptions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(d.Subscriptions) == 0 {
			d.Subscriptions = nil
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		var rn string
		var uv int64
		if _, err := pgx.ForEachRow(rows, []any{&rn, &uv}, func() error {
			d.RetiredNames = append(d.RetiredNames, store.RetiredName{Name: rn, UIDValidity: uint32(uv)})
			return nil
		}); err != nil {
			return err
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		var m store.MailboxDump
		var uidvalidity, uidnext, hms, recentFrom int64
		var kws []string
		if _, err := pgx.ForEachRow(rows, []any{&m.ID, &m.Account, &m.Name, &uidvalidity, &uidnext, &hms, &m.SpecialUse, &m.NoSelect,
			&recentFrom, &m.RenewOnRename, &kws}, func() error {
			m.UIDValidity, m.UIDNext, m.HighestModSeq, m.RecentFrom = uint32(uidvalidity), uint32(uidnext), uint64(hms), store.UID(recentFrom)
			m.Keywords = nil
			if len(kws) > 0 {
				m.Keywords = slices.Clone(kws)
			}
			d.Mailboxes = append(d.Mailboxes, m)
			return nil
		}); err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return store.AccountDump{}, fmt.Errorf("pgstore: dump account %q: %w", name, err)
	}
	return d, nil
}

// DumpMessages implements store.Dumper: each message with its content's
// anatomy and index text.
func (s *Store) DumpMessages(ctx context.Context, mbox store.MailboxID, after store.UID, limit int) ([]store.MessageDump, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pgstore: dump messages of mailbox %d: limit %d is not positive", mbox, limit)
	}
	var out []store.MessageDump
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `SELECT `+msgColsM+`, b.anatomy, t.textver, t.hfrom, t.hto, t.hcc, t.hbcc, t.hsubject, t.hother, t.body,
				t.date, t.subject, t.msgid, t.inreplyto, t.refs, t.sent
			FROM messages m LEFT JOIN blobs b ON b.id = m.blob LEFT JOIN blob_texts t ON t.blob = m.blob
			WHERE m.mailbox = $1 AND m.uid > $2 ORDER BY m.uid LIMIT $3`, int64(mbox), int64(after), limit)
		if err != nil {
			return err
		}
		var r msgRow
		var anat []byte
		var tr textRow
		_, err = pgx.ForEachRow(rows, append(append(r.dest(), &anat), tr.dest()...), func() error {
			md := store.MessageDump{Message: r.message(), Text: tr.text()}
			if len(anat) > 0 {
				md.Anatomy = slices.Clone(anat)
			}
			out = append(out, md)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: dump messages of mailbox %d: %w", mbox, err)
	}
	return out, nil
}

// textRow receives a blob_texts row of a LEFT JOIN (all NULL when the
// content has no text).
type textRow struct {
	version                                          *int32
	from, to, cc, bcc, subject, other, body          *string
	date, sortSubject, messageID, inReplyTo, referen *string
	sent                                             *int64
}

func (r *textRow) dest() []any {
	return []any{&r.version, &r.from, &r.to, &r.cc, &r.bcc, &r.subject, &r.other, &r.body,
		&r.date, &r.sortSubject, &r.messageID, &r.inReplyTo, &r.referen, &r.sent}
}

// text returns the index text of the row, nil if there is none.
func (r *textRow) text() *store.IndexText {
	if r.version == nil {
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	t := &store.IndexText{Version: int(*r.version), From: str(r.from), To: str(r.to), Cc: str(r.cc), Bcc: str(r.bcc),
		Subject: str(r.subject), Other: str(r.other), Body: str(r.body),
		Sort: store.SortFields{Date: str(r.date), Subject: str(r.sortSubject), MessageID: str(r.messageID),
			InReplyTo: str(r.inReplyTo), References: str(r.referen)}}
	if r.sent != nil {
		t.Sort.Sent = time.Unix(*r.sent, 0)
	}
	return t
}

// DumpExpunged implements store.Dumper.
func (s *Store) DumpExpunged(ctx context.Context, mbox store.MailboxID, after store.UID, limit int) ([]store.ExpungedUID, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pgstore: dump expunged UIDs of mailbox %d: limit %d is not positive", mbox, limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT uid, modseq FROM expunged WHERE mailbox = $1 AND uid > $2 ORDER BY uid LIMIT $3`,
		int64(mbox), int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: dump expunged UIDs of mailbox %d: %w", mbox, err)
	}
	var out []store.ExpungedUID
	var uid, modseq int64
	if _, err := pgx.ForEachRow(rows, []any{&uid, &modseq}, func() error {
		out = append(out, store.ExpungedUID{UID: uint32(uid), ModSeq: uint64(modseq)})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pgstore: dump expunged UIDs of mailbox %d: %w", mbox, err)
	}
	return out, nil
}
