package cli

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"rookery/internal/ingest"
	"rookery/internal/store"
)

const checkUsage = `Usage:
  rookery check [--repair] [--contents] [--grace DURATION]
                [--data DIR | --config FILE]

Verifies a data directory and prints what it finds:
  - the database: SQLite's integrity and foreign-key checks, the search
    index's own check;
  - message contents against their rows: every content present with its
    recorded size (with --contents also its SHA-256, which reads all
    mail), reference counts, files that no row references;
  - the counters kept beside the messages: usage per account (QUOTA) and
    the STATUS counters per mailbox;
  - UIDs and mod-sequences: every UID below its mailbox's UIDNEXT, every
    mod-sequence at most its HIGHESTMODSEQ, no UID both present and
    expunged, the UIDVALIDITY counter ahead of every mailbox;
  - keywords: every keyword a message carries in its mailbox's keyword
    set (what SELECT's FLAGS lists and max_keywords_per_mailbox counts);
  - the search index: every message's text indexed or queued for the
    indexer.

With --repair it fixes what can be fixed and says what it did: counters
recomputed, UIDNEXT and HIGHESTMODSEQ raised above what exists, reference
counts, missing keywords added to their mailbox's set, the search index rebuilt or messages reindexed, unreferenced files
removed once older than --grace (default 24h: a younger one may be a
message being stored). Lost or damaged contents cannot be repaired: they
are reported with the messages they belong to. It may run while the
server runs.

Problems are listed as "problem" (or "repaired"); "notice" lines are not
problems (a young unreferenced file, messages stored before the search
index, which searches read instead until reindexed).

Exit status: 0 when no problem remains (after --repair, checked again),
1 when problems remain or the check could not run, 2 usage error.
`

func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "check", checkUsage)
	var f userFlags
	var opts store.CheckOptions
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir)")
	fs.BoolVar(&opts.Repair, "repair", false, "fix what can be fixed")
	fs.BoolVar(&opts.Contents, "contents", false, "read every message content and verify its hash")
	fs.DurationVar(&opts.OrphanGrace, "grace", store.DefaultOrphanGrace, "age below which an unreferenced file is kept")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 0 {
		return e.usagef(checkUsage, "check: unexpected arguments %q", pos)
	}
	if opts.OrphanGrace <= 0 {
		return e.usagef(checkUsage, "check: --grace must be positive")
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
	checker, ok := st.Store.(store.Checker)
	if !ok {
		return e.errorf("check: the storage backend cannot check itself")
	}

	start := time.Now()
	rep, err := checker.Check(ctx, opts)
	if err != nil {
		return e.errorf("check: %v", err)
	}
	if opts.Repair {
		if err := reindexFindings(ctx, st, &rep, st.log); err != nil {
			printFindings(e, rep, opts.Repair)
			return e.errorf("check: %v", err)
		}
	}
	fmt.Fprintf(e.stdout, "checked %s in %s: %d accounts, %d mailboxes, %d messages, %d contents (%d in files)\n",
		storeName(cfg), time.Since(start).Round(time.Millisecond), rep.Accounts, rep.Mailboxes, rep.Messages, rep.Contents, rep.Files)
	printFindings(e, rep, opts.Repair)
	fixed := repaired(rep)
	if fixed == 0 {
		return summary(e, rep, 0)
	}
	// Say what is left, as a check without --repair would.
	again := opts
	again.Repair = false
	rep, err = checker.Check(ctx, again)
	if err != nil {
		return e.errorf("check after the repair: %v", err)
	}
	fmt.Fprintln(e.stdout, "checked again after the repair:")
	var left store.CheckReport
	for _, f := range rep.Findings {
		if f.Problem {
			left.Findings = append(left.Findings, f)
		}
	}
	printFindings(e, left, false)
	return summary(e, rep, fixed)
}

// reindexFindings repairs the findings that list contents to reindex:
// the store cannot compute index texts, package ingest does.
func reindexFindings(ctx context.Context, st store.Store, rep *store.CheckReport, log *slog.Logger) error {
	for i, f := range rep.Findings {
		if len(f.Reindex) == 0 {
			continue
		}
		n, err := ingest.ReindexContents(ctx, st, f.Reindex, log)
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		rep.Findings[i].Repaired = true
		rep.Findings[i].Detail += fmt.Sprintf(" (reindexed %d)", n)
	}
	return nil
}

func repaired(rep store.CheckReport) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Repaired {
			n++
		}
	}
	return n
}

// printFindings writes one line per finding: its status, kind, subject
// and detail.
func printFindings(e *env, rep store.CheckReport, repair bool) {
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	for _, f := range rep.Findings {
		status := "notice"
		switch {
		case f.Repaired:
			status = "repaired"
		case f.Problem:
			status = "problem"
		}
		hint := ""
		if !f.Repaired && f.Repairable && !repair {
			hint = " (--repair fixes it)"
		}
		if f.Problem && !f.Repairable {
			hint = " (cannot be repaired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s: %s%s\n", status, f.Kind, f.Subject, f.Detail, hint)
	}
	tw.Flush()
}

// summary prints the counts (fixed: findings the repair fixed) and
// returns the exit status.
func summary(e *env, rep store.CheckReport, fixed int) int {
	notices := 0
	for _, f := range rep.Findings {
		if !f.Problem && !f.Repaired {
			notices++
		}
	}
	problems := rep.Problems()
	fmt.Fprintf(e.stdout, "%d problems, %d repaired, %d notices\n", problems, fixed, notices)
	if problems > 0 {
		return ExitFailure
	}
	return ExitOK
}
