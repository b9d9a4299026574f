package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"rookery/internal/events"
	"rookery/internal/store"
)

// maxBatch bounds the jobs committed together by one group commit.
const maxBatch = 64

var errClosed = errors.New("sqlitestore: store is closed")

// writer owns the single write connection and runs queued jobs with group
// commit (see the package documentation).
type writer struct {
	s    *Store
	conn *sql.Conn // used only by the run goroutine

	jobs chan *job
	stop chan struct{}
	done chan struct{}

	mu     sync.RWMutex
	closed bool // guarded by mu

	stmts map[string]*sql.Stmt // prepared on conn; used only by run

	// The indexer's state, used only by run (see indexStep).
	indexN    int       // documents per index step, adapted to its duration
	lastIndex time.Time // end of the last index step
	// oldestPending is when the oldest text left pending by the last
	// index step was queued (zero: none left).
	oldestPending time.Time
	// gather and maxWait are indexGather and indexMaxWait in
	// nanoseconds (tests set them longer).
	gather, maxWait atomic.Int64
	// hurry counts callers of WaitIndexed: while there are any, the
	// indexer does not gather; wake tells it to look again.
	hurry atomic.Int32
	wake  chan struct{}
	// indexPaused stops the indexer (tests of pending texts).
	indexPaused atomic.Bool
	// lazySync is set while the connection may commit without fsync
	// (an index step; only the writer goroutine reads or writes it).
	lazySync bool
	// deferred are blob files whose rows went while an online backup
	// held the GC lock (locks.go): deleted, once it is free, by the next
	// batch or the next tick, after checking again that no row
	// references them (only the writer goroutine uses it).
	deferred []string
}

// maxDeferred bounds the files kept for later deletion; past it they are
// left as unreferenced files (rookery check --repair removes them).
const maxDeferred = 1 << 20

// Index steps: each moves up to indexN pending texts into the FTS5 table
// in one transaction (one index segment for all of them). indexN adapts
// so that a step takes about indexStepTarget: the writer runs no commit
// meanwhile. While commits keep coming, a step still runs every
// indexMaxWait, so the index never falls far behind; otherwise steps run
// once no commit came for indexIdle, and, while fewer than indexGatherN
// texts wait, not before the first of them waited indexGather: a step
// per message or two made a segment each, and merging those segments
// again and again cost more CPU than indexing them (a third of the
// writer's time under a mixed load of 50 clients).
const (
	indexIdle       = 3 * time.Millisecond
	indexStepTarget = 8 * time.Millisecond
	indexMaxWait    = 200 * time.Millisecond
	indexGather     = 150 * time.Millisecond
	indexGatherN    = 64
	// Once the oldest pending text waited indexLagTarget, steps come
	// every indexBehindGap between batches instead of every indexMaxWait
	// (the indexer then takes up to a fifth of the writer's time), so
	// that under sustained deliveries the index keeps up instead of
	// falling ever further behind (at 86 new messages a second on this
	// project's VM, 8 ms every 200 ms left 1,000 texts pending after
	// 20 s; every search reads the pending messages of its mailbox).
	indexLagTarget = 250 * time.Millisecond
	indexBehindGap = 4 * indexStepTarget
	indexMinN      = 8
	indexMaxN      = 1024
)

// job is one write: fn runs inside a savepoint of the batch transaction.
type job struct {
	ctx    context.Context
	fn     func(*wtx) error
	result chan error

	events    []events.Event
	dropBlobs []string
	texts     []pendingText
}

// pendingText is a search document's text, inserted into the FTS5 table
// after the batch's last savepoint (see indexBlob).
type pendingText struct {
	doc  int64
	blob store.BlobID
	text *store.IndexText
}

// wtx is what a job sees: the write connection inside the batch transaction,
// and the job's effects to apply after the commit.
type wtx struct {
	w   *writer
	job *job
}

