package storetest

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// The search index, indexing catch-up, reindex and SORT fields: what a
// backend's store.SearchIndex answers is checked against a reference
// evaluation of store.IndexKey on the metadata and the index texts that
// ingest gave the store.

// index returns the store's search index; every backend has one.
func (h *harness) index() store.SearchIndex {
	h.t.Helper()
	idx, ok := h.s.(store.SearchIndex)
	if !ok {
		h.t.Fatalf("%T does not implement store.SearchIndex", h.s)
	}
	return idx
}

// waitIndexed waits, bounded, for the store's indexing to catch up.
func (h *harness) waitIndexed() {
	h.t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.s.WaitIndexed(c); err != nil {
		h.t.Fatalf("WaitIndexed: %v", err)
	}
}

// indexed is a stored message with the index text it was appended with
// (nil: none).
type indexed struct {
	m    store.Message
	text *store.IndexText
}

// textPart returns the part of t that field names.
func textPart(t *store.IndexText, f store.TextField) []string {
	switch f {
	case store.TextFrom:
		return []string{t.From}
	case store.TextTo:
		return []string{t.To}
	case store.TextCc:
		return []string{t.Cc}
	case store.TextBcc:
		return []string{t.Bcc}
	case store.TextSubject:
		return []string{t.Subject}
	case store.TextOther:
		return []string{t.Other}
	case store.TextBody:
		return []string{t.Body}
	}
	return []string{t.From, t.To, t.Cc, t.Bcc, t.Subject, t.Other, t.Body}
}

// evalKey is the reference evaluation of k on x: exact, needles as
// substrings of the text; with loose, a needle matches a text part that
// holds each of its trigrams anywhere, ignoring case (the most an index
// of trigram sets may answer once it has caught up).
func evalKey(k store.IndexKey, x indexed, loose bool) bool {
	switch k.Op {
	case store.IndexAll:
		return true
	case store.IndexAnd:
		for _, c := range k.Sub {
			if !evalKey(c, x, loose) {
				return false
			}
		}
		return true
	case store.IndexOr:
		for _, c := range k.Sub {
			if evalKey(c, x, loose) {
				return true
			}
		}
		return false
	case store.IndexNot:
		return !evalKey(k.Sub[0], x, loose)
	case store.IndexFlag:
		return x.m.Flags.Sys&k.Flag != 0
	case store.IndexKeyword:
		return slices.ContainsFunc(x.m.Flags.Keywords, func(kw string) bool { return strings.EqualFold(kw, k.Value) })
	case store.IndexUID:
		return k.UIDs.Contains(x.m.UID)
	case store.IndexLarger:
		return uint64(x.m.Size) > k.N
	case store.IndexSmaller:
		return uint64(x.m.Size) < k.N
	case store.IndexModSeq:
		return x.m.ModSeq >= k.N
	case store.IndexNeedle:
		if x.text == nil || x.text.Version < k.MinVersion {
			return true // the index cannot tell: a candidate
		}
		parts := textPart(x.text, k.Field)
		if loose && hasTrigrams(strings.Join(parts, "\x00"), k.Value) {
			return true // a trigram may come from any of the parts
		}
		for _, p := range parts {
			if strings.Contains(p, k.Value) {
				return true
			}
		}
		return false
	}
	panic("unknown IndexOp")
}

// hasTrigrams reports whether text holds every trigram of needle,
// ignoring case.
func hasTrigrams(text, needle string) bool {
	text, r := strings.ToLower(text), []rune(strings.ToLower(needle))
	for i := 0; i+3 <= len(r); i++ {
		if !strings.Contains(text, string(r[i:i+3])) {
			return false
		}
	}
	return true
}

// hasNeedle reports whether k has a needle (whose candidates may be a
// superset) and one shorter than 3 runes (which need not restrict).
func hasNeedle(k store.IndexKey) (needle, short bool) {
	if k.Op == store.IndexNeedle {
		return true, len([]rune(k.Value)) < 3
	}
	for _, c := range k.Sub {
		n, s := hasNeedle(c)
		needle, short = needle || n, short || s
	}
	return needle, short
}

