package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
	"rookery/internal/store"
)

// Group commit of appends. The row lock of a mailbox is held from the
// UPDATE that allocates UIDs to the COMMIT, fsync included, so appends
// to one mailbox run one commit at a time. To share a commit, Append
// queues its job per mailbox, and one goroutine per mailbox with queued
// jobs (drainAppends) runs up to maxAppendBatch of them in one
// transaction, each in its own savepoint: a failing job (over quota, a
// missing content, too many keywords) is rolled back alone, and each job
// still advances HIGHESTMODSEQ by exactly one. Each caller returns once
// the transaction holding its job has committed.

// maxAppendBatch bounds the jobs of one transaction (each a
// subtransaction: PostgreSQL caches 64 per backend).
const maxAppendBatch = 32

// appendJob is one Append call.
type appendJob struct {
	ctx     context.Context
	mbox    store.MailboxID
	msgs    []store.NewMessage
	flags   []int32
	kws     []string // each message's keywords, space-separated
	idates  []int64
	tzs     []int32
	blobIDs []string
	all     []string // the keywords of every message

	res  store.AppendResult
	err  error
	done chan struct{}
}

// appendQueue holds the jobs of a mailbox waiting for its drainer.
type appendQueue struct{ jobs []*appendJob }

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, mbox store.MailboxID, msgs []store.NewMessage) (store.AppendResult, error) {
	if len(msgs) == 0 {
		return store.AppendResult{}, fmt.Errorf("pgstore: append to mailbox %d: no message", mbox)
	}
	n := len(msgs)
	j := &appendJob{ctx: ctx, mbox: mbox, msgs: msgs, flags: make([]int32, n), kws: make([]string, n),
		idates: make([]int64, n), tzs: make([]int32, n), blobIDs: make([]string, n), done: make(chan struct{})}
	for i, m := range msgs {
		kws, err := store.NormalizeKeywords(m.Flags.Keywords)
		if err != nil {
			return store.AppendResult{}, fmt.Errorf("pgstore: append to mailbox %d: %w", mbox, s.lost(err))
		}
		d := m.InternalDate
		if d.IsZero() {
			d = time.Now()
		}
		_, off := d.Zone()
		j.flags[i], j.kws[i], j.idates[i], j.tzs[i] = int32(m.Flags.Sys), strings.Join(kws, " "), d.Unix(), int32(off)
		j.blobIDs[i] = string(m.Blob.ID)
		if len(kws) > 0 {
			j.all = store.UnionKeywords(j.all, kws)
		}
	}
	s.aqMu.Lock()
	if s.closed {
		s.aqMu.Unlock()
		return store.AppendResult{}, fmt.Errorf("pgstore: append to mailbox %d: store closed", mbox)
	}
	q := s.aq[mbox]
	if q == nil {
		q = &appendQueue{}
		s.aq[mbox] = q
		s.drainers.Add(1)
		go s.drainAppends(mbox, q)
	}
	q.jobs = append(q.jobs, j)
	s.aqMu.Unlock()
	select {
	case <-j.done:
	case <-ctx.Done():
		// The job may still be committed: the caller cannot know.
		return store.AppendResult{}, fmt.Errorf("pgstore: append to mailbox %d: %w", mbox, ctx.Err())
	}
	if j.err != nil {
		return store.AppendResult{}, fmt.Errorf("pgstore: append to mailbox %d: %w", mbox, s.lost(j.err))
	}
	return j.res, nil
}

// drainAppends runs the queued jobs of mbox until there are none.
func (s *Store) drainAppends(mbox store.MailboxID, q *appendQueue) {
	defer s.drainers.Done()
	for {
		s.aqMu.Lock()
		if len(q.jobs) == 0 {
			delete(s.aq, mbox)
			s.aqMu.Unlock()
			return
		}
		n := min(len(q.jobs), maxAppendBatch)
		batch := q.jobs[:n:n]
		q.jobs = q.jobs[n:]
		s.aqMu.Unlock()
		live := batch[:0:0]
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.err = err
				close(j.done)
				continue
			}
			live = append(live, j)
		}
		if len(live) > 0 {
			s.runAppends(live)
		}
	}
}

// runAppends runs jobs in one transaction and answers them.
func (s *Store) runAppends(jobs []*appendJob) {
	ctx := context.WithoutCancel(jobs[0].ctx)
	err := s.write(ctx, func(t *wtx) error {
		for _, j := range jobs {
			j.res, j.err = store.AppendResult{}, nil
			if len(jobs) == 1 {
				j.err = t.appendJob(j, false)
				return j.err
			}
			nev := len(t.events)
			if err := t.appendJob(j, true); err != nil {
				if retryable(err) {
					return err
				}
				j.err = err
				t.events = t.events[:nev]
				if _, err := t.exec(`ROLLBACK TO SAVEPOINT job`); err != nil {
					return err
				}
			}
		}
		return nil
	})
	for _, j := range jobs {
		if err != nil && (j.err == nil || len(jobs) > 1) {
			j.err = err
		}
		close(j.done)
	}
}

