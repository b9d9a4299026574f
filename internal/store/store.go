// Package store defines the storage interface that the protocol layer uses,
// its domain types and its sentinel errors. It holds no SQL, no IMAP syntax
// and no file paths: backends (sqlitestore, later pgstore) implement Store and
// pass the shared conformance suite in storetest.
//
// Invariants every backend keeps:
//   - Every multi-step change runs in one transaction; per-mailbox UIDNEXT and
//     HIGHESTMODSEQ are advanced inside the same transaction as the change.
//   - UIDs are strictly increasing within a mailbox and never reused, also
//     across restarts and crashes. UIDVALIDITY is fixed for a mailbox's
//     life, and a name never designates two mailboxes with one
//     UIDVALIDITY: a mailbox created with a name gets a greater one than
//     every earlier mailbox of that name, and a mailbox renamed to a name
//     that an earlier mailbox with its UIDVALIDITY had becomes a new
//     incarnation (new UIDVALIDITY and MailboxID, same messages and
//     UIDs). Mailboxes of different names may share a UIDVALIDITY.
//     MailboxIDs are never reused.
//   - Every change (append, flag change, expunge) gives the touched messages a
//     new mod-sequence, and expunged UIDs are kept with their mod-sequence.
//     One call that changes a mailbox advances its HIGHESTMODSEQ by exactly
//     one, and every message it changed gets that mod-sequence: a session
//     synchronised to the mod-sequence below knows from the call's result
//     alone that nothing else changed.
//   - A method returns only after its change is durable on disk, and then
//     publishes an events.Event for the mailbox.
//   - Mailbox names are UTF-8 with "/" as the hierarchy separator; "INBOX" is
//     matched case-insensitively and always returned as "INBOX".
//   - Each mailbox has a keyword set (Snapshot.Keywords): every keyword a
//     message of the mailbox carries or has carried since the mailbox was
//     created, compared case-insensitively, with the spelling first
//     stored. A keyword stays in the set when the last message carrying
//     it loses it or is expunged (clients expect a FLAGS list that does
//     not shrink under them), until the mailbox is deleted; a renamed
//     mailbox keeps its set, and RENAME of INBOX gives the new mailbox a
//     copy of INBOX's. The set is bounded by MailboxLimits.MaxKeywords.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"rookery/internal/imapnum"
)

// Separator is the mailbox hierarchy separator.
const Separator = '/'

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	ErrNoSuchAccount     = errors.New("no such account")
	ErrAccountExists     = errors.New("account already exists")
	ErrNoSuchMailbox     = errors.New("no such mailbox")
	ErrMailboxExists     = errors.New("mailbox already exists")
	ErrMailboxNoSelect   = errors.New("mailbox is not selectable")
	ErrHasChildren       = errors.New("mailbox has inferior hierarchical names")
	ErrInvalidName       = errors.New("invalid mailbox name")
	ErrInboxDelete       = errors.New("INBOX cannot be deleted")
	ErrOverQuota         = errors.New("over quota")
	ErrNoSuchMessage     = errors.New("no such message")
	ErrTooBig            = errors.New("message too big")
	ErrSpecialUseInvalid = errors.New("unknown special-use attribute")
	// ErrNameTooLong and ErrNameTooDeep refuse a name beyond
	// MailboxLimits; ErrTooManyMailboxes a change that would leave an
	// account with more mailboxes than MailboxLimits.MaxMailboxes, and
	// ErrTooManySubscriptions a subscription beyond it.
	ErrNameTooLong          = errors.New("mailbox name too long")
	ErrNameTooDeep          = errors.New("mailbox hierarchy too deep")
	ErrTooManyMailboxes     = errors.New("too many mailboxes")
	ErrTooManySubscriptions = errors.New("too many subscriptions")
	// ErrTooManyKeywords refuses a StoreFlags, Append, Copy or Move that
	// would leave a mailbox more keywords than MailboxLimits.MaxKeywords;
	// ErrKeywordTooLong a keyword new to a mailbox, named by StoreFlags
	// or Append, longer than MailboxLimits.MaxKeywordBytes.
	ErrTooManyKeywords = errors.New("too many keywords in the mailbox")
	ErrKeywordTooLong  = errors.New("keyword too long")
	// ErrUnavailable says that the backend could not be reached (a
	// database server down or a connection lost): the call did not
	// happen, or, for a change whose commit was under way, its outcome
	// is unknown. The caller may try again later; the backend
	// reconnects by itself.
	ErrUnavailable = errors.New("storage unavailable")
)