func newWriter(s *Store, conn *sql.Conn) *writer {
	w := &writer{
		s:     s,
		conn:  conn,
		jobs:  make(chan *job, 4*maxBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		stmts: make(map[string]*sql.Stmt),
		wake:  make(chan struct{}, 1),

		indexN: 64,
	}
	w.gather.Store(int64(indexGather))
	w.maxWait.Store(int64(indexMaxWait))
	if err := w.countPending(); err != nil { // texts left before a restart
		s.log.Error("counting pending search texts", "err", err)
	}
	go w.run()
	return w
}

// do queues fn and waits until it is committed (durable) or failed. Events
// are published before do returns.
func (w *writer) do(ctx context.Context, fn func(*wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, result: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, the job's outcome is reported truthfully: the writer
	// skips it if ctx is done by the time its turn comes.
	return <-j.result
}

func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.jobs)
	}
	w.mu.Unlock()
	<-w.done
	for _, st := range w.stmts {
		_ = st.Close()
	}
	_ = w.conn.Close()
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*job, 0, maxBatch)
	t := time.NewTicker(externalCheckInterval)
	defer t.Stop()
	tick := t.C
	defer w.retryDeferred()
	var ext *externalWatch
	if w.s.bus != nil {
		ext = &externalWatch{}
		if err := w.checkExternal(ext); err != nil {
			w.s.log.Warn("checking for changes by other processes", "err", err)
		}
	}
	idle := time.NewTimer(indexIdle)
	defer idle.Stop()
	for {
		var j *job
		if (w.s.pendingTexts.Load() > 0 || w.s.merging.Load()) && !w.indexPaused.Load() {
			// Idle for indexIdle: index what is pending, a step at a
			// time, so that a commit arriving meanwhile waits at most
			// one step. Clients that are busy appending send their next
			// command within indexIdle, and commits keep the writer.
			wait := indexIdle
			if !w.s.merging.Load() && w.s.pendingTexts.Load() < indexGatherN && w.hurry.Load() == 0 {
				wait = max(wait, time.Until(w.lastIndex.Add(time.Duration(w.gather.Load()))))
			}
			idle.Reset(wait)
			select {
			case jj, ok := <-w.jobs:
				if !ok {
					return
				}
				j = jj
			case <-idle.C:
				w.indexStep()
				continue
			case <-w.wake:
				continue
			}
		} else {
			select {
			case jj, ok := <-w.jobs:
				if !ok {
					return
				}
				j = jj
			case <-tick:
				w.retryDeferred()
				if ext == nil {
					continue
				}
				if err := w.checkExternal(ext); err != nil {
					w.s.log.Warn("checking for changes by other processes", "err", err)
				}
				continue
			case <-w.wake: // the indexer was paused (tests) or texts came from elsewhere
				continue
			}
		}
		batch = append(batch[:0], j)
	fill:
		for len(batch) < maxBatch {
			select {
			case j, ok := <-w.jobs:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		if w.s.walRestart.Load() {
			w.restartWAL()
		}
		w.runBatch(batch)
		if w.s.pendingTexts.Load() > 0 && time.Since(w.lastIndex) > w.busyGap(time.Now()) && !w.indexPaused.Load() {
			w.indexStep() // busy: keep the index within gap
		}
	}
}

// restartWAL copies back, on the writer's own connection and between
// transactions, what the checkpointer has not copied yet (at most
// checkpointEvery of commits), so that the next transaction starts the
// WAL again from its beginning (unless a reader still uses its frames:
// then the checkpointer asks again).
func (w *writer) restartWAL() {
	w.s.walRestart.Store(false)
	if err := w.exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		w.s.log.Warn("checkpointing the write-ahead log", "err", err)
	}
}

// indexStep moves up to indexN pending texts into the FTS5 table in one
// transaction. Failures are logged and retried at the next step: the
// texts stay pending and searches treat their messages as candidates.
func (w *writer) indexStep() {
	start := time.Now()
	defer func() { w.lastIndex = time.Now() }()
	// A step's commit is not fsynced: losing it (power loss) only leaves
	// its texts pending, which searches treat as candidates, and the next
	// durable commit's fsync covers its WAL frames anyway. Without the
	// fsync the writer is back for the commands queued behind it sooner.
	// runBatch restores synchronous commits before any job's
	// transaction (w.lazySync).
	w.lazySync = true
	if err := w.exec("PRAGMA synchronous = OFF"); err != nil {
		w.s.log.Error("indexing search texts", "err", err)
		return
	}
	defer func() {
		if err := w.exec("PRAGMA synchronous = FULL"); err == nil {
			w.lazySync = false
		}
	}()
	err := func() error {
		if err := w.exec("BEGIN IMMEDIATE"); err != nil {
			return err
		}
		ins, err := w.prepare(`INSERT INTO search_text(rowid, hfrom, hto, hcc, hbcc, hsubject, hother, body)
			SELECT doc, hfrom, hto, hcc, hbcc, hsubject, hother, body FROM search_pending ORDER BY doc LIMIT ?`)
		if err == nil {
			_, err = ins.Exec(w.indexN)
		}
		var del *sql.Stmt
		if err == nil {
			del, err = w.prepare(`DELETE FROM search_pending WHERE doc IN (SELECT doc FROM search_pending ORDER BY doc LIMIT ?)`)
		}
		var res sql.Result
		if err == nil {
			res, err = del.Exec(w.indexN)
		}
		var moved int64
		if err == nil {
			moved, err = res.RowsAffected()
		}
		if err == nil {
			err = w.merge()
		}
		if err != nil {
			_ = w.exec("ROLLBACK")
			return err
		}
		if err := w.exec("COMMIT"); err != nil {
			_ = w.exec("ROLLBACK")
			return err
		}
		w.s.commits.Add(1)
		if moved < int64(w.indexN) {
			// The step took what was left (only this goroutine adds
			// texts): count exactly, which is cheap now.
			w.oldestPending = time.Time{}
			return w.countPending()
		}
		if err := w.readOldestPending(); err != nil {
			return err
		}
		// More is left. Counting it would read the whole backlog at
		// every step; the count only has to stay above zero until a
		// step finds the end (deletions by triggers may have made it
		// too high).
		n := w.s.pendingTexts.Add(-moved)
		if n <= 0 {
			w.s.pendingTexts.CompareAndSwap(n, 1)
		}
		return nil
	}()
	if err != nil {
		w.s.log.Error("indexing search texts", "err", err)
		return
	}
	switch d := time.Since(start); {
	case d > 2*indexStepTarget && w.indexN > indexMinN:
		w.indexN /= 2
	case d < indexStepTarget/2 && w.indexN < indexMaxN:
		w.indexN *= 2
	}
}