// checkCandidates compares SearchCandidates of each key with the
// reference: equal for keys without needles; for keys with needles a
// superset, and, once indexed and when the needles are long enough, no
// candidate beyond the messages holding every trigram of each needle.
func (h *harness) checkCandidates(mbox store.MailboxID, msgs []indexed, keys []store.IndexKey, caughtUp bool) {
	t := h.t
	t.Helper()
	for _, k := range keys {
		var want, most []store.UID
		for _, x := range msgs {
			if evalKey(k, x, false) {
				want = append(want, x.m.UID)
			}
			if evalKey(k, x, true) {
				most = append(most, x.m.UID)
			}
		}
		got := must(h.index().SearchCandidates(ctx, mbox, k))(t)
		if !slices.IsSorted(got) {
			t.Errorf("%+v: candidates %v not ascending", k, got)
		}
		needle, short := hasNeedle(k)
		if !needle {
			if !slices.Equal(got, want) {
				t.Errorf("%+v (indexed %v): candidates %v, want %v", k, caughtUp, got, want)
			}
			continue
		}
		if caughtUp && !short {
			for _, u := range got {
				if !slices.Contains(most, u) {
					t.Errorf("%+v (indexed): candidate %d lacks a trigram of the needle (candidates %v, at most %v)", k, u, got, most)
				}
			}
		}
		for _, u := range want {
			if !slices.Contains(got, u) {
				t.Errorf("%+v (indexed %v): candidates %v miss %d (matches %v)", k, caughtUp, got, u, want)
			}
		}
	}
}

// stored reads mbox's messages and pairs them with the texts of texts
// (by blob).
func (h *harness) stored(mbox store.MailboxID, texts map[store.BlobID]*store.IndexText) []indexed {
	var out []indexed
	for _, m := range h.fetchAll(mbox) {
		out = append(out, indexed{m: m, text: texts[m.Blob]})
	}
	return out
}

func needle(f store.TextField, v string) store.IndexKey {
	return store.IndexKey{Op: store.IndexNeedle, Field: f, Value: v}
}

// searchMessages are the messages of testSearchCandidates, with their
// flags.
var searchMessages = []struct {
	msg   string
	flags store.Flags
}{
	{"From: Ann <ann@example.org>\r\nTo: bob@example.net\r\nSubject: Quarterly report\r\n\r\nnumbers are up\r\n",
		store.Flags{Sys: store.FlagSeen, Keywords: []string{"$Work"}}},
	{"From: bob@example.net\r\nCc: carol@example.com\r\nSubject: lunch\r\n\r\nsisyphus was here\r\n" + strings.Repeat("padding line\r\n", 150),
		store.Flags{Sys: store.FlagFlagged}},
	{"From: carol@example.com\r\nSubject: Re: Quarterly report\r\nX-Label: urgent\r\n\r\nsee attached\r\n",
		store.Flags{Sys: store.FlagAnswered | store.FlagSeen, Keywords: []string{"$work", "Junk"}}},
	{"Subject: x\r\n\r\nhi\r\n", store.Flags{}},
	{"From: Ann <ann@example.org>\r\nSubject: again\r\n\r\nquarterly numbers again\r\n",
		store.Flags{Sys: store.FlagDraft | store.FlagDeleted}},
}

