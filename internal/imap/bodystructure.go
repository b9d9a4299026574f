package imap

import (
	"strings"

	"rookery/internal/anatomy"
	"rookery/internal/imapwire"
)

// WriteEnvelope writes env as an IMAP envelope (RFC 9051 §7.5.2): a
// missing Sender or Reply-To is the From list; absent fields are NIL.
func WriteEnvelope(e *imapwire.Encoder, env *anatomy.Envelope) {
	if env == nil {
		env = &anatomy.Envelope{}
	}
	e.BeginList()
	e.NString(env.Date, env.Has&anatomy.HasDate != 0)
	e.SP()
	e.NString(env.Subject, env.Has&anatomy.HasSubject != 0)
	e.SP()
	writeAddresses(e, env.From)
	e.SP()
	writeAddresses(e, orFrom(env.Sender, env.From))
	e.SP()
	writeAddresses(e, orFrom(env.ReplyTo, env.From))
	e.SP()
	writeAddresses(e, env.To)
	e.SP()
	writeAddresses(e, env.Cc)
	e.SP()
	writeAddresses(e, env.Bcc)
	e.SP()
	e.NString(env.InReplyTo, env.Has&anatomy.HasInReplyTo != 0)
	e.SP()
	e.NString(env.MessageID, env.Has&anatomy.HasMessageID != 0)
	e.EndList()
}

func orFrom(l, from []anatomy.Address) []anatomy.Address {
	if len(l) == 0 {
		return from
	}
	return l
}

// nstring writes s, or NIL when it is absent or empty.
func nstring(e *imapwire.Encoder, s string, ok bool) {
	e.NString(s, ok && s != "")
}

func writeAddresses(e *imapwire.Encoder, l []anatomy.Address) {
	if len(l) == 0 {
		e.Nil()
		return
	}
	e.BeginList()
	for _, a := range l {
		e.BeginList()
		switch a.Kind {
		case anatomy.GroupStart:
			e.Raw("NIL NIL ")
			e.String(a.Mailbox)
			e.Raw(" NIL")
		case anatomy.GroupEnd:
			e.Raw("NIL NIL NIL NIL")
		default:
			nstring(e, a.Name, true)
			e.SP()
			nstring(e, a.Route, true)
			e.SP()
			e.String(a.MailboxOrMissing())
			e.SP()
			e.String(a.HostOrMissing())
		}
		e.EndList()
	}
	e.EndList()
}

// WriteBodyStructure writes the body structure of p (RFC 9051 §7.5.2):
// BODYSTRUCTURE when ext, else BODY (without extension data).
func WriteBodyStructure(e *imapwire.Encoder, p *anatomy.Part, ext bool) {
	e.BeginList()
	if p.IsMultipart() {
		if len(p.Parts) == 0 {
			// A multipart without parts is not expressible: report one
			// empty text/plain part, as Dovecot does.
			e.Raw(`("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0`)
			if ext {
				e.Raw(" NIL NIL NIL NIL")
			}
			e.Raw(")")
		}
		for _, c := range p.Parts {
			WriteBodyStructure(e, c, ext)
		}
		e.SP()
		e.String(strings.ToUpper(p.Subtype))
		if ext {
			e.SP()
			writeParams(e, p.Params)
			e.SP()
			writeExtTail(e, p)
		}
		e.EndList()
		return
	}
	e.String(strings.ToUpper(p.Type))
	e.SP()
	e.String(strings.ToUpper(p.Subtype))
	e.SP()
	if p.Type == "text" {
		if _, ok := p.Param("charset"); !ok {
			// RFC 2045 §5.2: text defaults to charset US-ASCII.
			writeParams(e, append(p.Params[:len(p.Params):len(p.Params)], anatomy.Param{Name: "charset", Value: "US-ASCII"}))
		} else {
			writeParams(e, p.Params)
		}
	} else {
		writeParams(e, p.Params)
	}
	e.SP()
	nstring(e, p.ID, true)
	e.SP()
	nstring(e, p.Description, true)
	e.SP()
	enc := "7BIT"
	if p.Encoding != "" {
		enc = strings.ToUpper(p.Encoding)
	}
	e.String(enc)
	e.SP()
	e.Number64(uint64(p.BodySize))
	switch {
	case p.IsMessage():
		c := p.Parts[0]
		e.SP()
		WriteEnvelope(e, c.Envelope)
		e.SP()
		WriteBodyStructure(e, c, ext)
		e.SP()
		e.Number64(uint64(p.BodyLines))
	case p.Type == "text":
		e.SP()
		e.Number64(uint64(p.BodyLines))
	}
	if ext {
		e.SP()
		nstring(e, p.MD5, true)
		e.SP()
		writeExtTail(e, p)
	}
	e.EndList()
}

// writeExtTail writes body-fld-dsp SP body-fld-lang SP body-fld-loc.
func writeExtTail(e *imapwire.Encoder, p *anatomy.Part) {
	if p.Disposition == "" {
		e.Nil()
	} else {
		e.BeginList()
		e.String(strings.ToUpper(p.Disposition))
		e.SP()
		writeParams(e, p.DispositionParams)
		e.EndList()
	}
	e.SP()
	switch len(p.Language) {
	case 0:
		e.Nil()
	case 1:
		e.String(p.Language[0])
	default:
		e.List(len(p.Language), func(i int) { e.String(p.Language[i]) })
	}
	e.SP()
	nstring(e, p.Location, true)
}

// writeParams writes body-fld-param; an RFC 2231 extended value is passed
// on as sent (name* with charset'language'percent-encoding), which keeps the
// response 7-bit and lets clients decode it.
func writeParams(e *imapwire.Encoder, ps []anatomy.Param) {
	if len(ps) == 0 {
		e.Nil()
		return
	}
	e.List(len(ps), func(i int) {
		p := ps[i]
		if p.Extended() {
			e.String(strings.ToUpper(p.Name) + "*")
			e.SP()
			e.String(p.Raw)
			return
		}
		e.String(strings.ToUpper(p.Name))
		e.SP()
		e.String(p.Value)
	})
}
