package search_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/search"
	"rookery/internal/search/searchtest"
	"rookery/internal/store"
)

func set(s string) imapnum.Set {
	v, err := imapnum.Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// sample is one message for the table tests: 1 Feb 2026 23:30 at -0800,
// which is 2 Feb in UTC.
func sample() *search.Message {
	m := &search.Message{
		Seq: 3, UID: 42,
		Flags:        store.Flags{Sys: store.FlagSeen | store.FlagFlagged, Keywords: []string{"$Forwarded", "Work"}},
		InternalDate: time.Date(2026, 2, 1, 23, 30, 0, 0, time.FixedZone("", -8*3600)),
		SaveDate:     time.Date(2026, 2, 5, 1, 0, 0, 0, time.UTC),
		Size:         2048,
		ModSeq:       77,
	}
	searchtest.Bind(m, &searchtest.Doc{
		Fields: [][2]string{
			{"From", `"Jörg Müller" <joerg@example.org>`},
			{"To", "bob@example.com, carol@example.net"},
			{"Subject", "Re: Quarterly ΣΊΣΥΦΟΣ report"},
			{"Date", "Mon, 2 Feb 2026 00:30:00 +0100 (CET)"},
			{"X-Empty", ""},
			{"Received", "from a"},
			{"Received", "from b"},
		},
		Body: "Hello \u212Aelvin,\r\nthe meeting notes are attached.",
	})
	return m
}

func TestMatch(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 0, 0, 0, time.UTC) // 20.5 h after the internal date (07:30 UTC)
	tests := []struct {
		key  search.Key
		want bool
	}{
		{search.All(), true},
		{search.And(), true},
		{search.Or(), false},
		{search.Not(search.All()), false},
		{search.Flag(store.FlagSeen), true},
		{search.Flag(store.FlagDeleted), false},
		{search.Not(search.Flag(store.FlagAnswered)), true},
		{search.Keyword("$forwarded"), true},
		{search.Keyword("WORK"), true},
		{search.Keyword("$Junk"), false},
		{search.Key{Op: search.OpRecent}, false},
		{search.Key{Op: search.OpSeq, Set: set("1:2")}, false},
		{search.Key{Op: search.OpSeq, Set: set("2:*")}, true}, // * is 5
		{search.Key{Op: search.OpSeq, Set: set("*")}, false},
		{search.Key{Op: search.OpUID, Set: set("*")}, true}, // * is 42
		{search.Key{Op: search.OpUID, Set: set("50:40")}, true},
		// Header substring, case-insensitive under simple folding.
		{search.Header("from", "jörg"), true},
		{search.Header("From", "JÖRG MÜ"), true},
		{search.Header("From", "joerg@EXAMPLE"), true},
		{search.Header("To", "carol"), true},
		{search.Header("Subject", "σίσυφος"), true}, // final sigma folds with Σ
		{search.Header("Subject", "σίσυφοσ"), true},
		{search.Header("Subject", "quarterly Σ"), true},
		{search.Header("Subject", "monthly"), false},
		{search.Header("Received", "from b"), true}, // every occurrence
		{search.Header("X-Empty", ""), true},        // exists
		{search.Header("X-Missing", ""), false},
		{search.Header("Cc", ""), false},
		{search.Key{Op: search.OpBody, Value: "kelvin"}, true}, // U+212A KELVIN SIGN
		{search.Key{Op: search.OpBody, Value: "MEETING NOTES"}, true},
		{search.Key{Op: search.OpBody, Value: "quarterly"}, false},
		{search.Key{Op: search.OpBody, Value: ""}, true},
		{search.Key{Op: search.OpText, Value: "quarterly"}, true},
		{search.Key{Op: search.OpText, Value: "attached"}, true},
		{search.Key{Op: search.OpText, Value: "nowhere"}, false},
		{search.Key{Op: search.OpLarger, N: 2047}, true},
		{search.Key{Op: search.OpLarger, N: 2048}, false},
		{search.Key{Op: search.OpSmaller, N: 2049}, true},
		{search.Key{Op: search.OpSmaller, N: 2048}, false},
		{search.Key{Op: search.OpModSeq, N: 77}, true},
		{search.Key{Op: search.OpModSeq, N: 78}, false},
		// Internal date: 1 Feb in its own zone (-0800), although 2 Feb in UTC.
		{search.Key{Op: search.OpOn, Date: date(2026, 2, 1)}, true},
		{search.Key{Op: search.OpOn, Date: date(2026, 2, 2)}, false},
		{search.Key{Op: search.OpBefore, Date: date(2026, 2, 2)}, true},
		{search.Key{Op: search.OpBefore, Date: date(2026, 2, 1)}, false},
		{search.Key{Op: search.OpSince, Date: date(2026, 2, 1)}, true},
		{search.Key{Op: search.OpSince, Date: date(2026, 2, 2)}, false},
		// Sent date: 2 Feb in the Date: field's own zone (+0100).
		{search.Key{Op: search.OpSentOn, Date: date(2026, 2, 2)}, true},
		{search.Key{Op: search.OpSentBefore, Date: date(2026, 2, 2)}, false},
		{search.Key{Op: search.OpSentSince, Date: date(2026, 2, 2)}, true},
		{search.Key{Op: search.OpSavedOn, Date: date(2026, 2, 5)}, true},
		{search.Key{Op: search.OpSavedBefore, Date: date(2026, 2, 5)}, false},
		{search.Key{Op: search.OpSavedSince, Date: date(2026, 2, 6)}, false},
		{search.Key{Op: search.OpSaveDateSupported}, true},
		{search.Key{Op: search.OpOlder, N: 20 * 3600}, true},
		{search.Key{Op: search.OpOlder, N: 21 * 3600}, false},
		{search.Key{Op: search.OpYounger, N: 21 * 3600}, true},
		{search.Key{Op: search.OpYounger, N: 20 * 3600}, false},
		// Combinations.
		{search.And(search.Flag(store.FlagSeen), search.Header("To", "bob")), true},
		{search.And(search.Flag(store.FlagSeen), search.Header("To", "dave")), false},
		{search.Or(search.Flag(store.FlagDraft), search.Header("To", "bob")), true},
		{search.Not(search.Or(search.Flag(store.FlagDraft), search.Keyword("x"))), true},
	}
	opts := search.Options{MaxSeq: 5, MaxUID: 42, Now: now, SaveDateSupported: true}
	for _, tt := range tests {
		mt, err := search.Compile(tt.key, opts)
		if err != nil {
			t.Errorf("Compile(%v): %v", tt.key, err)
			continue
		}
		m := sample()
		if got, err := mt.Match(m); err != nil || got != tt.want {
			t.Errorf("Match(%v) = %v, %v; want %v", tt.key, got, err, tt.want)
		}
		if ref := searchtest.Reference(tt.key, m, opts); ref != tt.want {
			t.Errorf("Reference(%v) = %v; want %v", tt.key, ref, tt.want)
		}
	}
}

