package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// The search index: the index text of each content (blob_texts) is
// written in the transaction that stores the content (Append) or
// replaces its text (SetBlobIndex), so it is indexed at commit:
// WaitIndexed has nothing to wait for. SearchCandidates turns a
// store.IndexKey into one query over the mailbox's messages; a needle is
// a LIKE '%…%' on the text (trigram indexes), and a message whose
// content has no text, or one older than the key's MinVersion, is a
// candidate for every needle.

// queueText queues the statement that stores text as the index text of
// content id: replacing one stored (replace: the caller updates
// messages.textver), or only if it has none.
func queueText(b *pgx.Batch, id store.BlobID, text *store.IndexText, replace bool) {
	sf := text.Sort
	var sent *int64
	if !sf.Sent.IsZero() {
		v := sf.Sent.Unix()
		sent = &v
	}
	// Messages stored before the content had a text learn its version.
	prefix, conflict := `WITH ins AS (`, `DO NOTHING RETURNING textver)
		UPDATE messages m SET textver = ins.textver FROM ins WHERE m.blob = $1 AND m.textver IS NULL`
	if replace {
		prefix, conflict = ``, `DO UPDATE SET textver = EXCLUDED.textver, hfrom = EXCLUDED.hfrom, hto = EXCLUDED.hto, hcc = EXCLUDED.hcc,
			hbcc = EXCLUDED.hbcc, hsubject = EXCLUDED.hsubject, hother = EXCLUDED.hother, body = EXCLUDED.body,
			date = EXCLUDED.date, subject = EXCLUDED.subject, msgid = EXCLUDED.msgid, inreplyto = EXCLUDED.inreplyto,
			refs = EXCLUDED.refs, sent = EXCLUDED.sent`
	}
	b.Queue(prefix+`INSERT INTO blob_texts(blob, textver, hfrom, hto, hcc, hbcc, hsubject, hother, body, date, subject, msgid, inreplyto, refs, sent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (blob) `+conflict,
		string(id), text.Version, clean(text.From), clean(text.To), clean(text.Cc), clean(text.Bcc), clean(text.Subject),
		clean(text.Other), clean(text.Body), clean(sf.Date), clean(sf.Subject), clean(sf.MessageID), clean(sf.InReplyTo),
		clean(sf.References), sent)
}

// clean makes s storable as PostgreSQL text: valid UTF-8 without NUL
// (a text can hold neither). Searches for a needle with such bytes may
// then miss nothing they should find only where the text had them.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", " ")
}

// WaitIndexed implements store.Store: texts are indexed at commit.
func (s *Store) WaitIndexed(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: wait for the index: %w", s.lost(err))
	}
	return nil
}

// IndexBacklog implements store.Store: texts are indexed at commit.
func (s *Store) IndexBacklog(ctx context.Context) (int64, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("pgstore: index backlog: %w", s.lost(err))
	}
	return 0, 0, nil
}

// textColumns are the blob_texts columns of each text field.
var textColumns = map[store.TextField][]string{
	store.TextAll:     {"hfrom", "hto", "hcc", "hbcc", "hsubject", "hother", "body"},
	store.TextFrom:    {"hfrom"},
	store.TextTo:      {"hto"},
	store.TextCc:      {"hcc"},
	store.TextBcc:     {"hbcc"},
	store.TextSubject: {"hsubject"},
	store.TextOther:   {"hother"},
	store.TextBody:    {"body"},
}

