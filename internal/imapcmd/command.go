// Package imapcmd turns the tokens of one IMAP command, read from an
// imapwire.Decoder, into a typed command. It checks syntax only: it knows no
// connection state, session or store.
//
// Read parses a whole command line (tag, name, arguments, CRLF) except for
// APPEND, whose messages are read one at a time with (*Append).Next after
// the caller has checked the state, so that the server never asks for a
// message literal it will reject anyway.
package imapcmd

import (
	"time"

	"rookery/internal/imapnum"
)

// Command is one parsed command.
type Command struct {
	Tag string
	// Name is the upper-case command name without the UID prefix
	// ("FETCH" for both FETCH and UID FETCH).
	Name string
	// UID is true for "UID FETCH", "UID STORE", ... ("UID EXPUNGE" too).
	UID bool
	// Args is what the command's ArgsFunc returned: a pointer to one of
	// the argument types below, or None for commands without arguments
	// (CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE, UNSELECT, IDLE,
	// NAMESPACE, EXPUNGE).
	Args any
}

// Login is LOGIN user password.
type Login struct {
	Username, Password string
}

// Authenticate is AUTHENTICATE mechanism [initial-response].
type Authenticate struct {
	Mechanism string // upper-cased
	// InitialResponse is the SASL-IR argument, base64-decoded; HasInitial
	// tells "=" (empty) apart from absent.
	InitialResponse []byte
	HasInitial      bool
}

// Enable is ENABLE capability...
type Enable struct {
	Caps []string // upper-cased
}

// ID is ID (("key" "value")...) or ID NIL.
type ID struct {
	Params [][2]string // nil for NIL; a NIL value is ""
}

// Select is SELECT or EXAMINE.
type Select struct {
	Mailbox   string // as sent (modified UTF-7 or UTF-8): the server decodes
	ReadOnly  bool   // EXAMINE
	CondStore bool   // (CONDSTORE) parameter
	// QResync holds the (QRESYNC (...)) parameter, nil if absent.
	QResync *QResync
}

// QResync is the QRESYNC select parameter (RFC 7162 §3.2.5).
type QResync struct {
	UIDValidity  uint32
	ModSeq       uint64
	KnownUIDs    imapnum.Set // nil if absent
	SeqMatchSeqs imapnum.Set // nil if absent
	SeqMatchUIDs imapnum.Set
}

// Create is CREATE mailbox [(USE (special-use...))].
type Create struct {
	Mailbox    string
	SpecialUse []string
}

// MailboxArg is the argument of DELETE, SUBSCRIBE and UNSUBSCRIBE.
type MailboxArg struct {
	Mailbox string
}

// Rename is RENAME from to.
type Rename struct {
	From, To string
}

// List is LIST, with LIST-EXTENDED options (RFC 5258) and LIST-STATUS.
type List struct {
	Reference string
	Patterns  []string
	// Extended is true when selection options, several patterns or return
	// options were given.
	Extended bool
	// Selection options.
	SelectSubscribed     bool
	SelectRemote         bool
	SelectRecursiveMatch bool
	SelectSpecialUse     bool
	// Return options.
	ReturnSubscribed bool
	ReturnChildren   bool
	ReturnSpecialUse bool
	ReturnStatus     []string // STATUS items (upper-cased), nil if absent
}

// Lsub is LSUB reference pattern.
type Lsub struct {
	Reference, Pattern string
}

// Status is STATUS mailbox (items).
type Status struct {
	Mailbox string
	Items   []string // upper-cased
}

// Append is APPEND mailbox, followed by one or more messages (MULTIAPPEND)
// read with Next.
type Append struct {
	Mailbox string
	next    func() (*AppendMessage, error)
}

// AppendMessage is one message of an APPEND.
type AppendMessage struct {
	Flags []string  // as sent ("\Seen", "$Label")
	Date  time.Time // zero if absent
	// Literal must be read to EOF before Next is called again (an unread
	// rest is skipped).
	Literal LiteralReader
	// UTF8 is true for the RFC 6855 form UTF8 (~{n}...).
	UTF8 bool
}

// LiteralReader is a literal being received; Size is its announced size.
type LiteralReader interface {
	Read(p []byte) (int, error)
	Size() int64
	// Binary is true for literal8 (~{n}).
	Binary() bool
}

// Next reads the next message of the APPEND; it returns (nil, nil) when the
// command line ended (after its CRLF).
func (a *Append) Next() (*AppendMessage, error) { return a.next() }

// Expunge is UID EXPUNGE set (plain EXPUNGE has nil Args).
type Expunge struct {
	UIDs  imapnum.Set
	Saved bool // the set is "$" (RFC 5182)
}

// StoreOp is the kind of STORE.
type StoreOp int

// STORE operations.
const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// Store is [UID] STORE set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags.
type Store struct {
	Set            imapnum.Set
	Saved          bool // the set is "$", the saved search result (RFC 5182)
	Op             StoreOp
	Silent         bool
	Flags          []string
	UnchangedSince uint64 // 0 if absent
	HasUnchanged   bool
}

// Copy is [UID] COPY set mailbox and [UID] MOVE set mailbox.
type Copy struct {
	Set     imapnum.Set
	Saved   bool // the set is "$" (RFC 5182)
	Mailbox string
}

// Fetch is [UID] FETCH set items [(CHANGEDSINCE n [VANISHED])].
type Fetch struct {
	Set   imapnum.Set
	Saved bool        // the set is "$" (RFC 5182)
	Items []FetchItem // macros ALL, FAST, FULL expanded
	// ChangedSince is the CHANGEDSINCE modifier, 0 if absent;
	// HasChangedSince tells "CHANGEDSINCE 0" apart from absent. With
	// CHANGEDSINCE the server adds MODSEQ to the items (RFC 7162 §3.1.4.1):
	// Read does not.
	ChangedSince    uint64
	HasChangedSince bool
	// Vanished is the VANISHED modifier; Read accepts it only with UID
	// FETCH and CHANGEDSINCE (RFC 7162 §3.2.6).
	Vanished bool
}

// FetchItem is one fetch attribute.
type FetchItem struct {
	// Name is upper-case: FLAGS, UID, INTERNALDATE, RFC822.SIZE, ENVELOPE,
	// BODY (no section: structure), BODYSTRUCTURE, RFC822, RFC822.HEADER,
	// RFC822.TEXT, BODY[] (with Section), BINARY, BINARY.SIZE, MODSEQ,
	// PREVIEW, SAVEDATE, EMAILID, THREADID.
	Name string
	// Section is set for BODY[...], BINARY[...] and BINARY.SIZE[...].
	Section *Section
	// Peek is true for BODY.PEEK and BINARY.PEEK.
	Peek bool
	// Partial is the <origin.count> suffix, nil if absent.
	Partial *Partial
	// Lazy is PREVIEW (LAZY).
	Lazy bool
}

// Section is a body section specification (RFC 9051 section-spec).
type Section struct {
	Part []int // "1.2.3"; empty for the top level
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME".
	Specifier string
	Fields    []string // for HEADER.FIELDS(.NOT), as sent
}

// Partial is the <origin.count> of a fetch item.
type Partial struct {
	Offset, Count uint32
}
