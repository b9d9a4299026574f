package imapserver

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"rookery/internal/anatomy"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapfetch"
	"rookery/internal/imapwire"
	"rookery/internal/store"
)

// needsAnatomy reports whether an item is answered from the message's
// anatomy (structure, envelope, any section but the whole message).
func needsAnatomy(it imapcmd.FetchItem) bool {
	switch it.Name {
	case "ENVELOPE", "BODYSTRUCTURE", "RFC822.HEADER", "RFC822.TEXT", "BINARY", "BINARY.SIZE", "PREVIEW":
		return true
	case "BODY":
		s := it.Section
		return s == nil || len(s.Part) > 0 || s.Specifier != ""
	}
	return false
}

// msgData is what one message's FETCH response needs, gathered before its
// first byte is written.
type msgData struct {
	blob  store.Blob
	root  *anatomy.Part
	items []prepared // parallel to fetcher.items; zero for simple items
}

// prepared is one body item ready to write.
type prepared struct {
	name string // "BODY[1.2]<0>", "BINARY[1]", ...
	// data holds a filtered header or a preview; else the item is the
	// blob range [off, off+n), decoded from enc when decode is set, with
	// skip decoded bytes dropped first.
	data    []byte
	off, n  int64
	rawN    int64 // size of the encoded range when decode
	decode  bool
	enc     string
	skip    int64
	binary  bool // write a literal8 (decoded content holds NUL)
	size    int64
	isSize  bool // BINARY.SIZE: write size as a number
	preview bool // PREVIEW: write data as a string
}

// prepare opens the blob and the anatomy if the items need them and
// resolves every body item. ENVELOPE and BODYSTRUCTURE read only the
// stored anatomy: the content is opened for them only when none is stored.
func (f *fetcher) prepare(m store.Message) (*msgData, error) {
	d := &msgData{}
	for i, it := range f.items {
		if !needsBlob(it) {
			continue
		}
		if d.root == nil && needsAnatomy(it) {
			root, err := f.anatomy(m, d)
			if err != nil {
				return d, err
			}
			d.root = root
		}
		if readsContent(it) {
			if err := f.open(m, d); err != nil {
				return d, err
			}
		}
		if d.items == nil {
			d.items = make([]prepared, len(f.items))
		}
		p, err := prepareItem(it, d)
		if err != nil {
			return d, err
		}
		d.items[i] = p
	}
	return d, nil
}

// readsContent reports whether an item reads the message content itself,
// not only its anatomy.
func readsContent(it imapcmd.FetchItem) bool {
	switch {
	case !needsBlob(it), it.Name == "ENVELOPE", it.Name == "BODYSTRUCTURE", it.Name == "BODY" && it.Section == nil:
		return false
	}
	return true
}

// open sets d.blob to m's content: the one FetchContent read with the
// message, else the store's blob.
func (f *fetcher) open(m store.Message, d *msgData) error {
	if d.blob != nil {
		return nil
	}
	if m.Content != nil {
		d.blob = contentBlob{bytes.NewReader(m.Content)}
		return nil
	}
	b, err := f.c.srv.opts.Store.OpenBlob(f.ctx, m.Blob)
	if err != nil {
		return err
	}
	d.blob = b
	return nil
}

// contentBlob is a content that FetchContent read with its message.
type contentBlob struct{ *bytes.Reader }

func (contentBlob) Close() error { return nil }

func (d *msgData) close() {
	if d.blob != nil {
		_ = d.blob.Close()
	}
}

// anatomy decodes the stored anatomy of m, or parses the blob if none is
// stored (content written before anatomies, or an older encoding) and
// stores the result for next time.
func (f *fetcher) anatomy(m store.Message, d *msgData) (*anatomy.Part, error) {
	if root, ok := f.roots[m.Blob]; ok {
		return root, nil
	}
	if len(m.Anatomy) > 0 {
		if root, err := anatomy.Unmarshal(m.Anatomy); err == nil {
			return root, nil
		}
	}
	if err := f.open(m, d); err != nil {
		return nil, err
	}
	root, err := anatomy.Parse(io.NewSectionReader(d.blob, 0, d.blob.Size()))
	if err != nil {
		return nil, err
	}
	if err := f.c.srv.opts.Store.SetAnatomy(f.ctx, m.Blob, anatomy.Marshal(root)); err != nil {
		f.c.log.Warn("storing a lazily parsed anatomy", "blob", m.Blob, "err", err)
	}
	return root, nil
}

