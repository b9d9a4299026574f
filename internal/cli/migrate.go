package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"rookery/internal/migrate"
	"rookery/internal/store"
)

// ExitIncomplete is the exit status of a migration that went through
// every mailbox but could not copy every message (or mailbox).
const ExitIncomplete = 3

const migrateUsage = `Usage:
  rookery migrate USER --from URL --login NAME --password-file FILE
                  [--ca-file FILE] [--insecure-skip-verify] [--allow-plaintext]
                  [--state-dir DIR] [--data DIR | --config FILE]
  rookery migrate --csv FILE [--concurrency N] [--ca-file FILE]
                  [--insecure-skip-verify] [--allow-plaintext]
                  [--state-dir DIR] [--data DIR | --config FILE]

Copies a live account of another IMAP server into the existing Rookery
account USER: every mailbox with its hierarchy (the source's delimiter
becomes "/"), subscriptions, special-use, and every message with its
flags, keywords and internal date, byte for byte. It may run while the
server serves USER.

URL is imaps://HOST[:PORT] (TLS, port 993 by default) or imap://HOST[:PORT]
(port 143, upgraded with STARTTLS; refused if the server cannot, unless
--allow-plaintext, which sends the password in clear). --ca-file trusts
the PEM certificates in FILE (a private CA or a self-signed server);
--insecure-skip-verify accepts any certificate. The password is read from
the first line of --password-file.

Running it again copies only what the account lacks: a message is
compared with those of the target mailbox by size and internal date, and
by content hash (the content is fetched then) where that is not enough;
so an interrupted run, even one killed, is completed by running it again,
without duplicates. The flags of messages already there are set to the
source's. With --state-dir, the source's UIDVALIDITY and HIGHESTMODSEQ
are kept per mailbox in DIR/USER.json after each run, and a source with
CONDSTORE is asked only for what changed since (a mailbox where nothing
did is skipped); without it, every run compares whole mailboxes (still
fetching only the contents that are missing).

A source mailbox with a special-use (or, if the source says none, a
well-known name: Sent, Sent Items, Drafts, Trash, Deleted Items, Junk,
Spam, Archive) goes into the account's mailbox with that special-use
(a new account's Sent, Drafts, Trash, Junk, Archive), unless a source
mailbox has that name. A dropped connection is reconnected (5 attempts
in a row without progress, waiting 1 s, 2 s, 4 s...), and the run goes on
where it was.

--csv migrates many accounts, --concurrency at a time (default 4). FILE
has one account per line:
  user,source_url,login,password_file
e.g.
  alice,imaps://mail.example.net:993,alice@example.net,/root/pw/alice
Blank lines and lines starting with # are skipped, and so is a first line
"user,source_url,login,password_file". Fields may be quoted as in CSV. A
relative password_file is relative to the CSV file's directory. TLS
flags apply to every line.

Progress goes to stderr (a bar on a terminal), the report to stdout: per
mailbox the messages of the source, copied, already present, unchanged
(skipped by --state-dir) and failed; with --csv one line per account.

Exit status: 0 every message of every mailbox is in the account; 3 the
run went through every mailbox but some messages or mailboxes failed
(listed); 1 the run stopped (connection lost beyond the retries, login
refused, storage error: run it again once the cause is fixed); 2 usage.
With --csv, the worst status of the accounts.
`

// migrateFlags are the flags of rookery migrate.
type migrateFlags struct {
	userFlags
	from, login, passwordFile string
	caFile                    string
	insecure, plaintext       bool
	stateDir                  string
	csv                       string
	concurrency               int
}

func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "migrate", migrateUsage)
	var f migrateFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (data_dir or store.dsn)")
	fs.StringVar(&f.from, "from", "", "source server: imaps://HOST:PORT or imap://HOST:PORT")
	fs.StringVar(&f.login, "login", "", "login name on the source")
	fs.StringVar(&f.passwordFile, "password-file", "", "file whose first line is the source password")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM certificates to trust for the source")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "accept any certificate from the source (test servers)")
	fs.BoolVar(&f.plaintext, "allow-plaintext", false, "imap:// without STARTTLS: password in clear")
	fs.StringVar(&f.stateDir, "state-dir", "", "directory keeping each account's CONDSTORE state between runs")
	fs.StringVar(&f.csv, "csv", "", "migrate the accounts listed in FILE (user,source_url,login,password_file)")
	fs.IntVar(&f.concurrency, "concurrency", 4, "accounts migrated at once with --csv")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	var jobs []migrateJob
	if f.csv != "" {
		if len(pos) > 0 || f.from != "" || f.login != "" || f.passwordFile != "" {
			return e.usagef(migrateUsage, "migrate: --csv takes no USER, --from, --login or --password-file")
		}
		if f.concurrency < 1 {
			return e.usagef(migrateUsage, "migrate: --concurrency must be at least 1")
		}
		if jobs, err = readMigrateCSV(f.csv); err != nil {
			return e.errorf("migrate: %v", err)
		}
	} else {
		if len(pos) != 1 || f.from == "" || f.login == "" || f.passwordFile == "" {
			return e.usagef(migrateUsage, "migrate: want USER, --from, --login and --password-file (or --csv FILE)")
		}
		jobs = []migrateJob{{user: pos[0], url: f.from, login: f.login, passwordFile: f.passwordFile, where: "command line"}}
	}
	// Check every job before touching anything.
	for i := range jobs {
		if err := jobs[i].prepare(f); err != nil {
			return e.errorf("migrate: %v", err)
		}
	}
	if f.stateDir != "" {
		if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
			return e.errorf("migrate: state directory: %v", err)
		}
	}
	cfg, err := f.loadExistingConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()
	for _, j := range jobs {
		if _, err := st.Account(ctx, j.user); err != nil {
			if errors.Is(err, store.ErrNoSuchAccount) {
				return e.errorf("migrate: %s: no such account in %s (create it first: rookery user add %s)", j.user, storeName(cfg), j.user)
			}
			return e.errorf("migrate: %s: %v", j.user, err)
		}
	}
	if f.csv == "" {
		return migrateOne(ctx, e, st, jobs[0], f)
	}
	return migrateMany(ctx, e, st, jobs, f)
}