func TestMatchEdges(t *testing.T) {
	// A message without accessors has no header and an empty body.
	m := &search.Message{Seq: 1, UID: 1, InternalDate: date(2026, 1, 1)}
	for _, tt := range []struct {
		key  search.Key
		want bool
	}{
		{search.Header("Subject", ""), false},
		{search.Key{Op: search.OpBody, Value: "x"}, false},
		{search.Key{Op: search.OpText, Value: "x"}, false},
		{search.Key{Op: search.OpText, Value: ""}, true},
		{search.Key{Op: search.OpSentOn, Date: date(2026, 1, 1)}, true}, // falls back to internal date
		{search.Key{Op: search.OpSavedOn, Date: date(2026, 1, 1)}, true},
		{search.Key{Op: search.OpSaveDateSupported}, false},
		{search.Header("Subject", "\xff\xfe"), false}, // invalid UTF-8 needle: no panic
	} {
		mt, err := search.Compile(tt.key, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := mt.Match(m); err != nil || got != tt.want {
			t.Errorf("Match(%v) = %v, %v; want %v", tt.key, got, err, tt.want)
		}
	}

	// Without Text, TEXT looks in the common header fields and the body.
	m.Header = func(name string) ([]string, error) {
		if name == "Subject" {
			return []string{"Lunch plans"}, nil
		}
		return nil, nil
	}
	m.Body = func() (string, error) { return "see you", nil }
	for needle, want := range map[string]bool{"LUNCH": true, "you": true, "nothing": false} {
		mt, _ := search.Compile(search.Key{Op: search.OpText, Value: needle}, search.Options{})
		if got, _ := mt.Match(m); got != want {
			t.Errorf("TEXT %q without Text = %v", needle, got)
		}
	}

	// Accessor errors come back, and cheap keys are decided first.
	boom := errors.New("blob gone")
	m.Body = func() (string, error) { return "", boom }
	mt, _ := search.Compile(search.Key{Op: search.OpBody, Value: "x"}, search.Options{})
	if _, err := mt.Match(m); !errors.Is(err, boom) {
		t.Errorf("Match with failing Body: %v", err)
	}
	mt, _ = search.Compile(search.And(search.Key{Op: search.OpBody, Value: "x"}, search.Flag(store.FlagSeen)), search.Options{})
	if ok, err := mt.Match(m); ok || err != nil {
		t.Errorf("unseen message with failing Body = %v, %v: the flag should decide first", ok, err)
	}
}

func TestCompileErrors(t *testing.T) {
	deep := search.All()
	for range search.MaxDepth + 1 {
		deep = search.Not(deep)
	}
	for _, k := range []search.Key{
		{Op: search.OpNot},
		{Op: search.OpFlag},
		{Op: search.OpFlag, Flag: store.FlagSeen | store.FlagDraft},
		{Op: search.OpHeader},
		{Op: 200},
		search.And(search.All(), search.Key{Op: search.OpNot}),
		deep,
	} {
		if _, err := search.Compile(k, search.Options{}); !errors.Is(err, search.ErrBadKey) {
			t.Errorf("Compile(%v) = %v, want ErrBadKey", k, err)
		}
		if _, err := search.NewPlan(k, search.Options{}); !errors.Is(err, search.ErrBadKey) {
			t.Errorf("NewPlan(%v) = %v, want ErrBadKey", k, err)
		}
	}
}

// TestDifferential checks Compile and Match against the reference
// evaluator on random key trees.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	msgs, _ := searchtest.Corpus(r, 60)
	searchtest.Differential(t, r, msgs, 3000, 5, func(k search.Key, opts search.Options) ([]store.UID, error) {
		mt, err := search.Compile(k, opts)
		if err != nil {
			return nil, err
		}
		var out []store.UID
		for _, m := range msgs {
			ok, err := mt.Match(m)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, m.UID)
			}
		}
		return out, nil
	})
}

