// Package searchtest is a differential test harness for searches: a
// generated corpus of messages, random search-key trees over every
// operation, and a deliberately naive reference evaluator. Package search
// checks its Matcher and planner against the reference; a store-backed
// search (index plus residual) can run the same Differential check.
package searchtest

import (
	"fmt"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"rookery/internal/anatomy"
	"rookery/internal/imapnum"
	"rookery/internal/search"
	"rookery/internal/store"
)

// Doc is the content behind one generated message.
type Doc struct {
	Fields [][2]string // header fields in order: name, decoded value
	// Pieces, when set, holds for Fields[i] the pieces its value is made
	// of (nil for a field of one piece): see Encoded.
	Pieces [][]Piece
	// Addrs holds, for each address field (lower-case name), the address
	// list of its first occurrence, names decoded: what
	// Message.Addresses returns. Nil: Bind leaves Addresses nil.
	Addrs map[string][]anatomy.Address
	Body  string
}

// Words are the vocabulary of generated text and needles: ASCII in mixed
// case, and non-ASCII words whose case variants are equal under simple
// case folding (final sigma, KELVIN SIGN).
var Words = []string{
	"meeting", "Meeting", "MEETING", "notes", "invoice", "Report", "quarterly", "lunch",
	"Jörg", "JÖRG", "jörg", "Grüße", "ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ", "\u212Aelvin", "kelvin",
	"re", "Re:", "fwd", "abc", "ab", "a", "x", "日本語",
}

