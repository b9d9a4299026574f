package imapcmd

import (
	"rookery/internal/imapwire"
)

// appendState reads the messages of one APPEND command.
type appendState struct {
	p          *Parser
	first      bool
	closeParen bool  // the last message used the UTF8 (literal8) form
	done       bool  // the final CRLF was read
	err        error // sticky
}

// ParseAppend parses SP mailbox and leaves the messages to Next.
func ParseAppend(p *Parser) (*Append, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	m, err := p.mailbox()
	if err != nil {
		return nil, err
	}
	st := &appendState{p: p, first: true}
	return &Append{Mailbox: m, next: st.next}, nil
}

func (s *appendState) next() (*AppendMessage, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.done {
		return nil, nil
	}
	msg, err := s.read()
	if err != nil {
		s.err = s.p.wrap(err)
		return nil, s.err
	}
	return msg, nil
}

// read parses [SP flag-list] [SP date-time] SP (literal / "UTF8" SP "("
// literal8 ")") of the next message, or the CRLF after the last one
// (RFC 3502 MULTIAPPEND, RFC 3516 literal8, RFC 6855 UTF8).
func (s *appendState) read() (*AppendMessage, error) {
	d := s.p.d
	if s.closeParen {
		// Any unread rest of the previous literal is skipped by the Decoder.
		if err := d.Expect(')'); err != nil {
			return nil, err
		}
		s.closeParen = false
	}
	if !s.first {
		eol, err := d.AtEOL()
		if err != nil {
			return nil, err
		}
		if eol {
			if err := d.CRLF(); err != nil {
				return nil, err
			}
			s.done = true
			return nil, nil
		}
	}
	s.first = false
	if err := d.SP(); err != nil {
		return nil, err
	}
	msg := &AppendMessage{}
	b, err := d.PeekByte()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		if msg.Flags, err = s.p.flagList(); err != nil {
			return nil, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
		if b, err = d.PeekByte(); err != nil {
			return nil, err
		}
	}
	if b == '"' {
		if msg.Date, err = d.DateTime(); err != nil {
			return nil, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
		if b, err = d.PeekByte(); err != nil {
			return nil, err
		}
	}
	utf8Form := false
	if b == 'U' || b == 'u' {
		if err := s.p.expectKeyword("UTF8"); err != nil {
			return nil, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
		if err := d.Expect('('); err != nil {
			return nil, err
		}
		if b, err = d.PeekByte(); err != nil {
			return nil, err
		}
		if b != '~' {
			return nil, s.p.errorf("UTF8 APPEND data must be a literal8")
		}
		utf8Form = true
	}
	if b != '{' && b != '~' {
		return nil, s.p.errorf("expected message literal")
	}
	lit, err := d.MessageLiteral(s.p.opts.AppendLimit)
	if err != nil {
		return nil, err
	}
	msg.Literal = lit
	msg.UTF8 = utf8Form
	s.closeParen = utf8Form
	return msg, nil
}

// The message literal is an imapwire.LiteralReader; LiteralReader in this
// package has the same method set.
var _ LiteralReader = imapwire.LiteralReader(nil)
