package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/pgtest"
	"rookery/internal/store"
)

func TestUnavailableClassification(t *testing.T) {
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no rows", pgx.ErrNoRows, false},
		{"store error", store.ErrNoSuchMailbox, false},
		{"wrapped store error", fmt.Errorf("x: %w", store.ErrOverQuota), false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"query canceled", &pgconn.PgError{Code: "57014"}, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"wrapped admin shutdown", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"connect error", &pgconn.ConnectError{}, true},
		{"connection reset", opErr, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"broken pipe", syscall.EPIPE, true},
		{"eof", io.ErrUnexpectedEOF, true},
		{"closed", net.ErrClosed, true},
		{"conn closed", pgconn.ErrConnClosed, true},
		{"already unavailable", fmt.Errorf("x: %w", store.ErrUnavailable), true},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"client's content", contentError{fmt.Errorf("read content: %w", opErr)}, false},
		{"other", errors.New("something"), false},
	} {
		if got := unavailable(c.err); got != c.want {
			t.Errorf("%s: unavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
		err := dbErr(c.err)
		if got := errors.Is(err, store.ErrUnavailable); got != c.want {
			t.Errorf("%s: dbErr is ErrUnavailable = %v, want %v", c.name, got, c.want)
		}
		if c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%s: dbErr(%v) = %v lost the original", c.name, c.err, err)
		}
	}
	// A commit that failed without an answer has an unknown outcome.
	if err := commitErr(opErr); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("commitErr(connection reset) = %v, want ErrUnavailable", err)
	}
	if err := commitErr(context.Canceled); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("commitErr(canceled) = %v, want ErrUnavailable", err)
	}
	if err := commitErr(&pgconn.PgError{Code: "40001"}); errors.Is(err, store.ErrUnavailable) {
		t.Errorf("commitErr(serialization failure) = %v, want not ErrUnavailable", err)
	}
}

// killAll terminates every other client backend of the test database
// (not autovacuum's, which the test's role may not end).
func killAll(t *testing.T, admin *pgx.Conn) {
	t.Helper()
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND backend_type = 'client backend' AND usename = current_user`); err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
}

// okOrUnavailable fails the test unless err is nil or ErrUnavailable.
func okOrUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("%s after the connections were killed: %v, want success or ErrUnavailable", what, err)
	}
}

// TestConnectionsKilled: with every connection of the database killed
// between calls and during them, calls succeed or fail with
// ErrUnavailable, never otherwise; the store works again afterwards
// without being reopened, and its listener catches up.
func TestConnectionsKilled(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	busA, busB := events.NewMemory(), events.NewMemory()
	a, b := open(t, dsn, busA), open(t, dsn, busB)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	acct, err := a.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := a.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		appendOne(t, a, inbox.ID, i)
	}
	sub := busB.Subscribe(int64(acct.ID))
	defer sub.Close()
	uids := allUIDs()

	// Between calls: each kind of call works or says unavailable, and
	// works once more right after.
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Status", func() error { _, err := a.Status(ctx, inbox.ID); return err }},
		{"Mailbox", func() error { _, err := a.Mailbox(ctx, acct.ID, "INBOX"); return err }},
		{"Mailboxes", func() error { _, err := a.Mailboxes(ctx, acct.ID); return err }},
		{"Account", func() error { _, err := a.Account(ctx, "alice"); return err }},
		{"Snapshot", func() error { _, err := a.Snapshot(ctx, inbox.ID); return err }},
		{"Changes", func() error { _, err := a.Changes(ctx, inbox.ID, 1); return err }},
		{"Fetch", func() error { return a.Fetch(ctx, inbox.ID, uids, func(store.Message) error { return nil }) }},
		{"ClaimRecent", func() error { _, _, err := a.ClaimRecent(ctx, inbox.ID); return err }},
		{"StoreFlags", func() error {
			_, err := a.StoreFlags(ctx, inbox.ID, uids, store.FlagsAdd, store.Flags{Sys: store.FlagFlagged}, 0)
			return err
		}},
		{"Append", func() error {
			_, err := a.Append(ctx, inbox.ID, []store.NewMessage{{Blob: store.BlobRef{ID: "x", Size: 9, Content: []byte("a: b\r\n\r\nx")}}})
			return err
		}},
	}
	for _, c := range calls {
		killAll(t, admin)
		okOrUnavailable(t, c.name, c.fn())
		if err := c.fn(); err != nil {
			t.Fatalf("%s once more: %v", c.name, err)
		}
	}

	// During calls: readers and writers run while the connections are
	// killed; every answer is a success or ErrUnavailable.
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	stop := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := calls[(w+i)%len(calls)]
				if err := c.fn(); err != nil && !errors.Is(err, store.ErrUnavailable) {
					errs <- fmt.Errorf("%s: %w", c.name, err)
					return
				}
			}
		}()
	}
	for range 5 {
		killAll(t, admin)
		if _, err := a.Status(ctx, inbox.ID); err != nil && !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Status: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Afterwards: everything works without reopening, and the
	// snapshot agrees with what Fetch reads (no half-applied change).
	for _, c := range calls {
		if err := c.fn(); err != nil {
			t.Fatalf("%s after the kills: %v", c.name, err)
		}
	}
	snap, err := a.Snapshot(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.Status(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if int(st.Messages) != len(snap.UIDs) {
		t.Fatalf("STATUS says %d messages, the snapshot has %d", st.Messages, len(snap.UIDs))
	}
	// The other node's listener caught up, and hears new changes.
	sub.Drain()
	res := appendOne(t, a, inbox.ID, 99)
	waitEvent(t, sub, "append after the kills", func(ev events.Event) bool {
		return ev.Mailbox == int64(inbox.ID) && ev.ModSeq == res.ModSeq
	})
	if _, err := b.Status(ctx, inbox.ID); err != nil {
		t.Fatalf("other node after the kills: %v", err)
	}
}

// allUIDs is the set 1:*.
func allUIDs() imapnum.Set { return imapnum.Set{{Start: 1, Stop: ^uint32(0)}} }
