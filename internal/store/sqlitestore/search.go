package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// The text index (migration 0005): one FTS5 trigram document per blob,
// written with the blob row and deleted with it, holding the text given
// in BlobRef.Text or SetBlobIndex (already folded by its producer).
// SearchCandidates answers a store.IndexKey from it and from the messages
// table; needles arrive folded and mapped to their text field, so the
// store knows nothing of search keys.

// indexBlob writes the index document of a blob unless it has one.
func (t *wtx) indexBlob(id store.BlobID, text *store.IndexText) error {
	if text == nil {
		t.w.s.unindexed.Store(true)
		return nil
	}
	var doc int64
	sf := text.Sort
	var sent any // NULL: readers parse date
	if !sf.Sent.IsZero() {
		sent = sf.Sent.Unix()
	}
	// The blob row (just inserted or updated by the caller) says whether
	// the content has a document already.
	var have sql.NullInt64
	if err := t.queryRow(`SELECT doc FROM blobs WHERE id = ?`, string(id)).Scan(&have); err != nil {
		return err
	}
	if have.Valid {
		return nil // already indexed
	}
	err := t.queryRow(`INSERT INTO search_docs(blob, date, subject, msgid, inreplyto, refs, sent, textver) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		string(id), sf.Date, sf.Subject, sf.MessageID, sf.InReplyTo, sf.References, sent, text.Version).Scan(&doc)
	if err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE blobs SET doc = ? WHERE id = ?`, doc, string(id)); err != nil {
		return err
	}
	t.w.s.lowerTextVer(text.Version)
	t.job.texts = append(t.job.texts, pendingText{doc: doc, blob: id, text: text})
	return nil
}

// insertTexts queues the texts of the documents that the batch's
// successful jobs created in search_pending, in the batch's transaction;
// the indexer moves them into the FTS5 table later (indexStep). A document
// deleted later in the batch gets no text, and one whose rowid was reused
// by a later job's document only that one's.
func (w *writer) insertTexts(batch []*job) (int, error) {
	var last map[int64]int // doc -> index in pending of its last text
	var pending []pendingText
	for _, j := range batch {
		if j == nil {
			continue
		}
		for _, p := range j.texts {
			if last == nil {
				last = make(map[int64]int)
			}
			if i, ok := last[p.doc]; ok {
				pending[i].text = nil
			}
			last[p.doc] = len(pending)
			pending = append(pending, p)
		}
	}
	n := 0
	for _, p := range pending {
		if p.text == nil {
			continue
		}
		st, err := w.prepare(`INSERT OR REPLACE INTO search_pending(doc, hfrom, hto, hcc, hbcc, hsubject, hother, body, queued)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10 WHERE EXISTS (SELECT 1 FROM search_docs WHERE id = ?1 AND blob = ?9)`)
		if err != nil {
			return n, err
		}
		t := p.text
		if _, err := st.Exec(p.doc, t.From, t.To, t.Cc, t.Bcc, t.Subject, t.Other, t.Body, string(p.blob), time.Now().UnixMilli()); err != nil {
			return n, fmt.Errorf("document %d: %w", p.doc, err)
		}
		n++
	}
	return n, nil
}

// PendingTexts reports how many stored messages' search texts wait for
// the indexer (they are found by scanning meanwhile).
func (s *Store) PendingTexts() int64 { return s.pendingTexts.Load() }