// testSearchCandidates: exact keys are answered exactly, text keys with
// a superset at once (a message appended a moment ago is a candidate)
// and, for needles of 3 runes or more once indexing caught up, with no
// message lacking one of the needle's trigrams.
func testSearchCandidates(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	texts := map[store.BlobID]*store.IndexText{}
	for _, sm := range searchMessages {
		ref := h.blob(sm.msg)
		if ref.Text == nil {
			t.Fatal("ingest.Write gave no text")
		}
		texts[ref.ID] = ref.Text
		must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: sm.flags}}))(t)
	}
	upd := must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0))(t)
	flag := func(f store.SysFlags) store.IndexKey { return store.IndexKey{Op: store.IndexFlag, Flag: f} }
	not := func(k store.IndexKey) store.IndexKey {
		return store.IndexKey{Op: store.IndexNot, Sub: []store.IndexKey{k}}
	}
	and := func(k ...store.IndexKey) store.IndexKey { return store.IndexKey{Op: store.IndexAnd, Sub: k} }
	or := func(k ...store.IndexKey) store.IndexKey { return store.IndexKey{Op: store.IndexOr, Sub: k} }
	keys := []store.IndexKey{
		{},
		and(), or(),
		flag(store.FlagSeen), not(flag(store.FlagSeen)), flag(store.FlagDeleted),
		{Op: store.IndexKeyword, Value: "$WORK"}, {Op: store.IndexKeyword, Value: "junk"}, {Op: store.IndexKeyword, Value: "none"},
		{Op: store.IndexUID, UIDs: imapnum.Set{{Start: 2, Stop: 3}, {Start: 5, Stop: 9}}},
		{Op: store.IndexLarger, N: 1000}, {Op: store.IndexSmaller, N: 100},
		{Op: store.IndexModSeq, N: upd.Updated[0].ModSeq},
		or(flag(store.FlagDraft), and(flag(store.FlagSeen), not(flag(store.FlagAnswered)))),
		needle(store.TextSubject, "QUARTERLY"),
		needle(store.TextBody, "NUMBERS"),
		needle(store.TextBody, "QUARTERLY"),
		needle(store.TextAll, "QUARTERLY"),
		needle(store.TextAll, "EXAMPLE.ORG"),
		needle(store.TextFrom, "ANN"),
		needle(store.TextTo, "BOB"),
		needle(store.TextCc, "CAROL"),
		needle(store.TextBcc, "CAROL"),
		needle(store.TextOther, "URGENT"),
		needle(store.TextBody, "NOWHERE-TO-BE-FOUND"),
		needle(store.TextBody, "UP"), // too short to restrict
		and(needle(store.TextSubject, "QUARTERLY"), flag(store.FlagSeen)),
		and(needle(store.TextAll, "QUARTERLY"), needle(store.TextBody, "NUMBERS")),
		and(needle(store.TextFrom, "ANN"), needle(store.TextBody, "SISYPHUS")),
		or(needle(store.TextBody, "SISYPHUS"), store.IndexKey{Op: store.IndexKeyword, Value: "junk"}),
		or(needle(store.TextBody, "SISYPHUS"), needle(store.TextSubject, "AGAIN")),
		and(needle(store.TextAll, "EXAMPLE"), not(flag(store.FlagDeleted)), store.IndexKey{Op: store.IndexLarger, N: 10}),
	}
	msgs := h.stored(inbox.ID, texts)
	h.checkCandidates(inbox.ID, msgs, keys, false)
	h.waitIndexed()
	h.checkCandidates(inbox.ID, msgs, keys, true)
	// Another mailbox's messages are never candidates.
	trash := h.mailbox(a.ID, "Trash")
	if got := must(h.index().SearchCandidates(ctx, trash.ID, needle(store.TextAll, "QUARTERLY")))(t); len(got) != 0 {
		t.Errorf("empty mailbox: candidates %v", got)
	}
	_, err := h.index().SearchCandidates(ctx, 1<<40, store.IndexKey{})
	wantErr(t, err, store.ErrNoSuchMailbox)
}

