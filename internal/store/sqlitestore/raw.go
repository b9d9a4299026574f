package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rawTx is a read transaction on one read connection, queried through the
// driver directly: the hot read paths (Snapshot, Fetch, Changes) avoid
// database/sql's per-column reflection when scanning many rows, and use the
// connection's prepared statements.
type rawTx struct {
	ctx context.Context
	rc  *readConn
	dc  driver.ConnPrepareContext
}

// readConn is a read connection held by the store with the statements
// prepared on it: preparing (SQLite's parser and code generator) was a
// quarter of the server's CPU under a mixed load when every read
// prepared its statements again.
type readConn struct {
	conn  *sql.Conn
	stmts map[string]driver.Stmt // used by one goroutine at a time
}

// Bounds of the read connections kept: one per session reading at once is
// kept (a connection opened again prepares its statements again), each
// with a small page cache (dsn), which a commit by the writer empties
// anyway.
const (
	maxIdleReaders = 64
	// maxCachedStmts bounds the statements kept per connection; queries
	// built from arguments (search) beyond it are prepared and closed.
	maxCachedStmts = 64
)

// reader takes an idle read connection, or opens one: there is no limit
// on read connections in use, since a Fetch callback may read again while
// its rows are open.
func (s *Store) reader(ctx context.Context) (*readConn, error) {
	s.readersMu.Lock()
	if n := len(s.readers); n > 0 {
		rc := s.readers[n-1]
		s.readers = s.readers[:n-1]
		s.readersMu.Unlock()
		return rc, nil
	}
	s.readersMu.Unlock()
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &readConn{conn: conn, stmts: make(map[string]driver.Stmt)}, nil
}

// release keeps rc for the next reader, or closes it when enough are idle
// or it failed.
func (s *Store) release(rc *readConn, failed bool) {
	if !failed {
		s.readersMu.Lock()
		if len(s.readers) < maxIdleReaders && !s.readersClosed {
			s.readers = append(s.readers, rc)
			s.readersMu.Unlock()
			return
		}
		s.readersMu.Unlock()
	}
	rc.close()
}

func (rc *readConn) close() {
	for _, st := range rc.stmts {
		_ = st.Close()
	}
	clear(rc.stmts)
	_ = rc.conn.Close()
}

// closeReaders closes the idle read connections (Store.Close).
func (s *Store) closeReaders() {
	s.readersMu.Lock()
	rs := s.readers
	s.readers, s.readersClosed = nil, true
	s.readersMu.Unlock()
	for _, rc := range rs {
		rc.close()
	}
}

// readRaw runs fn in a read transaction on a read connection.
func (s *Store) readRaw(ctx context.Context, fn func(tx rawTx) error) (err error) {
	rc, err := s.reader(ctx)
	if err != nil {
		return err
	}
	failed := false
	defer func() { s.release(rc, failed) }()
	err = rc.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("sqlite driver lacks ConnPrepareContext")
		}
		tx := rawTx{ctx: ctx, rc: rc, dc: pc}
		if err := tx.exec("BEGIN"); err != nil {
			failed = true
			return fmt.Errorf("begin: %w", err)
		}
		defer func() {
			if err := (rawTx{ctx: context.Background(), rc: rc, dc: pc}).exec("ROLLBACK"); err != nil {
				failed = true
			}
		}()
		return fn(tx)
	})
	if errors.Is(err, driver.ErrBadConn) {
		failed = true
	}
	return err
}

// stmt returns q prepared on the transaction's connection; done closes it
// when it is not kept.
func (t rawTx) stmt(q string) (st driver.Stmt, done func(), err error) {
	if st, ok := t.rc.stmts[q]; ok {
		return st, func() {}, nil
	}
	st, err = t.dc.PrepareContext(context.WithoutCancel(t.ctx), q)
	if err != nil {
		return nil, nil, err
	}
	if len(t.rc.stmts) < maxCachedStmts {
		t.rc.stmts[q] = st
		return st, func() {}, nil
	}
	return st, func() { _ = st.Close() }, nil
}

func (t rawTx) exec(q string) error {
	st, done, err := t.stmt(q)
	if err != nil {
		return err
	}
	defer done()
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		return errors.New("sqlite driver lacks StmtExecContext")
	}
	_, err = ex.ExecContext(context.WithoutCancel(t.ctx), nil)
	return err
}

// each runs q and calls fn with each row's values (valid only during the
// call), stopping at fn's first error. Args must be driver values (int64,
// string, …).
func (t rawTx) each(q string, args []any, fn func(row []driver.Value) error) error {
	st, done, err := t.stmt(q)
	if err != nil {
		return err
	}
	defer done()
	sq, ok := st.(driver.StmtQueryContext)
	if !ok {
		return errors.New("sqlite driver lacks StmtQueryContext")
	}
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	// The driver watches a cancellable context with a goroutine per
	// query; the rows loop checks t.ctx instead (every 128 rows), which
	// stops a long scan as soon.
	rows, err := sq.QueryContext(context.WithoutCancel(t.ctx), nv)
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	for n := 0; ; n++ {
		if n%128 == 127 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		if err := rows.Next(dest); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(dest); err != nil {
			return err
		}
	}
}

func vInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func vString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}