// appendJob appends the messages of j in the transaction, in a new
// savepoint "job" if savepoint is set (the caller rolls back to it on
// error). Its statements go in two pipelines.
func (t *wtx) appendJob(j *appendJob, savepoint bool) error {
	n := int64(len(j.msgs))
	b := &pgx.Batch{}
	if savepoint {
		b.Queue(`SAVEPOINT job`)
	}
	b.Queue(`UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1
		WHERE id = $1 AND NOT noselect RETURNING account, uidvalidity, uidnext - $2, highestmodseq`, int64(j.mbox), n)
	if len(j.all) > 0 {
		queueKeywords(b, j.mbox, j.all)
	}
	readRefs := queueBlobRefs(b, j.msgs)
	br := t.SendBatch(t.ctx, b)
	var acct store.AccountID
	var uv, first, modseq int64
	var err error
	if savepoint {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&acct, &uv, &first, &modseq)
	}
	var added []string
	if err == nil && len(j.all) > 0 {
		added, err = readKeywords(br)
	}
	var sizes map[store.BlobID]int64
	if err == nil {
		sizes, err = readRefs(br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) && acct == 0 && uv == 0 {
		// The mailbox: which error?
		if _, err = t.lockMailbox(j.mbox); err == nil {
			err = store.ErrNoSuchMailbox
		}
	}
	if err != nil {
		return err
	}
	if first+n > int64(^uint32(0)) {
		return errors.New("UID space exhausted")
	}
	if err := t.checkKeywords(j.mbox, added, true); err != nil {
		return err
	}
	var c flagCounts
	sz := make([]int64, n)
	for i, m := range j.msgs {
		sz[i] = sizes[m.Blob.ID]
		c.add(store.SysFlags(j.flags[i]), sz[i], 1)
	}
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO messages(mailbox, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob, textver)
		SELECT $1, $2 + x.i - 1, $3, x.f, CASE WHEN x.k = '' THEN '{}'::text[] ELSE string_to_array(x.k, ' ') END,
			x.d, x.tz, $4, x.sz, x.b, (SELECT t.textver FROM blob_texts t WHERE t.blob = x.b)
		FROM unnest($5::int[], $6::text[], $7::bigint[], $8::int[], $9::bigint[], $10::text[]) WITH ORDINALITY AS x(f, k, d, tz, sz, b, i)`,
		int64(j.mbox), first, modseq, time.Now().Unix(), j.flags, j.kws, j.idates, j.tzs, sz, j.blobIDs)
	b.Queue(`UPDATE mailboxes SET n_messages = n_messages + $2, n_unseen = n_unseen + $3, n_deleted = n_deleted + $4,
		size_all = size_all + $5, size_deleted = size_deleted + $6 WHERE id = $1`,
		int64(j.mbox), c.n, c.unseen, c.deleted, c.size, c.sizeDeleted)
	usage := queueUsage(b, t.s.quota, acct, c.size, c.n)
	br = t.SendBatch(t.ctx, b)
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = usage(br, true)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	j.res = store.AppendResult{UIDValidity: uint32(uv), UIDs: make([]store.UID, n), ModSeq: uint64(modseq)}
	for i := range j.res.UIDs {
		j.res.UIDs[i] = uint32(first) + uint32(i)
	}
	t.publish(events.Event{Account: int64(acct), Mailbox: int64(j.mbox), ModSeq: uint64(modseq)})
	return nil
}

// queueBlobRefs queues the statements that add a reference to the
// content of each message (inserting the contents that travel with their
// refs, with their anatomy and text), contents in ID order; the function
// it returns reads their results: each content's size.
func queueBlobRefs(b *pgx.Batch, msgs []store.NewMessage) func(pgx.BatchResults) (map[store.BlobID]int64, error) {
	type ref struct {
		r store.BlobRef
		n int64
	}
	byID := map[store.BlobID]*ref{}
	for _, m := range msgs {
		if r := byID[m.Blob.ID]; r != nil {
			r.n++
			if r.r.Content == nil {
				r.r.Content = m.Blob.Content
			}
			if r.r.Text == nil {
				r.r.Text = m.Blob.Text
			}
			if r.r.Anatomy == nil {
				r.r.Anatomy = m.Blob.Anatomy
			}
			continue
		}
		byID[m.Blob.ID] = &ref{r: m.Blob, n: 1}
	}
	ids := make([]store.BlobID, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		r := byID[id]
		anat := nilIfEmpty(r.r.Anatomy)
		if r.r.Content != nil {
			b.Queue(`INSERT INTO blobs(id, size, refcount, content, anatomy) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO UPDATE SET refcount = blobs.refcount + EXCLUDED.refcount,
					anatomy = coalesce(blobs.anatomy, EXCLUDED.anatomy)
				RETURNING size`, string(id), int64(len(r.r.Content)), r.n, r.r.Content, anat)
		} else {
			b.Queue(`UPDATE blobs SET refcount = refcount + $2, anatomy = coalesce(anatomy, $3) WHERE id = $1 RETURNING size`,
				string(id), r.n, anat)
		}
		if r.r.Text != nil {
			queueText(b, id, r.r.Text, false)
		}
	}
	return func(br pgx.BatchResults) (map[store.BlobID]int64, error) {
		sizes := make(map[store.BlobID]int64, len(ids))
		for _, id := range ids {
			var size int64
			err := br.QueryRow().Scan(&size)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("blob %s: %w", id, store.ErrNoSuchMessage)
			}
			if err != nil {
				return nil, err
			}
			sizes[id] = size
			if byID[id].r.Text != nil {
				if _, err := br.Exec(); err != nil {
					return nil, err
				}
			}
		}
		return sizes, nil
	}
}
