package imapserver

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"rookery/internal/ingest"
	"rookery/internal/mailview"
	"rookery/internal/pgtest"
	"rookery/internal/search"
	"rookery/internal/search/searchtest"
	"rookery/internal/store"
	"rookery/internal/store/pgstore"
	"rookery/internal/store/sqlitestore"
)

// encodeWord encodes a header value as one RFC 2047 encoded word when it
// is not ASCII, in B or Q encoding.
func encodeWord(r *rand.Rand, v string) string {
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		if i := strings.IndexByte(v, ' '); i > 0 && r.IntN(3) == 0 {
			return v[:i] + "\r\n" + v[i:] // folded
		}
		return v
	}
	if r.IntN(2) == 0 {
		return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
	}
	var b strings.Builder
	b.WriteString("=?utf-8?q?")
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	b.WriteString("?=")
	return b.String()
}

// qpEncode encodes text as quoted-printable with soft line breaks.
func qpEncode(s string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var tok string
		if c >= 33 && c <= 126 && c != '=' || c == ' ' && i+1 < len(s) {
			tok = string(c)
		} else {
			tok = fmt.Sprintf("=%02X", c)
		}
		if n+len(tok) > 72 {
			b.WriteString("=\r\n")
			n = 0
		}
		b.WriteString(tok)
		n += len(tok)
	}
	return b.String()
}

func b64Lines(s string) string {
	e := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(e) > 76 {
		b.WriteString(e[:76] + "\r\n")
		e = e[76:]
	}
	b.WriteString(e)
	return b.String()
}

// encodeBody returns a transfer encoding and the encoded text.
func encodeBody(r *rand.Rand, s string) (string, string) {
	switch r.IntN(3) {
	case 0:
		return "quoted-printable", qpEncode(s)
	case 1:
		return "base64", b64Lines(s)
	}
	return "8bit", s
}

