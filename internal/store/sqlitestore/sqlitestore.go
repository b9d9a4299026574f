package sqlitestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"rookery/internal/blob"
	"rookery/internal/events"
	"rookery/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure a Store.
type Options struct {
	// Bus receives an events.Event after every committed change; nil
	// means no publishing.
	Bus events.Bus
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// FS is the file system for blob files; nil means the operating
	// system's. Tests pass a blob.FaultFS.
	FS blob.FS
	// DefaultQuota is the quota of accounts without their own limits
	// (0 = unlimited).
	DefaultQuota DefaultQuota
	// MailboxLimits bound mailbox names, mailboxes and subscriptions per
	// account (zero fields: unlimited).
	MailboxLimits store.MailboxLimits
}

// blobPinTTL is how long after WriteBlob a blob file is kept even when no
// message references it, so that an Append following its WriteBlob never
// finds the file deleted by a concurrent expunge of the same content.
const blobPinTTL = time.Hour

// Store is the SQLite store.Store. It is safe for concurrent use.
type Store struct {
	dir   string
	bus   events.Bus
	log   *slog.Logger
	blobs *blob.Store
	rdb   *sql.DB // read connections: readQueryRow's pool and readRaw's readers
	wdb   *sql.DB // one connection, used only by the writer goroutine

	w *writer

	defaultQuota DefaultQuota        // read-only after Open
	limits       store.MailboxLimits // read-only after Open
	// now is the clock of UIDVALIDITY, retiredCap the retired_names rows
	// kept per account (mailboxes.go); tests change them right after
	// Open.
	now        func() time.Time
	retiredCap int

	// unindexed is set while some blob may lack a search document (blobs
	// stored before migration 0005, or whose text extraction failed):
	// text searches then also return the messages of such blobs.
	unindexed atomic.Bool

	// recheckIndex is set by SetBlobIndex: the next WaitIndexed reads
	// unindexed and minTextVer again (checkIndex).
	recheckIndex atomic.Bool

	// pendingTexts counts the search texts waiting for the writer's
	// indexer (search_pending, migration 0011); written by the writer.
	pendingTexts atomic.Int64
	// merging is set while the indexer's last step merged index
	// segments (more merging may be left); written by the writer.
	merging atomic.Bool
	// commits counts the writer's commits, for the checkpointer.
	commits atomic.Uint64
	// walRestart asks the writer to let the WAL start again
	// (checkpoint.go, walRestartFrames).
	walRestart atomic.Bool
	ckpt       *checkpointer
	// minTextVer is the oldest store.IndexText.Version of the stored
	// search documents (noTextVer if none): a text key whose MinVersion
	// is above it also has the messages of the older documents as
	// candidates.
	minTextVer atomic.Int64

	pinMu sync.Mutex
	pins  map[string]time.Time // blob id → last WriteBlob; guarded by pinMu

	readStmts sync.Map // query text → *sql.Stmt on rdb (readQueryRow)

	// useLock is held shared while the store is open (a restore takes
	// it exclusively); gcLock is taken exclusively while blob files are
	// deleted, and held shared by an online backup (backup.go).
	useLock, gcLock *blob.Lock

	readersMu     sync.Mutex
	readers       []*readConn // idle read connections (raw.go); guarded by readersMu
	readersClosed bool        // guarded by readersMu

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Connection kinds of dsn.
const (
	connRead = iota
	connWrite
)

func dsn(path string, kind int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	switch kind {
	case connWrite:
		q.Add("_txlock", "immediate")
		// Checkpoints run beside the writer (checkpoint.go).
		q.Add("_pragma", "wal_autocheckpoint(0)")
		// Each job of a batch runs in a savepoint, whose statement
		// journal SQLite spills to a temporary file past 64 KiB: in
		// memory, APPEND wrote 30% fewer bytes (BENCHMARKS.md).
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
		// 16 MiB: the index pages that a growing mailbox's inserts land
		// on at random stay cached instead of being read again.
		q.Add("_pragma", "cache_size(-16384)")
	case connRead:
		// Not mapped: SQLite unmaps the whole mapping at the start of
		// every read transaction after a commit, and under many
		// sessions writing at once those munmaps (TLB shootdowns) cost
		// 13% of the server's CPU (imaptest stress: 1.6x the ops/s
		// unmapped). A mapped scan of a huge mailbox is faster only
		// when nothing commits (SORT of 20k: 33 ms mapped, 41 not).
		q.Add("_pragma", "query_only(1)")
		// 512 KiB: WAL readers drop their cache at the first read
		// after any commit, so a larger one rarely helps, and up to
		// maxIdleReaders connections are kept.
		q.Add("_pragma", "cache_size(-512)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the store in dir: dir/rookery.db and
// dir/blobs/. Pending migrations are applied.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	// Synced into its parent: SQLite syncs the directory of its WAL, not
	// the one above, and a data directory lost in a power cut takes all
	// the mail along.
	if err := blob.MkdirAllSynced(blob.OSFS{}, dir); err != nil {
		return nil, fmt.Errorf("sqlitestore: create %s: %w", dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	useLock, gcLock, err := openLocks(dir, log)
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			_ = useLock.Close()
			_ = gcLock.Close()
		}
	}()
	bs, err := blob.New(filepath.Join(dir, "blobs"), opts.FS)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	path := filepath.Join(dir, "rookery.db")
	wdb, err := sql.Open("sqlite", dsn(path, connWrite))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb, log); err != nil {
		_ = wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, connRead))
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// No limit on read connections: a Fetch callback may read again while
	// its rows are open, and a limit could deadlock such nesting.
	rdb.SetMaxIdleConns(8)
	conn, err := wdb.Conn(ctx)
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("sqlitestore: writer connection: %w", err)
	}
	s := &Store{
		dir:   dir,
		bus:   opts.Bus,
		log:   log,
		blobs: bs,
		rdb:   rdb,
		wdb:   wdb,
		pins:  make(map[string]time.Time),

		useLock: useLock,
		gcLock:  gcLock,

		defaultQuota: opts.DefaultQuota,
		limits:       opts.MailboxLimits,
		now:          time.Now,
		retiredCap:   retiredCap,
	}
	if err := s.checkIndex(ctx); err != nil {
		_ = conn.Close()
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("sqlitestore: check search index: %w", err)
	}
	cdb, err := sql.Open("sqlite", dsn(path, connRead))
	if err != nil {
		_ = conn.Close()
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	s.ckpt = startCheckpointer(cdb, &s.commits, &s.walRestart, log.Warn)
	s.w = newWriter(s, conn)
	opened = true
	return s, nil
}

// Close stops the writer (after the queued jobs) and closes the database.
// It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		ckptErr := s.ckpt.close()
		s.w.close()
		s.closeReaders()
		s.readStmts.Range(func(_, st any) bool {
			_ = st.(*sql.Stmt).Close()
			return true
		})
		s.closeErr = errors.Join(ckptErr, s.rdb.Close(), s.wdb.Close(), s.gcLock.Close(), s.useLock.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlitestore: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// readStmt returns q prepared once on the read pool (database/sql keeps it
// prepared per pooled connection) instead of on every call: the lookups
// every login, delivery and SELECT makes spent a third of their time
// preparing.
func (s *Store) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	prepared, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	st, loaded := s.readStmts.LoadOrStore(q, prepared)
	if loaded {
		_ = prepared.Close()
	}
	return st.(*sql.Stmt), nil
}

// readQueryRow runs a one-row read query with a prepared statement.
func (s *Store) readQueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	// A point lookup is short: not worth the goroutine the driver starts
	// to watch a cancellable context.
	ctx = context.WithoutCancel(ctx)
	st, err := s.readStmt(ctx, q)
	if err != nil {
		// Run it unprepared so that Scan reports the error.
		return s.rdb.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// readQuery runs a read query with a prepared statement.
func (s *Store) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Blobs returns the blob store, for maintenance (check --repair).
func (s *Store) Blobs() *blob.Store { return s.blobs }

// migration is one numbered schema change: an embedded SQL file, or a Go
// function for a change SQL cannot express (goMigrations).
type migration struct {
	version int
	name    string
	run     func(ctx context.Context, tx *sql.Tx, log *slog.Logger) error
}

// goMigrations are the migrations written in Go. Each runs in its own
// transaction with the schema_version row that records it, in version
// order among the SQL files.
var goMigrations = []migration{
	{14, "0014_account_names", canonicalAccountNames},
	{17, "0017_mailbox_keywords", mailboxKeywordsMigration},
}

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlitestore: create schema_version: %w", err)
	}
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlitestore: list migrations: %w", err)
	}
	migs := slices.Clone(goMigrations)
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("sqlitestore: bad migration name %q", e.Name())
		}
		migs = append(migs, migration{version: v, name: e.Name(), run: sqlMigration(e.Name())})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	applied := false
	for i, m := range migs {
		if i > 0 && migs[i-1].version == m.version {
			return fmt.Errorf("sqlitestore: migrations %s and %s have one version", migs[i-1].name, m.name)
		}
		ran, err := applyMigration(ctx, db, m, log)
		if err != nil {
			return err
		}
		applied = applied || ran
	}
	if applied {
		return compactAfterMigration(ctx, db, log)
	}
	return nil
}

