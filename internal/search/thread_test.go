package search_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"rookery/internal/search"
	"rookery/internal/search/searchtest"
)

// msg builds message seq with the given header fields ("Name: value"
// strings) and an internal date seq hours after a fixed time.
func msg(seq uint32, fields ...string) *search.Message {
	m := &search.Message{
		Seq: seq, UID: seq * 10, Size: int64(seq),
		InternalDate: time.Date(2026, 1, 1, int(seq), 0, 0, 0, time.UTC),
	}
	d := &searchtest.Doc{}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ": ")
		d.Fields = append(d.Fields, [2]string{name, value})
	}
	searchtest.Bind(m, d)
	return m
}

// at returns a Date field for day d of January 2026, hour h, UTC.
func at(d, h int) string {
	return "Date: " + time.Date(2026, 1, d, h, 0, 0, 0, time.UTC).Format(time.RFC1123Z)
}

func seqs(msgs []*search.Message) []uint32 {
	out := make([]uint32, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func TestSort(t *testing.T) {
	all := []*search.Message{
		msg(1, "Subject: Re: beta", "From: Zed <aaa@x.org>", "To: carol@x", at(3, 0), "Cc: b@x"),
		msg(2, "Subject: [list] alpha", "From: bob@y.org", "To: \"Alice\" <zz@x>", at(1, 0)),
		msg(3, "Subject: ALPHA (fwd)", "From: Carl <CCC@z.org>", at(2, 0)),
		msg(4, "Subject: gamma", "From: =broken", "To: Bob <aa@x>", "Date: nonsense"), // sent date = internal date 1 Jan 04:00
		msg(5, "Subject: Fwd: beta", "From: \"\" <bbb@x.org>", at(3, 0), "Cc: A@x"),
	}
	tests := []struct {
		crit []search.SortCriterion
		want []uint32
	}{
		{[]search.SortCriterion{{Key: search.SortArrival}}, []uint32{1, 2, 3, 4, 5}},
		{[]search.SortCriterion{{Key: search.SortArrival, Reverse: true}}, []uint32{5, 4, 3, 2, 1}},
		{[]search.SortCriterion{{Key: search.SortDate}}, []uint32{2, 4, 3, 1, 5}},
		// Equal dates keep sequence order even when reversed.
		{[]search.SortCriterion{{Key: search.SortDate, Reverse: true}}, []uint32{1, 5, 3, 4, 2}},
		{[]search.SortCriterion{{Key: search.SortSize, Reverse: true}}, []uint32{5, 4, 3, 2, 1}},
		{[]search.SortCriterion{{Key: search.SortSubject}}, []uint32{2, 3, 1, 5, 4}},
		{[]search.SortCriterion{{Key: search.SortSubject}, {Key: search.SortDate, Reverse: true}}, []uint32{3, 2, 1, 5, 4}},
		// FROM: local parts aaa, bob, CCC, "=broken", bbb; "=" sorts first.
		{[]search.SortCriterion{{Key: search.SortFrom}}, []uint32{4, 1, 5, 2, 3}},
		// TO: messages without To sort first (empty string).
		{[]search.SortCriterion{{Key: search.SortTo}}, []uint32{3, 5, 4, 1, 2}},
		{[]search.SortCriterion{{Key: search.SortCc}}, []uint32{2, 3, 4, 5, 1}},
		// DISPLAYFROM: Zed, bob@y.org, Carl, =broken, bbb@x.org (empty name).
		{[]search.SortCriterion{{Key: search.SortDisplayFrom}}, []uint32{4, 5, 2, 3, 1}},
		{[]search.SortCriterion{{Key: search.SortDisplayTo}}, []uint32{3, 5, 2, 4, 1}},
	}
	for _, tt := range tests {
		msgs := slices.Clone(all)
		if err := search.Sort(msgs, tt.crit); err != nil {
			t.Fatal(err)
		}
		if got := seqs(msgs); !slices.Equal(got, tt.want) {
			t.Errorf("Sort(%+v) = %v, want %v", tt.crit, got, tt.want)
		}
	}
	if err := search.Sort(all, nil); err == nil {
		t.Error("Sort without criteria succeeded")
	}
}

func format(threads []*search.Thread) string {
	return string(search.AppendThreads(nil, threads, false))
}

func TestAppendThreads(t *testing.T) {
	n := func(seq uint32, kids ...*search.Thread) *search.Thread {
		return &search.Thread{Msg: &search.Message{Seq: seq, UID: seq + 100}, Children: kids}
	}
	dummy := func(kids ...*search.Thread) *search.Thread { return &search.Thread{Children: kids} }
	// The example of RFC 5256 §4.
	rfc := []*search.Thread{n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))}
	if got, want := format(rfc), "(2)(3 6 (4 23)(44 7 96))"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := string(search.AppendThreads(nil, rfc[:1], true)), "(102)"; got != want {
		t.Errorf("UID: got %s, want %s", got, want)
	}
	if got, want := format([]*search.Thread{dummy(n(3), n(5))}), "((3)(5))"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := format([]*search.Thread{dummy(n(3, n(4)), n(5)), n(1, n(2), n(7))}), "((3 4)(5))(1 (2)(7))"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := format(nil); got != "" {
		t.Errorf("no threads: %q", got)
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	msgs := []*search.Message{
		msg(1, "Subject: B", at(3, 0)),
		msg(2, "Subject: A", at(1, 0)),
		msg(3, "Subject: Re: a", at(2, 0)),
		msg(4, "Subject: b", at(4, 0)),
		msg(5, "Subject: C", at(1, 0)), // same date as 2: sequence decides
		msg(6, "Subject: [x] A (fwd)", at(2, 0)),
		msg(7, at(5, 0)), // no subject
		msg(8, "Subject: ", at(6, 0)),
	}
	threads, err := search.ThreadOrderedSubject(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := format(threads), "(2 (3)(6))(5)(1 4)(7 8)"; got != want {
		t.Errorf("ORDEREDSUBJECT = %s, want %s", got, want)
	}
}

func TestThreadReferences(t *testing.T) {
	id := func(s string) string { return "Message-ID: <" + s + "@x>" }
	refs := func(s ...string) string {
		for i := range s {
			s[i] = "<" + s[i] + "@x>"
		}
		return "References: " + strings.Join(s, " ")
	}
	irt := func(s string) string { return "In-Reply-To: <" + s + "@x> (sent by someone)" }
	tests := []struct {
		name string
		msgs []*search.Message
		want string
	}{
		{"basic", []*search.Message{
			msg(1, id("1"), "Subject: A", at(1, 0)),
			msg(2, id("2"), refs("1"), "Subject: Re: A", at(2, 0)),
			msg(3, id("3"), refs("1", "2"), "Subject: Re: A", at(3, 0)),
			msg(4, id("4"), irt("1"), "Subject: Re: A", at(4, 0)),
			msg(5, id("5"), "Subject: B", at(5, 0)),
		}, "(1 (2 3)(4))(5)"},
		{"siblings by date, then sequence", []*search.Message{
			msg(1, id("1"), "Subject: A", at(1, 0)),
			msg(2, id("2"), refs("1"), "Subject: x", at(5, 0)),
			msg(3, id("3"), refs("1"), "Subject: y", at(3, 0)),
			msg(4, id("4"), refs("1"), "Subject: z", at(3, 0)),
		}, "(1 (3)(4)(2))"},
		{"References wins over In-Reply-To", []*search.Message{
			msg(1, id("1"), "Subject: A", at(1, 0)),
			msg(2, id("2"), "Subject: B", at(2, 0)),
			msg(3, id("3"), refs("2"), irt("1"), "Subject: C", at(3, 0)),
			msg(4, id("4"), "References: <not valid>", irt("1"), "Subject: D", at(4, 0)),
		}, "(1 4)(2 3)"},
		{"missing parent, two children: dummy kept", []*search.Message{
			msg(1, id("a"), refs("missing"), "Subject: X", at(1, 0)),
			msg(2, id("b"), refs("missing"), "Subject: Re: X", at(2, 0)),
		}, "((1)(2))"},
		{"missing parent, one child: promoted", []*search.Message{
			msg(1, id("a"), refs("missing"), "Subject: X", at(1, 0)),
			msg(2, id("b"), "Subject: Y", at(2, 0)),
		}, "(1)(2)"},
		{"missing ancestors: inner dummy pruned", []*search.Message{
			msg(1, id("a"), refs("g", "p"), "Subject: X", at(1, 0)),
			msg(2, id("b"), refs("g", "p"), "Subject: Y", at(2, 0)),
			msg(3, id("c"), refs("g", "p", "b"), "Subject: Z", at(3, 0)),
		}, "((1)(2 3))"},
		{"reference loop", []*search.Message{
			msg(1, id("a"), refs("b"), "Subject: X", at(1, 0)),
			msg(2, id("b"), refs("a"), "Subject: Y", at(2, 0)),
		}, "(2 1)"},
		// a's References link c → b → c: the second link would loop. Then
		// b and c arrive without references: they lose their parents.
		{"loop inside References", []*search.Message{
			msg(1, id("a"), refs("c", "b", "c"), "Subject: X", at(1, 0)),
			msg(2, id("b"), "Subject: Y", at(2, 0)),
			msg(3, id("c"), "Subject: Z", at(3, 0)),
		}, "(2)(3 1)"},
		// RFC 5256 step 1.B: r's References made q's parent p; q's own
		// References name r, its child, so that link is not made (a
		// loop), but the link to p is broken all the same.
		{"own parent would loop: old link broken", []*search.Message{
			msg(1, id("p"), "Subject: X", at(3, 0)),
			msg(2, id("r"), refs("p", "q"), "Subject: Y", at(1, 0)),
			msg(3, id("q"), refs("r"), "Subject: Z", at(2, 0)),
		}, "(3 2)(1)"},
		{"self reference", []*search.Message{
			msg(1, id("a"), refs("a"), "Subject: X", at(1, 0)),
		}, "(1)"},
		{"duplicate Message-ID: first keeps it", []*search.Message{
			msg(1, id("d"), "Subject: P", at(1, 0)),
			msg(2, id("d"), "Subject: Q", at(2, 0)),
			msg(3, id("3"), irt("d"), "Subject: Re: P", at(3, 0)),
		}, "(1 3)(2)"},
		{"no or invalid Message-ID", []*search.Message{
			msg(1, "Subject: P", at(1, 0)),
			msg(2, "Message-ID: garbage", "Subject: Q", at(2, 0)),
			msg(3, id("3"), "Subject: R", at(3, 0)),
		}, "(1)(2)(3)"},
		{"truncated References: the message's own link wins", []*search.Message{
			msg(1, id("m1"), refs("r1", "m2"), "Subject: X", at(1, 0)),
			msg(2, id("m2"), refs("r2"), "Subject: Y", at(2, 0)),
		}, "(2 1)"},
		// m3 keeps p1 as its parent (from m1's References) although m2's
		// References put it under p2; the dummies p1, p2 and m4 go.
		{"existing links are kept", []*search.Message{
			msg(1, id("m1"), refs("p1", "m3"), "Subject: X", at(1, 0)),
			msg(2, id("m2"), refs("p2", "m3", "m4"), "Subject: Y", at(2, 0)),
			msg(3, id("m3"), refs("p1"), "Subject: Z", at(3, 0)),
		}, "(3 (1)(2))"},
		{"subject merge: replies under the original, others under a dummy", []*search.Message{
			msg(1, id("1"), "Subject: Hello", at(1, 0)),
			msg(2, id("2"), "Subject: Re: Hello", at(2, 0)),
			msg(3, id("3"), "Subject: hello", at(3, 0)),
			msg(4, id("4"), "Subject: RE: hello", at(4, 0)),
		}, "((1 2)(3)(4))"},
		{"subject merge: a reply first", []*search.Message{
			msg(1, id("1"), "Subject: Re: Hello", at(1, 0)),
			msg(2, id("2"), "Subject: Hello", at(2, 0)),
		}, "(2 1)"},
		{"subject merge: two dummies", []*search.Message{
			msg(1, id("1"), refs("m1"), "Subject: S", at(1, 0)),
			msg(2, id("2"), refs("m1"), "Subject: S", at(2, 0)),
			msg(3, id("3"), refs("m2"), "Subject: Re: S", at(3, 0)),
			msg(4, id("4"), refs("m2"), "Subject: S", at(4, 0)),
		}, "((1)(2)(3)(4))"},
		{"subject merge: message into a dummy", []*search.Message{
			msg(1, id("1"), refs("m1"), "Subject: S", at(1, 0)),
			msg(2, id("2"), refs("m1"), "Subject: Re: S", at(2, 0)),
			msg(3, id("3"), "Subject: Fwd: S", at(3, 0)),
		}, "((1)(2)(3))"},
		{"empty subjects are not merged", []*search.Message{
			msg(1, id("1"), at(1, 0)),
			msg(2, id("2"), "Subject: Re:", at(2, 0)),
		}, "(1)(2)"},
		{"sent date falls back to internal date", []*search.Message{
			msg(1, id("1"), "Subject: A", at(9, 0)),
			msg(2, id("2"), "Subject: B", "Date: bad"), // 1 Jan 02:00
		}, "(2)(1)"},
	}
	for _, tt := range tests {
		threads, err := search.ThreadReferences(tt.msgs)
		if err != nil {
			t.Fatal(err)
		}
		got := format(threads)
		if got != tt.want {
			t.Errorf("%s: REFERENCES = %s, want %s", tt.name, got, tt.want)
		}
		checkThreads(t, tt.name, threads, len(tt.msgs))
	}
}

// checkThreads checks that every message appears exactly once and that
// dummies only appear at the top level with at least two children.
func checkThreads(t *testing.T, name string, threads []*search.Thread, n int) {
	t.Helper()
	seen := map[uint32]bool{}
	var walk func(th *search.Thread, top bool)
	walk = func(th *search.Thread, top bool) {
		if th.Msg == nil {
			if !top || len(th.Children) < 2 {
				t.Errorf("%s: dummy with %d children (top %v)", name, len(th.Children), top)
			}
		} else {
			if seen[th.Msg.Seq] {
				t.Errorf("%s: message %d twice", name, th.Msg.Seq)
			}
			seen[th.Msg.Seq] = true
		}
		for _, c := range th.Children {
			walk(c, false)
		}
	}
	for _, th := range threads {
		walk(th, true)
	}
	if len(seen) != n {
		t.Errorf("%s: %d of %d messages in threads", name, len(seen), n)
	}
}

// TestThreadRandom threads random reference graphs (with loops, missing
// and duplicate IDs) and checks the tree invariants.
func TestThreadRandom(t *testing.T) {
	for seed := range 200 {
		msgs := syntheticMessages(50, uint64(seed), true)
		threads, err := search.ThreadReferences(msgs)
		if err != nil {
			t.Fatal(err)
		}
		checkThreads(t, fmt.Sprint("seed ", seed), threads, len(msgs))
		threads, err = search.ThreadOrderedSubject(msgs)
		if err != nil {
			t.Fatal(err)
		}
		checkThreads(t, fmt.Sprint("ordered seed ", seed), threads, len(msgs))
	}
}
