package imapcmd

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapwire"
)

func search(tag string, uid bool, s *Search) *Command { return cmd(tag, "SEARCH", uid, s) }

func key(name string) SearchKey { return SearchKey{Name: name} }

func strKey(name, v string) SearchKey { return SearchKey{Name: name, Value: v} }

func dateKey(name string, y int, m time.Month, d int) SearchKey {
	return SearchKey{Name: name, Date: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func and(sub ...SearchKey) SearchKey { return SearchKey{Name: SearchAnd, Sub: sub} }
func or(a, b SearchKey) SearchKey    { return SearchKey{Name: "OR", Sub: []SearchKey{a, b}} }
func not(a SearchKey) SearchKey      { return SearchKey{Name: "NOT", Sub: []SearchKey{a}} }
func seqKey(s string) SearchKey      { return SearchKey{Name: SearchSeqSet, Set: set(s)} }

// one wraps a single search key in a plain SEARCH.
func one(in string, k SearchKey) readTest {
	return readTest{"a SEARCH " + in + "\r\n", search("a", false, &Search{Key: k})}
}

var searchTests = []readTest{
	// Every key of RFC 9051 / RFC 3501 §6.4.4.
	one("ALL", key("ALL")),
	one("answered", key("ANSWERED")),
	one("BCC bob", strKey("BCC", "bob")),
	one("BEFORE 1-Feb-1994", dateKey("BEFORE", 1994, 2, 1)),
	one(`BODY "hello world"`, strKey("BODY", "hello world")),
	one("CC {5}\r\nalice", strKey("CC", "alice")),
	one("DELETED", key("DELETED")),
	one("DRAFT", key("DRAFT")),
	one("FLAGGED", key("FLAGGED")),
	one("FROM Smith", strKey("FROM", "Smith")),
	one(`HEADER X-Mailer ""`, SearchKey{Name: "HEADER", Field: "X-Mailer"}),
	one(`HEADER "Message-ID" "<a@b>"`, SearchKey{Name: "HEADER", Field: "Message-ID", Value: "<a@b>"}),
	one("KEYWORD $Forwarded", strKey("KEYWORD", "$Forwarded")),
	one("LARGER 10000", SearchKey{Name: "LARGER", Number: 10000}),
	one("LARGER 9999999999", SearchKey{Name: "LARGER", Number: 9999999999}),
	one("NEW", key("NEW")),
	one("NOT SEEN", not(key("SEEN"))),
	one("OLD", key("OLD")),
	one(`ON "17-Jul-1996"`, dateKey("ON", 1996, 7, 17)),
	one("OR SEEN FLAGGED", or(key("SEEN"), key("FLAGGED"))),
	one("RECENT", key("RECENT")),
	one("SEEN", key("SEEN")),
	one("SENTBEFORE 1-Jan-2000", dateKey("SENTBEFORE", 2000, 1, 1)),
	one("SENTON 29-feb-2024", dateKey("SENTON", 2024, 2, 29)),
	one("SENTSINCE 31-Dec-1999", dateKey("SENTSINCE", 1999, 12, 31)),
	one("SINCE 1-Nov-2026", dateKey("SINCE", 2026, 11, 1)),
	one("SMALLER 0", SearchKey{Name: "SMALLER"}),
	one(`SUBJECT "Jörg's plan"`, strKey("SUBJECT", "Jörg's plan")),
	one(`TEXT ""`, strKey("TEXT", "")),
	one("TO bob@example.org", strKey("TO", "bob@example.org")),
	one("UID 1:100,200:*", SearchKey{Name: "UID", Set: set("1:100,200:*")}),
	one("UNANSWERED", key("UNANSWERED")),
	one("UNDELETED", key("UNDELETED")),
	one("UNDRAFT", key("UNDRAFT")),
	one("UNFLAGGED", key("UNFLAGGED")),
	one("UNKEYWORD $Junk", strKey("UNKEYWORD", "$Junk")),
	one("UNSEEN", key("UNSEEN")),
	one("2:4,*", seqKey("2:4,*")),
	one("*", seqKey("*")),
	one("(SEEN)", key("SEEN")),
	one("(SEEN FLAGGED)", and(key("SEEN"), key("FLAGGED"))),
	one("((SEEN))", key("SEEN")),
	one("(OR (SEEN DRAFT) 1:3)", or(and(key("SEEN"), key("DRAFT")), seqKey("1:3"))),
	// SEARCHRES (RFC 5182).
	one("$", SearchKey{Name: SearchSeqSet, Saved: true}),
	one("UID $", SearchKey{Name: "UID", Saved: true}),
	one("NOT $", not(SearchKey{Name: SearchSeqSet, Saved: true})),
	// WITHIN (RFC 5032).
	one("OLDER 3600", SearchKey{Name: "OLDER", Number: 3600}),
	one("YOUNGER 86400", SearchKey{Name: "YOUNGER", Number: 86400}),
	// CONDSTORE (RFC 7162).
	one("MODSEQ 620162338", SearchKey{Name: "MODSEQ", Number: 620162338}),
	one("MODSEQ 0", SearchKey{Name: "MODSEQ"}),
	one(`MODSEQ "/flags/\\draft" all 620162338`, SearchKey{Name: "MODSEQ", Number: 620162338, ModSeqEntry: `/flags/\Draft`, ModSeqType: "ALL"}),
	one(`MODSEQ "/FLAGS/$Junk" priv 5`, SearchKey{Name: "MODSEQ", Number: 5, ModSeqEntry: "/flags/$Junk", ModSeqType: "PRIV"}),
	one(`MODSEQ "/flags/\\X-Ext" SHARED 5`, SearchKey{Name: "MODSEQ", Number: 5, ModSeqEntry: `/flags/\X-Ext`, ModSeqType: "SHARED"}),
	// SAVEDATE (RFC 8514).
	one("SAVEDATESUPPORTED", key("SAVEDATESUPPORTED")),
	one("SAVEDBEFORE 1-Jan-2025", dateKey("SAVEDBEFORE", 2025, 1, 1)),
	one("SAVEDON 1-Jan-2025", dateKey("SAVEDON", 2025, 1, 1)),
	one("SAVEDSINCE 1-Jan-2025", dateKey("SAVEDSINCE", 2025, 1, 1)),
	// Programs of several keys, charset, clients.
	{"a UID SEARCH UNDELETED SINCE 1-Nov-2026\r\n", search("a", true, &Search{Key: and(key("UNDELETED"), dateKey("SINCE", 2026, 11, 1))})},
	{"a SEARCH OR OR FROM x TO x SUBJECT x\r\n", search("a", false, &Search{Key: or(or(strKey("FROM", "x"), strKey("TO", "x")), strKey("SUBJECT", "x"))})},
	{"a SEARCH CHARSET UTF-8 TEXT {5}\r\nJörg\r\n", search("a", false, &Search{Charset: "UTF-8", Key: strKey("TEXT", "Jörg")})},
	{"a SEARCH charset \"us-ascii\" ALL\r\n", search("a", false, &Search{Charset: "us-ascii", Key: key("ALL")})},
	{"a UID SEARCH 1:* NOT DELETED\r\n", search("a", true, &Search{Key: and(seqKey("1:*"), not(key("DELETED")))})},
	{"a UID SEARCH UID 1:* UNSEEN\r\n", search("a", true, &Search{Key: and(SearchKey{Name: "UID", Set: set("1:*")}, key("UNSEEN"))})},
	{"a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", search("a", false, &Search{Key: and(key("FLAGGED"), dateKey("SINCE", 1994, 2, 1), not(strKey("FROM", "Smith")))})},
	{"a UID SEARCH UID 300:* (OR HEADER Content-Type multipart/mixed HEADER Content-Type multipart/related)\r\n", search("a", true, &Search{Key: and(SearchKey{Name: "UID", Set: set("300:*")},
		or(SearchKey{Name: "HEADER", Field: "Content-Type", Value: "multipart/mixed"}, SearchKey{Name: "HEADER", Field: "Content-Type", Value: "multipart/related"}))})},
	// ESEARCH (RFC 4731, RFC 9051).
	{"a SEARCH RETURN (MIN MAX) UNSEEN\r\n", search("a", false, &Search{Return: &SearchReturn{Min: true, Max: true}, Key: key("UNSEEN")})},
	{"a UID SEARCH RETURN () 1:*\r\n", search("a", true, &Search{Return: &SearchReturn{All: true}, Key: seqKey("1:*")})},
	{"a SEARCH RETURN (count all save) CHARSET UTF-8 SEEN\r\n", search("a", false, &Search{Charset: "UTF-8", Return: &SearchReturn{Count: true, All: true, Save: true}, Key: key("SEEN")})},
	{"a UID SEARCH RETURN (SAVE) UID $ UNSEEN\r\n", search("a", true, &Search{Return: &SearchReturn{Save: true}, Key: and(SearchKey{Name: "UID", Saved: true}, key("UNSEEN"))})},
	// SORT (RFC 5256, RFC 5957, ESORT RFC 5267).
	{"a SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n", cmd("a", "SORT", false, &Sort{Criteria: []SortCriterion{{Key: SortSubject}}, Charset: "UTF-8", Key: dateKey("SINCE", 1994, 2, 1)})},
	{"a UID SORT (REVERSE DATE arrival cc from size to displayfrom REVERSE DISPLAYTO) US-ASCII ALL UNDELETED\r\n", cmd("a", "SORT", true, &Sort{Criteria: []SortCriterion{
		{Key: SortDate, Reverse: true}, {Key: SortArrival}, {Key: SortCc}, {Key: SortFrom}, {Key: SortSize}, {Key: SortTo}, {Key: SortDisplayFrom}, {Key: SortDisplayTo, Reverse: true}},
		Charset: "US-ASCII", Key: and(key("ALL"), key("UNDELETED"))})},
	{"a UID SORT RETURN (MIN COUNT) (DATE) UTF-8 (OR SEEN 1:5)\r\n", cmd("a", "SORT", true, &Sort{Return: &SearchReturn{Min: true, Count: true}, Criteria: []SortCriterion{{Key: SortDate}}, Charset: "UTF-8", Key: or(key("SEEN"), seqKey("1:5"))})},
	{"a SORT RETURN () (SIZE) \"utf-8\" ALL\r\n", cmd("a", "SORT", false, &Sort{Return: &SearchReturn{All: true}, Criteria: []SortCriterion{{Key: SortSize}}, Charset: "utf-8", Key: key("ALL")})},
	// THREAD (RFC 5256).
	{"a THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n", cmd("a", "THREAD", false, &Thread{Algorithm: "ORDEREDSUBJECT", Charset: "UTF-8", Key: dateKey("SINCE", 2000, 3, 5)})},
	{"a UID THREAD references US-ASCII TEXT \"gewp\" UNDELETED\r\n", cmd("a", "THREAD", true, &Thread{Algorithm: "REFERENCES", Charset: "US-ASCII", Key: and(strKey("TEXT", "gewp"), key("UNDELETED"))})},
	{"a THREAD REFS UTF-8 ALL\r\n", cmd("a", "THREAD", false, &Thread{Algorithm: "REFS", Charset: "UTF-8", Key: key("ALL")})},
}

// clientSearches are search commands as real clients send them.
var clientSearches = []string{
	// Thunderbird.
	"a UID SEARCH UNDELETED SINCE 1-Nov-2026\r\n",
	"a SEARCH OR OR FROM x TO x SUBJECT x\r\n",
	"a UID SEARCH UID 1:* UNDELETED\r\n",
	"a UID SEARCH CHARSET UTF-8 OR OR OR SUBJECT {4}\r\ntest FROM {4}\r\ntest TO {4}\r\ntest CC {4}\r\ntest\r\n",
	"a UID SEARCH 1:* (HEADER Message-ID \"<abc@example.com>\") UNDELETED\r\n",
	// Apple Mail / iOS.
	"a UID SEARCH RETURN (ALL) UID 1:* NOT DELETED\r\n",
	"a UID SEARCH (OR (FROM \"jane\") (OR (TO \"jane\") (CC \"jane\"))) (NOT DELETED)\r\n",
	"a UID SEARCH UID 20:* YOUNGER 2592000\r\n",
	"a UID SEARCH RETURN (COUNT) UNSEEN\r\n",
	"a UID SEARCH MODSEQ 12345 UID 1:*\r\n",
	// Outlook.
	"a UID SEARCH UNDELETED UNSEEN\r\n",
	"a UID SEARCH SINCE 01-Jan-2026 BEFORE 02-Jan-2026\r\n",
	"a SEARCH CHARSET UTF-8 BODY \"meeting notes\" NOT DELETED\r\n",
	// mutt, K-9, Roundcube.
	"a UID SEARCH OR SUBJECT foo FROM foo\r\n",
	"a UID SEARCH CHARSET UTF-8 HEADER X-Label \"\"\r\n",
	"a UID SORT (REVERSE ARRIVAL) UTF-8 ALL\r\n",
	"a UID THREAD REFERENCES UTF-8 ALL UNDELETED\r\n",
	"a UID SEARCH RETURN (MIN MAX COUNT SAVE) 1:* KEYWORD $Label1\r\n",
}

func TestSearch(t *testing.T) { checkRead(t, searchTests) }

func TestClientSearches(t *testing.T) {
	for _, in := range clientSearches {
		d := newDecoder(in, true)
		if _, err := Read(d, Options{}, testLookup); err != nil {
			t.Errorf("Read(%q): %v", in, err)
		}
	}
}

var searchErrors = []string{
	"a SEARCH\r\n",
	"a SEARCH \r\n",
	"a SEARCH ALL \r\n",
	"a SEARCH  ALL\r\n",
	"a SEARCH BOGUS\r\n",
	"a SEARCH FROM\r\n",
	"a SEARCH FROM \r\n",
	"a SEARCH ()\r\n",
	"a SEARCH (SEEN\r\n",
	"a SEARCH SEEN)\r\n",
	"a SEARCH OR SEEN\r\n",
	"a SEARCH NOT\r\n",
	"a SEARCH BEFORE 32-Jan-2000\r\n",
	"a SEARCH BEFORE 1-Foo-2000\r\n",
	"a SEARCH BEFORE \"1-Jan-2000 10:00:00 +0000\"\r\n",
	"a SEARCH LARGER x\r\n",
	"a SEARCH LARGER -1\r\n",
	"a SEARCH LARGER 99999999999999999999\r\n",
	"a SEARCH UID\r\n",
	"a SEARCH UID 0\r\n",
	"a SEARCH UID 1:x\r\n",
	"a SEARCH 0\r\n",
	"a SEARCH 1,$\r\n",
	"a SEARCH $:3\r\n",
	"a SEARCH KEYWORD \\Seen\r\n",
	"a SEARCH HEADER \"\" x\r\n",
	"a SEARCH HEADER Subject\r\n",
	"a SEARCH OLDER 0\r\n",
	"a SEARCH YOUNGER\r\n",
	"a SEARCH MODSEQ\r\n",
	"a SEARCH MODSEQ \"/flags/\\\\Seen\" 5\r\n",
	"a SEARCH MODSEQ \"/flags/\\\\Seen\" BOTH 5\r\n",
	"a SEARCH MODSEQ \"/flags/\" all 5\r\n",
	"a SEARCH MODSEQ \"/flags/\\\\*\" all 5\r\n",
	"a SEARCH MODSEQ \"/other/x\" all 5\r\n",
	"a SEARCH MODSEQ \"/f\" all 5\r\n",
	"a SEARCH CHARSET\r\n",
	"a SEARCH CHARSET UTF-8\r\n",
	"a SEARCH CHARSET \"\" ALL\r\n",
	"a SEARCH CHARSET UTF-8 CHARSET UTF-8 ALL\r\n",
	"a SEARCH RETURN ALL\r\n",
	"a SEARCH RETURN (FOO) ALL\r\n",
	"a SEARCH RETURN (MIN)\r\n",
	"a SEARCH ALL RETURN (MIN)\r\n",
	"a SEARCH SAVEDATESUPPORTED x\r\n",
	"a SORT\r\n",
	"a SORT SUBJECT UTF-8 ALL\r\n",
	"a SORT () UTF-8 ALL\r\n",
	"a SORT (FOO) UTF-8 ALL\r\n",
	"a SORT (REVERSE) UTF-8 ALL\r\n",
	"a SORT (REVERSE REVERSE DATE) UTF-8 ALL\r\n",
	"a SORT (DATE) ALL\r\n",
	"a SORT (DATE) UTF-8\r\n",
	"a SORT RETURN (FOO) (DATE) UTF-8 ALL\r\n",
	"a SORT RETURN (MIN) UTF-8 ALL\r\n",
	"a THREAD\r\n",
	"a THREAD REFERENCES\r\n",
	"a THREAD REFERENCES UTF-8\r\n",
	"a THREAD (REFERENCES) UTF-8 ALL\r\n",
	"a UID THREAD REFERENCES UTF-8 FOO\r\n",
}

func TestSearchErrors(t *testing.T) {
	for _, in := range searchErrors {
		d := newDecoder(in+"z NOOP\r\n", false)
		_, err := Read(d, Options{}, testLookup)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Tag != "a" {
			t.Errorf("Read(%q) = %v (%T), want SyntaxError tag a", in, err, err)
			continue
		}
		if err := d.DiscardLine(); err != nil {
			t.Errorf("DiscardLine after %q: %v", in, err)
			continue
		}
		if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
			t.Errorf("after %q: next = %+v, %v", in, next, err)
		}
	}
}

func TestSearchDepth(t *testing.T) {
	deepLimits := imapwire.Limits{MaxLine: 1 << 16, MaxDepth: 1000}
	read := func(in string) error {
		d := imapwire.NewDecoder(bufio.NewReader(strings.NewReader(in)), deepLimits)
		_, err := Read(d, Options{}, testLookup)
		return err
	}
	for _, tt := range []struct {
		prefix, suffix string
	}{
		{"NOT ", ""},
		{"OR ALL ", ""},
		{"OR ", " ALL"},
		{"(ALL ", ")"},
	} {
		for _, n := range []int{99, 100, 101, 5000} {
			in := "a SEARCH " + strings.Repeat(tt.prefix, n) + "SEEN" + strings.Repeat(tt.suffix, n) + "\r\n"
			err := read(in)
			// The innermost key is at depth n+1.
			if ok := n+1 <= maxSearchDepth; ok != (err == nil) {
				t.Errorf("%q × %d: err = %v", tt.prefix, n, err)
			}
		}
	}
	// The decoder's own list depth limit applies too.
	d := newDecoder("a SEARCH "+strings.Repeat("(", 40)+"ALL"+strings.Repeat(")", 40)+"\r\n", false)
	var se *SyntaxError
	if _, err := Read(d, Options{}, testLookup); !errors.As(err, &se) {
		t.Errorf("40 nested lists: %v", err)
	}
}

// checkSearchKey checks the invariants of a parsed key tree.
func checkSearchKey(t *testing.T, k SearchKey, depth int) {
	if depth > maxSearchDepth+1 {
		t.Fatalf("key tree deeper than %d", maxSearchDepth)
	}
	switch k.Name {
	case "":
		t.Fatal("empty key name")
	case SearchAnd:
		if len(k.Sub) < 2 {
			t.Fatalf("AND with %d keys", len(k.Sub))
		}
	case "OR":
		if len(k.Sub) != 2 {
			t.Fatalf("OR with %d keys", len(k.Sub))
		}
	case "NOT":
		if len(k.Sub) != 1 {
			t.Fatalf("NOT with %d keys", len(k.Sub))
		}
	case SearchSeqSet, "UID":
		if (k.Set == nil) != k.Saved {
			t.Fatalf("%s: set %v saved %v", k.Name, k.Set, k.Saved)
		}
	case "HEADER":
		if k.Field == "" {
			t.Fatal("HEADER without field")
		}
	case "OLDER", "YOUNGER":
		if k.Number == 0 {
			t.Fatal("zero interval")
		}
	case "MODSEQ":
		if (k.ModSeqEntry == "") != (k.ModSeqType == "") || k.ModSeqEntry != "" && !strings.HasPrefix(k.ModSeqEntry, "/flags/") {
			t.Fatalf("MODSEQ entry %q type %q", k.ModSeqEntry, k.ModSeqType)
		}
	}
	for _, s := range k.Sub {
		checkSearchKey(t, s, depth+1)
	}
}

// FuzzSearch fuzzes whole SEARCH, SORT and THREAD commands: parse errors
// must be *SyntaxError, and parsed trees must keep their invariants.
func FuzzSearch(f *testing.F) {
	for _, tt := range searchTests {
		f.Add(tt.in)
	}
	for _, in := range clientSearches {
		f.Add(in)
	}
	for _, in := range searchErrors {
		f.Add(in)
	}
	f.Add("a SEARCH " + strings.Repeat("NOT ", 120) + "ALL\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		d := imapwire.NewDecoder(bufio.NewReaderSize(strings.NewReader(data+"\r\nz NOOP\r\n"), 16), fuzzLimits)
		c, err := Read(d, Options{}, testLookup)
		if err != nil {
			var se *SyntaxError
			var ue *UnknownCommandError
			if !errors.As(err, &se) && !errors.As(err, &ue) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			return
		}
		switch a := c.Args.(type) {
		case *Search:
			checkSearchKey(t, a.Key, 1)
		case *Sort:
			if len(a.Criteria) == 0 || a.Charset == "" {
				t.Fatalf("sort %+v", a)
			}
			checkSearchKey(t, a.Key, 1)
		case *Thread:
			if a.Algorithm == "" || a.Charset == "" {
				t.Fatalf("thread %+v", a)
			}
			checkSearchKey(t, a.Key, 1)
		}
		readAll(t, data)
	})
}