var (
	names  = []string{"Alice", "bob", "Carol Jones", "dave", "Élodie", "Zoë"}
	hosts  = []string{"example.org", "Example.COM", "mail.test"}
	fields = []string{"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "X-Label", "Reply-To"}
	zones  = []int{0, -12 * 3600, 14 * 3600, 5*3600 + 1800, -8 * 3600}
	base   = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func text(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = pick(r, Words)
	}
	return strings.Join(w, " ")
}

// randomTime is a time within a few days of base, in a random zone, often
// near midnight so that zones matter for calendar dates.
func randomTime(r *rand.Rand) time.Time {
	t := base.Add(time.Duration(r.IntN(6*24*60)) * time.Minute)
	return t.In(time.FixedZone("", pick(r, zones)))
}

// Corpus generates n messages with sequence numbers 1..n and increasing
// UIDs with gaps, and their documents.
func Corpus(r *rand.Rand, n int) ([]*search.Message, []*Doc) {
	msgs := make([]*search.Message, n)
	docs := make([]*Doc, n)
	uid := store.UID(0)
	for i := range n {
		uid += 1 + store.UID(r.IntN(3))
		d := &Doc{Body: text(r, r.IntN(12)), Addrs: map[string][]anatomy.Address{}}
		for _, f := range fields {
			if r.IntN(5) == 0 {
				continue // absent field
			}
			var v string
			var pieces []Piece
			switch f {
			case "From", "To", "Cc", "Bcc", "Reply-To":
				var list []anatomy.Address
				pieces, list = addressField(r)
				for _, p := range pieces {
					v += p.Text
				}
				d.Addrs[strings.ToLower(f)] = list
			case "Date":
				switch r.IntN(4) {
				case 0:
					v = "garbage"
				case 1:
					v = randomTime(r).Format("2 Jan 2006 15:04:05 -0700")
				default:
					v = randomTime(r).Format(time.RFC1123Z)
				}
			case "Message-ID":
				v = fmt.Sprintf("<%d@%s>", r.IntN(n+1), pick(r, hosts))
			default:
				v = text(r, 1+r.IntN(4))
			}
			for len(d.Pieces) < len(d.Fields) {
				d.Pieces = append(d.Pieces, nil)
			}
			d.Fields = append(d.Fields, [2]string{f, v})
			d.Pieces = append(d.Pieces, pieces)
			if r.IntN(8) == 0 {
				d.Fields = append(d.Fields, [2]string{f, text(r, 2)}) // repeated field
			}
		}
		var kws []string
		for _, kw := range []string{"$Forwarded", "$Junk", "Work"} {
			if r.IntN(3) == 0 {
				kws = append(kws, kw)
			}
		}
		m := &search.Message{
			Seq:          uint32(i + 1),
			UID:          uid,
			Flags:        store.Flags{Sys: store.SysFlags(r.IntN(32)), Keywords: kws},
			Recent:       r.IntN(4) == 0,
			InternalDate: randomTime(r),
			Size:         int64(r.IntN(5000)),
			ModSeq:       uint64(1 + r.IntN(100)),
		}
		if r.IntN(3) > 0 {
			m.SaveDate = randomTime(r)
		}
		Bind(m, d)
		msgs[i], docs[i] = m, d
	}
	return msgs, docs
}

// Bind sets m's accessors to read d.
func Bind(m *search.Message, d *Doc) {
	m.Header = func(name string) ([]string, error) {
		var out []string
		for _, f := range d.Fields {
			if strings.EqualFold(f[0], name) {
				out = append(out, f[1])
			}
		}
		return out, nil
	}
	if d.Addrs != nil {
		m.Addresses = func(name string) ([]anatomy.Address, error) {
			return d.Addrs[strings.ToLower(name)], nil
		}
	}
	m.Body = func() (string, error) { return d.Body, nil }
	m.Text = func() (string, error) {
		var b strings.Builder
		for _, f := range d.Fields {
			b.WriteString(f[0] + ": " + f[1] + "\r\n")
		}
		b.WriteString("\r\n" + d.Body)
		return b.String(), nil
	}
}

var flags = []store.SysFlags{store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft}

// RandomKey returns a random key tree of at most depth levels over every
// operation.
func RandomKey(r *rand.Rand, depth int) search.Key {
	if depth > 1 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			sub := make([]search.Key, 1+r.IntN(3))
			for i := range sub {
				sub[i] = RandomKey(r, depth-1)
			}
			return search.And(sub...)
		case 1:
			sub := make([]search.Key, 1+r.IntN(3))
			for i := range sub {
				sub[i] = RandomKey(r, depth-1)
			}
			return search.Or(sub...)
		default:
			return search.Not(RandomKey(r, depth-1))
		}
	}
	day := base.AddDate(0, 0, r.IntN(8)-1)
	switch op := search.Op(r.IntN(int(search.OpAddress) + 1)); op {
	case search.OpAnd, search.OpOr, search.OpNot:
		return RandomKey(r, 1)
	case search.OpFlag:
		return search.Flag(pick(r, flags))
	case search.OpKeyword:
		return search.Keyword(pick(r, []string{"$forwarded", "$Junk", "work", "Other"}))
	case search.OpSeq, search.OpUID:
		var set imapnum.Set
		for range 1 + r.IntN(3) {
			a, b := uint32(r.IntN(40)), uint32(r.IntN(40))
			if a == 0 && b == 0 {
				b = 1
			}
			set = append(set, imapnum.Range{Start: a, Stop: b})
		}
		return search.Key{Op: op, Set: set}
	case search.OpHeader:
		v := pick(r, Words)
		switch r.IntN(4) {
		case 0:
			v = ""
		case 1:
			v = string([]rune(v)[:utf8.RuneCountInString(v)/2+1]) // a prefix
		}
		return search.Header(pick(r, fields), v)
	case search.OpAddress:
		v := pick(r, addressNeedles)
		if r.IntN(3) == 0 {
			v = pick(r, Words)
		}
		return search.Address(pick(r, []string{"From", "To", "Cc", "Bcc"}), v)
	case search.OpBody, search.OpText:
		v := pick(r, Words)
		if r.IntN(4) == 0 {
			v = pick(r, Words) + " " + pick(r, Words)
		}
		return search.Key{Op: op, Value: v}
	case search.OpLarger, search.OpSmaller:
		return search.Key{Op: op, N: uint64(r.IntN(5000))}
	case search.OpOlder, search.OpYounger:
		return search.Key{Op: op, N: uint64(1 + r.IntN(8*86400))}
	case search.OpModSeq:
		return search.Key{Op: op, N: uint64(r.IntN(110))}
	default: // dates, flags without arguments
		return search.Key{Op: op, Date: day}
	}
}