// TestDifferentialPlan runs plans the way a store will: the index part
// evaluated by a stand-in index (the reference evaluator, as exact as an
// index may be, or with every prefilter answered "true", as loose as it
// may be), then the residual on the candidates.
func TestDifferentialPlan(t *testing.T) {
	for _, loose := range []bool{false, true} {
		r := rand.New(rand.NewPCG(3, 4))
		msgs, _ := searchtest.Corpus(r, 60)
		searchtest.Differential(t, r, msgs, 3000, 5, func(k search.Key, opts search.Options) ([]store.UID, error) {
			p, err := search.NewPlan(k, opts)
			if err != nil {
				return nil, err
			}
			checkIndexKey(t, p.Index)
			mt, err := search.Compile(p.Residual, opts)
			if err != nil {
				return nil, err
			}
			var out []store.UID
			for _, m := range msgs {
				if !indexMatch(p.Index, m, opts, loose) {
					continue
				}
				if ok, err := mt.Match(m); err != nil {
					return nil, err
				} else if ok {
					out = append(out, m.UID)
				}
			}
			return out, nil
		})
	}
}

// indexMatch evaluates an index key; loose answers every prefilter with
// true (a superset, as a store may).
func indexMatch(k search.Key, m *search.Message, opts search.Options, loose bool) bool {
	switch k.Op {
	case search.OpAnd:
		for _, s := range k.Sub {
			if !indexMatch(s, m, opts, loose) {
				return false
			}
		}
		return true
	case search.OpOr:
		for _, s := range k.Sub {
			if indexMatch(s, m, opts, loose) {
				return true
			}
		}
		return false
	case search.OpNot:
		return !indexMatch(k.Sub[0], m, opts, loose)
	}
	if loose && !search.IndexExact(k.Op) {
		return true
	}
	return searchtest.Reference(k, m, opts)
}