// compactAfterMigration rewrites the database file when migrations left
// more than a quarter of it free (0016 copies every inline content into a
// new table and drops the old one): the file would otherwise keep that
// size until new mail reuses the pages. It runs once, at the Open that
// applied the migrations, before any other connection exists.
func compactAfterMigration(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	var free, pages int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_count FROM pragma_page_count)`).Scan(&free, &pages); err != nil {
		return fmt.Errorf("sqlitestore: free pages: %w", err)
	}
	if pages == 0 || free*4 < pages {
		return nil
	}
	log.Info("compacting the database after schema migrations", "free_pages", free, "pages", pages)
	start := time.Now()
	// VACUUM builds the new file in a temporary database: on disk, not
	// in the memory the writer's temp_store would give it (db has the
	// writer's one connection).
	for _, q := range []string{`PRAGMA temp_store = FILE`, `VACUUM`, `PRAGMA temp_store = MEMORY`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlitestore: compact after migrations: %s: %w", q, err)
		}
	}
	log.Info("compacted the database", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// sqlMigration runs the embedded SQL file name.
func sqlMigration(name string) func(context.Context, *sql.Tx, *slog.Logger) error {
	return func(ctx context.Context, tx *sql.Tx, _ *slog.Logger) error {
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		_, err = tx.ExecContext(ctx, string(body))
		return err
	}
}

// applyMigration runs m unless it was applied before, and reports
// whether it ran.
func applyMigration(ctx context.Context, db *sql.DB, m migration, log *slog.Logger) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_version WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	if err := m.run(ctx, tx, log); err != nil {
		return false, fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version, applied) VALUES (?, ?)`, m.version, time.Now().Unix()); err != nil {
		return false, fmt.Errorf("sqlitestore: migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlitestore: migration %s: commit: %w", m.name, err)
	}
	log.Info("applied schema migration", "version", m.version, "name", m.name)
	return true, nil
}

