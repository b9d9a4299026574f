package sqlitestore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rawTx is a read transaction on one read connection, queried through the
// driver directly: the hot read paths (Snapshot, Fetch) avoid database/sql's
// per-column reflection when scanning many rows.
type rawTx struct {
	ctx context.Context
	q   driver.QueryerContext
}

// readRaw runs fn in a read transaction on a pooled read connection.
func (s *Store) readRaw(ctx context.Context, fn func(tx rawTx) error) error {
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		ex, ok1 := dc.(driver.ExecerContext)
		qu, ok2 := dc.(driver.QueryerContext)
		if !ok1 || !ok2 {
			return errors.New("sqlite driver lacks ExecerContext/QueryerContext")
		}
		if _, err := ex.ExecContext(ctx, "BEGIN", nil); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer func() { _, _ = ex.ExecContext(context.Background(), "ROLLBACK", nil) }()
		return fn(rawTx{ctx: ctx, q: qu})
	})
}

// each runs q and calls fn with each row's values (valid only during the
// call), stopping at fn's first error. Args must be driver values (int64,
// string, …).
func (t rawTx) each(q string, args []any, fn func(row []driver.Value) error) error {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := t.q.QueryContext(t.ctx, q, nv)
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	for {
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
