package imapcmd

import "strings"

// GetQuota is GETQUOTA quota-root (RFC 9208 §4.2.1).
type GetQuota struct {
	Root string
}

// GetQuotaRoot is GETQUOTAROOT mailbox (RFC 9208 §4.2.2).
type GetQuotaRoot struct {
	Mailbox string
}

// SetQuota is SETQUOTA quota-root (resource limit ...) (RFC 9208 §4.2.3).
type SetQuota struct {
	Root   string
	Limits []QuotaLimit
}

// QuotaLimit is one setquota-resource.
type QuotaLimit struct {
	Resource string // upper-cased
	Limit    uint64
}

// ParseGetQuota parses SP quota-root (an astring).
func ParseGetQuota(p *Parser) (*GetQuota, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	root, err := p.d.AString()
	if err != nil {
		return nil, err
	}
	return &GetQuota{Root: root}, nil
}

// ParseGetQuotaRoot parses SP mailbox.
func ParseGetQuotaRoot(p *Parser) (*GetQuotaRoot, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	m, err := p.mailbox()
	if err != nil {
		return nil, err
	}
	return &GetQuotaRoot{Mailbox: m}, nil
}

// ParseSetQuota parses SP quota-root SP "(" [setquota-resource *(SP
// setquota-resource)] ")" with setquota-resource = resource-name SP
// resource-limit (number64).
func ParseSetQuota(p *Parser) (*SetQuota, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	root, err := p.d.AString()
	if err != nil {
		return nil, err
	}
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	sq := &SetQuota{Root: root, Limits: []QuotaLimit{}}
	err = p.d.List(func() error {
		name, err := p.d.Atom()
		if err != nil {
			return err
		}
		if err := p.d.SP(); err != nil {
			return err
		}
		n, err := p.d.Number64()
		if err != nil {
			return err
		}
		name = strings.ToUpper(name)
		for _, l := range sq.Limits {
			if l.Resource == name {
				return p.errorf("duplicate resource %s", name)
			}
		}
		sq.Limits = append(sq.Limits, QuotaLimit{Resource: name, Limit: n})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sq, nil
}