// mergePages is how much segment merging one index step does (FTS5
// pages of about 4 KB written): a few milliseconds, and more than the
// new documents of a step add, so merging keeps up.
const mergePages = 64

// merge merges index segments, at most mergePages of work (automatic
// merges are off, migration 0013), and records in Store.merging whether
// it did any: then more may be left for the next step.
func (w *writer) merge() error {
	changes, err := w.prepare(`SELECT total_changes()`)
	if err != nil {
		return err
	}
	var before, after int64
	if err := changes.QueryRow().Scan(&before); err != nil {
		return err
	}
	m, err := w.prepare(`INSERT INTO search_text(search_text, rank) VALUES ('merge', ?)`)
	if err != nil {
		return err
	}
	if _, err := m.Exec(mergePages); err != nil {
		return err
	}
	if err := changes.QueryRow().Scan(&after); err != nil {
		return err
	}
	// The command itself counts as one change; FTS5's own writes
	// beyond it mean it merged something.
	w.s.merging.Store(after-before >= 2)
	return nil
}

// countPending reads how many texts wait for the indexer into
// Store.pendingTexts (deletions by triggers change it too).
func (w *writer) countPending() error {
	st, err := w.prepare(`SELECT count(*) FROM search_pending`)
	if err != nil {
		return err
	}
	var n int64
	if err := st.QueryRow().Scan(&n); err != nil {
		return err
	}
	w.s.pendingTexts.Store(n)
	return nil
}

// busyGap is how long after the last index step the writer runs the
// next one between batches while commits keep coming: indexMaxWait, or
// indexBehindGap once the oldest text left pending waited
// indexLagTarget.
func (w *writer) busyGap(now time.Time) time.Duration {
	if !w.oldestPending.IsZero() && now.Sub(w.oldestPending) > indexLagTarget {
		return indexBehindGap
	}
	return time.Duration(w.maxWait.Load())
}

// readOldestPending reads when the oldest pending text was queued
// (documents are numbered about in the order their texts are queued;
// an estimate is all busyGap needs).
func (w *writer) readOldestPending() error {
	st, err := w.prepare(`SELECT queued FROM search_pending ORDER BY doc LIMIT 1`)
	if err != nil {
		return err
	}
	var ms int64
	switch err := st.QueryRow().Scan(&ms); {
	case errors.Is(err, sql.ErrNoRows):
		w.oldestPending = time.Time{}
	case err != nil:
		return err
	default:
		w.oldestPending = time.UnixMilli(ms)
	}
	return nil
}

// exec runs a transaction-control statement (BEGIN, SAVEPOINT, ...),
// prepared once.
func (w *writer) exec(q string) error {
	st, err := w.prepare(q)
	if err != nil {
		return err
	}
	_, err = st.Exec()
	return err
}