// inlineMax is the largest content kept in the database (contents,
// migrations 0008, 0016) rather than in a blob file. A blob file costs a file
// and a directory fsync of its own, outside group commit; at 64 KiB the
// fifth of ordinary mail that carries an attachment of a few hundred
// kilobytes paid them, and file creation queued behind the journal took
// a third of APPEND's time under concurrent load. Up to this size a
// content is held in memory once while it is written.
const inlineMax = 256 << 10

// WriteBlob implements store.Store. A content of at most inlineMax bytes
// is returned in the BlobRef and made durable by Append; a larger one is
// streamed to a blob file, durable when WriteBlob returns.
func (s *Store) WriteBlob(ctx context.Context, r io.Reader, maxSize int64) (store.BlobRef, error) {
	head := bytes.NewBuffer(make([]byte, 0, 16<<10))
	if _, err := io.Copy(head, io.LimitReader(r, inlineMax+1)); err != nil {
		return store.BlobRef{}, fmt.Errorf("write blob: read content: %w", err)
	}
	var id string
	var size int64
	var content []byte
	if head.Len() <= inlineMax {
		size = int64(head.Len())
		if maxSize >= 0 && size > maxSize {
			return store.BlobRef{}, fmt.Errorf("write blob: %w: more than %d bytes", store.ErrTooBig, maxSize)
		}
		if err := ctx.Err(); err != nil {
			return store.BlobRef{}, fmt.Errorf("write blob: %w", err)
		}
		sum := sha256.Sum256(head.Bytes())
		id, content = hex.EncodeToString(sum[:]), head.Bytes()
	} else {
		var err error
		id, size, err = s.blobs.Put(ctx, io.MultiReader(head, r), maxSize)
		if errors.Is(err, blob.ErrTooBig) {
			return store.BlobRef{}, fmt.Errorf("write blob: %w: %w", store.ErrTooBig, err)
		}
		if err != nil {
			return store.BlobRef{}, fmt.Errorf("write blob: %w", err)
		}
		s.pin(id)
	}
	return store.BlobRef{ID: store.BlobID(id), Size: size, Content: content}, nil
}