// migrateJob is one account to migrate.
type migrateJob struct {
	user, url, login, passwordFile string
	where                          string // "FILE:LINE" for messages
	src                            migrate.Source
}

// prepare parses the job's URL and reads its password.
func (j *migrateJob) prepare(f migrateFlags) error {
	src, err := migrate.ParseURL(j.url, f.plaintext)
	if err != nil {
		return fmt.Errorf("%s: %w", j.where, err)
	}
	src.Login = j.login
	if src.Password, err = migrate.ReadPasswordFile(j.passwordFile); err != nil {
		return fmt.Errorf("%s: %w", j.where, err)
	}
	src.CAFile, src.InsecureSkipVerify = f.caFile, f.insecure
	j.src = src
	return nil
}

// readMigrateCSV reads the accounts of --csv (see migrateUsage).
func readMigrateCSV(path string) ([]migrateJob, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := csv.NewReader(io.LimitReader(fh, 64<<20))
	r.Comment = '#'
	r.FieldsPerRecord = 4
	r.TrimLeadingSpace = true
	var jobs []migrateJob
	seen := map[string]string{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("%s:%d", path, line)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && strings.EqualFold(rec[0], "user") && strings.EqualFold(rec[1], "source_url") {
			continue
		}
		for i, name := range []string{"user", "source_url", "login", "password_file"} {
			if rec[i] == "" {
				return nil, fmt.Errorf("%s: empty %s", where, name)
			}
		}
		key := strings.ToLower(rec[0])
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s: user %s is on %s already (one migration per account at a time)", where, rec[0], prev)
		}
		seen[key] = where
		pw := rec[3]
		if !filepath.IsAbs(pw) {
			pw = filepath.Join(filepath.Dir(path), pw)
		}
		jobs = append(jobs, migrateJob{user: rec[0], url: rec[1], login: rec[2], passwordFile: pw, where: where})
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no accounts", path)
	}
	return jobs, nil
}

// options are the migrate.Options of a job.
func (j migrateJob) options(st store.Store, f migrateFlags, prog migrate.Progress) (migrate.Options, error) {
	o := migrate.Options{Store: st, Account: j.user, Source: j.src, Progress: prog}
	if f.stateDir != "" {
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == os.PathSeparator || r < ' ' {
				return '_'
			}
			return r
		}, strings.ToLower(j.user))
		s, err := migrate.OpenState(filepath.Join(f.stateDir, name+".json"), j.src.String(), j.login, j.user)
		if err != nil {
			return o, err
		}
		o.State = s
	}
	return o, nil
}

// migrateOne migrates one account with a progress bar and a report per
// mailbox.
func migrateOne(ctx context.Context, e *env, st adminStore, j migrateJob, f migrateFlags) int {
	prog := newProgress(e.stderr, 0, 0)
	prog.linef("migrating %s from %s (login %s)", j.user, j.src.String(), j.login)
	o, err := j.options(st, f, migrate.Progress{
		Total: func(n int64) { prog.total = n; prog.draw() },
		Add:   prog.add,
		Mailbox: func(name string) {
			if prog.bar {
				prog.step(name)
			} else {
				prog.linef("mailbox %s", name)
			}
		},
		Line: prog.linef,
	})
	if err != nil {
		return e.errorf("migrate %s: %v", j.user, err)
	}
	o.Log = st.log
	start := time.Now()
	rep, err := migrate.Run(ctx, o)
	prog.finish()
	if rep != nil {
		printMigrateReport(e.stdout, rep, time.Since(start))
	}
	if err != nil {
		if ctx.Err() != nil {
			return e.errorf("migrate %s: interrupted: run the same command again to complete it", j.user)
		}
		return e.errorf("migrate %s: %v\nrun the same command again to complete it once the cause is fixed", j.user, err)
	}
	if !rep.Complete() {
		fmt.Fprintf(e.stderr, "rookery: migrate %s: some messages or mailboxes could not be copied (see above)\n", j.user)
		return ExitIncomplete
	}
	return ExitOK
}

