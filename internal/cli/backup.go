package cli

import (
	"context"
	"fmt"
	"time"

	"rookery/internal/config"
	"rookery/internal/store"
)

const backupUsage = `Usage:
  rookery backup DIR [--config FILE | --data DIR] [--copy] [--rate SIZE]

Writes a backup of the embedded store (data directory) into DIR, a new or
empty directory, while the server keeps serving: the database as of one
instant (SQLite's online backup inside one read transaction) and every
content file it references (hard links when DIR is on the same file
system, copies otherwise; --copy always copies). Files the server would
delete meanwhile (expunged mail) are kept until the backup has them.
Everything is fsynced; DIR/rookery-backup.json, with counts and the
database's SHA-256, is written last: a directory without it is an
incomplete backup, which restore refuses.

--rate bounds the bytes of the database and of copied files written per
second, to spare a busy server's disk (default 32M: measured, a backup at
that rate cost the mixed workload about 5% of its throughput, an
unbounded one 30-40%); 0 does not bound them.

With the PostgreSQL backend the mail lives in the database: back it up
with PostgreSQL's tools (pg_dump, pg_basebackup; README, Backup and
restore). This command then exits with status 1.
`

const restoreUsage = `Usage:
  rookery restore DIR [--config FILE | --data DIR] [--force] [--copy]

Restores the backup in DIR (made by rookery backup) into the data
directory. It first verifies the whole backup (its manifest, the
database's SHA-256, every content file's hash), then writes the data
directory. It refuses a data directory that holds a store unless
--force (which replaces it), and, even with --force, one that a rookery
process (serve, deliver, check, backup) has open. Until it completes
the directory carries the file restore-in-progress, and no rookery
command opens it; running the same restore again completes it. Content
files are hard-linked from DIR where possible (they never change);
--copy copies them. It ends with rookery check's checks (not --contents).
`

// defaultBackupRate is rookery backup's default --rate (BENCHMARKS.md,
// Backup beside the mixed workload).
const defaultBackupRate = "32M"

func runBackup(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "backup", backupUsage)
	var f userFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir and the backend)")
	copyFiles := fs.Bool("copy", false, "copy content files even where a hard link is possible")
	rate := fs.String("rate", defaultBackupRate, "bytes per second at most (e.g. 50M; 0: no bound)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) != 1 {
		return e.usagef(backupUsage, "backup: want exactly one DIR")
	}
	bps, err := config.ParseSize(*rate)
	if err != nil {
		return e.usagef(backupUsage, "backup: --rate: %v", err)
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	if cfg.Store.Backend == config.BackendPostgres {
		return e.errorf("backup: the store is PostgreSQL, where all mail lives in the database: " +
			"back it up with pg_dump (logical) or pg_basebackup (physical, with WAL archiving for point-in-time recovery); " +
			"see README.md, \"Backup and restore\"")
	}
	if err := storeExists(cfg); err != nil {
		return e.errorf("backup: %v", err)
	}
	start := time.Now()
	prog := newPhaseProgress(e)
	m, err := backupDataDir(ctx, cfg.DataDir, pos[0], *copyFiles, int64(bps), prog.report)
	prog.finish()
	if err != nil {
		return e.errorf("%v (%s is not a complete backup)", err, pos[0])
	}
	fmt.Fprintf(e.stdout, "backup of %s in %s: %d accounts, %d mailboxes, %d messages; database %s (SHA-256 %s); %d content files, %s (%d linked); %s\n",
		cfg.DataDir, pos[0], m.Accounts, m.Mailboxes, m.Messages, formatBytes(m.DatabaseBytes), m.DatabaseSHA256[:16],
		m.Files, formatBytes(m.FileBytes), m.Linked, time.Since(start).Round(time.Millisecond))
	return ExitOK
}

func runRestore(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "restore", restoreUsage)
	var f userFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.data, "data-dir", "", "data directory (same as --data)")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir)")
	force := fs.Bool("force", false, "replace the store the data directory holds")
	copyFiles := fs.Bool("copy", false, "copy content files even where a hard link is possible")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) != 1 {
		return e.usagef(restoreUsage, "restore: want exactly one DIR")
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	if cfg.Store.Backend == config.BackendPostgres {
		return e.errorf("restore: the store is PostgreSQL: restore it with pg_restore or from a base backup; see README.md, \"Backup and restore\"")
	}
	start := time.Now()
	prog := newPhaseProgress(e)
	m, err := restoreDataDir(ctx, pos[0], cfg.DataDir, *force, *copyFiles, prog.report)
	prog.finish()
	if err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "restored %s (taken %s from %s) into %s: %d accounts, %d mailboxes, %d messages, %d content files; %s\n",
		pos[0], m.Created.Format(time.RFC3339), m.Source, cfg.DataDir, m.Accounts, m.Mailboxes, m.Messages, m.Files,
		time.Since(start).Round(time.Millisecond))
	// Open it as the server will (migrations of an older backup apply)
	// and check it.
	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()
	checker, ok := st.Store.(store.Checker)
	if !ok {
		return ExitOK
	}
	rep, err := checker.Check(ctx, store.CheckOptions{})
	if err != nil {
		return e.errorf("restore: check: %v", err)
	}
	problems := 0
	for _, fd := range rep.Findings {
		if fd.Problem {
			problems++
			fmt.Fprintf(e.stderr, "problem: %s %s: %s\n", fd.Kind, fd.Subject, fd.Detail)
		}
	}
	if problems > 0 {
		return e.errorf("restore: the restored store has %d problems (rookery check lists them)", problems)
	}
	fmt.Fprintf(e.stdout, "check: %d accounts, %d messages, no problem\n", m.Accounts, m.Messages)
	return ExitOK
}

// phaseProgress shows a backup's or restore's phases: a bar on a
// terminal, and otherwise a line when a phase starts and at every tenth
// of its bytes.
type phaseProgress struct {
	e     *env
	p     *progress
	phase string
	tenth int64
}

func newPhaseProgress(e *env) *phaseProgress {
	return &phaseProgress{e: e, p: newProgress(e.stderr, 0, 0)}
}

func (pp *phaseProgress) report(r backupProgress) {
	p := pp.p
	if r.Phase != pp.phase {
		pp.phase, pp.tenth = r.Phase, -1
		p.unit = "files"
		p.label = r.Phase
		p.linef("%s: %s", r.Phase, formatBytes(r.Bytes))
	}
	p.done, p.total, p.doneBytes, p.totalBytes = r.Done, r.Total, r.DoneBytes, r.Bytes
	if p.bar {
		p.draw()
		return
	}
	if r.Bytes > 0 {
		if t := r.DoneBytes * 10 / r.Bytes; t > pp.tenth {
			pp.tenth = t
			if t > 0 {
				fmt.Fprintf(p.w, "%s: %d%% (%s of %s)\n", r.Phase, t*10, formatBytes(r.DoneBytes), formatBytes(r.Bytes))
			}
		}
	}
}

func (pp *phaseProgress) finish() { pp.p.finish() }
