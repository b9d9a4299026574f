// Package archive is the boundary between Rookery's store and mail kept
// outside it: the exports `rookery export` writes and the trees `rookery
// import` reads (its own EML exports, Maildir++, mbox, a folder of .eml
// files). Each format is a package below this one with a Reader, a
// Writer or both; packages cli drives them against a store.
//
// Names are IMAP mailbox names as Rookery keeps them: UTF-8, with "/" as
// the hierarchy separator. Flags are IMAP flag atoms: the system flags
// spelled as in IMAP (\Seen, \Answered, \Flagged, \Deleted, \Draft) and
// keywords as they are.
package archive

import (
	"context"
	"errors"
	"io"
	"time"
)

// Mailbox is a mailbox of an archive.
type Mailbox struct {
	// Name is the IMAP name, "/"-separated ("INBOX", "Archive/2024").
	Name string
	// SpecialUse is the special-use attribute ("\Sent", "\Drafts",
	// "\Trash", "\Junk", "\Archive", "\All", "\Flagged") or "" when the
	// archive says nothing (the importer may then map well-known names).
	SpecialUse string
	// Subscribed is whether the mailbox is subscribed.
	Subscribed bool
	// UIDValidity and UIDNext are the mailbox's, or 0 when the archive
	// keeps none. An importer restores UIDs only when UIDValidity is set.
	UIDValidity uint32
	UIDNext     uint32
	// HighestModSeq is the mailbox's HIGHESTMODSEQ when the archive
	// keeps one (0 otherwise).
	HighestModSeq uint64
	// Keywords are the mailbox's keyword set (PERMANENTFLAGS keywords)
	// when the archive keeps one.
	Keywords []string
}

// Message is a message of an archive.
type Message struct {
	// UID is the message's UID, or 0 when the archive keeps none.
	UID uint32
	// Flags are its system flags and keywords.
	Flags []string
	// InternalDate is its internal date with its zone, zero when the
	// archive keeps none (the importer then takes the Date header or the
	// file's time).
	InternalDate time.Time
	// SaveDate is when it was saved into its mailbox, zero if unknown.
	SaveDate time.Time
	// Size is its size in bytes, or -1 when unknown before reading.
	Size int64
	// Path locates it in the archive for messages about it ("Sent/cur/
	// 1700000000.M1P2.host:2,S", "INBOX.mbox:1234" for a byte offset).
	Path string
	// Open returns its content, exactly as stored.
	Open func() (io.ReadCloser, error)
}

// Reader reads an archive.
type Reader interface {
	// Mailboxes returns every mailbox of the archive, parents before
	// their children.
	Mailboxes(ctx context.Context) ([]Mailbox, error)
	// Messages calls fn for each message of the named mailbox, in UID
	// order when the archive keeps UIDs. A message that cannot be read
	// is reported to fn's caller as a *BadMessageError from Messages
	// only when fn returns it; a Reader that can go on after a bad
	// message calls bad instead (nil bad means stop at the first one).
	Messages(ctx context.Context, mailbox string, fn func(Message) error, bad func(*BadMessageError) error) error
	// Close releases what the Reader holds.
	Close() error
}

// Writer writes an archive: for each mailbox BeginMailbox, Add for each
// of its messages in UID order, EndMailbox; then Close, which completes
// the archive (a Writer that is not closed leaves an incomplete one).
type Writer interface {
	BeginMailbox(ctx context.Context, mb Mailbox) error
	// Add writes one message; content yields exactly m.Size bytes.
	Add(ctx context.Context, m Message, content io.Reader) error
	EndMailbox(ctx context.Context) error
	Close() error
}

// BadMessageError is a message of an archive that cannot be read or is
// not a message (a truncated mbox entry, a Maildir file that is not a
// message, an unreadable file).
type BadMessageError struct {
	Path string
	Err  error
}

func (e *BadMessageError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *BadMessageError) Unwrap() error { return e.Err }

// ReportBad hands the message at path that could not be read (err) to
// bad, a Reader's Messages argument: it returns the error that ends the
// read (the *BadMessageError itself when bad is nil), or nil to go on.
func ReportBad(bad func(*BadMessageError) error, path string, err error) error {
	be := &BadMessageError{Path: path, Err: err}
	if bad == nil {
		return be
	}
	return bad(be)
}

// ErrNotArchive is returned by a format's Open for a path that is not
// an archive of that format.
var ErrNotArchive = errors.New("not an archive of this format")
