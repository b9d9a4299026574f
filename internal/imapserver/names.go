package imapserver

import (
	"strings"
	"unicode/utf8"

	"rookery/internal/imap"
	"rookery/internal/utf7"
)

// mailboxName turns a mailbox argument as sent into the store's UTF-8 name:
// modified UTF-7 is decoded for IMAP4rev1 clients (raw UTF-8 is accepted
// from them too), INBOX is matched case-insensitively, and one trailing
// separator is dropped (RFC 9051 §6.3.4).
func (c *conn) mailboxName(raw string) (string, error) {
	name := raw
	if !c.utf8 && isASCII(raw) {
		dec, err := utf7.Decode(raw)
		if err != nil {
			return "", imap.BadRequest(imap.CodeClientBug, "Mailbox name is not valid modified UTF-7")
		}
		name = dec
	}
	if !utf8.ValidString(name) {
		return "", imap.BadRequest(imap.CodeClientBug, "Mailbox name is not valid UTF-8")
	}
	if len(name) > 1 && strings.HasSuffix(name, "/") {
		name = name[:len(name)-1]
	}
	return canonicalInbox(name), nil
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

// matchPattern reports whether name matches a LIST pattern, where '*'
// matches anything and '%' anything but the separator. It runs in
// O(len(pattern)*len(name)) time whatever the pattern.
func matchPattern(pattern, name string) bool {
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		p := pattern[i]
		switch p {
		case '*':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || cur[j-1]
			}
		case '%':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || (cur[j-1] && name[j-1] != '/')
			}
		default:
			cur[0] = false
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j-1] && name[j-1] == p
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
