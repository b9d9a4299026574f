package anatomy

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the encoding version written by Marshal. Unmarshal of another
// version fails with ErrVersion: the caller parses the message again.
// Version 2: RFC 2231 parameter values are converted to UTF-8 from every
// charset CharsetReader knows (version 1 converted only ISO-8859-1), so
// older anatomies are parsed again on their next FETCH.
// Version 3: a Content-Transfer-Encoding value that is not one token
// ("7bit garbage", a quoted string) is kept whole in Encoding instead of
// its first token, so that BINARY refuses it.
// Version 4: the one address parser (ParseAddressList) keeps every
// address of a list: "<>", a display name alone, bare routes.
const Version = 4

// ErrVersion reports an encoding of an unknown version.
var ErrVersion = errors.New("anatomy: unknown encoding version")

// ErrCorrupt reports an encoding that cannot be decoded.
var ErrCorrupt = errors.New("anatomy: corrupt encoding")

// Part flags in the encoding.
const (
	encDefaultType = 1 << iota
	encEnvelope
)

// Marshal encodes p (with its children) in the versioned binary encoding.
func Marshal(p *Part) []byte {
	b := make([]byte, 0, 256)
	b = append(b, Version)
	return appendPart(b, p)
}

func appendPart(b []byte, p *Part) []byte {
	b = binary.AppendUvarint(b, uint64(p.HeaderOffset))
	b = binary.AppendUvarint(b, uint64(p.HeaderSize))
	b = binary.AppendUvarint(b, uint64(p.BodySize))
	b = binary.AppendUvarint(b, uint64(p.BodyLines))
	var fl byte
	if p.DefaultType {
		fl |= encDefaultType
	}
	if p.Envelope != nil {
		fl |= encEnvelope
	}
	b = append(b, fl)
	for _, s := range [...]string{p.Type, p.Subtype, p.ID, p.Description, p.Location, p.MD5, p.Encoding, p.Disposition} {
		b = appendString(b, s)
	}
	b = appendParams(b, p.Params)
	b = appendParams(b, p.DispositionParams)
	b = binary.AppendUvarint(b, uint64(len(p.Language)))
	for _, l := range p.Language {
		b = appendString(b, l)
	}
	if e := p.Envelope; e != nil {
		b = append(b, byte(e.Has))
		for _, s := range [...]string{e.Date, e.Subject, e.InReplyTo, e.MessageID} {
			b = appendString(b, s)
		}
		for _, l := range [...][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, a := range l {
				b = append(b, byte(a.Kind))
				b = appendString(b, a.Name)
				b = appendString(b, a.Route)
				b = appendString(b, a.Mailbox)
				b = appendString(b, a.Host)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Parts)))
	for _, c := range p.Parts {
		b = appendPart(b, c)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendParams(b []byte, ps []Param) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
		b = appendString(b, p.Raw)
	}
	return b
}

// Unmarshal decodes an encoding made by Marshal.
func Unmarshal(data []byte) (*Part, error) {
	if len(data) == 0 {
		return nil, ErrCorrupt
	}
	if data[0] != Version {
		return nil, fmt.Errorf("%w %d", ErrVersion, data[0])
	}
	d := decoder{b: data[1:]}
	p := d.part(0)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return p, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int64() int64 {
	v := d.uvarint()
	if v > 1<<62 {
		d.fail()
		return 0
	}
	return int64(v)
}

// count reads a length, failing if more than the remaining bytes could hold.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) params() []Param {
	n := d.count()
	if n == 0 {
		return nil
	}
	ps := make([]Param, 0, min(n, 64))
	for range n {
		if d.err != nil {
			return nil
		}
		ps = append(ps, Param{Name: d.string(), Value: d.string(), Raw: d.string()})
	}
	return ps
}

func (d *decoder) part(depth int) *Part {
	if depth > MaxDepth+1 {
		d.fail()
		return nil
	}
	p := &Part{}
	p.HeaderOffset = d.int64()
	p.HeaderSize = d.int64()
	p.BodyOffset = p.HeaderOffset + p.HeaderSize
	p.BodySize = d.int64()
	p.BodyLines = d.int64()
	fl := d.byte1()
	p.DefaultType = fl&encDefaultType != 0
	for _, s := range [...]*string{&p.Type, &p.Subtype, &p.ID, &p.Description, &p.Location, &p.MD5, &p.Encoding, &p.Disposition} {
		*s = d.string()
	}
	p.Params = d.params()
	p.DispositionParams = d.params()
	if n := d.count(); n > 0 {
		p.Language = make([]string, 0, min(n, 64))
		for range n {
			if d.err != nil {
				return nil
			}
			p.Language = append(p.Language, d.string())
		}
	}
	if fl&encEnvelope != 0 {
		e := &Envelope{Has: EnvelopeFields(d.byte1())}
		for _, s := range [...]*string{&e.Date, &e.Subject, &e.InReplyTo, &e.MessageID} {
			*s = d.string()
		}
		for _, l := range [...]*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
			n := d.count()
			if n == 0 {
				continue
			}
			as := make([]Address, 0, min(n, 64))
			for range n {
				if d.err != nil {
					return nil
				}
				a := Address{Kind: AddressKind(d.byte1())}
				a.Name, a.Route, a.Mailbox, a.Host = d.string(), d.string(), d.string(), d.string()
				as = append(as, a)
			}
			*l = as
		}
		p.Envelope = e
	}
	n := d.count()
	if n > 0 {
		p.Parts = make([]*Part, 0, min(n, 64))
		for range n {
			if d.err != nil {
				return nil
			}
			p.Parts = append(p.Parts, d.part(depth+1))
		}
	}
	if d.err != nil {
		return nil
	}
	return p
}