// IndexBacklog implements store.Store.
func (s *Store) IndexBacklog(ctx context.Context) (int64, time.Duration, error) {
	var n, oldest int64
	err := s.readQueryRow(ctx, `SELECT count(*), coalesce(min(queued), 0) FROM search_pending`).Scan(&n, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("index backlog: %w", err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	return n, max(0, time.Since(time.UnixMilli(oldest))), nil
}

// WaitIndexed implements store.Store: it returns once no search text is
// pending (those other processes left count once the writer noticed
// their commits) and the indexer has merged the index's segments, and
// after SetBlobIndex it reads again which contents lack a document and
// the oldest text version (checkIndex).
func (s *Store) WaitIndexed(ctx context.Context) error {
	s.w.hurry.Add(1)
	defer s.w.hurry.Add(-1)
	select {
	case s.w.wake <- struct{}{}: // no gathering of texts for a waiting caller
	default:
	}
	for s.pendingTexts.Load() > 0 || s.merging.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	if s.recheckIndex.Swap(false) {
		if err := s.checkIndex(ctx); err != nil {
			s.recheckIndex.Store(true)
			return fmt.Errorf("check search index: %w", err)
		}
	}
	return nil
}

// ftsColumns maps text fields to their index column; store.TextAll
// searches every column.
var ftsColumns = map[store.TextField]string{
	store.TextFrom: "hfrom", store.TextTo: "hto", store.TextCc: "hcc", store.TextBcc: "hbcc",
	store.TextSubject: "hsubject", store.TextOther: "hother", store.TextBody: "body",
}

// ftsCombined marks a text key made by mergeTexts: its Value is an FTS5
// query already.
const ftsCombined store.TextField = 0xff

// minNeedle is the shortest needle (in runes) the trigram index looks up.
const minNeedle = 3

// isOld reports whether some document may be older than a text key's
// MinVersion, given the oldest version stored (Store.minTextVer): its
// candidates then also hold those documents' messages (textMatches).
func isOld(k store.IndexKey, minVer int) bool {
	return k.MinVersion > minVer
}

// mergeTexts replaces the indexable text keys of every And by one key
// whose FTS query is their conjunction: FTS intersects the posting lists
// itself instead of the store materialising each needle's matches (a
// common needle beside a rare one then costs little). Keys for which
// some document is too old are left alone: their sets hold more than
// FTS finds (textMatches).
func mergeTexts(k store.IndexKey, minVer int) store.IndexKey {
	if len(k.Sub) == 0 {
		return k
	}
	sub := make([]store.IndexKey, 0, len(k.Sub))
	var qs []string
	for _, c := range k.Sub {
		c = mergeTexts(c, minVer)
		if k.Op == store.IndexAnd && c.Op == store.IndexNeedle && !isOld(c, minVer) {
			if q := ftsQuery(c); q != "" {
				qs = append(qs, "("+q+")")
				continue
			}
		}
		sub = append(sub, c)
	}
	switch len(qs) {
	case 0:
	case 1:
		sub = append(sub, store.IndexKey{Op: store.IndexNeedle, Field: ftsCombined, Value: qs[0]})
	default:
		sub = append(sub, store.IndexKey{Op: store.IndexNeedle, Field: ftsCombined, Value: strings.Join(qs, " AND ")})
	}
	k.Sub = sub
	return k
}

// ftsQuery returns the FTS5 query for a text key, or "" if the index
// cannot restrict it (the key is then true for every message).
func ftsQuery(k store.IndexKey) string {
	if k.Field == ftsCombined {
		return k.Value
	}
	if utf8.RuneCountInString(k.Value) < minNeedle {
		return ""
	}
	q := "(" + trigramQuery(k.Value) + ")"
	if col, ok := ftsColumns[k.Field]; ok {
		return col + " : " + q
	}
	return q
}

// maxTrigrams bounds the trigrams of one needle that a query looks up:
// the candidates are a superset either way, and a long needle's first
// trigrams already restrict it about as much as all of them.
const maxTrigrams = 24

// trigramQuery returns the FTS5 conjunction of v's distinct trigrams (at
// most maxTrigrams, spread over v): the index keeps which documents hold
// a trigram, not where (migration 0013), so a document holding v holds
// them all, and few others do. v has at least minNeedle runes.
func trigramQuery(v string) string {
	r := []rune(v)
	n := len(r) - 2
	seen := make(map[string]bool, min(n, maxTrigrams))
	var b strings.Builder
	for i := range min(n, maxTrigrams) {
		at := i
		if n > maxTrigrams {
			at = i * (n - 1) / (maxTrigrams - 1)
		}
		t := string(r[at : at+3])
		if seen[t] {
			continue
		}
		seen[t] = true
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.ReplaceAll(t, `"`, `""`) + `"`)
	}
	return b.String()
}

// uidSet is a set of UIDs, or every UID when all is set.
type uidSet struct {
	all  bool
	uids map[store.UID]struct{}
}

func (u *uidSet) has(uid store.UID) bool {
	if u.all {
		return true
	}
	_, ok := u.uids[uid]
	return ok
}

// setKey names the candidate set of a text key: its FTS query, and the
// key's MinVersion, since the set also holds the messages of documents
// older than that (textMatches).
func setKey(k store.IndexKey) string {
	q := ftsQuery(k)
	if k.MinVersion > 0 && q != "" {
		return strconv.Itoa(k.MinVersion) + "\x00" + q
	}
	return q
}

// SearchCandidates implements store.SearchIndex: text keys through the
// trigram index, the rest from the messages table.
func (s *Store) SearchCandidates(ctx context.Context, mbox store.MailboxID, idx store.IndexKey) ([]store.UID, error) {
	var out []store.UID
	minVer := int(s.minTextVer.Load())
	idx = mergeTexts(idx, minVer)
	err := s.readRaw(ctx, func(tx rawTx) error {
		if _, _, err := readMailboxRaw(tx, mbox); err != nil {
			return err
		}
		mv := &mailboxDocs{id: mbox}
		sets := map[string]*uidSet{}
		var collect func(k store.IndexKey) error
		collect = func(k store.IndexKey) error {
			if k.Op == store.IndexNeedle {
				q, key := ftsQuery(k), setKey(k)
				if _, done := sets[key]; done {
					return nil
				}
				set := &uidSet{all: q == ""}
				sets[key] = set
				if set.all {
					return nil
				}
				old := 0
				if isOld(k, minVer) {
					old = k.MinVersion
				}
				return s.textMatches(tx, mv, q, old, set)
			}
			for _, c := range k.Sub {
				if err := collect(c); err != nil {
					return err
				}
			}
			return nil
		}
		if err := collect(idx); err != nil {
			return err
		}
		if uids, ok := textOnly(idx, sets); ok {
			out = uids
			return nil
		}
		return tx.each(`SELECT uid, flags, keywords, size, modseq FROM messages WHERE mailbox = ? ORDER BY uid`,
			[]any{int64(mbox)}, func(r []driver.Value) error {
				row := candRow{uid: uint32(vInt(r[0])), flags: store.SysFlags(vInt(r[1])), keywords: vString(r[2]), size: vInt(r[3]), modseq: uint64(vInt(r[4]))}
				if evalIndex(idx, &row, sets) {
					out = append(out, row.uid)
				}
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("search mailbox %d: %w", mbox, err)
	}
	return out, nil
}

// mailboxDocs is what textMatches reads of a mailbox, once per search
// however many text keys it has: its size, and each message's document.
type mailboxDocs struct {
	id    store.MailboxID
	count int64 // valid once sized
	sized bool
	byDoc map[int64][]store.UID // once read: the messages of each document
}

// size returns the mailbox's number of messages (its counter).
func (m *mailboxDocs) size(tx rawTx) (int64, error) {
	if m.sized {
		return m.count, nil
	}
	err := tx.each(`SELECT n_messages FROM mailboxes WHERE id = ?`, []any{int64(m.id)}, func(r []driver.Value) error {
		m.count = vInt(r[0])
		return nil
	})
	m.sized = err == nil
	return m.count, err
}

// messages returns the mailbox's messages by document (those without one
// left out), read once.
func (m *mailboxDocs) messages(tx rawTx) (map[int64][]store.UID, error) {
	if m.byDoc != nil {
		return m.byDoc, nil
	}
	byDoc := map[int64][]store.UID{}
	err := tx.each(`SELECT uid, doc FROM messages WHERE mailbox = ? AND doc IS NOT NULL`, []any{int64(m.id)}, func(r []driver.Value) error {
		doc := vInt(r[1])
		byDoc[doc] = append(byDoc[doc], uint32(vInt(r[0])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.byDoc = byDoc
	return byDoc, nil
}

// perMatchFactor is how much more a matching document costs to join to
// its messages (a lookup of the document's content, then of the
// mailbox's messages holding it) than a message of the mailbox costs to
// read with its document: measured 4 to 6 on this project's VM.
const perMatchFactor = 5

// textMatches adds to set the UIDs of mbox's messages whose document
// matches the FTS query q, and those of messages not indexed yet (no
// document, or its text still pending); with old > 0, also those whose
// document's text version is below old.
//
// The index holds the documents of every account, so a common word
// matches many documents of other mailboxes. textMatches reads the
// matching document ids and either looks up the messages of each one
// (few matches for the mailbox's size: a large mailbox and a rare word)
// or, once the matches outnumber the mailbox's messages /
// perMatchFactor, reads the mailbox's messages with their documents and
// keeps those that matched, whichever reads fewer rows; joining every
// match to the mailbox in SQL made a SUBJECT search of a common word cost
// five times as much on a server with 20 small mailboxes.
func (s *Store) textMatches(tx rawTx, mbox *mailboxDocs, q string, old int, set *uidSet) error {
	set.uids = map[store.UID]struct{}{}
	add := func(r []driver.Value) error {
		set.uids[uint32(vInt(r[0]))] = struct{}{}
		return nil
	}
	n, err := mbox.size(tx)
	if err != nil {
		return err
	}
	// Matches are kept until they are too many for lookups; from then on
	// each is checked against the mailbox's messages, read once. Either
	// way memory stays within the mailbox's size, however many documents
	// of other mailboxes match.
	var few []int64
	byDoc := mbox.byDoc // read for an earlier text key
	if err := tx.each(`SELECT rowid FROM search_text WHERE search_text MATCH ?`, []any{q}, func(r []driver.Value) error {
		doc := vInt(r[0])
		if byDoc == nil {
			few = append(few, doc)
			if int64(len(few))*perMatchFactor < n {
				return nil
			}
			var err error
			if byDoc, err = mbox.messages(tx); err != nil {
				return err
			}
			for _, d := range few {
				for _, u := range byDoc[d] {
					set.uids[u] = struct{}{}
				}
			}
			few = nil
			return nil
		}
		for _, u := range byDoc[doc] {
			set.uids[u] = struct{}{}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, doc := range few {
		if err := tx.each(`SELECT m.uid FROM search_docs d JOIN messages m ON m.blob = d.blob AND m.mailbox = ?
			WHERE d.id = ?`, []any{int64(mbox.id), doc}, add); err != nil {
			return err
		}
	}
	if old > 0 {
		if err := tx.each(`SELECT m.uid FROM search_docs d JOIN messages m ON m.blob = d.blob AND m.mailbox = ?
			WHERE d.textver < ?`, []any{int64(mbox.id), int64(old)}, add); err != nil {
			return err
		}
	}
	// Documents the indexer has not reached yet (a few, unless it is
	// behind): candidates, exactly as they were when this snapshot was
	// taken.
	if err := tx.each(`SELECT m.uid FROM search_pending p JOIN search_docs d ON d.id = p.doc
		JOIN messages m ON m.blob = d.blob AND m.mailbox = ?`, []any{int64(mbox.id)}, add); err != nil {
		return err
	}
	if s.unindexed.Load() {
		return tx.each(`SELECT m.uid FROM messages m JOIN blobs b ON b.id = m.blob WHERE m.mailbox = ?
			AND b.doc IS NULL`, []any{int64(mbox.id)}, add)
	}
	return nil
}

// textOnly answers a key made only of text keys, And and Or from the text
// sets alone, without scanning the mailbox.
func textOnly(k store.IndexKey, sets map[string]*uidSet) ([]store.UID, bool) {
	var eval func(k store.IndexKey) (*uidSet, bool)
	eval = func(k store.IndexKey) (*uidSet, bool) {
		switch {
		case k.Op == store.IndexNeedle:
			set := sets[setKey(k)]
			return set, !set.all
		case k.Op == store.IndexAnd && len(k.Sub) > 0:
			var acc *uidSet
			for _, c := range k.Sub {
				s, ok := eval(c)
				if !ok {
					return nil, false
				}
				if acc == nil {
					acc = &uidSet{uids: map[store.UID]struct{}{}}
					for u := range s.uids {
						acc.uids[u] = struct{}{}
					}
					continue
				}
				for u := range acc.uids {
					if !s.has(u) {
						delete(acc.uids, u)
					}
				}
			}
			return acc, true
		case k.Op == store.IndexOr:
			acc := &uidSet{uids: map[store.UID]struct{}{}}
			for _, c := range k.Sub {
				s, ok := eval(c)
				if !ok {
					return nil, false
				}
				for u := range s.uids {
					acc.uids[u] = struct{}{}
				}
			}
			return acc, true
		}
		return nil, false
	}
	set, ok := eval(k)
	if !ok {
		return nil, false
	}
	out := make([]store.UID, 0, len(set.uids))
	for u := range set.uids {
		out = append(out, u)
	}
	slices.Sort(out)
	return out, true
}

// candRow is the metadata of one message that index keys test.
type candRow struct {
	uid      store.UID
	flags    store.SysFlags
	keywords string // sorted, space-separated
	size     int64
	modseq   store.ModSeq
}

// evalIndex evaluates an index key on a row: exact keys exactly, text
// keys by their sets.
func evalIndex(k store.IndexKey, r *candRow, sets map[string]*uidSet) bool {
	switch k.Op {
	case store.IndexAll:
		return true
	case store.IndexAnd:
		for _, c := range k.Sub {
			if !evalIndex(c, r, sets) {
				return false
			}
		}
		return true
	case store.IndexOr:
		for _, c := range k.Sub {
			if evalIndex(c, r, sets) {
				return true
			}
		}
		return false
	case store.IndexNot:
		return !evalIndex(k.Sub[0], r, sets)
	case store.IndexFlag:
		return r.flags&k.Flag != 0
	case store.IndexKeyword:
		for kw := range strings.SplitSeq(r.keywords, " ") {
			if kw != "" && strings.EqualFold(kw, k.Value) {
				return true
			}
		}
		return false
	case store.IndexUID:
		return k.UIDs.Contains(r.uid)
	case store.IndexLarger:
		return uint64(r.size) > k.N
	case store.IndexSmaller:
		return uint64(r.size) < k.N
	case store.IndexModSeq:
		return r.modseq >= k.N
	case store.IndexNeedle:
		return sets[setKey(k)].has(r.uid)
	}
	return true
}

// BlobsToIndex implements store.Store.
func (s *Store) BlobsToIndex(ctx context.Context, account string) ([]store.BlobIndex, error) {
	var out []store.BlobIndex
	q, args := `SELECT id, anatomy FROM blobs ORDER BY id`, []any{}
	if account != "" {
		exact, canon := lookupNames(account)
		q = `SELECT DISTINCT b.id, b.anatomy FROM blobs b JOIN messages m ON m.blob = b.id
			JOIN mailboxes x ON x.id = m.mailbox
			WHERE x.account = (SELECT id FROM accounts` + byName + `) ORDER BY b.id`
		args = []any{exact, canon}
	}
	err := s.readRaw(ctx, func(tx rawTx) error {
		return tx.each(q, args, func(r []driver.Value) error {
			b := store.BlobIndex{ID: store.BlobID(vString(r[0]))}
			if a, ok := r[1].([]byte); ok {
				b.Anatomy = append([]byte(nil), a...)
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list contents to index: %w", err)
	}
	return out, nil
}

// SetBlobIndex implements store.Store: one writer transaction replaces
// the documents of the given blobs. The next WaitIndexed reads again
// what is unindexed or old.
func (s *Store) SetBlobIndex(ctx context.Context, blobs []store.BlobIndex) error {
	err := s.w.do(ctx, func(t *wtx) error {
		for _, b := range blobs {
			var doc sql.NullInt64
			err := t.queryRow(`SELECT doc FROM blobs WHERE id = ?`, string(b.ID)).Scan(&doc)
			if errors.Is(err, sql.ErrNoRows) {
				continue // no longer stored
			}
			if err != nil {
				return err
			}
			if doc.Valid {
				if _, err := t.exec(`UPDATE blobs SET doc = NULL WHERE id = ?`, string(b.ID)); err != nil {
					return err
				}
				if _, err := t.exec(`DELETE FROM search_text WHERE rowid = ?`, doc.Int64); err != nil {
					return err
				}
				if _, err := t.exec(`DELETE FROM search_docs WHERE id = ?`, doc.Int64); err != nil {
					return err
				}
			}
			if b.Anatomy != nil {
				if _, err := t.exec(`UPDATE blobs SET anatomy = ?1 WHERE id = ?2 AND `+olderAnatomy, b.Anatomy, string(b.ID)); err != nil {
					return err
				}
			}
			if err := t.indexBlob(b.ID, b.Text); err != nil {
				return err
			}
		}
		return nil
	})
	s.recheckIndex.Store(true)
	if err != nil {
		return fmt.Errorf("set index of %d contents: %w", len(blobs), err)
	}
	return nil
}

// SortFields implements store.SearchIndex: it calls fn for each message
// of mbox in uids (no Star), in UID order, with its metadata and the
// stored SORT/THREAD header fields of its content that want names, nil
// when the content is not indexed: one read for what SORT and THREAD
// need. Without store.SortMeta only the
// UID, internal date (in UTC) and size of the message are set: SORT over
// a large mailbox is then bound by how many columns SQLite hands over.
func (s *Store) SortFields(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, want store.SortWant, fn func(store.Message, *store.SortFields) error) error {
	cols := "m.uid, m.internal_date, m.size"
	if want&store.SortMeta != 0 {
		cols = msgColsAnatomy[:strings.Index(msgColsAnatomy, ", b.anatomy")]
	}
	n := strings.Count(cols, ",") + 1
	cols += ", d.id"
	if want&store.SortDate != 0 {
		cols += ", coalesce(d.sent, d.date)"
	}
	if want&store.SortSubject != 0 {
		cols += ", d.subject"
	}
	if want&store.SortIDs != 0 {
		cols += ", d.msgid, d.inreplyto, d.refs"
	}
	var slab []store.SortFields // allocated 1024 at a time
	err := s.scanMessages(ctx, mbox, uids,
		`SELECT `+cols+`
			FROM messages m LEFT JOIN search_docs d ON d.id = m.doc AND d.blob = m.blob
			WHERE m.mailbox = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
		func(r []driver.Value) error {
			var m store.Message
			if want&store.SortMeta != 0 {
				m = messageFromRow(r)
			} else {
				m = store.Message{UID: uint32(vInt(r[0])), InternalDate: time.Unix(vInt(r[1]), 0).UTC(), Size: vInt(r[2])}
			}
			if r[n] == nil {
				return fn(m, nil)
			}
			if len(slab) == cap(slab) {
				slab = make([]store.SortFields, 0, 1024)
			}
			slab = append(slab, store.SortFields{})
			f := &slab[len(slab)-1]
			i := n + 1
			if want&store.SortDate != 0 {
				if sent, ok := r[i].(int64); ok {
					f.Sent = time.Unix(sent, 0).UTC()
				} else {
					f.Date = vString(r[i])
				}
				i++
			}
			if want&store.SortSubject != 0 {
				f.Subject = vString(r[i])
				i++
			}
			if want&store.SortIDs != 0 {
				f.MessageID, f.InReplyTo, f.References = vString(r[i]), vString(r[i+1]), vString(r[i+2])
			}
			return fn(m, f)
		})
	if err != nil {
		return fmt.Errorf("sort fields of mailbox %d: %w", mbox, err)
	}
	return nil
}

// noTextVer is Store.minTextVer while no document is stored.
const noTextVer = math.MaxInt64

// lowerTextVer lowers Store.minTextVer to v if v is older.
func (s *Store) lowerTextVer(v int) {
	for {
		cur := s.minTextVer.Load()
		if int64(v) >= cur || s.minTextVer.CompareAndSwap(cur, int64(v)) {
			return
		}
	}
}

// checkIndex reads whether some content lacks a search document
// (unindexed) and the oldest text version of the documents (minTextVer).
func (s *Store) checkIndex(ctx context.Context) error {
	var unindexed bool
	var v int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE doc IS NULL),
		(SELECT coalesce(min(textver), ?) FROM search_docs)`, int64(noTextVer)).Scan(&unindexed, &v); err != nil {
		return err
	}
	s.unindexed.Store(unindexed)
	s.minTextVer.Store(v)
	return nil
}