// MailboxLimits bound what one account can make a store keep in mailbox
// names and in a mailbox's keyword set; a zero field is unlimited.
// Backends enforce them inside the transaction of the change, so that
// concurrent sessions cannot pass them together: CreateMailbox and
// RenameMailbox check the length and depth of every name they give a
// mailbox (a renamed mailbox's descendants included) and refuse to leave
// more than MaxMailboxes mailboxes (parents created on the way and
// NoSelect placeholders count) when they add any; SetSubscribed checks
// the name and keeps at most MaxMailboxes subscriptions. StoreFlags,
// Append, Copy and Move refuse, as a whole, a change that would add
// keywords to a mailbox's set beyond MaxKeywords, and StoreFlags and
// Append a keyword new to the set longer than MaxKeywordBytes. Mailboxes
// (and keywords) created before a limit was lowered stay usable: a
// keyword already in the set may be stored, removed and copied in
// whatever its length and however many the set holds.
type MailboxLimits struct {
	// MaxNameBytes bounds a name's length in bytes of its UTF-8 form
	// (the store's form, whatever encoding the client used).
	MaxNameBytes int
	// MaxDepth bounds the number of levels of a name ("a/b/c" has 3).
	MaxDepth int
	// MaxMailboxes bounds the number of mailboxes of an account, and
	// separately the number of its subscriptions.
	MaxMailboxes int
	// MaxKeywords bounds the keyword set of one mailbox (distinct
	// keywords, compared case-insensitively; see Snapshot.Keywords).
	// Copy and Move count the keywords their messages bring.
	MaxKeywords int
	// MaxKeywordBytes bounds the length of a keyword a client adds to a
	// mailbox (StoreFlags, Append). Copy and Move are not refused for
	// the length of the keywords their messages carry: those exist.
	MaxKeywordBytes int
}

// CheckName fails with ErrNameTooLong or ErrNameTooDeep when name is
// beyond l.
func (l MailboxLimits) CheckName(name string) error {
	if l.MaxNameBytes > 0 && len(name) > l.MaxNameBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrNameTooLong, len(name), l.MaxNameBytes)
	}
	if l.MaxDepth > 0 {
		if d := strings.Count(name, string(Separator)) + 1; d > l.MaxDepth {
			return fmt.Errorf("%w: %d levels, at most %d", ErrNameTooDeep, d, l.MaxDepth)
		}
	}
	return nil
}

// SpecialUses are the special-use attributes (RFC 6154) a mailbox may
// carry, in their canonical spelling. \All and \Flagged are not among
// them: they promise a mailbox that shows every (flagged) message, which a
// mailbox of stored messages is not.
var SpecialUses = []string{`\Archive`, `\Drafts`, `\Junk`, `\Sent`, `\Trash`}

// SpecialUse returns the canonical spelling of a special-use attribute
// (compared case-insensitively), ok false if it is not one of SpecialUses.
func SpecialUse(a string) (canonical string, ok bool) {
	for _, u := range SpecialUses {
		if strings.EqualFold(u, a) {
			return u, true
		}
	}
	return "", false
}

// UID is a message unique identifier within one mailbox (RFC 9051 §2.3.1.1).
type UID = uint32

// ModSeq is a per-mailbox modification sequence (RFC 7162).
type ModSeq = uint64

// AccountID identifies an account.
type AccountID int64

// MailboxID identifies one incarnation of a mailbox (a recreated mailbox gets
// a new ID); an ID is never used for another mailbox.
type MailboxID int64

// BlobID names immutable message content (hex SHA-256 of the bytes).
type BlobID string

// SysFlags is a bit set of the IMAP system flags that a store keeps.
type SysFlags uint8