// printMigrateReport writes the per-mailbox table and the totals.
func printMigrateReport(w io.Writer, rep *migrate.Report, took time.Duration) {
	src, copied, present, unchanged, failed := rep.Totals()
	w1, w2 := len("source mailbox"), len("target")
	for _, m := range rep.Mailboxes {
		w1, w2 = max(w1, len(m.Source)), max(w2, len(m.Target))
	}
	row := func(a, b string, n ...any) {
		fmt.Fprintf(w, "%-*s  %-*s"+strings.Repeat("  %9v", len(n))+"\n", append([]any{w1, a, w2, b}, n...)...)
	}
	row("source mailbox", "target", "source", "copied", "present", "unchanged", "failed")
	for _, m := range rep.Mailboxes {
		row(m.Source, m.Target, m.SourceCount, m.Copied, m.Present, m.Unchanged, m.Failed)
	}
	row("total", "", src, copied, present, unchanged, failed)
	for _, m := range rep.Mailboxes {
		if m.Err != nil {
			fmt.Fprintf(w, "%s: FAILED: %v\n", m.Source, m.Err)
		}
		for _, s := range m.Errors {
			fmt.Fprintf(w, "%s: %s\n", m.Source, s)
		}
		if m.Vanished > 0 {
			fmt.Fprintf(w, "%s: %d messages were expunged on the source during the run\n", m.Source, m.Vanished)
		}
		if m.FlagsUpdated > 0 {
			fmt.Fprintf(w, "%s: flags of %d messages set to the source's\n", m.Source, m.FlagsUpdated)
		}
	}
	fmt.Fprintf(w, "fetched %d message contents (%s) in %v, %d reconnections\n",
		rep.Fetched, formatBytes(rep.FetchedBytes), took.Round(time.Millisecond), rep.Reconnects)
	if rep.Complete() {
		fmt.Fprintf(w, "verified: all %d source messages are in the account (%d copied, %d present, %d unchanged)\n",
			src, copied, present, unchanged)
	}
}

// migrateMany migrates jobs, f.concurrency at a time, with one line per
// account.
func migrateMany(ctx context.Context, e *env, st adminStore, jobs []migrateJob, f migrateFlags) int {
	var mu sync.Mutex // prog, e.stdout and worst
	prog := newProgress(e.stderr, int64(len(jobs)), 0)
	prog.linef("migrating %d accounts, %d at a time", len(jobs), f.concurrency)
	worst := ExitOK
	rank := map[int]int{ExitOK: 0, ExitIncomplete: 1, ExitFailure: 2}
	work := make(chan migrateJob)
	var wg sync.WaitGroup
	for range min(f.concurrency, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				code, line := migrateAccount(ctx, st, j, f)
				mu.Lock()
				if rank[code] > rank[worst] {
					worst = code
				}
				fmt.Fprintln(e.stdout, line)
				prog.add(1, 0)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		select {
		case work <- j:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	prog.finish()
	if ctx.Err() != nil {
		return e.errorf("migrate: interrupted: run the same command again to complete it")
	}
	return worst
}

// migrateAccount migrates one account of a --csv run and returns its
// exit status and summary line.
func migrateAccount(ctx context.Context, st adminStore, j migrateJob, f migrateFlags) (int, string) {
	o, err := j.options(st, f, migrate.Progress{})
	if err != nil {
		return ExitFailure, fmt.Sprintf("%s: FAILED: %v", j.user, err)
	}
	o.Log = st.log
	start := time.Now()
	rep, err := migrate.Run(ctx, o)
	took := time.Since(start).Round(time.Millisecond)
	if rep == nil {
		return ExitFailure, fmt.Sprintf("%s: FAILED: %v", j.user, err)
	}
	src, copied, present, unchanged, failed := rep.Totals()
	counts := fmt.Sprintf("%d mailboxes, %d source messages: %d copied, %d present, %d unchanged, %d failed, %d reconnections, %v",
		len(rep.Mailboxes), src, copied, present, unchanged, failed, rep.Reconnects, took)
	switch {
	case err != nil:
		return ExitFailure, fmt.Sprintf("%s: FAILED (%s): %v", j.user, counts, err)
	case !rep.Complete():
		var why []string
		for _, m := range rep.Mailboxes {
			if m.Err != nil {
				why = append(why, fmt.Sprintf("%s: %v", m.Source, m.Err))
			}
			for _, s := range m.Errors {
				why = append(why, m.Source+": "+s)
			}
		}
		return ExitIncomplete, fmt.Sprintf("%s: INCOMPLETE (%s): %s", j.user, counts, strings.Join(why, "; "))
	}
	return ExitOK, fmt.Sprintf("%s: complete (%s)", j.user, counts)
}
