package imap

import (
	"bufio"
	"bytes"
	"testing"

	"rookery/internal/anatomy"
	"rookery/internal/imapwire"
)

// TestEnvelopeAddresses renders odd address fields as ENVELOPE address
// lists. Every want was compared with Dovecot 2.3.19's FETCH ENVELOPE of
// the same field; where Dovecot answers differently, the comment says how
// (Dovecot stops at the first syntax error and drops the rest of the
// field, or marks it SYNTAX_ERROR; Rookery keeps every address).
func TestEnvelopeAddresses(t *testing.T) {
	tests := []struct{ field, want string }{
		{`undisclosed-recipients:;`, `((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))`},
		{`:;`, `((NIL NIL "" NIL)(NIL NIL NIL NIL))`},
		{`g1: ;, g2: x@y;`, `((NIL NIL "g1" NIL)(NIL NIL NIL NIL)(NIL NIL "g2" NIL)(NIL NIL "x" "y")(NIL NIL NIL NIL))`},
		{`group: a@b, c@d;, e@f`, `((NIL NIL "group" NIL)(NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL)(NIL NIL "e" "f"))`},
		{`<>`, `((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`},
		{`<@>`, `((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`}, // Dovecot: route INVALID_ROUTE
		{`John Doe`, `(("John Doe" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`},
		{`"John Doe"`, `(("John Doe" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))`},
		{`user`, `((NIL NIL "user" "MISSING_DOMAIN"))`},
		{`@host`, `((NIL NIL "MISSING_MAILBOX" "host"))`},
		{`"q\"uoted" <a@b>`, `(("q\"uoted" NIL "a" "b"))`}, // Dovecot: the name as a literal
		{`a@b (Comment here)`, `(("Comment here" NIL "a" "b"))`},
		{`<user-from (comment)@ (comment) domain.org>`, `((NIL NIL "user-from" "domain.org"))`},
		{`John (middle) Doe <jd@x>`, `(("John Doe" NIL "jd" "x"))`},
		{`=?iso-8859-1?q?J=F6rg?= <j@x.org>`, `(("=?iso-8859-1?q?J=F6rg?=" NIL "j" "x.org"))`},
		{`=?utf-8?q?a=2C_b?= <ab@x.org>, "=?utf-8?q?c?=" <c@x.org>`, `(("=?utf-8?q?a=2C_b?=" NIL "ab" "x.org")("=?utf-8?q?c?=" NIL "c" "x.org"))`},
		{`Name <@r1,@r2:u@h>`, `(("Name" "@r1,@r2" "u" "h"))`},
		{`Mary Smith <mary@[1.2.3.4]>`, `(("Mary Smith" NIL "mary" "[1.2.3.4]"))`},
		{`"a b"@c, a."b".c@d`, `((NIL NIL "a b" "c")(NIL NIL "a.b.c" "d"))`}, // Dovecot: ("a. b .c" NIL MISSING_MAILBOX MISSING_DOMAIN)
		{`(only a comment)`, `NIL`},
		// Null members are skipped (RFC 5322 §4.4); Dovecot makes an entry
		// (NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN") of each.
		{`a@b, , c@d`, `((NIL NIL "a" "b")(NIL NIL "c" "d"))`},
		// Dovecot: ("Name" NIL "a" "SYNTAX_ERROR").
		{`Name <a@b`, `(("Name" NIL "a" "b"))`},
		// Dovecot drops the address after the damage.
		{`a@b>, <c@d`, `((NIL NIL "a" "b")(NIL NIL "c" "d"))`},
		{`a@b c@d`, `((NIL NIL "a" "b")(NIL NIL "c" "d"))`},
		{`John Doe <jd@x> extra, foo`, `(("John Doe" NIL "jd" "x")(NIL NIL "extra" "MISSING_DOMAIN")(NIL NIL "foo" "MISSING_DOMAIN"))`},
		// Dovecot: (NIL NIL MISSING_MAILBOX route1)(NIL NIL MISSING_MAILBOX route2).
		{`@route1,@route2:user@host`, `((NIL "@route1,@route2" "user" "host"))`},
		// Dovecot: ("a b c" NIL MISSING_MAILBOX MISSING_DOMAIN).
		{`a b c@d`, `(("a b" NIL "c" "d"))`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		e := imapwire.NewEncoder(w)
		writeAddresses(e, anatomy.ParseAddressList(tt.field))
		_ = e.Flush()
		if got := buf.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.field, got, tt.want)
		}
	}
}
