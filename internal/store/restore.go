package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Copying an installation to another backend (`rookery store copy`).
//
// A backend that an installation can be copied out of implements Dumper,
// one it can be copied into Restorer; every backend implements both (a
// copy is verified by dumping the destination too). The copy keeps every
// identity a client or an operator can see: account names, passwords and
// SCRAM verifiers, quotas, subscriptions, mailbox names, MailboxIDs (part
// of MAILBOXID), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special-use,
// keyword sets and \Recent boundaries, each message's UID, mod-sequence,
// flags, internal date (with its zone), save date, size and content
// (BlobIDs are content hashes, so EMAILID too), and the expunge history
// QRESYNC reads. It also carries what the UIDVALIDITY and MailboxID
// rules of the package invariants need to stay true afterwards (floors
// and retired names), so that the destination never gives out a value
// the source gave before.
//
// The caller (package cli) drives it: RestoreInstallation, then per
// account RestoreAccount (the account with all its mailboxes, in one
// transaction, already carrying their final UIDNEXT and HIGHESTMODSEQ),
// then per mailbox the contents through Store.WriteBlob and the messages
// in batches with RestoreMessages, and the expunge history with
// RestoreExpunged. Restores bypass the MailboxLimits and quotas (they are
// existing data) but keep every counter the backend maintains (usage,
// mailbox counters, keyword sets, reference counts, search index)
// consistent. RestoreMessages and RestoreExpunged skip what the mailbox
// holds already, so a copy interrupted anywhere is completed by running
// it again.

// ErrRestoreConflict refuses a restore that would give the destination
// an identity it has already given to something else (a MailboxID in
// use), or messages outside what their restored mailbox allows (a UID at
// or above its UIDNEXT, a mod-sequence above its HIGHESTMODSEQ).
var ErrRestoreConflict = errors.New("the destination holds conflicting data")

// InstallationDump is what an installation keeps beside its accounts for
// the UIDVALIDITY and MailboxID rules.
type InstallationDump struct {
	// MailboxIDFloor is at least every MailboxID the installation ever
	// gave, deleted mailboxes' included: the destination gives new
	// mailboxes IDs above it.
	MailboxIDFloor MailboxID
	// UIDValidityFloor is at least every UIDVALIDITY given before the
	// installation kept UIDVALIDITY per name: every account created
	// later starts above it (0 if there is no such value).
	UIDValidityFloor uint32
	// RetiredAccounts are deleted accounts' names with the highest
	// UIDVALIDITY they had: an account created again under one starts
	// above it.
	RetiredAccounts []RetiredAccount
}

// RetiredAccount is the name of a deleted account and the highest
// UIDVALIDITY it had or could have had.
type RetiredAccount struct {
	Name        string
	UIDValidity uint32
}

// AccountDump is an account as stored, with its mailboxes' metadata (not
// their messages: see Dumper.DumpMessages).
type AccountDump struct {
	// Name is the name exactly as stored (an account stored before
	// CanonicalAccountName keeps its spelling).
	Name         string
	PasswordHash string
	SCRAMSecret  string
	Created      time.Time // whole seconds
	// StorageLimit and MessageLimit are the account's own limits (see
	// Quota): nil follows the server default, 0 is unlimited.
	StorageLimit *int64
	MessageLimit *int64
	// Subscriptions are the subscribed names, sorted.
	Subscriptions []string
	// UIDValidityFloor is a value every later UIDVALIDITY of the account
	// must exceed; RetiredNames the UIDVALIDITY values that names had
	// before (a mailbox created under a name gets more than every
	// retired value of that name, and a mailbox renamed to a name that
	// had its value becomes a new incarnation). A backend that keeps no
	// per-name history may fold RetiredNames into its floor: that
	// keeps the rules, only with larger values.
	UIDValidityFloor uint32
	RetiredNames     []RetiredName
	// Mailboxes are every mailbox (NoSelect placeholders included),
	// sorted by name.
	Mailboxes []MailboxDump
}

