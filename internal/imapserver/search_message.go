package imapserver

import (
	"context"
	"io"
	"strings"
	"time"

	"rookery/internal/anatomy"
	"rookery/internal/search"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

// messageView is the lazily loaded content of one message for the
// residual evaluator, SORT and THREAD: header fields RFC 2047-decoded,
// address lists, and body text (text parts transfer-decoded and converted
// to UTF-8). Nothing is read until an accessor asks for it, and each part
// is read at most once.
type messageView struct {
	ctx         context.Context
	s           *searcher
	m           store.Message
	useEnvelope bool

	sort   *store.SortFields // from the index, nil if not read
	root   *anatomy.Part
	fields [][2]string // name, decoded value; nil until read
	body   *string
	err    error
	// gone is set when the content turned out to be expunged by another
	// session meanwhile: it then reads as empty, and a search skips it.
	gone bool
}

// vanished reports whether err says that the content was expunged
// meanwhile, and remembers it (gone).
func (v *messageView) vanished(err error) bool {
	if expungedMeanwhile(err) {
		v.gone = true
		return true
	}
	return false
}

// bind sets msg's accessors to read v.
func (v *messageView) bind(msg *search.Message) {
	msg.Header = v.header
	msg.Addresses = v.addresses
	msg.Envelope = v.envelope
	msg.Body = v.bodyText
	msg.Text = v.text
	if v.sort != nil {
		msg.Sent = v.sort.Sent
	}
}

// anatomy returns the message's parsed structure, parsing the blob if no
// anatomy is stored (or one of an older encoding version, which is then
// replaced).
func (v *messageView) anatomy() (*anatomy.Part, error) {
	if v.root != nil {
		return v.root, nil
	}
	if len(v.m.Anatomy) > 0 {
		if root, err := anatomy.Unmarshal(v.m.Anatomy); err == nil {
			v.root = root
			return root, nil
		}
	}
	b, err := v.s.st.OpenBlob(v.ctx, v.m.Blob)
	if v.vanished(err) {
		v.root = &anatomy.Part{}
		return v.root, nil
	}
	if err != nil {
		return nil, err
	}
	defer b.Close()
	root, err := anatomy.Parse(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		return nil, err
	}
	if err := v.s.st.SetAnatomy(v.ctx, v.m.Blob, anatomy.Marshal(root)); err != nil {
		v.s.log.Warn("storing a lazily parsed anatomy", "blob", v.m.Blob, "err", err)
	}
	v.root = root
	return root, nil
}

// header returns every occurrence of a top-level header field, decoded.
func (v *messageView) header(name string) ([]string, error) {
	if v.sort != nil {
		if vals, ok := sortField(v.sort, name); ok {
			return vals, nil
		}
	}
	if v.useEnvelope && v.fields == nil {
		if vals, ok, err := v.envelopeField(name); ok || err != nil {
			return vals, err
		}
	}
	if err := v.readFields(); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range v.fields {
		if strings.EqualFold(f[0], name) {
			out = append(out, f[1])
		}
	}
	return out, nil
}

// envelope answers search.Message.Envelope: from the index's sort
// fields or the anatomy's envelope, without opening the message, else
// the first occurrence from the header section.
func (v *messageView) envelope(name string) ([]string, error) {
	if v.sort != nil {
		if vals, ok := sortField(v.sort, name); ok {
			return vals, nil
		}
	}
	if vals, ok, err := v.envelopeField(name); ok || err != nil {
		return vals, err
	}
	if err := v.readFields(); err != nil {
		return nil, err
	}
	for _, f := range v.fields {
		if strings.EqualFold(f[0], name) {
			return []string{f[1]}, nil
		}
	}
	return nil, nil
}

// envelopeField answers the fields an envelope holds (first occurrence
// only: enough for SORT and THREAD) without opening the message file.
func (v *messageView) envelopeField(name string) ([]string, bool, error) {
	root, err := v.anatomy()
	if err != nil || root.Envelope == nil {
		return nil, false, err
	}
	e := root.Envelope
	var val string
	var has bool
	switch strings.ToLower(name) {
	case "subject":
		val, has = e.Subject, e.Has&anatomy.HasSubject != 0
	case "date":
		val, has = e.Date, e.Has&anatomy.HasDate != 0
	case "message-id":
		val, has = e.MessageID, e.Has&anatomy.HasMessageID != 0
	case "in-reply-to":
		val, has = e.InReplyTo, e.Has&anatomy.HasInReplyTo != 0
	default:
		return nil, false, nil
	}
	if !has {
		return nil, true, nil
	}
	return []string{searchtext.DecodeHeader(val)}, true, nil
}

// addresses returns the address list of one of the envelope's address
// fields, names decoded (search.Message.Addresses), from the anatomy: the
// same list the index text holds (searchtext.Extract) and ENVELOPE shows.
// Other fields have none.
func (v *messageView) addresses(name string) ([]anatomy.Address, error) {
	root, err := v.anatomy()
	if err != nil {
		return nil, err
	}
	list, _ := searchtext.Addresses(root.Envelope, name)
	return list, nil
}

// readFields reads and decodes the top-level header section.
func (v *messageView) readFields() error {
	if v.fields != nil || v.err != nil {
		return v.err
	}
	root, err := v.anatomy()
	if err != nil {
		v.err = err
		return err
	}
	raw, err := v.readRange(root.HeaderOffset, root.HeaderSize)
	if v.vanished(err) {
		v.fields = [][2]string{}
		return nil
	}
	if err != nil {
		v.err = err
		return err
	}
	v.fields = searchtext.HeaderFields(raw)
	return nil
}

// readRange reads [off, off+n) of the message file.
func (v *messageView) readRange(off, n int64) ([]byte, error) {
	b, err := v.s.st.OpenBlob(v.ctx, v.m.Blob)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	buf := make([]byte, n)
	if _, err := b.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// bodyText returns the text of the body's text parts, decoded.
func (v *messageView) bodyText() (string, error) {
	if v.body != nil {
		return *v.body, nil
	}
	root, err := v.anatomy()
	if err != nil {
		return "", err
	}
	b, err := v.s.st.OpenBlob(v.ctx, v.m.Blob)
	if v.vanished(err) {
		v.body = new(string)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer b.Close()
	text, err := searchtext.BodyText(b, root, searchtext.MaxText)
	if err != nil {
		return "", err
	}
	v.body = &text
	return text, nil
}

// text returns the decoded header section followed by the body text.
func (v *messageView) text() (string, error) {
	if err := v.readFields(); err != nil {
		return "", err
	}
	body, err := v.bodyText()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range v.fields {
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String(), nil
}

// sortField answers a field that store.SortFields holds.
func sortField(f *store.SortFields, name string) ([]string, bool) {
	var val string
	switch {
	case strings.EqualFold(name, "Date"):
		val = f.Date
		if val == "" && !f.Sent.IsZero() {
			val = f.Sent.Format(time.RFC1123Z)
		}
	case strings.EqualFold(name, "Subject"):
		val = f.Subject
	case strings.EqualFold(name, "Message-ID"):
		val = f.MessageID
	case strings.EqualFold(name, "In-Reply-To"):
		val = f.InReplyTo
	case strings.EqualFold(name, "References"):
		val = f.References
	default:
		return nil, false
	}
	if val == "" {
		return nil, true
	}
	return []string{val}, true
}