// likeEscape escapes the LIKE wildcards and the escape character.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// query builds the SQL of an IndexKey with its arguments.
type query struct {
	args []any
	// texts is the alias prefix ("t.") of the message's blob_texts row
	// when the query joins it: a needle is then tested on its fields
	// directly instead of through the trigram index over all contents
	// (a common needle such as "re:" made that a hashed subplan over
	// most texts of the installation, bodies included).
	texts string
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// clampN turns a uint64 bound into an int64 SQL argument.
func clampN(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// cond returns the SQL condition of k on the message m (and its text t).
func (q *query) cond(k store.IndexKey) (string, error) {
	switch k.Op {
	case store.IndexAll:
		return "true", nil
	case store.IndexAnd, store.IndexOr:
		if len(k.Sub) == 0 {
			if k.Op == store.IndexAnd {
				return "true", nil
			}
			return "false", nil
		}
		parts := make([]string, len(k.Sub))
		for i, c := range k.Sub {
			p, err := q.cond(c)
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		op := " AND "
		if k.Op == store.IndexOr {
			op = " OR "
		}
		return "(" + strings.Join(parts, op) + ")", nil
	case store.IndexNot:
		if len(k.Sub) != 1 {
			return "", fmt.Errorf("NOT with %d keys", len(k.Sub))
		}
		p, err := q.cond(k.Sub[0])
		if err != nil {
			return "", err
		}
		return "NOT " + p, nil
	case store.IndexFlag:
		return fmt.Sprintf("(m.flags & %d <> 0)", int(k.Flag)), nil
	case store.IndexKeyword:
		return "EXISTS (SELECT 1 FROM unnest(m.keywords) AS kw WHERE lower(kw) = " + q.arg(asciiLower(k.Value)) + ")", nil
	case store.IndexUID:
		rs := store.NormalizeUIDs(k.UIDs)
		if len(rs) == 0 {
			return "false", nil
		}
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = "m.uid BETWEEN " + q.arg(int64(r.Start)) + " AND " + q.arg(int64(r.Stop))
		}
		return "(" + strings.Join(parts, " OR ") + ")", nil
	case store.IndexLarger:
		return "m.size > " + q.arg(clampN(k.N)), nil
	case store.IndexSmaller:
		return "m.size < " + q.arg(clampN(k.N)), nil
	case store.IndexModSeq:
		return "m.modseq >= " + q.arg(clampN(k.N)), nil
	case store.IndexNeedle:
		if !restricts(k) {
			return "true", nil // too short to restrict: the caller tests it
		}
		if q.texts != "" {
			likes, err := q.fieldLikes(k, q.texts)
			if err != nil {
				return "", err
			}
			return "(" + q.untexted(k) + " OR " + likes + ")", nil
		}
		// The contents whose text holds the needle, found through the
		// trigram indexes once (a hashed subplan), then probed per
		// message; messages.textver tells the messages without a text.
		likes, err := q.likes(k, "")
		if err != nil {
			return "", err
		}
		return "(" + q.untexted(k) + " OR m.blob IN (SELECT blob FROM blob_texts WHERE " + likes + "))", nil
	}
	return "", fmt.Errorf("unknown index operation %d", k.Op)
}

// restricts reports whether a needle is long enough to restrict.
func restricts(k store.IndexKey) bool {
	return k.Op == store.IndexNeedle && utf8.RuneCountInString(k.Value) >= 3
}

// searchText is the expression of the trigram index blob_texts_trgm
// (migration 0001) with its columns prefixed by prefix: every field, a
// newline between two.
func searchText(prefix string) string {
	cols := textColumns[store.TextAll]
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = prefix + c
	}
	return "(" + strings.Join(parts, " || E'\\n' || ") + ")"
}

// likes returns the condition that the text (columns prefixed by
// prefix) of a content holds the needle k: in the indexed expression
// (the index finds those), then in its field.
func (q *query) likes(k store.IndexKey, prefix string) (string, error) {
	cols, ok := textColumns[k.Field]
	if !ok {
		return "", fmt.Errorf("unknown text field %d", k.Field)
	}
	v := clean(k.Value)
	pat := q.arg("%" + likeEscape.Replace(v) + "%")
	likes := make([]string, len(cols))
	for i, c := range cols {
		likes[i] = prefix + c + " LIKE " + pat
	}
	if strings.Contains(v, "\n") {
		// Not in the index's terms: test the fields alone.
		return "(" + strings.Join(likes, " OR ") + ")", nil
	}
	return "(" + searchText(prefix) + " LIKE " + pat + " AND (" + strings.Join(likes, " OR ") + "))", nil
}

// fieldLikes returns the condition that the needle k is in its fields
// of the text whose columns are prefixed by prefix, without the index.
func (q *query) fieldLikes(k store.IndexKey, prefix string) (string, error) {
	cols, ok := textColumns[k.Field]
	if !ok {
		return "", fmt.Errorf("unknown text field %d", k.Field)
	}
	pat := q.arg("%" + likeEscape.Replace(clean(k.Value)) + "%")
	likes := make([]string, len(cols))
	for i, c := range cols {
		likes[i] = prefix + c + " LIKE " + pat
	}
	return "(" + strings.Join(likes, " OR ") + ")", nil
}

// untexted returns the condition that the index cannot answer the
// needle k for the message m: its content has no text, or one older
// than k.MinVersion.
func (q *query) untexted(k store.IndexKey) string {
	if k.MinVersion > 0 {
		return "(m.textver IS NULL OR m.textver < " + q.arg(k.MinVersion) + ")"
	}
	return "m.textver IS NULL"
}

// splitNeedle finds a needle that k requires (k itself, or one of the
// keys of a top-level And) and returns it with the rest of k.
func splitNeedle(k store.IndexKey) (needle, rest store.IndexKey, ok bool) {
	if restricts(k) {
		return k, store.IndexKey{}, true
	}
	if k.Op != store.IndexAnd {
		return k, k, false
	}
	for i, c := range k.Sub {
		if restricts(c) {
			others := append(append([]store.IndexKey(nil), k.Sub[:i]...), k.Sub[i+1:]...)
			return c, store.IndexKey{Op: store.IndexAnd, Sub: others}, true
		}
	}
	return k, k, false
}

// sql returns the query of the UIDs of the messages of mailbox $1 that
// match k. When k requires a needle, it is the union of the messages
// whose text the index cannot use (index messages_untexted) and those
// whose content's text holds the needle, found from the trigram index:
// a rare needle in a large mailbox then reads no other message.
func (q *query) sql(k store.IndexKey) (string, error) {
	needle, rest, ok := splitNeedle(k)
	if !ok {
		cond, err := q.cond(k)
		if err != nil {
			return "", err
		}
		return `SELECT m.uid FROM messages m WHERE m.mailbox = $1 AND ` + cond + ` ORDER BY m.uid`, nil
	}
	cond, err := q.cond(rest)
	if err != nil {
		return "", err
	}
	likes, err := q.likes(needle, "t.")
	if err != nil {
		return "", err
	}
	// The second branch has each message's text at hand: its other
	// needles are tested on it.
	q.texts = "t."
	joined, err := q.cond(rest)
	q.texts = ""
	if err != nil {
		return "", err
	}
	return `SELECT m.uid FROM messages m WHERE m.mailbox = $1 AND ` + q.untexted(needle) + ` AND ` + cond + `
		UNION
		SELECT m.uid FROM blob_texts t JOIN messages m ON m.blob = t.blob
		WHERE m.mailbox = $1 AND ` + likes + ` AND ` + joined + `
		ORDER BY 1`, nil
}

// asciiLower lowers the ASCII letters of s (keywords compare
// ASCII-case-insensitively).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SearchCandidates implements store.SearchIndex.
func (s *Store) SearchCandidates(ctx context.Context, mbox store.MailboxID, k store.IndexKey) ([]store.UID, error) {
	q := &query{}
	q.arg(int64(mbox))
	sql, err := q.sql(k)
	if err != nil {
		return nil, fmt.Errorf("pgstore: search mailbox %d: %w", mbox, s.lost(err))
	}
	// One query; only an empty answer asks whether the mailbox exists
	// (a mailbox with messages does, and is selectable).
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: search mailbox %d: %w", mbox, s.lost(err))
	}
	var out []store.UID
	var uid int64
	if _, err := pgx.ForEachRow(rows, []any{&uid}, func() error {
		out = append(out, uint32(uid))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pgstore: search mailbox %d: %w", mbox, s.lost(err))
	}
	if len(out) == 0 {
		var noselect bool
		err := s.pool.QueryRow(ctx, `SELECT noselect FROM mailboxes WHERE id = $1`, int64(mbox)).Scan(&noselect)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err = store.ErrNoSuchMailbox
		case err == nil && noselect:
			err = store.ErrMailboxNoSelect
		}
		if err != nil {
			return nil, fmt.Errorf("pgstore: search mailbox %d: %w", mbox, s.lost(err))
		}
	}
	return out, nil
}

