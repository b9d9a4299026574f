package imapcmd

import (
	"encoding/base64"
)

// maxIDParams is RFC 2971's bound on ID field-value pairs.
const maxIDParams = 30

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// ParseAuthenticate parses SP auth-type [SP (base64 / "=")] (RFC 9051,
// SASL-IR RFC 4959).
func ParseAuthenticate(p *Parser) (*Authenticate, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	mech, err := p.keyword()
	if err != nil {
		return nil, err
	}
	a := &Authenticate{Mechanism: mech}
	if ok, err := p.d.Accept(' '); err != nil || !ok {
		return a, err
	}
	ir, err := p.d.AtomFunc(isBase64Char)
	if err != nil {
		return nil, err
	}
	a.HasInitial = true
	if ir == "=" {
		a.InitialResponse = []byte{}
		return a, nil
	}
	if a.InitialResponse, err = base64.StdEncoding.Strict().DecodeString(ir); err != nil {
		return nil, p.errorf("bad base64 in initial response")
	}
	return a, nil
}

// ParseLogin parses SP userid SP password.
func ParseLogin(p *Parser) (*Login, error) {
	var l Login
	var err error
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if l.Username, err = p.d.AString(); err != nil {
		return nil, err
	}
	if err = p.d.SP(); err != nil {
		return nil, err
	}
	if l.Password, err = p.d.AString(); err != nil {
		return nil, err
	}
	return &l, nil
}

// ParseEnable parses 1*(SP capability).
func ParseEnable(p *Parser) (*Enable, error) {
	e := &Enable{}
	for {
		if err := p.d.SP(); err != nil {
			return nil, err
		}
		c, err := p.keyword()
		if err != nil {
			return nil, err
		}
		e.Caps = append(e.Caps, c)
		if eol, err := p.d.AtEOL(); err != nil || eol {
			return e, err
		}
	}
}

// ParseID parses SP ("(" *(string SP nstring) ")" / NIL) (RFC 2971).
func ParseID(p *Parser) (*ID, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	b, err := p.d.PeekByte()
	if err != nil {
		return nil, err
	}
	id := &ID{}
	if b != '(' {
		a, err := p.keyword()
		if err != nil {
			return nil, err
		}
		if a != "NIL" {
			return nil, p.errorf("expected ID parameter list or NIL")
		}
		return id, nil
	}
	id.Params = [][2]string{}
	err = p.d.List(func() error {
		if len(id.Params) >= maxIDParams {
			return p.errorf("too many ID parameters")
		}
		k, err := p.d.String()
		if err != nil {
			return err
		}
		if err := p.d.SP(); err != nil {
			return err
		}
		v, _, err := p.d.NString()
		if err != nil {
			return err
		}
		id.Params = append(id.Params, [2]string{k, v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}
