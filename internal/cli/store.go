package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/store"
	"rookery/internal/store/pgstore"
	"rookery/internal/store/sqlitestore"
)

// openStore opens the store the configuration describes, publishing its
// changes on bus: every subcommand opens its store here. The embedded
// SQLite backend keeps everything in cfg.DataDir; the PostgreSQL
// backend in the database cfg.Store.DSN names, where it also hears,
// on bus, what other nodes change.
func openStore(ctx context.Context, cfg config.Config, bus events.Bus, logger *slog.Logger) (store.Store, error) {
	if cfg.Store.Backend == config.BackendPostgres {
		st, err := pgstore.Open(ctx, cfg.Store.DSN, pgstore.Options{Bus: bus, Logger: logger, DefaultQuota: pgstore.DefaultQuota{
			StorageBytes: int64(cfg.Quota.Storage), Messages: cfg.Quota.Messages},
			MailboxLimits: mailboxLimits(cfg), MaxConns: int32(cfg.Store.PoolSize)})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, nil
	}
	st, err := sqlitestore.Open(ctx, cfg.DataDir, sqlitestore.Options{Bus: bus, Logger: logger, DefaultQuota: sqlitestore.DefaultQuota{
		StorageBytes: int64(cfg.Quota.Storage), Messages: cfg.Quota.Messages},
		MailboxLimits: mailboxLimits(cfg)})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
	}
	return st, nil
}

// storeName is how messages name the configured store: its data
// directory, or its database (not the DSN, which may hold a password).
func storeName(cfg config.Config) string {
	if cfg.Store.Backend == config.BackendPostgres {
		return "the PostgreSQL database"
	}
	return cfg.DataDir
}

// storeExists fails when the configured store is the embedded one and
// its data directory does not exist (opening it would create it: an
// administration command on a mistyped directory must not). A
// PostgreSQL store exists once its database does: opening it fails
// otherwise.
func storeExists(cfg config.Config) error {
	if cfg.Store.Backend == config.BackendPostgres {
		return nil
	}
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("data directory %s does not exist", cfg.DataDir)
	} else if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// migrateStore applies the PostgreSQL schema's pending migrations and
// returns their names (`rookery store migrate`).
func migrateStore(ctx context.Context, dsn string) ([]string, error) {
	return pgstore.Migrate(ctx, dsn)
}

// probeStore connects to the configured PostgreSQL database and reports
// its server version and pending migrations (`rookery config check
// --connect`), changing nothing in it.
func probeStore(ctx context.Context, dsn string) (pgstore.ProbeResult, error) {
	return pgstore.Probe(ctx, dsn)
}

// mailboxLimits maps the [limits] mailbox and keyword keys onto
// store.MailboxLimits (0 is unlimited in both), given to the store,
// which enforces them, and to the server, which bounds LIST, leaves \*
// out of PERMANENTFLAGS at the keyword limit and answers with them.
func mailboxLimits(cfg config.Config) store.MailboxLimits {
	return store.MailboxLimits{
		MaxNameBytes:    cfg.Limits.MaxMailboxName,
		MaxDepth:        cfg.Limits.MaxMailboxDepth,
		MaxMailboxes:    cfg.Limits.MaxMailboxes,
		MaxKeywords:     cfg.Limits.MaxKeywordsPerMailbox,
		MaxKeywordBytes: cfg.Limits.MaxKeywordLength,
	}
}

// adminStore is a store opened by an administration command (user,
// check, reindex), with the logger that prints its warnings to stderr.
type adminStore struct {
	store.Store
	log *slog.Logger
}

// openAdminStore opens cfg's data directory for an administration
// command; close closes it, reporting a failure on stderr.
func openAdminStore(ctx context.Context, e *env, cfg config.Config) (st adminStore, close func(), err error) {
	st.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if st.Store, err = openStore(ctx, cfg, events.NewMemory(), st.log); err != nil {
		return adminStore{}, nil, err
	}
	return st, func() {
		if err := st.Close(); err != nil {
			e.errorf("close data directory: %v", err)
		}
	}, nil
}

// openCopySource opens the data directory of the embedded backend that
// `rookery store copy` copies (it must exist: the caller checks).
func openCopySource(ctx context.Context, dir string, log *slog.Logger) (store.Store, error) {
	st, err := sqlitestore.Open(ctx, dir, sqlitestore.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openTarget opens the destination of a copy: a PostgreSQL database
// named by a postgres:// or postgresql:// URL (its schema migrated), or
// a data directory of the embedded backend (created if missing). The
// destination has no default quota and no mailbox limits of its own
// (restores bypass them anyway; the server's configuration sets them).
func openTarget(ctx context.Context, target string, log *slog.Logger) (store.Store, error) {
	switch {
	case isPostgresURL(target):
		st, err := pgstore.Open(ctx, target, pgstore.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		return st, nil
	case isURL(target):
		return nil, fmt.Errorf("unknown kind of target %q: want a data directory or a postgres:// URL", target)
	}
	st, err := sqlitestore.Open(ctx, target, sqlitestore.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// isPostgresURL reports whether a copy's target names a PostgreSQL
// database.
func isPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// displayTarget is target as a copy shows it: a URL without its
// password.
func displayTarget(target string) string {
	if !isURL(target) {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return "the target URL" // unparsable: it may hold a password
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// backupProgress is what backups and restores of the embedded store
// report as they advance.
type backupProgress = sqlitestore.BackupProgress

// backupDataDir writes an online backup of the embedded store in dataDir
// into dest (`rookery backup`).
func backupDataDir(ctx context.Context, dataDir, dest string, copyFiles bool, bytesPerSecond int64, progress func(backupProgress)) (sqlitestore.BackupManifest, error) {
	return sqlitestore.Backup(ctx, dataDir, dest, sqlitestore.BackupOptions{Copy: copyFiles, BytesPerSecond: bytesPerSecond, Progress: progress})
}

// restoreDataDir restores the backup in dir into dataDir (`rookery
// restore`).
func restoreDataDir(ctx context.Context, dir, dataDir string, force, copyFiles bool, progress func(backupProgress)) (sqlitestore.BackupManifest, error) {
	return sqlitestore.RestoreBackup(ctx, dir, dataDir, sqlitestore.RestoreOptions{Force: force, Copy: copyFiles, Progress: progress})
}
