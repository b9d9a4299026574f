package searchtext

import (
	"io"
	"strings"
	"unicode"

	"rookery/internal/anatomy"
	"rookery/internal/imapfetch"
	"rookery/internal/search"
	"rookery/internal/store"
)

// MaxText bounds the body text of one message that is searched and
// indexed: the first 1 MiB of decoded text. Words beyond it are not found
// by BODY or TEXT.
const MaxText = 1 << 20

// Version is the version of the text Extract produces; a store keeps it
// with each document (store.IndexText.Version). Version 2: the from, to,
// cc and bcc text also holds the field's AddressText, which the FROM, TO,
// CC and BCC keys search (search.OpAddress); a document of version 1 may
// lack it, so a store must treat it as a candidate for those keys.
const Version = 2

// HeaderFields splits a raw header section into fields (name, value
// unfolded and RFC 2047-decoded), in order, as anatomy.EachField reads
// them.
func HeaderFields(raw []byte) [][2]string {
	fields := [][2]string{}
	anatomy.EachField(raw, func(name string, value []byte) {
		fields = append(fields, [2]string{name, DecodeHeader(string(value))})
	})
	return fields
}

// Addresses returns the address list of one of the envelope's address
// fields (From, Sender, Reply-To, To, Cc, Bcc; case-insensitive) with
// display names and group names RFC 2047-decoded: what
// search.Message.Addresses gives. ok is false for another field name.
func Addresses(env *anatomy.Envelope, field string) (list []anatomy.Address, ok bool) {
	if env == nil {
		env = &anatomy.Envelope{}
	}
	if list, ok = env.AddressList(field); !ok {
		return nil, false
	}
	out := make([]anatomy.Address, len(list))
	for i, a := range list {
		switch a.Kind {
		case anatomy.GroupStart:
			a.Mailbox = DecodeHeader(a.Mailbox)
		case anatomy.Mailbox:
			a.Name = DecodeHeader(a.Name)
		}
		out[i] = a
	}
	return out, true
}

// BodyText returns the searchable body text of a message: its text/*
// parts (also inside attached messages) transfer-decoded, converted to
// UTF-8 and joined by line feeds, cut after limit bytes.
func BodyText(msg io.ReaderAt, root *anatomy.Part, limit int) (string, error) {
	var sb strings.Builder
	var walkErr error
	root.Walk(func(p *anatomy.Part) {
		if walkErr != nil || p.Type != "text" || sb.Len() >= limit {
			return
		}
		r, err := imapfetch.NewDecoder(io.NewSectionReader(msg, p.BodyOffset, p.BodySize), p.Encoding)
		if err != nil {
			r = io.NewSectionReader(msg, p.BodyOffset, p.BodySize) // unknown encoding: raw
		}
		raw, err := io.ReadAll(io.LimitReader(r, int64(limit-sb.Len())))
		if err != nil {
			walkErr = err
			return
		}
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		cs, _ := p.Param("charset")
		sb.WriteString(textToUTF8(cs, raw))
	})
	return sb.String(), walkErr
}

// textToUTF8 converts body text to valid UTF-8 (anatomy.ToUTF8: text in
// an unknown charset is taken as UTF-8).
func textToUTF8(charset string, raw []byte) string {
	s, _ := anatomy.ToUTF8(charset, raw)
	return s
}

// DecodeHeader unfolds a header field value and decodes its RFC 2047
// encoded words to UTF-8, in every charset anatomy.CharsetReader knows.
func DecodeHeader(raw string) string {
	return search.DecodeHeader(raw, anatomy.CharsetReader)
}

// Extract returns the searchable text of a message for a text index,
// computed with the same functions the residual evaluator uses (so an
// index built from it finds a superset of what evaluation matches).
func Extract(msg io.ReaderAt, root *anatomy.Part) (*store.IndexText, error) {
	raw := make([]byte, root.HeaderSize)
	if _, err := msg.ReadAt(raw, root.HeaderOffset); err != nil && err != io.EOF {
		return nil, err
	}
	t := store.IndexText{Version: Version}
	var from, to, cc, bcc, subj, other strings.Builder
	for _, f := range HeaderFields(raw) {
		var b *strings.Builder
		switch strings.ToLower(f[0]) {
		case "from":
			b = &from
		case "to":
			b = &to
		case "cc":
			b = &cc
		case "bcc":
			b = &bcc
		case "subject":
			b = &subj
		default:
			b = &other
		}
		b.WriteString(f[0] + ": " + f[1] + "\n")
		var sf *string
		switch strings.ToLower(f[0]) {
		case "date":
			sf = &t.Sort.Date
		case "subject":
			sf = &t.Sort.Subject
		case "message-id":
			sf = &t.Sort.MessageID
		case "in-reply-to":
			sf = &t.Sort.InReplyTo
		case "references":
			sf = &t.Sort.References
		}
		if sf != nil && *sf == "" {
			*sf = f[1]
		}
	}
	// The text the FROM, TO, CC and BCC keys search, from the envelope
	// the evaluator reads (search.OpAddress).
	for _, f := range []struct {
		name string
		b    *strings.Builder
	}{{"From", &from}, {"To", &to}, {"Cc", &cc}, {"Bcc", &bcc}} {
		list, _ := Addresses(root.Envelope, f.name)
		if text := search.AddressText(list); text != "" {
			f.b.WriteString(text + "\n")
		}
	}
	body, err := BodyText(msg, root, MaxText)
	if err != nil {
		return nil, err
	}
	t.From, t.To, t.Cc, t.Bcc, t.Subject, t.Other = IndexFold(from.String()), IndexFold(to.String()),
		IndexFold(cc.String()), IndexFold(bcc.String()), IndexFold(subj.String()), IndexFold(other.String())
	t.Body = IndexFold(body)
	return &t, nil
}

// IndexFold maps every rune to one representative of its simple case
// folding class (the smallest rune of the class), rune for rune: two
// strings are equal under simple case folding exactly when their
// IndexFold forms are equal, so a substring index over folded text
// answers case-insensitive substring questions for folded needles.
func IndexFold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	return strings.Map(foldRune, s)
}

// foldRune returns the smallest rune of r's simple case folding orbit
// (for ASCII letters the upper case: K and S are below KELVIN SIGN and
// LONG S).
func foldRune(r rune) rune {
	if r < 0x80 {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}
