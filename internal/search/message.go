package search

import (
	"io"
	"mime"
	"strings"
	"time"

	"rookery/internal/anatomy"
	"rookery/internal/store"
)

// Message is the view of one message that evaluation, SORT and THREAD
// read. The metadata fields are plain values; the accessors are called
// lazily, only when a key needs them, so a store can load headers and
// text on demand. A nil accessor stands for a message without that part.
type Message struct {
	Seq          uint32 // message sequence number in the session
	UID          store.UID
	Flags        store.Flags
	Recent       bool // \Recent in this session
	InternalDate time.Time
	SaveDate     time.Time // zero if unknown (SAVED* keys then use InternalDate)
	Size         int64     // RFC822.SIZE
	ModSeq       store.ModSeq
	// Sent, when not zero, is the instant of the message's Date field,
	// known without reading the header (an index parsed it): SentDate
	// returns it.
	Sent time.Time

	// Header returns the values of every occurrence of a header field of
	// the message's top-level header, in order: name is matched
	// case-insensitively, values are unfolded and RFC 2047-decoded to
	// UTF-8 (see DecodeHeader). It returns nil if the field is absent.
	Header func(name string) ([]string, error)
	// Addresses returns the address list of an address field (From, To,
	// Cc, Bcc, Sender, Reply-To) as ENVELOPE shows it: the entries that
	// anatomy.ParseAddressList finds in the field's first occurrence,
	// group markers included, with display names and group names
	// RFC 2047-decoded to UTF-8. If nil, the first Header value of the
	// field is parsed (it is decoded already, so an encoded word holding
	// a comma or quote misleads the parser).
	Addresses func(name string) ([]anatomy.Address, error)
	// Envelope returns the value of a field as the envelope holds it
	// (Subject: the first occurrence, decoded), nil if absent. If nil,
	// the first Header value is used.
	Envelope func(name string) ([]string, error)
	// Body returns the searchable text of the body: the text parts,
	// transfer-decoded and converted to UTF-8.
	Body func() (string, error)
	// Text returns the searchable text of the whole message: the decoded
	// header section followed by the body text. If nil, TEXT matches a
	// needle found in any of the Header values of the common fields
	// (see textFields) or in Body.
	Text func() (string, error)
}

// header returns the values of a field, treating a nil accessor as "no
// header".
func (m *Message) header(name string) ([]string, error) {
	if m.Header == nil {
		return nil, nil
	}
	return m.Header(name)
}

// envelope returns a field as the envelope holds it: from the Envelope
// accessor, else the first Header value.
func (m *Message) envelope(name string) ([]string, error) {
	if m.Envelope != nil {
		return m.Envelope(name)
	}
	vals, err := m.header(name)
	if len(vals) > 1 {
		vals = vals[:1]
	}
	return vals, err
}

// addresses returns the address list of a field, parsing its first
// Header value when there is no Addresses accessor.
func (m *Message) addresses(name string) ([]anatomy.Address, error) {
	if m.Addresses != nil {
		return m.Addresses(name)
	}
	vals, err := m.header(name)
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	return anatomy.ParseAddressList(vals[0]), nil
}

// CharsetReader converts text in a named charset to UTF-8, as
// mime.WordDecoder.CharsetReader (github.com/emersion/go-message/charset's
// Reader fits).
type CharsetReader func(charset string, input io.Reader) (io.Reader, error)

// DecodeHeader unfolds a raw header field value and decodes its RFC 2047
// encoded-words to UTF-8. UTF-8, US-ASCII and ISO-8859-1 are always
// understood; other charsets need cr (nil: such words are left as they
// are). Malformed words are left as they are.
func DecodeHeader(raw string, cr CharsetReader) string {
	v := unfold(raw)
	if !strings.Contains(v, "=?") {
		return v
	}
	dec := mime.WordDecoder{CharsetReader: cr}
	if out, err := dec.DecodeHeader(v); err == nil {
		return out
	}
	// One bad word fails the whole value: decode word by word instead.
	fields := strings.Split(v, " ")
	for i, f := range fields {
		if w, err := dec.Decode(f); err == nil {
			fields[i] = w
		}
	}
	return strings.Join(fields, " ")
}

// unfold removes the CRLF (or LF) of folded header lines.
func unfold(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}
