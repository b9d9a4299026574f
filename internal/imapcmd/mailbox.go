package imapcmd

import "slices"

// ParseMailbox parses SP mailbox (DELETE, SUBSCRIBE, UNSUBSCRIBE).
func ParseMailbox(p *Parser) (*MailboxArg, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	m, err := p.mailbox()
	if err != nil {
		return nil, err
	}
	return &MailboxArg{Mailbox: m}, nil
}

// ParseRename parses SP mailbox SP mailbox.
func ParseRename(p *Parser) (*Rename, error) {
	var r Rename
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if r.From, err = p.mailbox(); err != nil {
		return nil, err
	}
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if r.To, err = p.mailbox(); err != nil {
		return nil, err
	}
	return &r, nil
}

// ParseSelect parses SP mailbox [SP "(" select-param *(SP select-param) ")"]
// for SELECT and EXAMINE (RFC 7162 CONDSTORE and QRESYNC parameters).
func ParseSelect(p *Parser) (*Select, error) {
	s := &Select{ReadOnly: p.name == "EXAMINE"}
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if s.Mailbox, err = p.mailbox(); err != nil {
		return nil, err
	}
	if ok, err := p.d.Accept(' '); err != nil || !ok {
		return s, err
	}
	err = p.d.List(func() error {
		name, err := p.keyword()
		if err != nil {
			return err
		}
		switch name {
		case "CONDSTORE":
			s.CondStore = true
		case "QRESYNC":
			if s.QResync != nil {
				return p.errorf("duplicate QRESYNC parameter")
			}
			if err := p.d.SP(); err != nil {
				return err
			}
			s.QResync, err = p.qresync()
			return err
		default:
			return p.errorf("unknown select parameter %s", name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// qresync parses "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 §3.2.5).
func (p *Parser) qresync() (*QResync, error) {
	d := p.d
	q := &QResync{}
	var err error
	if err = d.Expect('('); err != nil {
		return nil, err
	}
	if q.UIDValidity, err = p.nzNumber(); err != nil {
		return nil, err
	}
	if err = d.SP(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = d.Number64(); err != nil {
		return nil, err
	}
	for {
		if ok, err := d.Accept(')'); err != nil || ok {
			return q, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
		b, err := d.PeekByte()
		if err != nil {
			return nil, err
		}
		if b == '(' {
			if q.SeqMatchSeqs != nil {
				return nil, p.errorf("duplicate sequence match data")
			}
			if err := d.Expect('('); err != nil {
				return nil, err
			}
			if q.SeqMatchSeqs, err = p.seqSet(); err != nil {
				return nil, err
			}
			if err := d.SP(); err != nil {
				return nil, err
			}
			if q.SeqMatchUIDs, err = p.seqSet(); err != nil {
				return nil, err
			}
			if err := d.Expect(')'); err != nil {
				return nil, err
			}
			continue
		}
		if q.KnownUIDs != nil || q.SeqMatchSeqs != nil {
			return nil, p.errorf("unexpected QRESYNC argument")
		}
		if q.KnownUIDs, err = p.seqSet(); err != nil {
			return nil, err
		}
	}
}

// ParseCreate parses SP mailbox [SP "(" create-param *(SP create-param) ")"]
// with the USE parameter of RFC 6154.
func ParseCreate(p *Parser) (*Create, error) {
	c := &Create{}
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if c.Mailbox, err = p.mailbox(); err != nil {
		return nil, err
	}
	if ok, err := p.d.Accept(' '); err != nil || !ok {
		return c, err
	}
	err = p.d.List(func() error {
		name, err := p.keyword()
		if err != nil {
			return err
		}
		if name != "USE" {
			return p.errorf("unknown CREATE parameter %s", name)
		}
		if err := p.d.SP(); err != nil {
			return err
		}
		c.SpecialUse = []string{}
		return p.d.List(func() error {
			if err := p.d.Expect('\\'); err != nil {
				return err
			}
			a, err := p.d.Atom()
			if err != nil {
				return err
			}
			c.SpecialUse = append(c.SpecialUse, `\`+a)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// StatusItems are the STATUS data items Read accepts, in STATUS and in
// LIST's RETURN (STATUS ...) (RFC 9051, RFC 7162 HIGHESTMODSEQ, RFC 7889
// APPENDLIMIT, RFC 8474 MAILBOXID, RFC 8438 SIZE, RFC 3501 RECENT, RFC
// 9208 DELETED and DELETED-STORAGE). It is the one list: the server
// answers every item Read accepts.
var StatusItems = []string{
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT",
	"HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID", "DELETED-STORAGE",
}

// statusAtts parses "(" status-att *(SP status-att) ")".
func (p *Parser) statusAtts() ([]string, error) {
	items := []string{}
	err := p.d.List(func() error {
		a, err := p.keyword()
		if err != nil {
			return err
		}
		if !slices.Contains(StatusItems, a) {
			return p.errorf("unknown status item %s", a)
		}
		items = append(items, a)
		return nil
	})
	if err == nil && len(items) == 0 {
		err = p.errorf("empty status item list")
	}
	return items, err
}

// ParseStatus parses SP mailbox SP "(" status-att *(SP status-att) ")".
func ParseStatus(p *Parser) (*Status, error) {
	s := &Status{}
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if s.Mailbox, err = p.mailbox(); err != nil {
		return nil, err
	}
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if s.Items, err = p.statusAtts(); err != nil {
		return nil, err
	}
	return s, nil
}
