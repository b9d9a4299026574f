package anatomy

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Shorthands for expected entries.
func mbox(name, mailbox, host string) Address {
	return Address{Name: name, Mailbox: mailbox, Host: host}
}
func group(name string) Address { return Address{Mailbox: name, Kind: GroupStart} }

var groupEnd = Address{Kind: GroupEnd}

// TestAddressList covers well-formed, obsolete and damaged address lists.
// Where Dovecot 2.3 (the reference these cases were compared with) reads
// a case differently, the comment says how and why we differ.
func TestAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		// RFC 5322 §3.4 and Appendix A.
		{`"Doe, John" <john@example.org>`, []Address{mbox("Doe, John", "john", "example.org")}},
		{`a@b, c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`Joe Q. Public <john.q.public@example.com>`, []Address{mbox("Joe Q. Public", "john.q.public", "example.com")}},
		{`"q\"uoted" <a@b>`, []Address{mbox(`q"uoted`, "a", "b")}},
		{`Pete(A nice \) chap) <pete(his account)@silly.test(his host)>`, []Address{mbox("Pete", "pete", "silly.test")}},
		{`A Group(Some people):Chris Jones <c@(Chris's host.)public.example>, joe@example.org, John <jdoe@one.test> (my dear friend); (the end of the group)`,
			[]Address{group("A Group"), mbox("Chris Jones", "c", "public.example"), mbox("", "joe", "example.org"), mbox("John", "jdoe", "one.test"), groupEnd}},
		{`Mary Smith <mary@[1.2.3.4]>`, []Address{mbox("Mary Smith", "mary", "[1.2.3.4]")}},
		{`"quoted local"@host`, []Address{mbox("", "quoted local", "host")}},
		{`=?utf-8?q?J=C3=B6rg?= <j@x>`, []Address{mbox("=?utf-8?q?J=C3=B6rg?=", "j", "x")}},
		{`=?utf-8?q?a?= =?utf-8?q?b?= <a@b>`, []Address{mbox("=?utf-8?q?a?= =?utf-8?q?b?=", "a", "b")}},
		{`"=?utf-8?q?x?=" <a@b>`, []Address{mbox("=?utf-8?q?x?=", "a", "b")}},
		{`John (middle) Doe <jd@x>`, []Address{mbox("John Doe", "jd", "x")}},
		// Comments: inside the brackets they are skipped; after a bare
		// addr-spec the last one is the display name.
		{`<user-from (comment)@ (comment) domain.org>`, []Address{mbox("", "user-from", "domain.org")}},
		{`user-from (c1) @ (c2) domain.org`, []Address{mbox("c2", "user-from", "domain.org")}},
		{`x@y (Comment)`, []Address{mbox("Comment", "x", "y")}},
		{`a@b (c1) (c2)`, []Address{mbox("c2", "a", "b")}},
		{`Name <a@b> (comment)`, []Address{mbox("Name", "a", "b")}},
		{`<a@b> (comm)`, []Address{mbox("", "a", "b")}},
		{`(just a comment)`, nil},
		{`(unterminated <a@b>`, nil},
		// Groups.
		{`undisclosed-recipients:;`, []Address{group("undisclosed-recipients"), groupEnd}},
		{`G: a@b, "N" <c@d>;, e@f`, []Address{group("G"), mbox("", "a", "b"), mbox("N", "c", "d"), groupEnd, mbox("", "e", "f")}},
		{`g1: ;, g2: x@y;`, []Address{group("g1"), groupEnd, group("g2"), mbox("", "x", "y"), groupEnd}},
		{`:;`, []Address{group(""), groupEnd}},
		{`g: a@b`, []Address{group("g"), mbox("", "a", "b"), groupEnd}},
		// Dovecot drops a@b here; groups do not nest, so "inner" is a member.
		{`nested: inner: a@b;;`, []Address{group("nested"), mbox("", "inner", ""), mbox("", "a", "b"), groupEnd}},
		// Obsolete routes (kept in Route) and dotted words with CFWS.
		{`<@r1,@r2:u@h>`, []Address{{Route: "@r1,@r2", Mailbox: "u", Host: "h"}}},
		{`Name <@r1, @r2 : u@h>`, []Address{{Name: "Name", Route: "@r1,@r2", Mailbox: "u", Host: "h"}}},
		// Dovecot: two entries MISSING_MAILBOX@route1, MISSING_MAILBOX@route2.
		{`@route1,@route2:user@host`, []Address{{Route: "@route1,@route2", Mailbox: "user", Host: "host"}}},
		{`jdoe@test  . example`, []Address{mbox("", "jdoe", "test.example")}},
		{`a."b".c@d`, []Address{mbox("", "a.b.c", "d")}},
		{`a.b.@c`, []Address{mbox("", "a.b.", "c")}},
		{`a..b@c`, []Address{mbox("", "a..b", "c")}},
		// Null members are no addresses (RFC 5322 §4.4); Dovecot makes a
		// MISSING_MAILBOX entry of each.
		{`a@b, , c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`,a@b,,`, []Address{mbox("", "a", "b")}},
		// Damaged: every address stays an entry.
		{`<>`, []Address{{}}},
		{`<@>`, []Address{{}}},
		{`"" <a@b>`, []Address{mbox("", "a", "b")}},
		{`John Doe`, []Address{mbox("John Doe", "", "")}},
		{`"John Doe"`, []Address{mbox("John Doe", "", "")}},
		{`"John" Doe`, []Address{mbox("John Doe", "", "")}},
		{`""`, []Address{{}}},
		{`user`, []Address{mbox("", "user", "")}},
		{`nodomain (Name)`, []Address{mbox("Name", "nodomain", "")}},
		{`foo.bar`, []Address{mbox("", "foo.bar", "")}},
		{`=?utf-8?q?J=C3=B6rg?=`, []Address{mbox("", "=?utf-8?q?J=C3=B6rg?=", "")}},
		{`user@`, []Address{mbox("", "user", "")}},
		{`@host`, []Address{mbox("", "", "host")}},
		{`John@ Doe`, []Address{mbox("", "John", "Doe")}},
		{`John Doe, jd@x`, []Address{mbox("John Doe", "", ""), mbox("", "jd", "x")}},
		// Missing brackets: Dovecot reads a name "a b c" and drops c@d.
		{`a b c@d`, []Address{mbox("a b", "c", "d")}},
		{`"a b" c d <e@f>`, []Address{mbox("a b c d", "e", "f")}},
		// Missing ">" or stray text: Dovecot makes the host SYNTAX_ERROR,
		// or drops what follows.
		{`Name <a@b`, []Address{mbox("Name", "a", "b")}},
		{`Name <a@b, c@d`, []Address{mbox("Name", "a", "b"), mbox("", "c", "d")}},
		{`a@b>, <c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`<a@b> <c@d>`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`a@b c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`a@b; c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`John Doe <jd@x> extra, foo`, []Address{mbox("John Doe", "jd", "x"), mbox("", "extra", ""), mbox("", "foo", "")}},
		{`<a@b junk> c@d`, []Address{mbox("", "a", "b"), mbox("", "c", "d")}},
		{`"unterminated <a@b>`, []Address{mbox("unterminated <a@b>", "", "")}},
		{`<<<>>>,,;;@@`, []Address{{}}},
		{`a@[1.2, b@c`, []Address{mbox("", "a", "[1.2"), mbox("", "b", "c")}},
		{``, nil},
		{` `, nil},
	}
	for _, tt := range tests {
		got := ParseAddressList(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestAddressListBounded(t *testing.T) {
	got := ParseAddressList(strings.Repeat("a@b,", 3*maxAddresses))
	if len(got) > maxAddresses+1 {
		t.Fatalf("%d entries", len(got))
	}
	got = ParseAddressList(strings.Repeat("g:", maxAddresses) + strings.Repeat("a, ", maxAddresses))
	if len(got) > maxAddresses+2 {
		t.Fatalf("%d entries", len(got))
	}
}

func TestCFWS(t *testing.T) {
	tests := []struct{ in, rest, stripped string }{
		{"  (a (nested) \\) b) x (y)", "x (y)", "    x  "},
		{"\r\n\t(unclosed", "", "\r\n\t "},
		{"x", "x", "x"},
		{"Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", "Tue, 1 Jul 2003 10:52:37 +0200  "},
	}
	for _, tt := range tests {
		if got := SkipCFWS(tt.in); got != tt.rest {
			t.Errorf("SkipCFWS(%q) = %q, want %q", tt.in, got, tt.rest)
		}
		if got := StripComments(tt.in); got != tt.stripped {
			t.Errorf("StripComments(%q) = %q, want %q", tt.in, got, tt.stripped)
		}
	}
	if text, rest := Comment(`(a \( (b) c) d`); text != "a ( (b) c" || rest != " d" {
		t.Errorf("Comment: %q %q", text, rest)
	}
}

func TestEachField(t *testing.T) {
	hdr := "From: a@b\r\nTo: c@d,\r\n\te@f \r\nno colon line\r\n: empty name\r\nX-Empty:\r\nSubject :  hi  \r\n\r\nBody: not a field\r\n"
	var got []string
	EachField([]byte(hdr), func(name string, v []byte) { got = append(got, name+"="+string(v)) })
	want := []string{"From=a@b", "To=c@d,\te@f", "X-Empty=", "Subject=hi"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// FuzzParseAddressList checks that the parser terminates on anything,
// stays bounded, and keeps every well-formed address of a list: an
// address appended after junk and a comma is the last entry (outside a
// group).
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{
		`"Doe, John" <john@example.org>, a@b (c)`,
		`g: a@b, <c@d>;, <>`,
		`<@r1,@r2:u@h>, @r:u@h`,
		`((((`, `""""`, `<<<`, `:::;;;`, `a..b@c.`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseAddressList(s)
		if len(got) > maxAddresses+2 {
			t.Fatalf("%d entries", len(got))
		}
		depth := 0
		for _, a := range got {
			switch a.Kind {
			case GroupStart:
				depth++
			case GroupEnd:
				depth--
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups: %+v", got)
			}
		}
		if depth != 0 {
			t.Fatalf("group not closed: %+v", got)
		}
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\"(\\<:") {
			return // an open quote, comment or group may swallow the tail
		}
		got = ParseAddressList(s + ", Tail <tail@example.org>")
		if last := got[len(got)-1]; last != mbox("Tail", "tail", "example.org") {
			t.Fatalf("%q: last entry %+v", s, last)
		}
	})
}