// renderMessage turns a generated document into an RFC 5322 message
// (encoded words, folded fields, transfer encodings, multiparts), adding
// the MIME fields it writes to d so that the reference sees the same
// header.
func renderMessage(r *rand.Rand, d *searchtest.Doc) []byte {
	var mime [][2]string
	var body string
	if words := strings.Fields(d.Body); len(words) >= 2 && r.IntN(3) == 0 {
		k := 1 + r.IntN(len(words)-1)
		p1, p2 := strings.Join(words[:k], " "), strings.Join(words[k:], " ")
		d.Body = p1 + "\n" + p2 // BodyText joins text parts with a line feed
		mime = [][2]string{{"MIME-Version", "1.0"}, {"Content-Type", `multipart/mixed; boundary="=_b"`}}
		var b strings.Builder
		b.WriteString("preamble\r\n")
		for _, p := range []string{p1, p2} {
			enc, text := encodeBody(r, p)
			fmt.Fprintf(&b, "--=_b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n\r\n%s\r\n", enc, text)
		}
		b.WriteString("--=_b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--=_b--\r\n")
		body = b.String()
	} else {
		enc, text := encodeBody(r, d.Body)
		mime = [][2]string{{"Content-Type", "text/plain; charset=UTF-8"}, {"Content-Transfer-Encoding", enc}}
		body = text
	}
	d.Fields = append(d.Fields, mime...)
	var b strings.Builder
	for _, f := range d.Encoded(func(v string) string { return encodeWord(r, v) }) {
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

// noIndex hides a store's store.SearchIndex: the searcher then scans.
type noIndex struct{ store.Store }

// TestSearchDifferential runs random searches through the server's search
// path (key rewriting, the store's trigram index, the lazily loaded
// message view) on real stored messages and compares them with the
// reference evaluator on the documents the messages were made from.
// It runs on both backends.
func TestSearchDifferential(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(context.Background(), t.TempDir(), sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testSearchDifferential(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := pgstore.Open(context.Background(), pgtest.NewDatabase(t), pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testSearchDifferential(t, st)
	})
}

func testSearchDifferential(t *testing.T, st store.Store) {
	ctx := context.Background()
	acct, err := st.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 1))
	msgs, docs := searchtest.Corpus(r, 90)
	var batch []store.NewMessage
	flush := func() {
		if _, err := st.Append(ctx, mb.ID, batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i, m := range msgs {
		ref, err := ingest.Write(ctx, st, strings.NewReader(string(renderMessage(r, docs[i]))), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, store.NewMessage{Blob: ref, Flags: m.Flags, InternalDate: m.InternalDate})
		if len(batch) == 7 {
			flush()
		}
	}
	flush()
	snap, err := st.Snapshot(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	view := mailview.New(snap)
	view.AddRecent(snap.UIDs[len(snap.UIDs)/2], snap.UIDNext)
	// The reference messages take the stored metadata.
	for seq := uint32(1); seq <= view.Len(); seq++ {
		i := int(seq - 1)
		uid := view.UID(seq)
		err := st.Fetch(ctx, mb.ID, uidKey([]store.UID{uid}).Set, func(sm store.Message) error {
			m := msgs[i]
			m.Seq, m.UID, m.Flags, m.ModSeq = seq, sm.UID, sm.Flags, sm.ModSeq
			m.InternalDate, m.SaveDate, m.Size = sm.InternalDate, sm.SaveDate, sm.Size
			m.Recent = view.IsRecent(uid)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	opts := searchtest.Options(msgs)
	run := func(st store.Store) searchtest.SearchFunc {
		s := &searcher{st: st, mbox: mb.ID, view: view, log: slog.New(slog.DiscardHandler), now: opts.Now}
		return func(k search.Key, _ search.Options) ([]store.UID, error) {
			found, err := s.find(ctx, k, 0, false)
			uids := make([]store.UID, len(found))
			for i, m := range found {
				uids[i] = m.UID
			}
			return uids, err
		}
	}
	rounds := 1500
	if testing.Short() {
		rounds = 300
	}
	t.Run("index", func(t *testing.T) {
		searchtest.Differential(t, rand.New(rand.NewPCG(7, 7)), msgs, rounds, 4, run(st))
	})
	// SORT and THREAD read stored fields through the index and parse
	// messages without it: the orders must agree.
	t.Run("sort-thread", func(t *testing.T) {
		cache := newSortCache(1 << 20)
		order := func(st store.Store, crit []search.SortCriterion, thread bool) string {
			s := &searcher{st: st, mbox: mb.ID, view: view, log: slog.New(slog.DiscardHandler), now: opts.Now, sortFields: true,
				sortWant: store.SortDate | store.SortSubject | store.SortIDs}
			// SORT and THREAD as the server runs them: through the cache.
			s.cache, s.uidValidity = cache, mb.UIDValidity
			if !thread {
				s.sortWant = store.SortDate | store.SortSubject
			}
			found, err := s.find(ctx, search.All(), search.NeedsHeader, true)
			if err != nil {
				t.Fatal(err)
			}
			if thread {
				threads, err := search.ThreadReferences(found)
				if err != nil {
					t.Fatal(err)
				}
				return string(search.AppendThreads(nil, threads, true))
			}
			if err := search.Sort(found, crit); err != nil {
				t.Fatal(err)
			}
			uids := make([]store.UID, len(found))
			for i, m := range found {
				uids[i] = m.UID
			}
			return fmt.Sprint(uids)
		}
		for _, crit := range [][]search.SortCriterion{
			{{Key: search.SortDate}}, {{Key: search.SortSubject, Reverse: true}, {Key: search.SortArrival}},
		} {
			// Twice: filling the cache, then answered from it.
			for range 2 {
				if a, b := order(st, crit, false), order(noIndex{st}, crit, false); a != b {
					t.Errorf("SORT %v: index %s, scan %s", crit, a, b)
				}
			}
		}
		for range 2 {
			if a, b := order(st, nil, true), order(noIndex{st}, nil, true); a != b {
				t.Errorf("THREAD: index %s, scan %s", a, b)
			}
		}
	})
	t.Run("scan", func(t *testing.T) {
		searchtest.Differential(t, rand.New(rand.NewPCG(8, 8)), msgs, rounds/3, 4, run(noIndex{st}))
	})
}