// containsFold is the reference substring test: some window of the
// haystack with as many runes as the needle is equal to it under simple
// case folding (strings.EqualFold). The needle must be valid UTF-8.
func containsFold(haystack, needle string) bool {
	if needle == "" {
		return true
	}
	n := utf8.RuneCountInString(needle)
	for i := 0; i < len(haystack); {
		j, k := i, 0
		for k < n && j < len(haystack) {
			_, w := utf8.DecodeRuneInString(haystack[j:])
			j += w
			k++
		}
		if k == n && strings.EqualFold(haystack[i:j], needle) {
			return true
		}
		_, w := utf8.DecodeRuneInString(haystack[i:])
		i += w
	}
	return false
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func inSet(set imapnum.Set, n, max uint32) bool { return set.Resolve(max).Contains(n) }

func dateRel(rel int, d, key time.Time) bool {
	switch rel {
	case 0:
		return d.Before(day(key))
	case 1:
		return d.Equal(day(key))
	}
	return !d.Before(day(key))
}

// Reference evaluates k on m the slow, obvious way.
func Reference(k search.Key, m *search.Message, opts search.Options) bool {
	hdr := func(name string) []string { v, _ := m.Header(name); return v }
	switch k.Op {
	case search.OpAll:
		return true
	case search.OpAnd:
		for _, s := range k.Sub {
			if !Reference(s, m, opts) {
				return false
			}
		}
		return true
	case search.OpOr:
		for _, s := range k.Sub {
			if Reference(s, m, opts) {
				return true
			}
		}
		return false
	case search.OpNot:
		return !Reference(k.Sub[0], m, opts)
	case search.OpFlag:
		return m.Flags.Sys&k.Flag == k.Flag
	case search.OpKeyword:
		return slices.ContainsFunc(m.Flags.Keywords, func(kw string) bool { return strings.EqualFold(kw, k.Value) })
	case search.OpRecent:
		return m.Recent
	case search.OpSeq:
		return inSet(k.Set, m.Seq, opts.MaxSeq)
	case search.OpUID:
		return inSet(k.Set, m.UID, opts.MaxUID)
	case search.OpHeader:
		return slices.ContainsFunc(hdr(k.Field), func(v string) bool { return containsFold(v, k.Value) })
	case search.OpAddress:
		list, _ := m.Addresses(k.Field)
		return containsFold(search.AddressText(list), k.Value)
	case search.OpBody:
		b, _ := m.Body()
		return containsFold(b, k.Value)
	case search.OpText:
		t, _ := m.Text()
		return containsFold(t, k.Value)
	case search.OpLarger:
		return uint64(m.Size) > k.N
	case search.OpSmaller:
		return uint64(m.Size) < k.N
	case search.OpModSeq:
		return m.ModSeq >= k.N
	case search.OpBefore, search.OpOn, search.OpSince:
		return dateRel(int(k.Op-search.OpBefore), day(m.InternalDate), k.Date)
	case search.OpSavedBefore, search.OpSavedOn, search.OpSavedSince:
		d := m.SaveDate
		if d.IsZero() {
			d = m.InternalDate
		}
		return dateRel(int(k.Op-search.OpSavedBefore), day(d), k.Date)
	case search.OpSentBefore, search.OpSentOn, search.OpSentSince:
		d := m.InternalDate
		if v := hdr("Date"); len(v) > 0 {
			if t, err := mail.ParseDate(v[0]); err == nil {
				d = t
			}
		}
		return dateRel(int(k.Op-search.OpSentBefore), day(d), k.Date)
	case search.OpSaveDateSupported:
		return opts.SaveDateSupported
	case search.OpOlder:
		return opts.Now.Sub(m.InternalDate) > time.Duration(k.N)*time.Second
	case search.OpYounger:
		return opts.Now.Sub(m.InternalDate) <= time.Duration(k.N)*time.Second
	}
	panic(fmt.Sprintf("searchtest: op %v", k.Op))
}

// Options returns the search options for a corpus: "*" resolves to the
// last message, Now is fixed near the corpus dates.
func Options(msgs []*search.Message) search.Options {
	o := search.Options{Now: base.Add(4 * 24 * time.Hour), SaveDateSupported: true}
	if len(msgs) > 0 {
		o.MaxSeq, o.MaxUID = msgs[len(msgs)-1].Seq, msgs[len(msgs)-1].UID
	}
	return o
}

// SearchFunc runs a search over the corpus and returns the UIDs found.
type SearchFunc func(k search.Key, opts search.Options) ([]store.UID, error)

// Differential runs rounds random keys (up to depth levels) through fn and
// through Reference over msgs, failing t at the first difference.
func Differential(t testing.TB, r *rand.Rand, msgs []*search.Message, rounds, depth int, fn SearchFunc) {
	t.Helper()
	opts := Options(msgs)
	for range rounds {
		k := RandomKey(r, depth)
		got, err := fn(k, opts)
		if err != nil {
			t.Fatalf("search %v: %v", k, err)
		}
		var want []store.UID
		for _, m := range msgs {
			if Reference(k, m, opts) {
				want = append(want, m.UID)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("search %v:\n got %v\nwant %v", k, got, want)
		}
	}
}