// SortFields implements store.SearchIndex.
func (s *Store) SortFields(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, want store.SortWant, fn func(store.Message, *store.SortFields) error) error {
	var r msgRow
	var has *string
	var date, subject, msgid, inreplyto, refs *string
	var sent *int64
	cols := "m.uid, m.internal_date, m.size"
	dest := []any{&r.uid, &r.idate, &r.size}
	if want&store.SortMeta != 0 {
		cols = msgColsM
		dest = r.dest()
	}
	cols += ", t.blob"
	dest = append(dest, &has)
	if want&store.SortDate != 0 {
		cols += ", t.date, t.sent"
		dest = append(dest, &date, &sent)
	}
	if want&store.SortSubject != 0 {
		cols += ", t.subject"
		dest = append(dest, &subject)
	}
	if want&store.SortIDs != 0 {
		cols += ", t.msgid, t.inreplyto, t.refs"
		dest = append(dest, &msgid, &inreplyto, &refs)
	}
	err := s.scanSet(ctx, nil, mbox, uids, cols, `LEFT JOIN blob_texts t ON t.blob = m.blob`, "", dest, func() error {
		var m store.Message
		if want&store.SortMeta != 0 {
			m = r.message()
		} else {
			m = store.Message{UID: uint32(r.uid), InternalDate: time.Unix(r.idate, 0).UTC(), Size: r.size}
		}
		if has == nil {
			return fn(m, nil)
		}
		f := &store.SortFields{}
		if want&store.SortDate != 0 {
			if sent != nil {
				f.Sent = time.Unix(*sent, 0).UTC()
			} else if date != nil {
				f.Date = *date
			}
		}
		if want&store.SortSubject != 0 && subject != nil {
			f.Subject = *subject
		}
		if want&store.SortIDs != 0 && msgid != nil {
			f.MessageID, f.InReplyTo, f.References = *msgid, *inreplyto, *refs
		}
		return fn(m, f)
	})
	if err != nil {
		return fmt.Errorf("pgstore: sort fields of mailbox %d: %w", mbox, s.lost(err))
	}
	return nil
}

