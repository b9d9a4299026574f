package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"rookery/internal/config"
)

const storeUsage = `Usage:
  rookery store migrate [--config FILE | --dsn DSN]
  rookery store copy --from DATA_DIR --to TARGET

Commands on a whole installation's storage.

migrate applies the pending schema migrations of the PostgreSQL store
named by the configuration's store.dsn (or by --dsn) and prints their
names. rookery serve applies them too when it starts; running migrate
first (from one machine, before upgrading the nodes) keeps the nodes'
starts short. Migrations run one by one, each in a transaction under an
advisory lock, so that nodes starting at once never apply one twice; a
migration that fails leaves the schema as it was before it.

copy copies every account of the data directory DATA_DIR (the embedded
backend) into TARGET, a data directory (created if missing) or a
PostgreSQL database named by a postgres:// or postgresql:// URL
(postgres://USER:PASSWORD@HOST:5432/DATABASE; the database must exist,
its schema is migrated), keeping everything clients see: passwords (and SCRAM verifiers), quotas, subscriptions,
mailboxes with their MAILBOXID, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
special-use and keywords, every message with its UID, MODSEQ, flags,
dates and content byte for byte, and the history of expunged UIDs that
QRESYNC reads. Clients carry on as if nothing had moved.

Stop the server (and deliveries) on DATA_DIR first, and start one on
TARGET only once the copy succeeded (for a database: store.backend
"postgres" with store.dsn TARGET in the configuration). Progress goes to stderr (a bar on a
terminal). At the end the copy is verified: per account and mailbox the
metadata, the number of messages and a digest of their UIDs, flags,
mod-sequences, dates and content hashes, and the expunge history are
compared between DATA_DIR and TARGET; any difference is listed and the
exit status is 1. (Contents are compared by the hashes TARGET computed
when it stored them: rookery check --contents on TARGET reads them all
again.)

An interrupted copy (killed, failed) is completed by running the same
command again: what TARGET holds already is checked and skipped. A run
after a complete copy copies nothing and verifies again. TARGET must be a
new installation or what earlier runs of this copy from DATA_DIR left: it
refuses to copy when TARGET holds an account that DATA_DIR does not have,
or one whose data differ from DATA_DIR's (anything but messages missing
at its end: a server ran on TARGET, or DATA_DIR changed since), and says
what differs; delete such accounts from TARGET (rookery user del NAME
--data TARGET, or --config FILE whose store.dsn is TARGET) or choose a
new TARGET.

Exit status: 0 when the copy is complete and verified, 1 otherwise, 2
usage error.
`

func runStore(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		return e.usagef(storeUsage, "store: missing subcommand")
	}
	switch args[0] {
	case "migrate":
		return runStoreMigrate(ctx, e, args[1:])
	case "copy":
		return runStoreCopy(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, storeUsage)
		return ExitOK
	}
	return e.usagef(storeUsage, "store: unknown subcommand %q", args[0])
}

func runStoreCopy(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "store copy", storeUsage)
	var from, to string
	fs.StringVar(&from, "from", "", "data directory to copy (embedded backend)")
	fs.StringVar(&to, "to", "", "destination: a data directory or a postgres:// URL")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 0 {
		return e.usagef(storeUsage, "store copy: unexpected arguments %q", pos)
	}
	if from == "" || to == "" {
		return e.usagef(storeUsage, "store copy: --from and --to are required")
	}
	// Opening a directory creates a store there: the source must be one.
	if _, err := os.Stat(filepath.Join(from, "rookery.db")); err != nil {
		return e.errorf("store copy: %s is not a data directory: %v", from, err)
	}
	if !isURL(to) && sameDir(from, to) {
		return e.errorf("store copy: --from and --to are the same directory")
	}
	shown := displayTarget(to) // without a password
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := openCopySource(ctx, from, log)
	if err != nil {
		return e.errorf("store copy: open %s: %v", from, err)
	}
	defer func() {
		if err := src.Close(); err != nil {
			e.errorf("store copy: close %s: %v", from, err)
		}
	}()
	dst, err := openTarget(ctx, to, log)
	if err != nil {
		return e.errorf("store copy: open %s: %v", shown, err)
	}
	defer func() {
		if err := dst.Close(); err != nil {
			e.errorf("store copy: close %s: %v", shown, err)
		}
	}()
	c, err := newCopier(src, dst, log)
	if err != nil {
		return e.errorf("store copy: %v", err)
	}
	return c.main(ctx, e, from, shown)
}

func runStoreMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "store migrate", storeUsage)
	var cfgFile, dsn string
	fs.StringVar(&cfgFile, "config", "", "configuration file (store.dsn)")
	fs.StringVar(&dsn, "dsn", "", "PostgreSQL connection string (instead of --config)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 0 {
		return e.usagef(storeUsage, "store migrate: unexpected arguments %q", pos)
	}
	switch {
	case cfgFile != "" && dsn != "":
		return e.usagef(storeUsage, "store migrate: --config and --dsn exclude each other")
	case cfgFile != "":
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return e.errorf("%v", err)
		}
		if cfg.Store.Backend != config.BackendPostgres {
			return e.errorf("store migrate: %s: store.backend is %q: only the %q backend has migrations to run by hand (the embedded store migrates itself when opened)",
				cfgFile, cfg.Store.Backend, config.BackendPostgres)
		}
		dsn = cfg.Store.DSN
	case dsn == "":
		return e.usagef(storeUsage, "store migrate: --config or --dsn is required")
	}
	applied, err := migrateStore(ctx, dsn)
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	if err != nil {
		return e.errorf("store migrate: %v", err)
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "the schema is up to date")
	}
	return ExitOK
}

// isURL reports whether a target is a URL ("scheme://...") rather than
// a directory.
func isURL(target string) bool {
	scheme, _, ok := strings.Cut(target, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, `/\`)
}

// sameDir reports whether a and b name one directory.
func sameDir(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	pa, errA := filepath.Abs(a)
	pb, errB := filepath.Abs(b)
	return errA == nil && errB == nil && pa == pb
}
