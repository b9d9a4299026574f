package pgstore

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"rookery/internal/events"
	"rookery/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultQuota is the quota of accounts that have no limits of their own;
// 0 means unlimited.
type DefaultQuota struct {
	StorageBytes int64
	Messages     int64
}

// Options configure Open.
type Options struct {
	// Bus is the local bus: the store publishes its own commits there,
	// and those other nodes announce (LISTEN/NOTIFY); nil means none.
	Bus events.Bus
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// DefaultQuota is the quota of accounts without their own limits
	// (0 = unlimited).
	DefaultQuota DefaultQuota
	// MailboxLimits bound mailbox names, mailboxes, subscriptions and
	// keywords per account (zero fields: unlimited).
	MailboxLimits store.MailboxLimits
	// MaxConns is the size of the connection pool; 0 means
	// defaultMaxConns.
	MaxConns int32
}

// defaultMaxConns is the pool size when Options.MaxConns is 0.
const defaultMaxConns = 16

// migrationLock is the key of the advisory lock that serialises
// migrations of one database across nodes. Account IDs, the keys of the
// per-account locks (lockAccount), are positive.
const migrationLock int64 = -0x726f6f6b657279 // "rookery"

// maxAttempts bounds how often a transaction that failed with a
// serialization failure or a deadlock is run.
const maxAttempts = 8

// Store is the PostgreSQL store.Store. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	dsn    string
	bus    events.Bus
	log    *slog.Logger
	node   string // random id of this Store in NOTIFY payloads
	limits store.MailboxLimits
	quota  DefaultQuota

	lis   *listener // nil without a bus
	ntf   *notifier
	heads *headCache

	aqMu     sync.Mutex
	aq       map[store.MailboxID]*appendQueue // mailboxes with a drainer; guarded by aqMu
	closed   bool                             // guarded by aqMu
	drainers sync.WaitGroup

	stopSweep context.CancelFunc
	sweeper   sync.WaitGroup

	closeOnce sync.Once
}

// sweepEvery is how often a store deletes the unreferenced contents
// whose pin has expired.
const sweepEvery = 10 * time.Minute

// sweepLoop runs sweepBlobs every sweepEvery until ctx ends.
func (s *Store) sweepLoop(ctx context.Context) {
	defer s.sweeper.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.sweepBlobs(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("pgstore: sweeping unreferenced contents", "err", err)
			}
		}
	}
}

// Open connects to the database named by dsn (a pgx connection string),
// applies pending migrations and returns the store. With a bus it also
// listens for the changes other nodes announce.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if _, err := Migrate(ctx, dsn); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", dbErr(err))
	}
	// Short queries: compiling them would cost more than it saves.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", dbErr(err))
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: open: %w", dbErr(err))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, dsn: dsn, bus: opts.Bus, log: log, node: hex.EncodeToString(b[:]),
		limits: opts.MailboxLimits, quota: opts.DefaultQuota, aq: map[store.MailboxID]*appendQueue{},
		heads: newHeadCache()}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.sweepBlobs(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if s.bus != nil {
		s.lis = newListener(s)
	}
	s.ntf = newNotifier(s)
	sctx, cancel := context.WithCancel(context.Background())
	s.stopSweep = cancel
	s.sweeper.Add(1)
	go s.sweepLoop(sctx)
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", s.lost(err))
	}
	return nil
}

// Close stops the listener and closes the pool. It is safe to call
// twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.aqMu.Lock()
		s.closed = true
		s.aqMu.Unlock()
		s.drainers.Wait()
		s.stopSweep()
		s.sweeper.Wait()
		if s.lis != nil {
			s.lis.stop()
		}
		s.ntf.stop()
		s.pool.Close()
	})
	return nil
}

