package anatomy

import "strings"

// Limits of the parser. They bound memory and recursion whatever the input.
const (
	// MaxDepth is the deepest nesting of multipart and message parts; a
	// part at this depth is kept as a leaf.
	MaxDepth = 100
	// MaxParts is the most parts of one message; later boundaries are
	// ignored (their lines stay in the body of the enclosing part).
	MaxParts = 10000
	// MaxHeaderSize is the most header bytes of one part that are parsed
	// for fields; the header's size and offsets stay exact beyond it.
	MaxHeaderSize = 256 << 10
)

// Param is one parameter of Content-Type or Content-Disposition.
type Param struct {
	// Name is lower-case, without an RFC 2231 "*" or section suffix.
	Name string
	// Value is the value: unquoted, RFC 2231 sections joined, and for an
	// extended value percent-decoded and converted to UTF-8 when the
	// charset is known.
	Value string
	// Raw is set only for RFC 2231 extended values: the joined value as
	// sent (charset'language'percent-encoded), for protocols that pass it
	// on undecoded.
	Raw string
}

// Extended reports whether the parameter used the RFC 2231 extended syntax.
func (p Param) Extended() bool { return p.Raw != "" }

// Part is one MIME entity of a message. The root part is the message.
type Part struct {
	// HeaderOffset is where the part's header starts; HeaderSize includes
	// the empty line that ends it (if any).
	HeaderOffset, HeaderSize int64
	// BodyOffset is where the body starts; BodySize excludes the line
	// break before a following boundary line.
	BodyOffset, BodySize int64
	// BodyLines counts the body's line feeds (a last line without one is
	// not counted).
	BodyLines int64

	// Type and Subtype are lower-case; a part without a valid Content-Type
	// gets the default (text/plain, or message/rfc822 in a
	// multipart/digest) and DefaultType set. A multipart or message part
	// at MaxDepth becomes application/octet-stream.
	Type, Subtype string
	DefaultType   bool
	Params        []Param

	ID, Description, Location, MD5 string
	// Encoding is the Content-Transfer-Encoding mechanism, lower-case, ""
	// if absent or empty; a value that is not one token (comments
	// aside) is kept whole, lower-case, and so names no known encoding.
	Encoding string
	// Disposition is lower-case, "" if absent.
	Disposition       string
	DispositionParams []Param
	Language          []string

	// Envelope is set on every part that is a message: the root and the
	// single child of a message/rfc822 or message/global part.
	Envelope *Envelope
	// Parts are the children of a multipart, or the one embedded message
	// of a message/rfc822 or message/global part.
	Parts []*Part
}

// IsMultipart reports whether the part is a multipart.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// IsMessage reports whether the part holds an embedded message that was
// parsed (message/rfc822 or message/global with its child).
func (p *Part) IsMessage() bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") && len(p.Parts) == 1
}

// Param returns the value of the named parameter of the content type
// (case-insensitive) and whether it is present.
func (p *Part) Param(name string) (string, bool) {
	for _, pr := range p.Params {
		if strings.EqualFold(pr.Name, name) {
			return pr.Value, true
		}
	}
	return "", false
}

// Size is the part's total size (header and body).
func (p *Part) Size() int64 { return p.HeaderSize + p.BodySize }

// Walk calls fn for p and every part under it, depth first.
func (p *Part) Walk(fn func(*Part)) {
	fn(p)
	for _, c := range p.Parts {
		c.Walk(fn)
	}
}

// Address is one entry of an address list. A group is a GroupStart entry
// (Mailbox holds the group's display name) followed by its members and a
// GroupEnd entry.
type Address struct {
	Name, Route, Mailbox, Host string
	Kind                       AddressKind
}

// AddressKind tells addresses and group markers apart.
type AddressKind uint8

// Address kinds.
const (
	Mailbox AddressKind = iota
	GroupStart
	GroupEnd
)

// Envelope holds the header fields of a message that IMAP's ENVELOPE
// reports. String fields are unfolded values as sent (RFC 2047 encoded
// words are not decoded); the Has* bits tell an absent field from an empty
// one. Address lists are nil when the field is absent or empty.
type Envelope struct {
	Date, Subject, InReplyTo, MessageID string
	Has                                 EnvelopeFields

	From, Sender, ReplyTo, To, Cc, Bcc []Address
}

// EnvelopeFields is a bit set of present string fields.
type EnvelopeFields uint8

// Present string fields of an Envelope.
const (
	HasDate EnvelopeFields = 1 << iota
	HasSubject
	HasInReplyTo
	HasMessageID
)