// checkIndexKey checks that an index key uses index operations only, with
// Not only above exact keys.
func checkIndexKey(t *testing.T, k search.Key) {
	t.Helper()
	switch k.Op {
	case search.OpAnd, search.OpOr:
		for _, s := range k.Sub {
			checkIndexKey(t, s)
		}
	case search.OpNot:
		var exact func(search.Key) bool
		exact = func(k search.Key) bool {
			if k.Op == search.OpAnd || k.Op == search.OpOr || k.Op == search.OpNot {
				for _, s := range k.Sub {
					if !exact(s) {
						return false
					}
				}
				return true
			}
			return search.IndexExact(k.Op)
		}
		if !exact(k.Sub[0]) {
			t.Fatalf("index key NOT over a prefilter: %v", k)
		}
	case search.OpHeader, search.OpAddress, search.OpBody, search.OpText:
		if len([]rune(k.Value)) < search.MinIndexedNeedle {
			t.Fatalf("short needle in index key: %v", k)
		}
	case search.OpBefore, search.OpOn, search.OpSince, search.OpSavedBefore, search.OpSavedOn, search.OpSavedSince:
	case search.OpUID:
		for _, r := range k.Set {
			if r.Start == imapnum.Star || r.Stop == imapnum.Star || r.Start > r.Stop {
				t.Fatalf("unresolved UID set in index key: %v", k)
			}
		}
	default:
		if !search.IndexExact(k.Op) {
			t.Fatalf("non-index operation in index key: %v", k)
		}
	}
}

