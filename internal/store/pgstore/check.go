package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/store"
)

// Check (store.Checker). Every rule finds its problems with one query,
// all of them in one repeatable-read transaction (one state of the
// data); a repair recomputes what it fixes in its own write transaction,
// under the locks the writers of that data take, so it never writes a
// value computed from an older state.

// checkRule is one invariant: find returns rows of (subject, detail,
// key), fix are the statements that repair the row with key $1 (none:
// not repairable).
type checkRule struct {
	kind    string
	find    string
	fix     []string
	notice  bool // not a problem (Finding.Problem false)
	reindex bool // key is a content to reindex (Finding.Reindex)
}

// mboxSubject names the mailbox x in findings.
const mboxSubject = `format('mailbox %s of account %s (id %s)', x.name, x.account, x.id)`

var checkRules = []checkRule{
	{kind: "status-counter", find: `SELECT ` + mboxSubject + `,
			format('counters (messages, unseen, deleted, size, deleted size) %s, the messages make %s',
				row(x.n_messages, x.n_unseen, x.n_deleted, x.size_all, x.size_deleted), row(c.n, c.u, c.d, c.s, c.sd)), x.id::text
		FROM mailboxes x, LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE flags & 1 = 0) AS u,
			count(*) FILTER (WHERE flags & 8 <> 0) AS d, coalesce(sum(size), 0) AS s,
			coalesce(sum(size) FILTER (WHERE flags & 8 <> 0), 0) AS sd FROM messages WHERE mailbox = x.id) c
		WHERE (x.n_messages, x.n_unseen, x.n_deleted, x.size_all, x.size_deleted) IS DISTINCT FROM (c.n, c.u, c.d, c.s, c.sd)`,
		fix: []string{`SELECT 1 FROM mailboxes WHERE id = $1::bigint FOR UPDATE`,
			`UPDATE mailboxes x SET n_messages = c.n, n_unseen = c.u, n_deleted = c.d, size_all = c.s, size_deleted = c.sd
			FROM (SELECT count(*) AS n, count(*) FILTER (WHERE flags & 1 = 0) AS u,
				count(*) FILTER (WHERE flags & 8 <> 0) AS d, coalesce(sum(size), 0) AS s,
				coalesce(sum(size) FILTER (WHERE flags & 8 <> 0), 0) AS sd FROM messages WHERE mailbox = $1::bigint) c
			WHERE x.id = $1::bigint`}},
	{kind: "quota-counter", find: `SELECT format('account %s (id %s)', a.name, a.id),
			format('usage %s bytes in %s messages, the messages make %s in %s', a.used_storage, a.used_messages, c.s, c.n), a.id::text
		FROM accounts a, LATERAL (SELECT count(*) AS n, coalesce(sum(m.size), 0) AS s FROM messages m
			JOIN mailboxes x ON x.id = m.mailbox WHERE x.account = a.id) c
		WHERE (a.used_storage, a.used_messages) IS DISTINCT FROM (c.s, c.n)`,
		fix: []string{`SELECT 1 FROM accounts WHERE id = $1::bigint FOR UPDATE`,
			`UPDATE accounts a SET used_storage = c.s, used_messages = c.n
			FROM (SELECT count(*) AS n, coalesce(sum(m.size), 0) AS s FROM messages m
				JOIN mailboxes x ON x.id = m.mailbox WHERE x.account = $1::bigint) c
			WHERE a.id = $1::bigint`}},
	{kind: "uidnext", find: `SELECT ` + mboxSubject + `, format('UIDNEXT %s, but UID %s exists or existed', x.uidnext, u.m), x.id::text
		FROM mailboxes x, LATERAL (SELECT greatest((SELECT max(uid) FROM messages WHERE mailbox = x.id),
			(SELECT max(uid) FROM expunged WHERE mailbox = x.id)) AS m) u
		WHERE u.m >= x.uidnext`,
		fix: []string{`SELECT 1 FROM mailboxes WHERE id = $1::bigint FOR UPDATE`,
			`UPDATE mailboxes x SET uidnext = greatest(x.uidnext, 1 + (SELECT max(uid) FROM messages WHERE mailbox = x.id),
				1 + (SELECT max(uid) FROM expunged WHERE mailbox = x.id)) WHERE x.id = $1::bigint`}},
	{kind: "highestmodseq", find: `SELECT ` + mboxSubject + `, format('HIGHESTMODSEQ %s, but mod-sequence %s was given', x.highestmodseq, u.m), x.id::text
		FROM mailboxes x, LATERAL (SELECT greatest((SELECT max(modseq) FROM messages WHERE mailbox = x.id),
			(SELECT max(modseq) FROM expunged WHERE mailbox = x.id)) AS m) u
		WHERE u.m > x.highestmodseq`,
		fix: []string{`SELECT 1 FROM mailboxes WHERE id = $1::bigint FOR UPDATE`,
			`UPDATE mailboxes x SET highestmodseq = greatest(x.highestmodseq, (SELECT max(modseq) FROM messages WHERE mailbox = x.id),
				(SELECT max(modseq) FROM expunged WHERE mailbox = x.id)) WHERE x.id = $1::bigint`}},
	{kind: "recent", find: `SELECT ` + mboxSubject + `, format('first \Recent UID %s beyond UIDNEXT %s', x.recent_from, x.uidnext), x.id::text
		FROM mailboxes x WHERE x.recent_from > x.uidnext`,
		fix: []string{`UPDATE mailboxes SET recent_from = uidnext WHERE id = $1::bigint AND recent_from > uidnext`}},
	{kind: "uid-expunged", find: `SELECT ` + mboxSubject + `, format('UID %s both exists and is expunged', e.uid), x.id::text
		FROM expunged e JOIN messages m ON m.mailbox = e.mailbox AND m.uid = e.uid JOIN mailboxes x ON x.id = e.mailbox`},
	{kind: "keyword-set", find: `SELECT DISTINCT ` + mboxSubject + `, format('keyword %s of a message is not in the set', kw), x.id::text
		FROM messages m CROSS JOIN LATERAL unnest(m.keywords) AS kw JOIN mailboxes x ON x.id = m.mailbox
		WHERE NOT EXISTS (SELECT 1 FROM mailbox_keywords k WHERE k.mailbox = m.mailbox AND k.key = lower(kw))`,
		fix: []string{`SELECT 1 FROM mailboxes WHERE id = $1::bigint FOR UPDATE`,
			`INSERT INTO mailbox_keywords(mailbox, key, keyword)
			SELECT DISTINCT ON (lower(kw)) m.mailbox, lower(kw), kw FROM messages m CROSS JOIN LATERAL unnest(m.keywords) AS kw
			WHERE m.mailbox = $1::bigint ORDER BY lower(kw), m.uid
			ON CONFLICT DO NOTHING`}},
	{kind: "refcount", find: `SELECT format('content %s', b.id), format('reference count %s, %s messages refer to it', b.refcount, coalesce(c.n, 0)), b.id
		FROM blobs b LEFT JOIN (SELECT blob, count(*) AS n FROM messages GROUP BY blob) c ON c.blob = b.id
		WHERE b.refcount <> coalesce(c.n, 0) AND NOT (b.refcount <= 0 AND c.n IS NULL)`,
		fix: []string{`SELECT 1 FROM blobs WHERE id = $1 FOR UPDATE`,
			`UPDATE blobs SET refcount = (SELECT count(*) FROM messages WHERE blob = $1) WHERE id = $1`}},
	{kind: "orphan-file", find: `SELECT format('content %s', b.id), 'no message refers to it', b.id
		FROM blobs b WHERE b.refcount <= 0 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.id)
		AND (b.pinned_until IS NULL OR b.pinned_until - interval '` + blobPin + `' < now() - $1::interval)`,
		fix: []string{`WITH gone AS (DELETE FROM blobs b WHERE id = $1 AND refcount <= 0
				AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.id) RETURNING chunks)
			DELETE FROM blob_chunks WHERE chunks IN (SELECT chunks FROM gone WHERE chunks IS NOT NULL)`}},
	{kind: "orphan-file", notice: true, find: `SELECT format('content %s', b.id), 'no message refers to it yet (written recently)', b.id
		FROM blobs b WHERE b.refcount <= 0 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.id)
		AND NOT (b.pinned_until IS NULL OR b.pinned_until - interval '` + blobPin + `' < now() - $1::interval)`},
	{kind: "content-missing", find: `SELECT format('content %s', b.id), 'neither stored inline nor in chunks', b.id
		FROM blobs b WHERE b.content IS NULL AND (b.chunks IS NULL OR NOT EXISTS (SELECT 1 FROM blob_chunks c WHERE c.chunks = b.chunks))`},
	{kind: "content-size", find: `SELECT format('content %s', b.id), format('size %s, %s bytes stored', b.size,
			coalesce(length(b.content), (SELECT sum(length(data)) FROM blob_chunks c WHERE c.chunks = b.chunks))), b.id
		FROM blobs b WHERE b.size IS DISTINCT FROM coalesce(length(b.content),
			(SELECT sum(length(data)) FROM blob_chunks c WHERE c.chunks = b.chunks))
		AND (b.content IS NOT NULL OR EXISTS (SELECT 1 FROM blob_chunks c WHERE c.chunks = b.chunks))`},
	{kind: "message-size", find: `SELECT ` + mboxSubject + `, format('UID %s has size %s, its content %s', m.uid, m.size, b.size), b.id
		FROM messages m JOIN blobs b ON b.id = m.blob JOIN mailboxes x ON x.id = m.mailbox WHERE m.size <> b.size`},
	{kind: "message-doc", find: `SELECT DISTINCT format('content %s', m.blob), 'messages carry another text version than the content''s', m.blob
		FROM messages m LEFT JOIN blob_texts t ON t.blob = m.blob WHERE m.textver IS DISTINCT FROM t.textver`,
		fix: []string{`UPDATE messages m SET textver = (SELECT textver FROM blob_texts WHERE blob = $1)
			WHERE m.blob = $1 AND m.textver IS DISTINCT FROM (SELECT textver FROM blob_texts WHERE blob = $1)`}},
	{kind: "index-orphan", find: `SELECT format('content %s', t.blob), 'index text of a content no message refers to', t.blob
		FROM blob_texts t JOIN blobs b ON b.id = t.blob WHERE b.refcount > 0 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = t.blob)`},
	{kind: "unindexed", notice: true, reindex: true, find: `SELECT format('content %s', b.id), 'no index text: searches read the message', b.id
		FROM blobs b WHERE EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.id) AND NOT EXISTS (SELECT 1 FROM blob_texts t WHERE t.blob = b.id)`},
}

