package store

import (
	"context"
	"time"
)

// Checker is implemented by a backend that can verify its own data and
// repair what it can (`rookery check`). It runs beside a live server:
// what it reads it reads consistently (one read transaction, or a
// re-check before reporting what other writers may have changed), and
// each repair recomputes what it fixes inside its own write transaction.
type Checker interface {
	// Check verifies the store and, with opts.Repair, repairs. Problems
	// are findings, not errors: an error means the check itself could
	// not run.
	Check(ctx context.Context, opts CheckOptions) (CheckReport, error)
}

// DefaultOrphanGrace is CheckOptions.OrphanGrace when it is zero.
const DefaultOrphanGrace = 24 * time.Hour

// CheckOptions say what Check does.
type CheckOptions struct {
	// Repair fixes what can be fixed: counters recomputed from the
	// messages, UIDNEXT and HIGHESTMODSEQ raised above what exists,
	// reference counts, mailbox keyword sets, index bookkeeping, unreferenced files older
	// than OrphanGrace removed. Contents whose index text must be
	// computed again are listed (Finding.Reindex) for the caller.
	Repair bool
	// Contents reads every stored content and compares it with its
	// address (SHA-256): slow, it reads all mail.
	Contents bool
	// OrphanGrace is how old an unreferenced content file must be to
	// count as a problem and be removed by Repair: a younger one may be
	// a message being stored (written before the transaction that
	// references it). Zero means DefaultOrphanGrace.
	OrphanGrace time.Duration
}

// CheckReport is what Check found and did.
type CheckReport struct {
	Findings []Finding
	// What was looked at.
	Accounts, Mailboxes, Messages, Contents, Files int64
}

// Problems counts the findings that are problems and were not repaired.
func (r CheckReport) Problems() int {
	n := 0
	for _, f := range r.Findings {
		if f.Problem && !f.Repaired {
			n++
		}
	}
	return n
}

// Finding is one thing Check found.
type Finding struct {
	// Kind names the invariant, stable for scripts: "integrity",
	// "foreign-key", "content-missing", "content-size", "content-hash",
	// "message-size", "refcount", "orphan-file",
	// "quota-counter", "status-counter", "uidnext", "highestmodseq",
	// "recent", "uid-expunged", "uidvalidity-counter", "keyword-set", "index",
	// "index-missing", "index-duplicate", "index-orphan",
	// "message-doc", "unindexed".
	Kind string
	// Problem is false for a notice: nothing is wrong with what the data
	// means (a young unreferenced file, a content not indexed yet that
	// searches read instead).
	Problem bool
	// Subject says what the finding is about (a mailbox, a content, a
	// file), Detail what is wrong with it.
	Subject, Detail string
	// Repaired is set when Repair fixed it; Repairable when Repair
	// would (or, with Reindex, the caller's reindex would).
	Repaired, Repairable bool
	// Reindex lists contents whose index text must be computed again:
	// a backend stores the texts it is given (package ingest computes
	// them), so the caller repairs the finding by reindexing them.
	Reindex []BlobID
}