// pin protects a just-written blob file from deletion by a concurrent
// expunge of the same content until Append references it (blobPinTTL).
func (s *Store) pin(id string) {
	now := time.Now()
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.pins[id] = now
	if len(s.pins) > 4096 {
		for k, t := range s.pins {
			if now.Sub(t) > blobPinTTL {
				delete(s.pins, k)
			}
		}
	}
}

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	b, err := s.openContent(ctx, string(id))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, blob.ErrInvalidID) {
		return nil, fmt.Errorf("open blob: %w: %w", store.ErrNoSuchMessage, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return b, nil
}

// openContent opens a content: from the contents table, else its file.
func (s *Store) openContent(ctx context.Context, id string) (store.Blob, error) {
	var content []byte
	err := s.readQueryRow(ctx, `SELECT c.content FROM blobs b JOIN contents c ON c.id = b.content WHERE b.id = ?`, id).Scan(&content)
	if err == nil {
		return inlineBlob{bytes.NewReader(content)}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s.blobs.Open(id)
}

// inlineBlob is an open content kept in the database.
type inlineBlob struct{ *bytes.Reader }

func (inlineBlob) Close() error { return nil }

// deleteBlobFiles removes the files of blobs that lost their last reference
// in a committed transaction, except those written very recently. It
// returns the ids it could not delete because an online backup holds the
// GC lock (backup.go): the caller keeps them and tries again later,
// after checking again that no row references them.
func (s *Store) deleteBlobFiles(ids []string) (deferred []string) {
	now := time.Now()
	kept := ids[:0:0]
	for _, id := range ids {
		s.pinMu.Lock()
		t, pinned := s.pins[id]
		s.pinMu.Unlock()
		if pinned && now.Sub(t) < blobPinTTL {
			continue
		}
		kept = append(kept, id)
	}
	if len(kept) == 0 {
		return nil
	}
	unlock, err := s.lockGC()
	if err != nil {
		if errors.Is(err, blob.ErrLocked) {
			return kept
		}
		s.log.Warn("deleting unreferenced blobs", "err", err)
		return nil // left as unreferenced files for rookery check --repair
	}
	defer unlock()
	for _, id := range kept {
		if err := s.blobs.Delete(id); err != nil {
			s.log.Warn("deleting unreferenced blob", "blob", id, "err", err)
		}
	}
	return nil
}