// testSearchCatchUp: a message is a candidate for every text key until
// its text is indexed: at once after Append, for good without a text or
// with a text older than a key's MinVersion, until a reindex gives it a
// current one; copies and moves keep their text.
func testSearchCatchUp(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	archive := h.mailbox(a.ID, "Archive")
	texts := map[store.BlobID]*store.IndexText{} // as appended
	full := map[store.BlobID]*store.IndexText{}  // as ingest extracted them
	write := func(body string) store.BlobRef {
		ref := h.blob("Subject: catch-up\r\nFrom: ann@example.org\r\n\r\n" + body + "\r\n")
		texts[ref.ID], full[ref.ID] = ref.Text, ref.Text
		return ref
	}
	zebra := needle(store.TextBody, "ZEBRA")
	nowhere := needle(store.TextBody, "NOWHERE")
	candidates := func(mbox store.MailboxID, k store.IndexKey) []store.UID {
		t.Helper()
		return must(h.index().SearchCandidates(ctx, mbox, k))(t)
	}
	// Appended a moment ago: found at once.
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: write("a zebra crossing")}}))(t)
	if got := candidates(inbox.ID, zebra); !slices.Contains(got, 1) {
		t.Fatalf("just appended: zebra candidates %v", got)
	}
	h.waitIndexed()
	if got := candidates(inbox.ID, nowhere); len(got) != 0 {
		t.Fatalf("indexed: nowhere candidates %v", got)
	}
	// Without a text (stored before an index existed): always a
	// candidate.
	bare := write("a plain horse")
	texts[bare.ID] = nil
	bare.Text = nil
	// With a text of an older version: a candidate for keys that need
	// a newer one.
	old := write("an old giraffe")
	cur := *old.Text
	oldText := cur
	oldText.Version--
	old.Text = &oldText
	texts[old.ID] = &oldText
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: bare}, {Blob: old}}))(t)
	h.waitIndexed()
	newer := nowhere
	newer.MinVersion = cur.Version
	keys := []store.IndexKey{zebra, nowhere, newer, needle(store.TextBody, "GIRAFFE"), needle(store.TextAll, "HORSE")}
	h.checkCandidates(inbox.ID, h.stored(inbox.ID, texts), keys, true)
	if got := candidates(inbox.ID, nowhere); !slices.Equal(got, []store.UID{2}) {
		t.Errorf("nowhere: candidates %v, want the message without a text", got)
	}
	if got := candidates(inbox.ID, newer); !slices.Equal(got, []store.UID{2, 3}) {
		t.Errorf("nowhere since version %d: candidates %v, want [2 3]", cur.Version, got)
	}
	// Copies and moves share the content's text.
	must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, archive.ID))(t)
	must(h.s.Move(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 3}}, archive.ID))(t)
	h.waitIndexed()
	h.checkCandidates(archive.ID, h.stored(archive.ID, texts), keys, true)
	h.checkCandidates(inbox.ID, h.stored(inbox.ID, texts), keys, true)

	// Reindex gives every content a current text.
	n := must(ingest.Reindex(ctx, h.s, "alice", nil))(t)
	if n != 3 {
		t.Errorf("Reindex indexed %d contents, want 3", n)
	}
	h.checkCandidates(archive.ID, h.stored(archive.ID, full), keys, true)
	if got := candidates(archive.ID, newer); len(got) != 0 {
		t.Errorf("after reindex: nowhere candidates %v", got)
	}
}