// RetiredName is a UIDVALIDITY that a mailbox name had before.
type RetiredName struct {
	Name        string
	UIDValidity uint32
}

// MailboxDump is a mailbox's metadata as stored.
type MailboxDump struct {
	Mailbox // ID, Name, UIDValidity, UIDNext, HighestModSeq, SpecialUse, NoSelect; Account is the source's
	// Keywords is the keyword set (Snapshot.Keywords), sorted
	// case-insensitively.
	Keywords []string
	// RecentFrom is the first UID not yet claimed as \Recent
	// (Snapshot.RecentFrom).
	RecentFrom UID
	// RenewOnRename is set when a rename must give the mailbox a new
	// UIDVALIDITY whatever its new name (the backend could no longer
	// tell whether an earlier mailbox of that name had its value).
	RenewOnRename bool
}

// MessageDump is a message as stored, with what the index keeps of its
// content.
type MessageDump struct {
	// Message holds the UID, mod-sequence, flags, internal date (in its
	// zone), save date, size, blob and Anatomy (nil if none is stored);
	// Content is nil.
	Message
	// Text is the content's index text when the backend can give it
	// back, nil otherwise (the copy then extracts it again from the
	// content with the anatomy, above the store: package ingest).
	Text *IndexText
}

// ExpungedUID is a UID expunged from a mailbox and the mod-sequence of
// its expunge (Changes reports it to a client synchronised below it).
type ExpungedUID struct {
	UID    UID
	ModSeq ModSeq
}

// RestoreMessage is a message to restore: its content written by
// Store.WriteBlob first, with Blob.Anatomy and Blob.Text set from the
// source's dump, and its metadata as dumped.
type RestoreMessage struct {
	Blob         BlobRef
	UID          UID
	ModSeq       ModSeq
	Flags        Flags
	InternalDate time.Time // in its zone, kept
	SaveDate     time.Time
}

// Dumper reads an installation as stored, for a copy. Reads of a live
// installation are consistent per call; a copy is made of an installation
// that nothing changes meanwhile (and verified afterwards).
type Dumper interface {
	// DumpInstallation returns the installation-wide state.
	DumpInstallation(ctx context.Context) (InstallationDump, error)
	// DumpAccount returns the account stored under exactly name (as
	// listed by Store.Accounts) with its mailboxes' metadata, read in
	// one consistent read; ErrNoSuchAccount if there is none.
	DumpAccount(ctx context.Context, name string) (AccountDump, error)
	// DumpMessages returns up to limit messages of mbox with a UID above
	// after, in UID order; fewer than limit means there are no more.
	DumpMessages(ctx context.Context, mbox MailboxID, after UID, limit int) ([]MessageDump, error)
	// DumpExpunged returns up to limit entries of the expunge history of
	// mbox with a UID above after, in UID order; fewer than limit means
	// there are no more.
	DumpExpunged(ctx context.Context, mbox MailboxID, after UID, limit int) ([]ExpungedUID, error)
}

