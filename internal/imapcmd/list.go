package imapcmd

// ParseList parses LIST [SP list-select-opts] SP mailbox SP mbox-or-pat
// [SP list-return-opts] (RFC 9051, RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE).
func ParseList(p *Parser) (*List, error) {
	d := p.d
	l := &List{}
	if err := d.SP(); err != nil {
		return nil, err
	}
	b, err := d.PeekByte()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		l.Extended = true
		err := d.List(func() error {
			o, err := p.keyword()
			if err != nil {
				return err
			}
			switch o {
			case "SUBSCRIBED":
				l.SelectSubscribed = true
			case "REMOTE":
				l.SelectRemote = true
			case "RECURSIVEMATCH":
				l.SelectRecursiveMatch = true
			case "SPECIAL-USE":
				l.SelectSpecialUse = true
			default:
				return p.errorf("unknown LIST selection option %s", o)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// RFC 5258 §3: RECURSIVEMATCH needs another selection option
		// (REMOTE does not count).
		if l.SelectRecursiveMatch && !l.SelectSubscribed && !l.SelectSpecialUse {
			return nil, p.errorf("RECURSIVEMATCH requires another selection option")
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
	}
	if l.Reference, err = p.mailbox(); err != nil {
		return nil, err
	}
	if err := d.SP(); err != nil {
		return nil, err
	}
	if b, err = d.PeekByte(); err != nil {
		return nil, err
	}
	if b == '(' {
		l.Extended = true
		err := d.List(func() error {
			pat, err := p.listMailbox()
			l.Patterns = append(l.Patterns, pat)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(l.Patterns) == 0 {
			return nil, p.errorf("empty LIST pattern list")
		}
	} else {
		pat, err := p.listMailbox()
		if err != nil {
			return nil, err
		}
		l.Patterns = []string{pat}
	}
	if ok, err := d.Accept(' '); err != nil || !ok {
		return l, err
	}
	if err := p.expectKeyword("RETURN"); err != nil {
		return nil, err
	}
	if err := d.SP(); err != nil {
		return nil, err
	}
	l.Extended = true
	err = d.List(func() error {
		o, err := p.keyword()
		if err != nil {
			return err
		}
		switch o {
		case "SUBSCRIBED":
			l.ReturnSubscribed = true
		case "CHILDREN":
			l.ReturnChildren = true
		case "SPECIAL-USE":
			l.ReturnSpecialUse = true
		case "STATUS":
			if l.ReturnStatus != nil {
				return p.errorf("duplicate STATUS return option")
			}
			if err := d.SP(); err != nil {
				return err
			}
			l.ReturnStatus, err = p.statusAtts()
			return err
		default:
			return p.errorf("unknown LIST return option %s", o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ParseLsub parses SP mailbox SP list-mailbox.
func ParseLsub(p *Parser) (*Lsub, error) {
	l := &Lsub{}
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if l.Reference, err = p.mailbox(); err != nil {
		return nil, err
	}
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if l.Pattern, err = p.listMailbox(); err != nil {
		return nil, err
	}
	return l, nil
}