// testReindexLists: BlobsToIndex lists the contents of an account's
// messages (or all) once each, in ID order, with their stored anatomy;
// SetBlobIndex skips a content no message references.
func testReindexLists(t *testing.T, h *harness) {
	alice, bob := h.account("alice"), h.account("bob")
	ai, bi := h.mailbox(alice.ID, "INBOX"), h.mailbox(bob.ID, "INBOX")
	r1, r2, r3 := h.blob(message(1)), h.blob(message(2)), h.blob(message(3))
	must(h.s.Append(ctx, ai.ID, []store.NewMessage{{Blob: r1}, {Blob: r2}, {Blob: r1}}))(t)
	r3.Anatomy = nil
	must(h.s.Append(ctx, bi.ID, []store.NewMessage{{Blob: r2}, {Blob: r3}}))(t)
	ids := func(account string) []store.BlobID {
		t.Helper()
		var out []store.BlobID
		anatomies := map[store.BlobID][]byte{r1.ID: r1.Anatomy, r2.ID: r2.Anatomy, r3.ID: nil}
		for _, b := range must(h.s.BlobsToIndex(ctx, account))(t) {
			if !bytes.Equal(b.Anatomy, anatomies[b.ID]) || b.Text != nil {
				t.Errorf("%s: listed anatomy %q and text %v, want anatomy %q", b.ID, b.Anatomy, b.Text, anatomies[b.ID])
			}
			out = append(out, b.ID)
		}
		return out
	}
	sorted := func(ids ...store.BlobID) []store.BlobID {
		slices.Sort(ids)
		return ids
	}
	if got, want := ids("alice"), sorted(r1.ID, r2.ID); !slices.Equal(got, want) {
		t.Errorf("alice's contents %v, want %v", got, want)
	}
	if got, want := ids("bob"), sorted(r2.ID, r3.ID); !slices.Equal(got, want) {
		t.Errorf("bob's contents %v, want %v", got, want)
	}
	if got, want := ids(""), sorted(r1.ID, r2.ID, r3.ID); !slices.Equal(got, want) {
		t.Errorf("all contents %v, want %v", got, want)
	}
	if err := h.s.SetBlobIndex(ctx, []store.BlobIndex{{ID: "1111111111111111111111111111111111111111111111111111111111111111", Text: r1.Text}}); err != nil {
		t.Errorf("SetBlobIndex of an unreferenced content: %v", err)
	}
	if err := h.s.SetBlobIndex(ctx, []store.BlobIndex{{ID: r3.ID, Anatomy: r1.Anatomy, Text: r3.Text}}); err != nil {
		t.Fatal(err)
	}
	err := h.s.FetchAnatomy(ctx, bi.ID, imapnum.Set{{Start: 2, Stop: 2}}, func(m store.Message) error {
		if string(m.Anatomy) != string(r1.Anatomy) {
			t.Errorf("SetBlobIndex did not store the missing anatomy")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testSortFields: the SORT and THREAD fields of indexed contents, none
// for a content without a text, with or without the metadata.
func testSortFields(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	bodies := []string{
		"Date: Tue, 3 Jan 2023 10:00:00 +0200\r\nSubject: =?UTF-8?Q?K=C3=B6ln?=\r\nMessage-ID: <a@x>\r\n\r\none\r\n",
		"Date: not a date\r\nSubject: Re: two\r\nIn-Reply-To: <a@x>\r\nReferences: <a@x>\r\n\r\ntwo\r\n",
		"Subject: three\r\n\r\nthree\r\n",
		"Date: Wed, 4 Jan 2023 00:00:00 +0000\r\nSubject: unindexed\r\n\r\nfour\r\n",
	}
	var refs []store.BlobRef
	for i, b := range bodies {
		ref := h.blob(b)
		if i == 3 {
			ref.Text = nil
		}
		refs = append(refs, ref)
		must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: store.FlagSeen}}}))(t)
	}
	h.waitIndexed()
	meta := h.fetchAll(inbox.ID)
	for _, want := range []store.SortWant{store.SortDate | store.SortSubject | store.SortIDs, store.SortMeta | store.SortDate | store.SortSubject | store.SortIDs} {
		var uids []store.UID
		err := h.index().SortFields(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 100}}, want, func(m store.Message, f *store.SortFields) error {
			uids = append(uids, m.UID)
			i := int(m.UID) - 1
			ref, sm := refs[i], meta[i]
			if m.UID != sm.UID || !m.InternalDate.Equal(sm.InternalDate) || m.Size != sm.Size {
				t.Errorf("want %b: uid %d: message %+v, want %+v", want, m.UID, m, sm)
			}
			if want&store.SortMeta != 0 && (m.Flags.Sys != sm.Flags.Sys || m.ModSeq != sm.ModSeq || m.Blob != sm.Blob) {
				t.Errorf("want %b: uid %d: metadata %+v, want %+v", want, m.UID, m, sm)
			}
			if ref.Text == nil {
				if f != nil {
					t.Errorf("uid %d: fields %+v for a content without a text", m.UID, f)
				}
				return nil
			}
			if f == nil {
				t.Errorf("uid %d: no fields", m.UID)
				return nil
			}
			w := ref.Text.Sort
			if f.Subject != w.Subject || f.MessageID != w.MessageID || f.InReplyTo != w.InReplyTo || f.References != w.References {
				t.Errorf("uid %d: fields %+v, want %+v", m.UID, *f, w)
			}
			if !(f.Sent.IsZero() && f.Date == w.Date) && !(!w.Sent.IsZero() && f.Sent.Equal(w.Sent)) {
				t.Errorf("uid %d: date %q sent %v, want %q (sent %v)", m.UID, f.Date, f.Sent, w.Date, w.Sent)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(uids, []store.UID{1, 2, 3, 4}) {
			t.Errorf("want %b: UIDs %v", want, uids)
		}
	}
	var uids []store.UID
	err := h.index().SortFields(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}, {Start: 4, Stop: 9}}, store.SortSubject, func(m store.Message, _ *store.SortFields) error {
		uids = append(uids, m.UID)
		return nil
	})
	if err != nil || !slices.Equal(uids, []store.UID{2, 4}) {
		t.Errorf("SortFields of 2,4:9: UIDs %v, %v", uids, err)
	}
}