// BlobsToIndex implements store.Store.
func (s *Store) BlobsToIndex(ctx context.Context, account string) ([]store.BlobIndex, error) {
	q, args := `SELECT id, anatomy FROM blobs WHERE refcount > 0 ORDER BY id`, []any{}
	if account != "" {
		exact, canon := lookupNames(account)
		q = `SELECT b.id, b.anatomy FROM blobs b WHERE b.id IN (
				SELECT m.blob FROM messages m JOIN mailboxes x ON x.id = m.mailbox
				WHERE x.account = (SELECT id FROM accounts` + byName + `))
			ORDER BY b.id`
		args = []any{exact, canon}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list contents to index: %w", s.lost(err))
	}
	var out []store.BlobIndex
	var id string
	var anat []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &anat}, func() error {
		b := store.BlobIndex{ID: store.BlobID(id)}
		if len(anat) > 0 {
			b.Anatomy = append([]byte(nil), anat...)
		}
		out = append(out, b)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("pgstore: list contents to index: %w", s.lost(err))
	}
	return out, nil
}

// SetBlobIndex implements store.Store.
func (s *Store) SetBlobIndex(ctx context.Context, blobs []store.BlobIndex) error {
	err := s.write(ctx, func(t *wtx) error {
		b := &pgx.Batch{}
		for _, bi := range blobs {
			if bi.Anatomy != nil && len(bi.Anatomy) > 0 {
				b.Queue(`UPDATE blobs SET anatomy = $2 WHERE id = $1 AND refcount > 0
					AND (anatomy IS NULL OR length(anatomy) = 0 OR get_byte(anatomy, 0) < get_byte($2, 0))`, string(bi.ID), bi.Anatomy)
			}
			if bi.Text == nil {
				b.Queue(`WITH gone AS (DELETE FROM blob_texts WHERE blob = $1)
					UPDATE messages SET textver = NULL WHERE blob = $1 AND textver IS NOT NULL`, string(bi.ID))
				continue
			}
			// Only for a content that a message references.
			b.Queue(`SELECT 1 FROM blobs WHERE id = $1 AND refcount > 0 FOR UPDATE`, string(bi.ID))
		}
		if b.Len() == 0 {
			return nil
		}
		// First the anatomies, deletions and locks; then the texts of
		// the contents that are still referenced.
		br := t.SendBatch(t.ctx, b)
		texts := &pgx.Batch{}
		for _, bi := range blobs {
			if bi.Anatomy != nil && len(bi.Anatomy) > 0 {
				if _, err := br.Exec(); err != nil {
					br.Close()
					return err
				}
			}
			if bi.Text == nil {
				if _, err := br.Exec(); err != nil {
					br.Close()
					return err
				}
				continue
			}
			var one int
			err := br.QueryRow().Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // no longer referenced
			}
			if err != nil {
				br.Close()
				return err
			}
			queueText(texts, bi.ID, bi.Text, true)
			texts.Queue(`UPDATE messages SET textver = $2 WHERE blob = $1 AND textver IS DISTINCT FROM $2`, string(bi.ID), bi.Text.Version)
		}
		if err := br.Close(); err != nil {
			return err
		}
		if texts.Len() == 0 {
			return nil
		}
		return t.SendBatch(t.ctx, texts).Close()
	})
	if err != nil {
		return fmt.Errorf("pgstore: set index of %d contents: %w", len(blobs), s.lost(err))
	}
	return nil
}
