package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

// openStore opens the store the configuration describes, publishing its
// changes on bus: every subcommand opens its store here. The embedded
// SQLite backend in cfg.DataDir is the only one so far.
func openStore(ctx context.Context, cfg config.Config, bus events.Bus, logger *slog.Logger) (store.Store, error) {
	st, err := sqlitestore.Open(ctx, cfg.DataDir, sqlitestore.Options{Bus: bus, Logger: logger, DefaultQuota: sqlitestore.DefaultQuota{
		StorageBytes: int64(cfg.Quota.Storage), Messages: cfg.Quota.Messages},
		MailboxLimits: mailboxLimits(cfg)})
	if err != nil {
		return nil, err
	}
	return st, nil
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

// openTarget opens the destination of a copy: a postgres:// URL (not yet)
// or a data directory of the embedded backend (created if missing).
func openTarget(ctx context.Context, target string, log *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(target, "postgres://"), strings.HasPrefix(target, "postgresql://"):
		return nil, errors.New("postgres backend not available yet")
	case isURL(target):
		return nil, fmt.Errorf("unknown kind of target %q: want a data directory or a postgres:// URL", target)
	}
	st, err := sqlitestore.Open(ctx, target, sqlitestore.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return st, nil
}