// testChangesCopyMove: the change feed after COPY, MOVE, flag changes and
// expunges, in both mailboxes, from several mod-sequences.
func testChangesCopyMove(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox, trash := h.mailbox(a.ID, "INBOX"), h.mailbox(a.ID, "Trash")
	h.appendN(inbox.ID, 4, store.Flags{Keywords: []string{"k"}})
	since, tsince := h.mailbox(a.ID, "INBOX").HighestModSeq, h.mailbox(a.ID, "Trash").HighestModSeq
	changes := func(mbox store.MailboxID, since store.ModSeq) store.Changes {
		t.Helper()
		ch := must(h.s.Changes(ctx, mbox, since))(t)
		if !slices.IsSortedFunc(ch.Updated, func(a, b store.Message) int { return int(a.UID) - int(b.UID) }) || !slices.IsSorted(ch.Expunged) {
			t.Errorf("changes not in UID order: %+v", ch)
		}
		for _, m := range ch.Updated {
			if m.ModSeq <= since {
				t.Errorf("updated %d with mod-sequence %d, not after %d", m.UID, m.ModSeq, since)
			}
		}
		return ch
	}

	cp := must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, trash.ID))(t)
	if ch := changes(inbox.ID, since); len(ch.Updated)+len(ch.Expunged) != 0 || ch.HighestModSeq != since {
		t.Errorf("COPY changed its source: %+v", ch)
	}
	mv := must(h.s.Move(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, trash.ID))(t)
	ch := changes(inbox.ID, since)
	if len(ch.Updated) != 0 || !slices.Equal(ch.Expunged, []store.UID{2}) || ch.HighestModSeq != mv.ModSeq || mv.ModSeq <= since {
		t.Errorf("after MOVE (mod-sequence %d): source changes %+v", mv.ModSeq, ch)
	}
	if ch := changes(inbox.ID, mv.ModSeq); len(ch.Expunged) != 0 {
		t.Errorf("changes since the MOVE itself: %+v", ch)
	}
	tch := changes(trash.ID, tsince)
	want := append(slices.Clone(cp.DstUIDs), mv.DstUIDs...)
	if !slices.Equal(uidsOf(tch.Updated), want) || len(tch.Expunged) != 0 {
		t.Errorf("destination changes %+v, want new %v", tch, want)
	}
	for _, m := range tch.Updated {
		if !slices.Equal(m.Flags.Keywords, []string{"k"}) {
			t.Errorf("copied %d lost its flags: %+v", m.UID, m.Flags)
		}
	}

	// Flag changes and an expunge: a message changed and then expunged
	// is only expunged.
	mid := h.mailbox(a.ID, "INBOX").HighestModSeq
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 4}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0))(t)
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	ch = changes(inbox.ID, mid)
	if !slices.Equal(uidsOf(ch.Updated), []store.UID{4}) || !slices.Equal(ch.Expunged, []store.UID{3}) {
		t.Errorf("after STORE and EXPUNGE: %+v", ch)
	}
	ch = changes(inbox.ID, since)
	if !slices.Equal(uidsOf(ch.Updated), []store.UID{4}) || !slices.Equal(ch.Expunged, []store.UID{2, 3}) {
		t.Errorf("since before the MOVE: %+v", ch)
	}
	if ch.HighestModSeq != h.mailbox(a.ID, "INBOX").HighestModSeq {
		t.Errorf("changes carry HIGHESTMODSEQ %d, mailbox %d", ch.HighestModSeq, h.mailbox(a.ID, "INBOX").HighestModSeq)
	}
	// An expunge in the destination shows there only.
	must(h.s.StoreFlags(ctx, trash.ID, imapnum.Set{{Start: cp.DstUIDs[0], Stop: cp.DstUIDs[0]}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, trash.ID, nil))(t)
	if tch := changes(trash.ID, tsince); !slices.Equal(uidsOf(tch.Updated), mv.DstUIDs) || !slices.Equal(tch.Expunged, cp.DstUIDs) {
		t.Errorf("destination after its EXPUNGE: %+v", tch)
	}
	if ch := changes(inbox.ID, since); !slices.Equal(ch.Expunged, []store.UID{2, 3}) {
		t.Errorf("source after the destination's EXPUNGE: %+v", ch)
	}
}