// Restorer writes what a Dumper read into a store, keeping the
// identities (see the comment at the top of this file). Each call is one
// transaction, durable when it returns, and publishes an event for each
// account and mailbox it changes, like other changes.
type Restorer interface {
	// RestoreInstallation raises the destination's installation-wide
	// floors and retired account names to at least d's (it never lowers
	// them, so it may run again).
	RestoreInstallation(ctx context.Context, d InstallationDump) error
	// RestoreAccount creates the account as dumped, with its name
	// exactly as given (not canonicalised), its limits, subscriptions,
	// UIDVALIDITY floor and retired names, and all its mailboxes with
	// their IDs, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special-use,
	// NoSelect, keyword set and \Recent boundary, and no messages (no
	// default mailboxes either), in one transaction. It fails with
	// ErrAccountExists when an account has that exact name, and with
	// ErrRestoreConflict when a MailboxID is in use. New MailboxIDs are
	// given above the restored ones afterwards.
	RestoreAccount(ctx context.Context, d AccountDump) (Account, error)
	// RestoreMailbox creates in the account acct one mailbox as d
	// describes it (`rookery import` of an export that kept UIDs): named
	// d.Name, with d's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special-use
	// and keyword set, no messages and none \Recent, and a new
	// MailboxID (d.ID, d.NoSelect, d.RecentFrom and d.RenewOnRename are
	// ignored), creating its missing parents as CreateMailbox does, in
	// one transaction. The messages follow with RestoreMessages.
	//
	// A mailbox of that name that never held a message (UIDNEXT 1, as
	// CreateAccount makes INBOX, Sent...) or a NoSelect placeholder
	// gives way to it, as a new incarnation: the UIDVALIDITY of a
	// placeholder that held messages is retired, as CreateMailbox does;
	// that of a mailbox that never held one named no message and is
	// not. Another mailbox of that name fails it with ErrMailboxExists.
	// It fails with ErrRestoreConflict when the UIDVALIDITY rules of the
	// package invariants forbid d.UIDValidity for the name: it must be
	// above the account's floor and above every UIDVALIDITY an earlier
	// mailbox of that name had. Like every restore it checks no
	// MailboxLimits.
	RestoreMailbox(ctx context.Context, acct AccountID, d MailboxDump) (Mailbox, error)
	// RestoreMessages adds msgs to the selectable mailbox mbox with
	// their UIDs, mod-sequences, flags and dates, in one transaction,
	// leaving its UIDNEXT and HIGHESTMODSEQ as they are (restored
	// already) and skipping every message whose UID the mailbox holds
	// already; it returns how many it added. It checks no quota or
	// limit, adds the messages' keywords to the keyword set if missing,
	// stores each new content's anatomy and index text as Append does,
	// and fails with ErrRestoreConflict for a UID at or above UIDNEXT or
	// a mod-sequence above HIGHESTMODSEQ.
	RestoreMessages(ctx context.Context, mbox MailboxID, msgs []RestoreMessage) (int, error)
	// RestoreExpunged adds entries to the expunge history of mbox, in
	// one transaction, skipping UIDs it records already. It fails with
	// ErrRestoreConflict for a UID at or above UIDNEXT or a
	// mod-sequence above HIGHESTMODSEQ.
	RestoreExpunged(ctx context.Context, mbox MailboxID, exp []ExpungedUID) error
}

// CheckRestoreMailbox refuses a RestoreMailbox of a mailbox the store
// could not have: a name not in canonical form, an unknown special-use,
// a zero UIDVALIDITY, UIDNEXT or HIGHESTMODSEQ, an invalid keyword.
func CheckRestoreMailbox(d MailboxDump) error {
	if cn, err := CanonicalMailboxName(d.Name); err != nil {
		return err
	} else if cn != d.Name {
		return fmt.Errorf("mailbox name %q is not in canonical form (%q): %w", d.Name, cn, ErrInvalidName)
	}
	if su, err := CanonicalSpecialUse(d.SpecialUse); err != nil {
		return fmt.Errorf("mailbox %q: %w", d.Name, err)
	} else if su != d.SpecialUse {
		return fmt.Errorf("mailbox %q: special-use %q is not in canonical form: %w", d.Name, d.SpecialUse, ErrSpecialUseInvalid)
	}
	if d.UIDValidity == 0 || d.UIDNext == 0 || d.HighestModSeq == 0 {
		return fmt.Errorf("mailbox %q: UIDVALIDITY %d, UIDNEXT %d, HIGHESTMODSEQ %d: none may be 0", d.Name, d.UIDValidity, d.UIDNext, d.HighestModSeq)
	}
	if _, err := NormalizeKeywords(d.Keywords); err != nil {
		return fmt.Errorf("mailbox %q: %w", d.Name, err)
	}
	return nil
}
