package search_test

import (
	"slices"
	"testing"

	"rookery/internal/anatomy"
	"rookery/internal/search"
)

func TestAddressText(t *testing.T) {
	for _, tt := range []struct{ field, want string }{
		{`a@b`, `a@b`},
		{`"Doe, John" <john@x.org>, jane@y.org (Jane Roe)`, `Doe, John <john@x.org>, Jane Roe <jane@y.org>`},
		{`<ann-x (note)@ (note) example.net>`, `ann-x@example.net`},
		{`team: a@x, B <b@y>;, c@z`, `team: a@x, B <b@y>;, c@z`},
		{`team:;, other: ;`, `team:;, other:;`},
		{`Name <@r1,@r2:u@h>`, `Name <@r1,@r2:u@h>`},
		// ENVELOPE's placeholders stand for missing parts.
		{`<>, John Doe, user, @host`, `MISSING_MAILBOX@MISSING_DOMAIN, John Doe <MISSING_MAILBOX@MISSING_DOMAIN>, user@MISSING_DOMAIN, MISSING_MAILBOX@host`},
		{`(nothing)`, ``},
	} {
		if got := search.AddressText(anatomy.ParseAddressList(tt.field)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.field, got, tt.want)
		}
	}
}

// TestAddressKeys checks FROM/TO/CC/BCC matching (RFC 9051 §6.4.4): on
// the envelope's addresses, whatever the syntax of the field, with
// realnames, substrings and group names.
func TestAddressKeys(t *testing.T) {
	msgs := []*search.Message{
		msg(1, "From: ann-x@example.net", "To: bo-y@example.net"),
		msg(2, "From: Ann Real <ann-x@example.net>", "To: Bo Real <bo-y@example.net>"),
		msg(3, "From: <ann-x (note)@ (note) example.net>", "To: <bo-y@example.net>"),
		msg(4, "From: ann-x@example.net (Ann Real)", "Cc: bo-y@example.net (Bo Real)"),
		msg(5, "From: ann-x1@example.net, ann-x2@example.net"),
		msg(6, "From: Ann Real <ann-x@example.net>", "To: crew: m1@example.net, m2@example.net;, crew2: m3@example.net;"),
		msg(7, "From: Ann Real <ann-x@example.net>", "To: crew:;"),
		msg(8, "From: (ann-x@example.net)", "Cc: \"quoted (not a comment)\" <q@example.net>"),
	}
	for _, tt := range []struct {
		key  search.Key
		want []uint32
	}{
		{search.Address("From", "ann-x@example.net"), []uint32{1, 2, 3, 4, 6, 7}},
		{search.Address("From", "ANN-X@"), []uint32{1, 2, 3, 4, 6, 7}},
		{search.Address("From", "nn-x"), []uint32{1, 2, 3, 4, 5, 6, 7}},
		{search.Address("From", "ann real"), []uint32{2, 4, 6, 7}},
		{search.Address("From", "real <ann"), []uint32{2, 4, 6, 7}},
		{search.Address("From", "note"), nil},        // comments inside the address are no part of it
		{search.Header("From", "note"), []uint32{3}}, // but HEADER reads the raw text
		{search.Address("To", "crew"), []uint32{6, 7}},
		{search.Address("To", "crew2"), []uint32{6}},
		{search.Address("To", "m3@"), []uint32{6}},
		{search.Address("To", "m4"), nil},
		{search.Address("Cc", "bo real"), []uint32{4}},
		{search.Address("Cc", "(not a comment)"), []uint32{8}},
		{search.Address("Bcc", "example"), nil},
		// "" means the field exists, as HEADER FROM "" does.
		{search.Address("To", ""), []uint32{1, 2, 3, 6, 7}},
		{search.Address("From", ""), []uint32{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		mt, err := search.Compile(tt.key, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, m := range msgs {
			if ok, err := mt.Match(m); err != nil {
				t.Fatal(err)
			} else if ok {
				got = append(got, m.Seq)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.key, got, tt.want)
		}
	}
}

// TestSortAddresses checks the address sort keys on groups, empty and
// damaged lists (RFC 5256 §3, RFC 5957 §3).
func TestSortAddresses(t *testing.T) {
	msgs := []*search.Message{
		msg(1, "From: Zed <zz@x>", "Cc: yy@x (comment name)", "To: bb: cc@x;"),
		msg(2, "From: m@x", "Cc: mm: aa@x;", "To: \"\" <dd@x>"),
		msg(3, "From: aa@x", "Cc: ll@x", "To: empty:;"),
		msg(4, "From: John Doe", "Cc: <>", "To: Ab C <zz@x>"),
		msg(5, "From: (no address)", "To: x"),
	}
	for _, tt := range []struct {
		key  search.SortKey
		want []uint32
	}{
		// FROM: "zz", "m", "aa", "MISSING_MAILBOX" (as ENVELOPE shows a
		// display name alone), "" (empty list).
		{search.SortFrom, []uint32{5, 3, 2, 4, 1}},
		// CC: "yy", "mm" (the group's name), "ll", "MISSING_MAILBOX" for
		// <>, "" absent.
		{search.SortCc, []uint32{5, 3, 4, 2, 1}},
		// DISPLAYFROM: "Zed", "m@x", "aa@x", "John Doe", "".
		{search.SortDisplayFrom, []uint32{5, 3, 4, 2, 1}},
		// DISPLAYTO: "bb", "dd@x", "empty", "Ab C", "x@MISSING_DOMAIN".
		{search.SortDisplayTo, []uint32{4, 1, 2, 3, 5}},
	} {
		sorted := slices.Clone(msgs)
		if err := search.Sort(sorted, []search.SortCriterion{{Key: tt.key}}); err != nil {
			t.Fatal(err)
		}
		if got := seqs(sorted); !slices.Equal(got, tt.want) {
			t.Errorf("sort %d: got %v, want %v", tt.key, got, tt.want)
		}
	}
}
