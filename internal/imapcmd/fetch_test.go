package imapcmd

import (
	"errors"
	"testing"
)

func items(names ...string) []FetchItem {
	out := make([]FetchItem, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

func fetch(tag string, uid bool, f *Fetch) *Command { return cmd(tag, "FETCH", uid, f) }

var fetchTests = []readTest{
	{"a FETCH 1 ALL\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")})},
	{"a FETCH 1:* fast\r\n", fetch("a", false, &Fetch{Set: set("1:*"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE")})},
	{"a FETCH 1 FULL\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")})},
	{"a FETCH 2 flags\r\n", fetch("a", false, &Fetch{Set: set("2"), Items: items("FLAGS")})},
	{"a UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
		fetch("a", true, &Fetch{Set: set("1:*"), Items: []FetchItem{{Name: "UID"}, {Name: "RFC822.SIZE"}, {Name: "FLAGS"}, {Name: "BODY", Peek: true, Section: &Section{
			Specifier: "HEADER.FIELDS", Fields: []string{"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority", "X-Priority", "References", "Newsgroups", "In-Reply-To", "Content-Type", "Reply-To"}}}}})},
	{"a FETCH 3 (BODY[] BODY[TEXT] BODY[1.2.MIME] BODY[2]<0.1024> BODY[HEADER.FIELDS.NOT (\"X-Spam\" {3}\r\nFoo)])\r\n",
		fetch("a", false, &Fetch{Set: set("3"), Items: []FetchItem{
			{Name: "BODY", Section: &Section{}},
			{Name: "BODY", Section: &Section{Specifier: "TEXT"}},
			{Name: "BODY", Section: &Section{Part: []int{1, 2}, Specifier: "MIME"}},
			{Name: "BODY", Section: &Section{Part: []int{2}}, Partial: &Partial{0, 1024}},
			{Name: "BODY", Section: &Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X-Spam", "Foo"}}},
		}})},
	{"a FETCH 1 (BODY BODYSTRUCTURE ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT MODSEQ SAVEDATE EMAILID THREADID)\r\n",
		fetch("a", false, &Fetch{Set: set("1"), Items: items("BODY", "BODYSTRUCTURE", "ENVELOPE", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "SAVEDATE", "EMAILID", "THREADID")})},
	{"a FETCH 1 body.peek[1.header]<10.20>\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: []FetchItem{{Name: "BODY", Peek: true, Section: &Section{Part: []int{1}, Specifier: "HEADER"}, Partial: &Partial{10, 20}}}})},
	{"a FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3])\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: []FetchItem{
		{Name: "BINARY", Section: &Section{Part: []int{1, 2}}},
		{Name: "BINARY", Peek: true, Section: &Section{}, Partial: &Partial{0, 100}},
		{Name: "BINARY.SIZE", Section: &Section{Part: []int{3}}},
	}})},
	{"a FETCH 1 (PREVIEW (LAZY) UID)\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: []FetchItem{{Name: "PREVIEW", Lazy: true}, {Name: "UID"}}})},
	{"a FETCH 1 (UID PREVIEW)\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: items("UID", "PREVIEW")})},
	{"a FETCH 1 PREVIEW (LAZY)\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: []FetchItem{{Name: "PREVIEW", Lazy: true}}})},
	{"a FETCH 1 PREVIEW (CHANGEDSINCE 5)\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: items("PREVIEW"), ChangedSince: 5, HasChangedSince: true})},
	{"a FETCH 1 PREVIEW\r\n", fetch("a", false, &Fetch{Set: set("1"), Items: items("PREVIEW")})},
	{"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n", fetch("a", true, &Fetch{Set: set("300:500"), Items: items("FLAGS"), ChangedSince: 12345, HasChangedSince: true, Vanished: true})},
	{"a FETCH 1:* (FLAGS) (CHANGEDSINCE 0)\r\n", fetch("a", false, &Fetch{Set: set("1:*"), Items: items("FLAGS"), HasChangedSince: true})},
}

func TestFetch(t *testing.T) { checkRead(t, fetchTests) }

func TestFetchErrors(t *testing.T) {
	for _, in := range []string{
		"a FETCH 1 ()\r\n",
		"a FETCH 1 (ALL)\r\n",
		"a FETCH 1 (FLAGS\r\n",
		"a FETCH 1 FLAGS UID\r\n",
		"a FETCH 1 BOGUS\r\n",
		"a FETCH 1 BODY.PEEK\r\n",
		"a FETCH 1 BODY[MIME]\r\n",
		"a FETCH 1 BODY[0]\r\n",
		"a FETCH 1 BODY[1.]\r\n",
		"a FETCH 1 BODY[FOO]\r\n",
		"a FETCH 1 BODY[HEADER.FIELDS]\r\n",
		"a FETCH 1 BODY[HEADER.FIELDS ()]\r\n",
		"a FETCH 1 BODY[]<1>\r\n",
		"a FETCH 1 BODY[]<1.0>\r\n",
		"a FETCH 1 BODY[]<1.2\r\n",
		"a FETCH 1 BINARY\r\n",
		"a FETCH 1 BINARY[TEXT]\r\n",
		"a FETCH 1 BINARY.SIZE[1]<0.1>\r\n",
		"a FETCH 1 PREVIEW (FOO)\r\n",
		"a FETCH 1 (FLAGS) (VANISHED)\r\n",
		"a UID FETCH 1 (FLAGS) (VANISHED)\r\n",
		"a FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
		"a FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)\r\n",
		"a FETCH 1 (FLAGS) (FOO)\r\n",
		"a FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999)\r\n",
		"a FETCH * \r\n",
		"a FETCH\r\n",
	} {
		d := newDecoder(in+"z NOOP\r\n", false)
		_, err := Read(d, Options{}, testLookup)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Tag != "a" {
			t.Errorf("Read(%q) = %v, want SyntaxError", in, err)
			continue
		}
		if err := d.DiscardLine(); err != nil {
			t.Errorf("DiscardLine after %q: %v", in, err)
		}
		if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
			t.Errorf("after %q: next = %+v, %v", in, next, err)
		}
	}
}
