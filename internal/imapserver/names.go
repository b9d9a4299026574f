package imapserver

import (
	"strings"
	"unicode/utf8"

	"rookery/internal/imap"
	"rookery/internal/utf7"
)

// mailboxName turns the name of an existing mailbox as sent into the
// store's UTF-8 name: modified UTF-7 is decoded for IMAP4rev1 clients (raw
// UTF-8 is accepted from them too), INBOX is matched case-insensitively,
// and one trailing separator is dropped (RFC 9051 §6.3.4). A name that
// cannot be decoded names no mailbox: NO [NONEXISTENT], never BAD, since
// the command itself is well-formed.
func (c *conn) mailboxName(raw string) (string, error) {
	name, why := c.decodeName(raw)
	if why != "" {
		return "", imap.Errorf(imap.CodeNonExistent, "%s", why)
	}
	return name, nil
}

// newMailboxName is mailboxName for a name a command would create (CREATE,
// RENAME's new name, SUBSCRIBE): NO [CANNOT] for a name that cannot be
// decoded or that LIST patterns could not tell apart from wildcards
// (RFC 9051 §5.1 advises against '%' and '*' in names).
func (c *conn) newMailboxName(raw string) (string, error) {
	name, why := c.decodeName(raw)
	if why == "" && strings.ContainsAny(name, "%*") {
		why = "Mailbox names cannot contain % or *"
	}
	if why != "" {
		return "", imap.Errorf(imap.CodeCannot, "%s", why)
	}
	return name, nil
}

// decodeName decodes a mailbox name as sent; why says what is wrong with
// a name that cannot be one.
func (c *conn) decodeName(raw string) (name, why string) {
	name = raw
	if !c.utf8 && isASCII(raw) {
		dec, err := utf7.Decode(raw)
		if err != nil {
			return "", "Mailbox name is not valid modified UTF-7"
		}
		name = dec
	}
	if !utf8.ValidString(name) {
		return "", "Mailbox name is not valid UTF-8"
	}
	if len(name) > 1 && strings.HasSuffix(name, "/") {
		name = name[:len(name)-1]
	}
	return canonicalInbox(name), ""
}

// noTarget is the error for an APPEND, COPY or MOVE to name, a mailbox
// that does not exist: NO [TRYCREATE] (RFC 9051 §6.3.12), unless no
// mailbox may have that name (MailboxLimits), since CREATE would fail.
func (c *conn) noTarget(name string) error {
	if err := c.srv.opts.MailboxLimits.CheckName(name); err != nil {
		return err
	}
	return imap.Errorf(imap.CodeTryCreate, "Mailbox does not exist")
}

// canonicalInbox spells a leading INBOX level in upper case.
func canonicalInbox(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == '/') {
		return "INBOX" + name[5:]
	}
	return name
}

// wireName is how a store name is sent to this client.
func (c *conn) wireName(name string) string {
	if c.utf8 {
		return name
	}
	return utf7.Encode(name)
}

// writeName writes a mailbox name as an astring.
func (c *conn) writeName(name string) {
	c.enc.AString(c.wireName(name))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
