package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"rookery/internal/store"
)

// A database that cannot be reached. Every error that comes from not
// reaching the database (a connection refused, reset or closed, a
// failed connect, the server shutting down or terminating the backend)
// is returned wrapped with store.ErrUnavailable, the original kept too;
// ordinary query errors are not. A commit whose outcome is unknown (its
// connection lost before the answer) is ErrUnavailable as well, never a
// success. After such an error the pool's idle connections, likely dead
// as well, are closed (pgxpool.Pool.Reset), so that the next call
// connects afresh; read-only calls try once more at once.

// unavailable reports whether err says that the database could not be
// reached (as opposed to an error of the query, or the caller's context
// ending).
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, store.ErrUnavailable) {
		return true
	}
	var cerr contentError
	if errors.As(err, &cerr) {
		return false // the content's reader (a client), not the database
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // a deadline while connecting included
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's context, not the database
	}
	if pgconn.SafeToRetry(err) {
		return true // not sent: the connection was closed or broken
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// dbErr returns err wrapped with store.ErrUnavailable when it says that
// the database could not be reached, else err.
func dbErr(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// commitErr is the error of a failed COMMIT: one the server answered
// (a serialization failure) failed the transaction; any other (the
// connection lost, the context ended while waiting) leaves its outcome
// unknown, which is ErrUnavailable.
func commitErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !unavailable(err) {
		return err
	}
	if errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: commit outcome unknown: %w", store.ErrUnavailable, err)
}

// lost notes err: when it says the database could not be reached, the
// pool's idle connections are closed (they likely broke with it), and
// err is returned wrapped with ErrUnavailable.
func (s *Store) lost(err error) error {
	err = dbErr(err)
	if errors.Is(err, store.ErrUnavailable) {
		s.pool.Reset()
	}
	return err
}

// readRetry runs the read-only fn, once more on a fresh connection when
// it failed because the database could not be reached (and ctx is still
// live). fn must not have effects beyond its own results.
func (s *Store) readRetry(ctx context.Context, fn func() error) error {
	err := s.lost(fn())
	if err == nil || !errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	return s.lost(fn())
}

// contentError is an error of reading a content given to WriteBlob: a
// client's, never the database's.
type contentError struct{ err error }

func (e contentError) Error() string { return e.err.Error() }
func (e contentError) Unwrap() error { return e.err }