// sectionName renders a section as sent in the response: "1.2.HEADER.FIELDS (A B)".
func sectionName(s *imapcmd.Section) string {
	var b strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if s.Fields != nil {
		b.WriteString(" (")
		for i, fl := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(astring(fl))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// astring renders a header field name as an astring.
func astring(s string) string {
	if s != "" && !strings.EqualFold(s, "NIL") {
		atom := true
		for i := 0; i < len(s); i++ {
			if !imapwire.IsAStringChar(s[i]) {
				atom = false
				break
			}
		}
		if atom {
			return s
		}
	}
	return strconv.Quote(s)
}

func prepareItem(it imapcmd.FetchItem, d *msgData) (prepared, error) {
	var p prepared
	root := d.root
	sec := imapfetch.Section{}
	if it.Section != nil {
		sec = imapfetch.Section{Part: it.Section.Part, Specifier: it.Section.Specifier, Fields: it.Section.Fields}
	}
	switch it.Name {
	case "ENVELOPE", "BODYSTRUCTURE":
		return p, nil
	case "BODY":
		if it.Section == nil {
			return p, nil
		}
		p.name = "BODY[" + sectionName(it.Section) + "]"
	case "RFC822":
		p.name, p.off, p.n = "RFC822", 0, d.blob.Size()
		return p, nil
	case "RFC822.HEADER":
		p.name, sec.Specifier = "RFC822.HEADER", "HEADER"
	case "RFC822.TEXT":
		p.name, sec.Specifier = "RFC822.TEXT", "TEXT"
	case "PREVIEW":
		text, err := imapfetch.Preview(d.blob, root)
		if err != nil {
			return p, err
		}
		p.preview, p.data = true, []byte(text)
		return p, nil
	case "BINARY", "BINARY.SIZE":
		return prepareBinary(it, d, sec)
	}
	if root == nil { // BODY[] without anatomy: the whole message
		p.off, p.n = 0, d.blob.Size()
	} else {
		c := imapfetch.Resolve(root, sec)
		p.off, p.n = c.Off, c.Len
		if c.Fields != nil {
			h, err := imapfetch.FilterHeaderAt(d.blob, c.Off, c.Len, c.Fields, c.Not)
			if err != nil {
				return p, err
			}
			p.data, p.off, p.n = h, 0, int64(len(h))
		}
	}
	if pt := it.Partial; pt != nil {
		p.name += "<" + strconv.FormatUint(uint64(pt.Offset), 10) + ">"
		o, n := imapfetch.Partial(p.n, pt.Offset, pt.Count)
		if p.data != nil {
			p.data = p.data[o : o+n]
		}
		p.off, p.n = p.off+o, n
	}
	return p, nil
}

// prepareBinary resolves BINARY[part]<o.n> and BINARY.SIZE[part] (RFC
// 3516): the part's body decoded from the part's own transfer encoding,
// also for a multipart or message/rfc822 part (RFC 2045 allows them only
// identity encodings, so their body is normally sent as stored; one that
// claims another is decoded, or refused with [UNKNOWN-CTE], like any
// part). BINARY[] is the message as stored (testdata/mime/README.md).
// Sizes are found by decoding; the content is decoded again while it is
// written.
func prepareBinary(it imapcmd.FetchItem, d *msgData, sec imapfetch.Section) (prepared, error) {
	p := prepared{name: it.Name + "[" + sectionName(it.Section) + "]"}
	c := imapfetch.Resolve(d.root, sec)
	p.off, p.n = c.Off, c.Len
	if c.Part != nil && len(sec.Part) > 0 {
		p.enc = c.Part.Encoding
	}
	size := p.n
	if !imapfetch.IsIdentity(p.enc) {
		dec, err := imapfetch.NewDecoder(io.NewSectionReader(d.blob, p.off, p.n), p.enc)
		if errors.Is(err, imapfetch.ErrUnknownCTE) {
			return p, imap.Errorf(imap.CodeUnknownCTE, "Unknown Content-Transfer-Encoding %q", c.Part.Encoding)
		}
		if err != nil {
			return p, err
		}
		var w nulWriter
		if size, err = io.Copy(&w, dec); err != nil {
			return p, err
		}
		p.decode, p.binary, p.rawN = true, w.nul, p.n
	} else if it.Name == "BINARY" {
		nul, err := hasNUL(io.NewSectionReader(d.blob, p.off, p.n))
		if err != nil {
			return p, err
		}
		p.binary = nul
	}
	if it.Name == "BINARY.SIZE" {
		p.isSize, p.size = true, size
		return p, nil
	}
	p.n = size
	if pt := it.Partial; pt != nil {
		p.name += "<" + strconv.FormatUint(uint64(pt.Offset), 10) + ">"
		o, n := imapfetch.Partial(size, pt.Offset, pt.Count)
		if p.decode {
			p.skip, p.n = o, n
		} else {
			p.off, p.n = p.off+o, n
		}
	}
	return p, nil
}

// nulWriter discards what it is given and notes a NUL byte.
type nulWriter struct{ nul bool }

func (w *nulWriter) Write(b []byte) (int, error) {
	if !w.nul && bytes.IndexByte(b, 0) >= 0 {
		w.nul = true
	}
	return len(b), nil
}

func hasNUL(r io.Reader) (bool, error) {
	var w nulWriter
	_, err := io.Copy(&w, r)
	return w.nul, err
}

// writeItem writes a prepared body item, structure or envelope.
func (f *fetcher) writeItem(it imapcmd.FetchItem, d *msgData, p prepared) error {
	e := f.c.enc
	switch {
	case it.Name == "ENVELOPE":
		e.Raw("ENVELOPE ")
		imap.WriteEnvelope(e, d.root.Envelope)
		return e.Err()
	case it.Name == "BODYSTRUCTURE" || it.Name == "BODY" && it.Section == nil:
		e.Raw(it.Name).SP()
		imap.WriteBodyStructure(e, d.root, it.Name == "BODYSTRUCTURE")
		return e.Err()
	case p.preview:
		e.Raw("PREVIEW ")
		e.String(string(p.data))
		return e.Err()
	case p.isSize:
		e.Raw(p.name).SP().Number64(uint64(p.size))
		return e.Err()
	}
	e.Raw(p.name).SP()
	var r io.Reader
	switch {
	case p.data != nil:
		r = bytes.NewReader(p.data)
	case p.decode:
		dec, err := imapfetch.NewDecoder(io.NewSectionReader(d.blob, p.off, p.rawN), p.enc)
		if err != nil {
			return err
		}
		if p.skip > 0 {
			if _, err := io.CopyN(io.Discard, dec, p.skip); err != nil {
				return err
			}
		}
		r = dec
	default:
		r = io.NewSectionReader(d.blob, p.off, p.n)
	}
	if p.binary {
		e.Literal8(p.n, r)
	} else {
		e.Literal(p.n, noNUL{r})
	}
	return e.Err()
}

// noNUL reads r with every NUL byte replaced by 0x80. Only a literal8,
// in answer to BINARY, may carry NUL (RFC 9051 §4.3.1; RFC 3501's CHAR8
// excludes it); a stored message may still hold one outside a binary part
// (APPEND ~{n} encodes only those, anatomy.EncodeBinaryParts), and BODY
// sends it as 0x80 like Dovecot, keeping sizes, while BINARY of the
// part returns the byte as stored.
type noNUL struct{ r io.Reader }

func (n noNUL) Read(b []byte) (int, error) {
	k, err := n.r.Read(b)
	for s := b[:k]; ; {
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			break
		}
		s[i] = 0x80
		s = s[i+1:]
	}
	return k, err
}