func TestPlan(t *testing.T) {
	seen := search.Flag(store.FlagSeen)
	del := search.Flag(store.FlagDeleted)
	body := search.Key{Op: search.OpBody, Value: "invoice"}
	short := search.Key{Op: search.OpBody, Value: "ab"}
	since := search.Key{Op: search.OpSince, Date: date(2026, 1, 1)}
	seq := search.Key{Op: search.OpSeq, Set: set("1:10")}
	uid := search.Key{Op: search.OpUID, Set: set("5:*")}
	tests := []struct {
		key             search.Key
		index, residual string
	}{
		{search.All(), "ALL", "ALL"},
		{seen, `FLAG \Seen`, "ALL"},
		{search.And(seen, search.Not(del)), `AND (FLAG \Seen NOT FLAG \Deleted)`, "ALL"},
		{search.And(seen, search.And(uid, search.All())), `AND (FLAG \Seen UID 5:100)`, "ALL"},
		{search.And(seen, body), `AND (FLAG \Seen BODY "invoice")`, `BODY "invoice"`},
		{search.And(seen, short), `FLAG \Seen`, `BODY "ab"`},
		{search.And(seen, since, seq), `AND (FLAG \Seen SINCE 1-Jan-2026)`, `AND (SINCE 1-Jan-2026 SEQ 1:10)`},
		{search.Or(seen, body), `OR (FLAG \Seen BODY "invoice")`, `OR (FLAG \Seen BODY "invoice")`},
		{search.Or(seen, short), "ALL", `OR (FLAG \Seen BODY "ab")`},
		{search.Or(seen, search.All()), "ALL", "ALL"},
		{search.Not(body), "ALL", `NOT BODY "invoice"`},
		{search.Not(search.All()), "OR ()", "ALL"},
		{search.Not(search.Or(seen, del)), `NOT OR (FLAG \Seen FLAG \Deleted)`, "ALL"},
		{search.And(search.Not(search.And(seen, body)), del), `FLAG \Deleted`, `NOT AND (FLAG \Seen BODY "invoice")`},
		{search.Key{Op: search.OpSaveDateSupported}, "OR ()", "ALL"},
		{search.Key{Op: search.OpRecent}, "ALL", "RECENT"},
	}
	for _, tt := range tests {
		p, err := search.NewPlan(tt.key, search.Options{MaxUID: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Index.String(); got != tt.index {
			t.Errorf("NewPlan(%v).Index = %s, want %s", tt.key, got, tt.index)
		}
		if got := p.Residual.String(); got != tt.residual {
			t.Errorf("NewPlan(%v).Residual = %s, want %s", tt.key, got, tt.residual)
		}
	}
}

func TestNeeds(t *testing.T) {
	for _, tt := range []struct {
		key  search.Key
		want search.Needs
	}{
		{search.Flag(store.FlagSeen), 0},
		{search.And(search.Header("From", "x"), search.All()), search.NeedsHeader},
		{search.Not(search.Key{Op: search.OpBody, Value: "x"}), search.NeedsBody},
		{search.Or(search.Key{Op: search.OpText, Value: "x"}), search.NeedsHeader | search.NeedsBody},
		{search.Key{Op: search.OpSentOn}, search.NeedsHeader},
	} {
		if got := tt.key.Needs(); got != tt.want {
			t.Errorf("%v.Needs() = %b, want %b", tt.key, got, tt.want)
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"=?UTF-8?Q?J=C3=B6rg?= <j@x>", "Jörg <j@x>"},
		{"=?iso-8859-1?q?M=FCller?=", "Müller"},
		{"=?utf-8?b?5pel5pys6Kqe?=\r\n =?utf-8?b?44Gn44GZ?=", "日本語です"},
		{"Re: =?utf-8?q?caf=C3=A9?= and =?x-unknown?q?abc?=", "Re: café and =?x-unknown?q?abc?="},
		{"folded\r\n line", "folded line"},
	} {
		if got := search.DecodeHeader(tt.in, nil); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // RFC 3339, "" for failure
	}{
		{"Mon, 2 Feb 2026 00:30:00 +0100", "2026-02-02T00:30:00+01:00"},
		{"Mon, 02 Feb 2026 00:30:00 +0100 (CET)", "2026-02-02T00:30:00+01:00"},
		{"2 Feb 2026 00:30 -0800", "2026-02-02T00:30:00-08:00"},
		{"Mon, 2 Feb 26 00:30:00 GMT", "2026-02-02T00:30:00Z"},
		{"Mon, 2 Feb 99 00:30:00 EST", "1999-02-02T00:30:00-05:00"},
		{"Mon, 2 Feb 2026 00:30:00", "2026-02-02T00:30:00Z"},
		{"Mon 2 Feb 2026 00:30:00 +0000", "2026-02-02T00:30:00Z"},
		{"Tue, 30 Feb 2026 00:30:00 +0000", ""},
		{"garbage", ""},
		{"", ""},
	} {
		got, ok := search.ParseDate(tt.in)
		if s := got.Format(time.RFC3339); ok != (tt.want != "") || ok && s != tt.want {
			t.Errorf("ParseDate(%q) = %s, %v; want %q", tt.in, s, ok, tt.want)
		}
	}
}

func TestKeyString(t *testing.T) {
	k := search.And(search.Not(search.Keyword("$Junk")), search.Header("Subject", "a\"b"), search.Key{Op: search.OpOn, Date: date(2026, 3, 4)})
	if got, want := k.String(), `AND (NOT KEYWORD "$Junk" HEADER Subject "a\"b" ON 4-Mar-2026)`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if !strings.Contains(search.Op(99).String(), "99") {
		t.Error("unknown op name")
	}
}
