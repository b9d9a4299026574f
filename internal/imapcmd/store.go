package imapcmd

// ParseStore parses SP sequence-set SP [store-modifiers SP]
// store-att-flags, where store-modifiers is "(" UNCHANGEDSINCE SP
// mod-sequence-valzer ")" (RFC 7162) and the flags are a flag-list or
// flags separated by spaces.
func ParseStore(p *Parser) (*Store, error) {
	d := p.d
	s := &Store{}
	var err error
	if err = d.SP(); err != nil {
		return nil, err
	}
	if s.Set, s.Saved, err = p.setOrSaved(); err != nil {
		return nil, err
	}
	if err = d.SP(); err != nil {
		return nil, err
	}
	b, err := d.PeekByte()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		err := d.List(func() error {
			m, err := p.keyword()
			if err != nil {
				return err
			}
			if m != "UNCHANGEDSINCE" || s.HasUnchanged {
				return p.errorf("unknown or duplicate STORE modifier %s", m)
			}
			if err := d.SP(); err != nil {
				return err
			}
			s.UnchangedSince, err = d.Number64()
			s.HasUnchanged = err == nil
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := d.SP(); err != nil {
			return nil, err
		}
	}
	item, err := p.keyword()
	if err != nil {
		return nil, err
	}
	switch item {
	case "FLAGS", "FLAGS.SILENT":
		s.Op = StoreReplace
	case "+FLAGS", "+FLAGS.SILENT":
		s.Op = StoreAdd
	case "-FLAGS", "-FLAGS.SILENT":
		s.Op = StoreRemove
	default:
		return nil, p.errorf("unknown STORE item %s", item)
	}
	s.Silent = len(item) > 7 && item[len(item)-7:] == ".SILENT"
	if err := d.SP(); err != nil {
		return nil, err
	}
	if b, err = d.PeekByte(); err != nil {
		return nil, err
	}
	if b == '(' {
		if s.Flags, err = p.flagList(); err != nil {
			return nil, err
		}
		return s, nil
	}
	for {
		f, err := p.flag()
		if err != nil {
			return nil, err
		}
		s.Flags = append(s.Flags, f)
		if ok, err := d.Accept(' '); err != nil || !ok {
			return s, err
		}
	}
}

// ParseCopy parses SP sequence-set SP mailbox (COPY and MOVE).
func ParseCopy(p *Parser) (*Copy, error) {
	c := &Copy{}
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if c.Set, c.Saved, err = p.setOrSaved(); err != nil {
		return nil, err
	}
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if c.Mailbox, err = p.mailbox(); err != nil {
		return nil, err
	}
	return c, nil
}