// System flags. \Recent is not a stored flag: see Store.ClaimRecent.
const (
	FlagSeen SysFlags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// Flags is the flag state of a message: system flags plus keywords.
// Keywords are compared case-insensitively (ASCII) and kept sorted; a nil
// slice means no keywords.
type Flags struct {
	Sys      SysFlags
	Keywords []string
}

// FlagOp says how StoreFlags combines the given flags with the current ones.
type FlagOp int

// Flag operations (FLAGS, +FLAGS, -FLAGS).
const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// Account is a user account.
type Account struct {
	ID           AccountID
	Name         string
	PasswordHash string // argon2id PHC string
	// SCRAMSecret is the SCRAM-SHA-256 verifier encoded by package auth;
	// "" for accounts created before SCRAM support (no SCRAM login).
	SCRAMSecret string
	Created     time.Time
}

// AccountInfo is an account with its usage, for administration.
type AccountInfo struct {
	Account
	Messages  int64
	Bytes     int64
	Mailboxes int
	// StorageLimit and MessageLimit are the effective quota (0 = unlimited).
	StorageLimit int64
	MessageLimit int64
}

// Mailbox is one mailbox of an account.
type Mailbox struct {
	ID            MailboxID
	Account       AccountID
	Name          string // UTF-8, '/'-separated, "INBOX" canonical
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq ModSeq
	SpecialUse    string // "\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive", "\\All", "\\Flagged" or ""
	NoSelect      bool   // a placeholder left by DELETE of a mailbox with children
}

// MailboxStatus is a mailbox with its message counters (STATUS).
type MailboxStatus struct {
	Mailbox
	Messages uint32
	Unseen   uint32
	Deleted  uint32
	Recent   uint32 // messages not yet claimed by any session (ClaimRecent)
	Size     int64  // sum of RFC822.SIZE
	// DeletedSize is the sum of RFC822.SIZE of the messages with \Deleted:
	// what EXPUNGE would free (RFC 9208 DELETED-STORAGE).
	DeletedSize int64
}

// Message is the metadata of one message in a mailbox.
type Message struct {
	UID          UID
	ModSeq       ModSeq
	Flags        Flags
	InternalDate time.Time
	SaveDate     time.Time
	Size         int64
	Blob         BlobID
	// Anatomy is the encoded message anatomy (package anatomy), filled
	// only by FetchAnatomy and FetchContent; nil if the blob has none
	// stored yet.
	Anatomy []byte
	// Content is the message content, filled only by FetchContent and
	// only when the store keeps it with the metadata (small contents);
	// nil means OpenBlob.
	Content []byte
}

// BlobRef is message content returned by WriteBlob.
type BlobRef struct {
	ID   BlobID
	Size int64
	// Anatomy is the encoded anatomy (nil if none), computed from the
	// same bytes by the writer's caller (package ingest): Append stores
	// it with a new blob row.
	Anatomy []byte
	// Text is the searchable text (nil if none), extracted by the
	// writer's caller (package ingest): Append indexes it with a new
	// blob row.
	Text *IndexText
	// Content is the content itself when the store keeps small contents
	// with their metadata instead of in a file: Append stores it with a
	// new blob row, so that it is durable with the same commit. Nil when
	// WriteBlob made it durable already.
	Content []byte
}

// MemSize is about how much memory the reference holds until Append:
// its inline content, anatomy and index text.
func (r BlobRef) MemSize() int {
	n := len(r.Content) + len(r.Anatomy)
	if t := r.Text; t != nil {
		n += len(t.From) + len(t.To) + len(t.Cc) + len(t.Bcc) + len(t.Subject) + len(t.Other) + len(t.Body)
		n += len(t.Sort.Date) + len(t.Sort.Subject) + len(t.Sort.MessageID) + len(t.Sort.InReplyTo) + len(t.Sort.References)
	}
	return n
}

// IndexText is the searchable text of one message content, as a text
// index keeps it: each header field as a "Name: value" line (value
// unfolded and RFC 2047-decoded), grouped by field, From, To, Cc and Bcc
// followed by a line with the text their address keys search, and the
// body text (text parts transfer-decoded and converted to UTF-8, bounded).
type IndexText struct {
	// Version is the version of the extraction that made the text
	// (searchtext.Version): a store keeps it with the document, so that
	// documents of an older version can be told apart.
	Version                    int
	From, To, Cc, Bcc, Subject string
	Other                      string // every other header field
	Body                       string
	// Sort holds the fields SORT and THREAD read, so that they need not
	// open the message.
	Sort SortFields
}

// SortFields are the first occurrences of the top-level header fields
// that SORT and THREAD read, unfolded and RFC 2047-decoded; "" when
// absent (or empty: SORT and THREAD treat both alike).
type SortFields struct {
	Date, Subject, MessageID, InReplyTo, References string
	// Sent is the instant of Date, parsed by whoever extracted the text
	// (package ingest) and kept by the store: when a store gives it, it
	// may leave Date "". Zero when Date is to be parsed (or is absent
	// or invalid).
	Sent time.Time
}

// SortWant says what a SortFields read returns besides each message's
// UID, internal date (an instant: its zone may be lost) and size.
type SortWant uint8

// What SortFields reads.
const (
	SortMeta    SortWant = 1 << iota // the rest of store.Message: flags, mod-sequence, save date, zone, blob
	SortDate                         // SortFields.Date
	SortSubject                      // SortFields.Subject
	SortIDs                          // SortFields.MessageID, InReplyTo, References
)

// Blob is open message content.
type Blob interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// NewMessage is a message to append: content written by WriteBlob first.
type NewMessage struct {
	Blob         BlobRef
	Flags        Flags
	InternalDate time.Time // zero means now
}

// AppendResult reports the UIDs given to appended messages (APPENDUID).
type AppendResult struct {
	UIDValidity uint32
	UIDs        []UID
	ModSeq      ModSeq // of the new messages
}

// CopyResult reports a COPY or MOVE (COPYUID): SrcUIDs[i] became DstUIDs[i].
type CopyResult struct {
	UIDValidity uint32 // of the destination
	SrcUIDs     []UID
	DstUIDs     []UID
	// ModSeq is the source mailbox's mod-sequence of a MOVE's expunge.
	ModSeq ModSeq
}

// StoreResult reports a flag change.
type StoreResult struct {
	// Updated holds every message whose flags were changed (with the new
	// flags and mod-sequence), in UID order.
	Updated []Message
	// PrevModSeqs[i] is the mod-sequence Updated[i] had before the change,
	// so a session can tell whether someone else changed it since it last
	// reported its flags (a .SILENT STORE must still report those).
	PrevModSeqs []ModSeq
	// Unchanged holds the messages matched but left as they were because
	// the change was a no-op, in UID order (a non-silent STORE still
	// reports their flags).
	Unchanged []Message
	// Modified holds UIDs not changed because their mod-sequence was above
	// unchangedSince (CONDSTORE [MODIFIED]).
	Modified []UID
}

// Snapshot is what SELECT needs: the mailbox and its messages in UID order.
// No per-message mod-sequences: a session's view needs only the snapshot's
// HighestModSeq (mailview.View, base).
type Snapshot struct {
	Mailbox
	UIDs        []UID
	FirstUnseen UID // lowest UID without \Seen, 0 if none
	// Keywords is the mailbox's keyword set (see the package
	// invariants), sorted case-insensitively: every keyword a message
	// of the mailbox carries, and those that messages carried before.
	Keywords []string
	// RecentFrom is the first UID not yet claimed by ClaimRecent: UIDs in
	// [RecentFrom, UIDNext) are \Recent for whoever claims them next
	// (EXAMINE counts them without claiming).
	RecentFrom UID
}

// Changes is what happened in a mailbox after a mod-sequence.
type Changes struct {
	Mailbox           // current counters
	Updated []Message // messages (new or with changed flags) with ModSeq > since, in UID order
	// Expunged are UIDs expunged with a mod-sequence > since, ascending.
	Expunged []UID
}

// ExpungeResult is what an Expunge removed.
type ExpungeResult struct {
	UIDs   []UID  // expunged, ascending
	ModSeq ModSeq // the mod-sequence of the expunge (0 if nothing was expunged)
}

// Store is the storage backend. All methods are safe for concurrent use.
type Store interface {
	// CreateAccount creates an account with INBOX and the special-use
	// mailboxes Drafts, Sent, Trash, Junk and Archive (all subscribed),
	// named CanonicalAccountName(name) (Account.Name tells). It fails
	// with ErrInvalidAccountName when name has no canonical form and
	// with ErrAccountExists when an account has that name.
	CreateAccount(ctx context.Context, name, passwordHash string) (Account, error)
	// Account finds an account by name. Every method that takes an
	// account name (Account, SetPasswordHash, DeleteAccount, SetQuota,
	// SetSCRAMSecret, BlobsToIndex) finds the account stored under
	// exactly that name, else the one stored under
	// CanonicalAccountName(name): account names are case-insensitive,
	// and a name stored before that rule keeps working as it is spelt.
	Account(ctx context.Context, name string) (Account, error)
	Accounts(ctx context.Context) ([]AccountInfo, error)
	SetPasswordHash(ctx context.Context, name, hash string) error
	// DeleteAccount removes an account with all its mailboxes and messages.
	DeleteAccount(ctx context.Context, name string) error

	// Mailboxes lists every mailbox (including NoSelect placeholders) sorted by name.
	Mailboxes(ctx context.Context, acct AccountID) ([]Mailbox, error)
	Mailbox(ctx context.Context, acct AccountID, name string) (Mailbox, error)
	// CreateMailbox creates name and any missing parents. Creating over a
	// NoSelect placeholder makes it selectable with a new UIDVALIDITY.
	// specialUse may be "". Beyond the backend's MailboxLimits it fails
	// with ErrNameTooLong, ErrNameTooDeep or ErrTooManyMailboxes.
	CreateMailbox(ctx context.Context, acct AccountID, name, specialUse string) (Mailbox, error)
	// DeleteMailbox deletes a mailbox and its messages. A mailbox with
	// children becomes a NoSelect placeholder; deleting a NoSelect mailbox
	// with children fails with ErrHasChildren. INBOX fails with ErrInboxDelete.
	DeleteMailbox(ctx context.Context, acct AccountID, name string) error
	// RenameMailbox renames a mailbox and all its children, creating missing
	// parents of the new name. Renaming INBOX moves its messages into a new
	// mailbox and leaves INBOX empty. It fails like CreateMailbox when a
	// new name (a child's included) or the parents it would create are
	// beyond the MailboxLimits.
	RenameMailbox(ctx context.Context, acct AccountID, from, to string) error
	// Subscriptions lists subscribed names (which need not exist), sorted.
	Subscriptions(ctx context.Context, acct AccountID) ([]string, error)
	// SetSubscribed subscribes or unsubscribes a name. Subscribing fails
	// with ErrNameTooLong or ErrNameTooDeep for a name beyond the
	// MailboxLimits and with ErrTooManySubscriptions for a new one past
	// MaxMailboxes subscriptions.
	SetSubscribed(ctx context.Context, acct AccountID, name string, subscribed bool) error
	Status(ctx context.Context, mbox MailboxID) (MailboxStatus, error)

	// WriteBlob stores content and returns its reference: durable
	// (fsynced) when it returns, or, for a ref that holds its Content,
	// durable with the Append that references it. Identical content is
	// stored once. maxSize < 0 means no limit; more bytes than maxSize
	// fail with ErrTooBig. It stores the bytes only and reads r to its
	// end unless it fails: package ingest parses and extracts the same
	// bytes as they stream through (BlobRef.Anatomy, BlobRef.Text).
	WriteBlob(ctx context.Context, r io.Reader, maxSize int64) (BlobRef, error)
	// OpenBlob opens the content of a message.
	OpenBlob(ctx context.Context, id BlobID) (Blob, error)

	// Append adds messages to a mailbox in one transaction (MULTIAPPEND is
	// all or nothing). Keywords beyond the MailboxLimits fail it with
	// ErrTooManyKeywords or ErrKeywordTooLong.
	Append(ctx context.Context, mbox MailboxID, msgs []NewMessage) (AppendResult, error)
	// Snapshot returns the mailbox state for SELECT/EXAMINE.
	Snapshot(ctx context.Context, mbox MailboxID) (Snapshot, error)
	// ClaimRecent gives the caller the \Recent messages not yet claimed by
	// another session: UIDs in [lo, hi) are recent for the caller alone.
	ClaimRecent(ctx context.Context, mbox MailboxID) (lo, hi UID, err error)
	// Fetch calls fn for each existing message whose UID is in uids (no
	// Star), in UID order, stopping at fn's first error. A mailbox that
	// no longer exists has no messages (Changes reports it gone).
	Fetch(ctx context.Context, mbox MailboxID, uids imapnum.Set, fn func(Message) error) error
	// FetchAnatomy is Fetch with Message.Anatomy filled (nil for a blob
	// stored without one). Fetch itself never reads anatomies.
	FetchAnatomy(ctx context.Context, mbox MailboxID, uids imapnum.Set, fn func(Message) error) error
	// FetchContent is FetchAnatomy with Message.Content filled where the
	// store can do so in the same read: FETCH of message bodies then
	// costs no OpenBlob per message.
	FetchContent(ctx context.Context, mbox MailboxID, uids imapnum.Set, fn func(Message) error) error
	// SetAnatomy stores the encoded anatomy of a blob (one parsed lazily)
	// that has none, or whose stored one is of an older encoding version:
	// the first byte of an encoding is its version (anatomy.Version), and
	// a stored anatomy whose first byte is smaller is replaced. It is a
	// no-op if the blob row is gone.
	SetAnatomy(ctx context.Context, id BlobID, anatomy []byte) error
	// StoreFlags changes flags of the messages in uids. unchangedSince 0
	// means no CONDSTORE condition. It fails with ErrTooManyKeywords or
	// ErrKeywordTooLong, changing nothing, beyond the MailboxLimits.
	StoreFlags(ctx context.Context, mbox MailboxID, uids imapnum.Set, op FlagOp, flags Flags, unchangedSince ModSeq) (StoreResult, error)
	// Expunge removes messages flagged \Deleted; uids nil means all of them,
	// otherwise only those in uids (UID EXPUNGE).
	Expunge(ctx context.Context, mbox MailboxID, uids imapnum.Set) (ExpungeResult, error)
	// Copy copies messages to dst, in UID order, with their flags. It
	// fails with ErrTooManyKeywords, copying nothing, when the keywords
	// of the messages would give dst more than MaxKeywords (Move too):
	// keywords are never dropped.
	Copy(ctx context.Context, src MailboxID, uids imapnum.Set, dst MailboxID) (CopyResult, error)
	// Move moves messages to dst atomically (copy + expunge from src).
	Move(ctx context.Context, src MailboxID, uids imapnum.Set, dst MailboxID) (CopyResult, error)
	// Changes returns what changed in a mailbox after since.
	Changes(ctx context.Context, mbox MailboxID, since ModSeq) (Changes, error)

	// WaitIndexed returns once the index texts given to the store
	// before the call (BlobRef.Text, SetBlobIndex) are in its search
	// index (SearchIndex then restricts text keys by them), or with
	// ctx's error. A store may index texts after their commit; its
	// searches never miss a message meanwhile.
	WaitIndexed(ctx context.Context) error
	// IndexBacklog reports how many stored messages' texts the index has
	// not taken in yet and how long the oldest of them has waited (the
	// index lag; searches stay exact meanwhile).
	IndexBacklog(ctx context.Context) (pending int64, oldest time.Duration, err error)
	// BlobsToIndex lists the contents of the messages of the account
	// named account (of every message when account is ""), in ID
	// order, each with its stored anatomy (nil if none) and no Text:
	// what a reindex (package ingest) goes through.
	BlobsToIndex(ctx context.Context, account string) ([]BlobIndex, error)
	// SetBlobIndex replaces the index text of each content in blobs by
	// its Text (nil: none, the content is then a candidate for every
	// text key) and stores its Anatomy where not nil (as SetAnatomy
	// does), in one transaction. A content no message references any
	// more is skipped.
	SetBlobIndex(ctx context.Context, blobs []BlobIndex) error

	// SetQuota changes an account's limits (see Quota).
	SetQuota(ctx context.Context, name string, q Quota) error
	// Quota returns an account's usage and effective limits. Usage is
	// maintained in the same transaction as every change, and Append, Copy
	// and Move fail with ErrOverQuota inside their transaction when they
	// would exceed a limit.
	Quota(ctx context.Context, acct AccountID) (QuotaUsage, error)
	// SetSCRAMSecret stores an account's SCRAM-SHA-256 verifier (an opaque
	// string encoded by package auth; "" removes it).
	SetSCRAMSecret(ctx context.Context, name, secret string) error

	Close() error
}

// BlobIndex is what the index keeps of one stored content: listed by
// Store.BlobsToIndex (with the stored anatomy) and written by
// Store.SetBlobIndex.
type BlobIndex struct {
	ID BlobID
	// Anatomy is the encoded anatomy: the stored one (nil if none) from
	// BlobsToIndex; for SetBlobIndex one to store, nil to keep the
	// stored one.
	Anatomy []byte
	// Text is the index text to store (SetBlobIndex).
	Text *IndexText
}

// Quota is a change of an account's limits: a nil field is left as it is,
// QuotaDefault follows the backend's configured default, 0 is unlimited
// and a positive value is the limit (bytes, messages).
type Quota struct {
	StorageBytes *int64
	Messages     *int64
}

// QuotaDefault as a Quota limit means "the server default".
const QuotaDefault int64 = -1

// QuotaUsage is an account's usage with its effective limits (0 = unlimited).
type QuotaUsage struct {
	StorageBytes      int64
	Messages          int64
	StorageLimitBytes int64
	MessageLimit      int64
	// Mailboxes counts the account's mailboxes (placeholders included);
	// MailboxLimit is MailboxLimits.MaxMailboxes (RFC 9208 MAILBOX).
	Mailboxes    int64
	MailboxLimit int64
}