func (w *writer) runBatch(batch []*job) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for i, j := range batch {
			j.result <- fmt.Errorf("sqlitestore: %w", err)
			batch[i] = nil
		}
	}
	if w.lazySync {
		// An index step could not restore synchronous commits: a job's
		// commit must be durable, so none runs until it is.
		if err := w.exec("PRAGMA synchronous = FULL"); err != nil {
			fail(fmt.Errorf("restore synchronous commits: %w", err))
			return
		}
		w.lazySync = false
	}
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	var drops []string
	if len(batch) == 1 {
		// One job: the transaction is its savepoint.
		j := batch[0]
		err := j.ctx.Err()
		if err == nil {
			err = j.fn(&wtx{w: w, job: j})
		}
		if err != nil {
			_ = w.exec("ROLLBACK")
			j.result <- err
			return
		}
		drops = j.dropBlobs
	}
	for i, j := range batch {
		if len(batch) == 1 {
			break
		}
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if err := w.exec("SAVEPOINT job"); err != nil {
			_ = w.exec("ROLLBACK")
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		err := j.fn(&wtx{w: w, job: j})
		if err != nil {
			errs[i] = err
			j.events, j.dropBlobs, j.texts = nil, nil, nil
			if rerr := w.exec("ROLLBACK TO job"); rerr != nil {
				_ = w.exec("ROLLBACK")
				fail(fmt.Errorf("rollback to savepoint: %w", rerr))
				return
			}
		}
		if err := w.exec("RELEASE job"); err != nil {
			_ = w.exec("ROLLBACK")
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
		drops = append(drops, j.dropBlobs...)
	}
	queued, err := w.insertTexts(batch)
	if err != nil {
		_ = w.exec("ROLLBACK")
		fail(fmt.Errorf("index text: %w", err))
		return
	}
	// Files kept during a backup go with this batch's once it is over.
	if len(w.deferred) > 0 && w.gcFree() {
		drops = append(drops, w.deferred...)
		w.deferred = nil
	}
	// A blob dropped by one job may have been referenced again by a later
	// one: delete only files whose row is really gone.
	if len(drops) > 0 {
		kept := drops[:0]
		for _, id := range drops {
			var n int
			st, err := w.prepare(`SELECT count(*) FROM blobs WHERE id = ?`)
			if err == nil {
				err = st.QueryRow(id).Scan(&n)
			}
			if err != nil {
				_ = w.exec("ROLLBACK")
				fail(fmt.Errorf("check blob: %w", err))
				return
			}
			if n == 0 {
				kept = append(kept, id)
			}
		}
		drops = kept
	}
	if err := w.exec("COMMIT"); err != nil {
		_ = w.exec("ROLLBACK")
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	w.s.commits.Add(1)
	if queued > 0 {
		if w.s.pendingTexts.Add(int64(queued)) == int64(queued) {
			w.lastIndex = time.Now() // the wait starts with the first text
		}
	}
	w.keepDeferred(w.s.deleteBlobFiles(drops))
	for i, j := range batch {
		if errs[i] == nil && w.s.bus != nil {
			for _, ev := range j.events {
				w.s.bus.Publish(ev)
			}
		}
		j.result <- errs[i]
	}
}

// gcFree reports whether the GC lock is free now (no backup holds it).
func (w *writer) gcFree() bool {
	unlock, err := w.s.lockGC()
	if err != nil {
		return false
	}
	unlock()
	return true
}

// keepDeferred adds files a backup kept from deletion to w.deferred.
func (w *writer) keepDeferred(ids []string) {
	if len(ids) == 0 {
		return
	}
	if room := maxDeferred - len(w.deferred); len(ids) > room {
		w.s.log.Warn("too many unreferenced blob files kept during a backup: rookery check --repair removes the rest", "left", len(ids)-max(room, 0))
		ids = ids[:max(room, 0)]
	}
	w.deferred = append(w.deferred, ids...)
}

// retryDeferred deletes the files kept during a backup once it is over,
// those that no row references again.
func (w *writer) retryDeferred() {
	if len(w.deferred) == 0 || !w.gcFree() {
		return
	}
	ids := w.deferred
	w.deferred = nil
	gone := ids[:0]
	for _, id := range ids {
		var n int
		st, err := w.prepare(`SELECT count(*) FROM blobs WHERE id = ?`)
		if err == nil {
			err = st.QueryRow(id).Scan(&n)
		}
		if err != nil {
			w.s.log.Warn("checking an unreferenced blob", "blob", id, "err", err)
			continue // left as an unreferenced file for rookery check --repair
		}
		if n == 0 {
			gone = append(gone, id)
		}
	}
	w.keepDeferred(w.s.deleteBlobFiles(gone))
}

// prepare returns a statement prepared on the write connection (cached).
func (w *writer) prepare(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", q, err)
	}
	w.stmts[q] = st
	return st, nil
}

// exec runs a write statement in the job's savepoint.
func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.w.prepare(q)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

// query runs a query in the job's savepoint.
func (t *wtx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.w.prepare(q)
	if err != nil {
		return nil, err
	}
	return st.Query(args...)
}

// queryRow runs a one-row query; errors surface in Scan.
func (t *wtx) queryRow(q string, args ...any) *sql.Row {
	st, err := t.w.prepare(q)
	if err != nil {
		// Run it unprepared so that Scan reports the error.
		return t.w.conn.QueryRowContext(context.Background(), q, args...)
	}
	return st.QueryRow(args...)
}

// publish records an event to publish after the commit.
func (t *wtx) publish(ev events.Event) { t.job.events = append(t.job.events, ev) }

// dropBlob records a blob whose row was deleted, to remove after the commit.
func (t *wtx) dropBlob(id string) { t.job.dropBlobs = append(t.job.dropBlobs, id) }