// Check implements store.Checker.
func (s *Store) Check(ctx context.Context, opts store.CheckOptions) (store.CheckReport, error) {
	// Repairs may delete contents: opened afresh from then on.
	defer s.heads.clear()
	var rep store.CheckReport
	grace := opts.OrphanGrace
	if grace == 0 {
		grace = store.DefaultOrphanGrace
	}
	type found struct {
		rule *checkRule
		key  string
		i    int // in rep.Findings
	}
	var todo []found
	err := s.read(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM mailboxes),
				(SELECT count(*) FROM messages), (SELECT count(*) FROM blobs), (SELECT count(*) FROM blobs WHERE chunks IS NOT NULL)`).
			Scan(&rep.Accounts, &rep.Mailboxes, &rep.Messages, &rep.Contents, &rep.Files); err != nil {
			return err
		}
		for i := range checkRules {
			r := &checkRules[i]
			var args []any
			if r.kind == "orphan-file" {
				args = []any{fmt.Sprintf("%d seconds", int64(grace/time.Second))}
			}
			rows, err := tx.Query(ctx, r.find, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", r.kind, err)
			}
			var subject, detail, key string
			if _, err := pgx.ForEachRow(rows, []any{&subject, &detail, &key}, func() error {
				f := store.Finding{Kind: r.kind, Problem: !r.notice, Subject: subject, Detail: detail,
					Repairable: len(r.fix) > 0 || r.reindex}
				if r.reindex {
					f.Reindex = []store.BlobID{store.BlobID(key)}
				}
				rep.Findings = append(rep.Findings, f)
				todo = append(todo, found{rule: r, key: key, i: len(rep.Findings) - 1})
				return nil
			}); err != nil {
				return fmt.Errorf("%s: %w", r.kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("pgstore: check: %w", s.lost(err))
	}
	if opts.Contents {
		if err := s.checkHashes(ctx, &rep); err != nil {
			return rep, fmt.Errorf("pgstore: check: %w", s.lost(err))
		}
	}
	if !opts.Repair {
		return rep, nil
	}
	for _, f := range todo {
		if len(f.rule.fix) == 0 {
			continue
		}
		err := s.write(ctx, func(t *wtx) error {
			for _, q := range f.rule.fix {
				if _, err := t.exec(q, f.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("pgstore: check: repair %s of %s: %w", f.rule.kind, rep.Findings[f.i].Subject, s.lost(err))
		}
		rep.Findings[f.i].Repaired = true
	}
	return rep, nil
}

// checkHashes reads every content and compares it with its address.
func (s *Store) checkHashes(ctx context.Context, rep *store.CheckReport) error {
	rows, err := s.pool.Query(ctx, `SELECT id FROM blobs ORDER BY id`)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	for _, id := range ids {
		b, err := s.OpenBlob(ctx, store.BlobID(id))
		if err != nil {
			continue // deleted meanwhile, or reported as missing
		}
		h := sha256.New()
		var off int64
		for off < b.Size() {
			n, err := b.ReadAt(buf[:min(int64(len(buf)), b.Size()-off)], off)
			h.Write(buf[:n])
			off += int64(n)
			if err != nil {
				break
			}
		}
		b.Close()
		if sum := hex.EncodeToString(h.Sum(nil)); off == b.Size() && !bytes.Equal([]byte(sum), []byte(id)) {
			rep.Findings = append(rep.Findings, store.Finding{Kind: "content-hash", Problem: true, Subject: "content " + id,
				Detail: "its bytes hash to " + sum})
		}
	}
	return nil
}