// Migrate applies the pending migrations to the database named by dsn
// and returns the names of those it applied. Each runs in its own
// transaction holding an advisory lock, so that nodes starting together
// apply each migration once.
func Migrate(ctx context.Context, dsn string) (applied []string, err error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", dbErr(err))
	}
	sort.Strings(names)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", dbErr(err))
	}
	defer conn.Close(context.Background())
	for _, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		body, err := migrationFS.ReadFile(path)
		if err != nil {
			return applied, fmt.Errorf("pgstore: migrate: %w", dbErr(err))
		}
		done, err := applyMigration(ctx, conn, name, string(body))
		if err != nil {
			return applied, fmt.Errorf("pgstore: migration %s: %w", name, dbErr(err))
		}
		if done {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// applyMigration applies one migration unless it is recorded already.
func applyMigration(ctx context.Context, conn *pgx.Conn, name, body string) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit, a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name    text PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, tx.Commit(ctx)
	}
	// The simple protocol runs a file of several statements.
	if _, err := tx.Exec(ctx, body, pgx.QueryExecModeSimpleProtocol); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(name) VALUES ($1)`, name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// wtx is a write transaction with the events it publishes after its
// commit.
type wtx struct {
	pgx.Tx
	ctx    context.Context
	s      *Store
	events []events.Event
}

// publish queues ev, published (and announced to other nodes) with the
// commit.
func (t *wtx) publish(ev events.Event) { t.events = append(t.events, ev) }

// exec runs a statement in the transaction.
func (t *wtx) exec(q string, args ...any) (pgconn.CommandTag, error) {
	return t.Exec(t.ctx, q, args...)
}

// queryRow runs a query of one row in the transaction.
func (t *wtx) queryRow(q string, args ...any) pgx.Row {
	return t.QueryRow(t.ctx, q, args...)
}

// retryable reports whether err is a serialization failure or a
// deadlock, after which the transaction is run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// write runs fn in a read-committed transaction, committed when fn
// returns nil, again on serialization failures and deadlocks (a bounded
// number of times), and publishes fn's events after the commit, to the
// local bus and (notifier) to the other nodes.
func (s *Store) write(ctx context.Context, fn func(*wtx) error) error {
	for attempt := 1; ; attempt++ {
		evs, err := s.attempt(ctx, fn)
		if err == nil {
			s.publishLocal(evs)
			s.ntf.add(evs)
			return nil
		}
		if !retryable(err) || attempt >= maxAttempts || ctx.Err() != nil {
			return s.lost(err)
		}
		time.Sleep(time.Duration(attempt) * time.Millisecond)
	}
}

func (s *Store) attempt(ctx context.Context, fn func(*wtx) error) ([]events.Event, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit, a no-op
	t := &wtx{Tx: tx, ctx: ctx, s: s}
	if err := fn(t); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, commitErr(err)
	}
	return t.events, nil
}

// publishLocal publishes evs to the local bus.
func (s *Store) publishLocal(evs []events.Event) {
	if s.bus == nil {
		return
	}
	for _, ev := range evs {
		if s.lis != nil {
			s.lis.note(ev)
		}
		s.bus.Publish(ev)
	}
}

// read runs fn in a read-only repeatable-read transaction: its queries
// see one state.
func (s *Store) read(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.lost(s.readOnce(ctx, fn))
}

func (s *Store) readOnce(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit, a no-op
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// readBegin begins the transaction of readPipeline.
const readBegin = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`

// readPipeline runs the queries that queue puts into a batch in one
// read-only repeatable-read transaction (so they see one state), sent
// with its BEGIN and COMMIT in one round trip, and calls read with their
// results (the BEGIN's already read). It tries once more when the
// database could not be reached: read must start afresh each time.
func (s *Store) readPipeline(ctx context.Context, queue func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	return s.readRetry(ctx, func() error { return s.readPipelineOnce(ctx, queue, read) })
}

func (s *Store) readPipelineOnce(ctx context.Context, queue func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	b := &pgx.Batch{}
	b.Queue(readBegin)
	queue(b)
	b.Queue(`COMMIT`)
	br := c.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = read(br)
	}
	if err == nil {
		_, err = br.Exec() // the COMMIT
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil && c.Conn().PgConn().TxStatus() != 'I' && !c.Conn().IsClosed() {
		// Failed part-way: end the transaction, so that the connection
		// goes back to the pool (else Release closes it).
		if _, rerr := c.Exec(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
			s.log.Debug("pgstore: rollback after a failed read", "err", rerr)
		}
	}
	return err
}

// lockAccount serialises the changes of an account's mailbox list
// (create, delete, rename, subscriptions) across nodes until the end of
// the transaction.
func (t *wtx) lockAccount(acct store.AccountID) error {
	_, err := t.exec(`SELECT pg_advisory_xact_lock($1)`, int64(acct))
	return err
}
