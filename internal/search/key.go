package search

import (
	"fmt"
	"strings"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// Op is the kind of a Key node.
type Op uint8

// Key operations. The comment says which Key fields the operation uses.
const (
	OpAll     Op = iota // matches every message
	OpAnd               // Sub: every key matches (an empty And matches all)
	OpOr                // Sub: some key matches (an empty Or matches none)
	OpNot               // Sub[0] does not match
	OpFlag              // Flag: the system flag is set (ANSWERED, SEEN, ...)
	OpKeyword           // Value: the keyword is set (ASCII case-insensitive)
	OpRecent            // the message is \Recent in this session
	OpSeq               // Set: the sequence number is in the set
	OpUID               // Set: the UID is in the set
	// OpHeader: Field (case-insensitive name) has an occurrence whose
	// decoded value contains Value; Value "" means the field exists.
	// With Envelope, only the occurrence the envelope shows counts (the
	// first): SUBJECT matches "the envelope structure's SUBJECT field"
	// (RFC 9051 §6.4.4), HEADER every occurrence.
	OpHeader
	OpBody    // Value: the body text contains Value
	OpText    // Value: the header or body text contains Value
	OpLarger  // N: RFC822.SIZE > N
	OpSmaller // N: RFC822.SIZE < N
	// Date keys: Date's calendar date (year, month, day in Date's own
	// location) compared with the calendar date of the message's internal
	// date, sent date (Date: header, else internal date) or save date
	// (else internal date), each in its own zone (RFC 9051 §6.4.4).
	OpBefore
	OpOn
	OpSince
	OpSentBefore
	OpSentOn
	OpSentSince
	OpSavedBefore
	OpSavedOn
	OpSavedSince
	OpSaveDateSupported // matches all if Options.SaveDateSupported (RFC 8514)
	OpOlder             // N: the internal date is more than N seconds before Options.Now (RFC 5032)
	OpYounger           // N: the internal date is at most N seconds before Options.Now
	OpModSeq            // N: the message's mod-sequence is >= N (RFC 7162)
	// OpAddress: the text of the address list of Field (From, To, Cc or
	// Bcc) contains Value: FROM, TO, CC and BCC are OpAddress keys, which
	// match "the envelope structure's field" (RFC 9051 §6.4.4), not the
	// field's raw text. The text is AddressText of the list that ENVELOPE
	// shows (the field's first occurrence, anatomy.ParseAddressList):
	// display names decoded, mailbox@host, group names; comments and
	// quoting are not part of it. Value is never "" (see Address).
	OpAddress
	numOps
)

var opNames = [numOps]string{
	OpAll: "ALL", OpAnd: "AND", OpOr: "OR", OpNot: "NOT", OpFlag: "FLAG", OpKeyword: "KEYWORD",
	OpRecent: "RECENT", OpSeq: "SEQ", OpUID: "UID", OpHeader: "HEADER", OpBody: "BODY", OpText: "TEXT",
	OpLarger: "LARGER", OpSmaller: "SMALLER", OpBefore: "BEFORE", OpOn: "ON", OpSince: "SINCE",
	OpSentBefore: "SENTBEFORE", OpSentOn: "SENTON", OpSentSince: "SENTSINCE",
	OpSavedBefore: "SAVEDBEFORE", OpSavedOn: "SAVEDON", OpSavedSince: "SAVEDSINCE",
	OpSaveDateSupported: "SAVEDATESUPPORTED", OpOlder: "OLDER", OpYounger: "YOUNGER", OpModSeq: "MODSEQ",
	OpAddress: "ADDRESS",
}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// Key is a node of a search-key tree. The zero Key matches every message.
type Key struct {
	Op    Op
	Sub   []Key
	Flag  store.SysFlags // OpFlag: exactly one flag bit
	Field string         // OpHeader
	Value string         // OpKeyword, OpHeader, OpBody, OpText
	// Envelope: OpHeader looks only at the field as the envelope holds it.
	Envelope bool
	Set      imapnum.Set // OpSeq, OpUID; "*" is resolved by Options
	Date     time.Time   // date keys: only the calendar date counts
	N        uint64      // OpLarger, OpSmaller, OpOlder, OpYounger, OpModSeq
}

// All returns a key matching every message.
func All() Key { return Key{Op: OpAll} }

// And returns a key matching messages that match every key.
func And(keys ...Key) Key { return Key{Op: OpAnd, Sub: keys} }

// Or returns a key matching messages that match some key.
func Or(keys ...Key) Key { return Key{Op: OpOr, Sub: keys} }

// Not returns a key matching messages that do not match k.
func Not(k Key) Key { return Key{Op: OpNot, Sub: []Key{k}} }

// Flag returns a key matching messages with the system flag f set.
func Flag(f store.SysFlags) Key { return Key{Op: OpFlag, Flag: f} }

// Keyword returns a key matching messages with the keyword set.
func Keyword(kw string) Key { return Key{Op: OpKeyword, Value: kw} }

// Header returns a key matching messages whose field contains value
// (value "" means the field exists).
func Header(field, value string) Key { return Key{Op: OpHeader, Field: field, Value: value} }

// Subject returns a key matching messages whose envelope subject (the
// first Subject field, decoded) contains value.
func Subject(value string) Key {
	return Key{Op: OpHeader, Field: "Subject", Value: value, Envelope: true}
}

// Address returns a key matching messages whose address field (From, To,
// Cc or Bcc) contains value in its address text (see OpAddress). Value ""
// matches messages that have the field, as HEADER field "" does: it
// returns that Header key.
func Address(field, value string) Key {
	if value == "" {
		return Header(field, "")
	}
	return Key{Op: OpAddress, Field: field, Value: value}
}

// String formats k in an IMAP-like notation for tests and logs.
func (k Key) String() string {
	var b strings.Builder
	k.format(&b)
	return b.String()
}

func (k Key) format(b *strings.Builder) {
	switch k.Op {
	case OpAnd, OpOr:
		b.WriteString(k.Op.String())
		b.WriteString(" (")
		for i, s := range k.Sub {
			if i > 0 {
				b.WriteByte(' ')
			}
			s.format(b)
		}
		b.WriteByte(')')
		return
	case OpNot:
		b.WriteString("NOT ")
		if len(k.Sub) > 0 {
			k.Sub[0].format(b)
		}
		return
	}
	b.WriteString(k.Op.String())
	switch k.Op {
	case OpFlag:
		fmt.Fprintf(b, " %s", flagName(k.Flag))
	case OpKeyword, OpBody, OpText:
		fmt.Fprintf(b, " %q", k.Value)
	case OpHeader, OpAddress:
		if k.Envelope {
			b.WriteString(" envelope")
		}
		fmt.Fprintf(b, " %s %q", k.Field, k.Value)
	case OpSeq, OpUID:
		fmt.Fprintf(b, " %s", k.Set)
	case OpLarger, OpSmaller, OpOlder, OpYounger, OpModSeq:
		fmt.Fprintf(b, " %d", k.N)
	case OpBefore, OpOn, OpSince, OpSentBefore, OpSentOn, OpSentSince, OpSavedBefore, OpSavedOn, OpSavedSince:
		b.WriteString(k.Date.Format(" 2-Jan-2006"))
	}
}

func flagName(f store.SysFlags) string {
	switch f {
	case store.FlagSeen:
		return `\Seen`
	case store.FlagAnswered:
		return `\Answered`
	case store.FlagFlagged:
		return `\Flagged`
	case store.FlagDeleted:
		return `\Deleted`
	case store.FlagDraft:
		return `\Draft`
	}
	return fmt.Sprintf("flags(%d)", f)
}

// Needs says which parts of a message evaluating a key reads.
type Needs uint8

// Parts of a message.
const (
	NeedsHeader   Needs = 1 << iota // Message.Header or Message.Addresses
	NeedsBody                       // Message.Body or Message.Text
	NeedsEnvelope                   // Message.Envelope (fields an anatomy holds)
)

// Needs reports which parts of a message evaluating k may read: a store
// can skip loading what is not needed.
func (k Key) Needs() Needs {
	var n Needs
	switch k.Op {
	case OpHeader:
		n = NeedsHeader
		if k.Envelope {
			n = NeedsEnvelope
		}
	case OpAddress, OpSentBefore, OpSentOn, OpSentSince:
		n = NeedsHeader
	case OpBody:
		n = NeedsBody
	case OpText:
		n = NeedsHeader | NeedsBody
	}
	for _, s := range k.Sub {
		n |= s.Needs()
	}
	return n
}
