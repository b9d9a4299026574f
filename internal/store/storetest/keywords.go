package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// kw is a keyword-only flag set.
func kw(ks ...string) store.Flags { return store.Flags{Keywords: ks} }

// all is every UID.
var all = imapnum.Set{{Start: 1, Stop: ^uint32(0)}}

// one is the set of one UID.
func one(u store.UID) imapnum.Set { return imapnum.Set{{Start: u, Stop: u}} }

// keywordsOf returns a mailbox's keyword set (Snapshot.Keywords).
func (h *harness) keywordsOf(mbox store.MailboxID) []string {
	h.t.Helper()
	return must(h.s.Snapshot(ctx, mbox))(h.t).Keywords
}

// testKeywordSet: a mailbox's keyword set (Snapshot.Keywords) holds every
// keyword its messages carry, case-insensitively with the first spelling,
// sorted; it does not shrink when messages lose keywords or are
// expunged; it goes with the mailbox (DELETE, RENAME) and RENAME of
// INBOX gives the new mailbox a copy.
func testKeywordSet(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	uids := h.appendN(inbox.ID, 2, kw("Work", "$Label1"))
	must(h.s.StoreFlags(ctx, inbox.ID, one(uids[0]), store.FlagsAdd, kw("WORK", "zeta", "Alpha"), 0))(t)
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: h.blob(message(9)), Flags: kw("alpha", "Beta")}}))(t)
	want := []string{"$Label1", "Alpha", "Beta", "Work", "zeta"}
	if got := h.keywordsOf(inbox.ID); !slices.Equal(got, want) {
		t.Fatalf("keywords = %q, want %q", got, want)
	}
	// Removed from every message, expunged: still in the set.
	must(h.s.StoreFlags(ctx, inbox.ID, all, store.FlagsRemove, kw("zeta", "beta"), 0))(t)
	must(h.s.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	if got := h.keywordsOf(inbox.ID); !slices.Equal(got, want) {
		t.Fatalf("keywords after expunging every message = %q, want %q", got, want)
	}
	// Copy and Move bring the keywords of their messages.
	work := must(h.s.CreateMailbox(ctx, a.ID, "Work", ""))(t)
	later := h.appendN(inbox.ID, 2, kw("$Label2"))
	must(h.s.Copy(ctx, inbox.ID, one(later[0]), work.ID))(t)
	must(h.s.StoreFlags(ctx, inbox.ID, one(later[1]), store.FlagsAdd, kw("moved"), 0))(t)
	must(h.s.Move(ctx, inbox.ID, one(later[1]), work.ID))(t)
	if got := h.keywordsOf(work.ID); !slices.Equal(got, []string{"$Label2", "moved"}) {
		t.Fatalf("keywords of the copies' mailbox = %q", got)
	}
	// A renamed mailbox keeps its set; a deleted one loses it.
	must(0, h.s.RenameMailbox(ctx, a.ID, "Work", "Projects/Work"))(t)
	renamed := h.mailbox(a.ID, "Projects/Work")
	if got := h.keywordsOf(renamed.ID); !slices.Equal(got, []string{"$Label2", "moved"}) {
		t.Fatalf("keywords after RENAME = %q", got)
	}
	must(0, h.s.DeleteMailbox(ctx, a.ID, "Projects/Work"))(t)
	again := must(h.s.CreateMailbox(ctx, a.ID, "Projects/Work", ""))(t)
	if got := h.keywordsOf(again.ID); len(got) != 0 {
		t.Fatalf("keywords of a mailbox created again = %q", got)
	}
	// RENAME INBOX: the new mailbox gets INBOX's set, INBOX keeps it.
	must(0, h.s.RenameMailbox(ctx, a.ID, "INBOX", "Old"))(t)
	want = []string{"$Label1", "$Label2", "Alpha", "Beta", "moved", "Work", "zeta"}
	for _, n := range []string{"INBOX", "Old"} {
		if got := h.keywordsOf(h.mailbox(a.ID, n).ID); !slices.Equal(got, want) {
			t.Fatalf("keywords of %s after RENAME INBOX = %q, want %q", n, got, want)
		}
	}
}

// testKeywordLimits: StoreFlags, Append, Copy and Move refuse, as a
// whole and changing nothing, what would give a mailbox more keywords
// than MaxKeywords, or add one longer than MaxKeywordBytes; keywords
// already in the set keep working, also in mailboxes beyond the limits
// set later. Each step runs on the state the previous ones left.
func testKeywordLimits(t *testing.T, h *harness) {
	a := h.account("alice")
	// Made before the limits: 5 keywords, one of them 20 bytes long.
	legacy := must(h.s.CreateMailbox(ctx, a.ID, "Legacy", ""))(t)
	long := "twenty-bytes-keyword"
	old := h.appendN(legacy.ID, 2, kw("l1", "l2", "l3", "l4", long))
	h.env.Limits = store.MailboxLimits{MaxKeywords: 4, MaxKeywordBytes: 10}
	h.reopen()

	inbox := h.mailbox(a.ID, "INBOX")
	other := h.mailbox(a.ID, "Archive")
	roomy := h.mailbox(a.ID, "Trash")
	uids := h.appendN(inbox.ID, 3, store.Flags{})
	u1, u2, u3 := uids[0], uids[1], uids[2]
	appendOne := func(mbox store.MailboxID, flags ...store.Flags) func() error {
		return func() error {
			var msgs []store.NewMessage
			for i, f := range flags {
				msgs = append(msgs, store.NewMessage{Blob: h.blob(message(100 + i)), Flags: f})
			}
			_, err := h.s.Append(ctx, mbox, msgs)
			return err
		}
	}
	storeFlags := func(mbox store.MailboxID, set imapnum.Set, op store.FlagOp, f store.Flags) func() error {
		return func() error {
			_, err := h.s.StoreFlags(ctx, mbox, set, op, f, 0)
			return err
		}
	}
	copyTo := func(src store.MailboxID, set imapnum.Set, dst store.MailboxID) func() error {
		return func() error { _, err := h.s.Copy(ctx, src, set, dst); return err }
	}
	moveTo := func(src store.MailboxID, set imapnum.Set, dst store.MailboxID) func() error {
		return func() error { _, err := h.s.Move(ctx, src, set, dst); return err }
	}
	for _, step := range []struct {
		name string
		do   func() error
		err  error // nil: succeeds
		mbox store.MailboxID
		want []string // the mailbox's keyword set after the step
	}{
		{"store two", storeFlags(inbox.ID, one(u1), store.FlagsAdd, kw("a", "b")), nil, inbox.ID, []string{"a", "b"}},
		{"append one", appendOne(inbox.ID, kw("c")), nil, inbox.ID, []string{"a", "b", "c"}},
		{"store up to the limit", storeFlags(inbox.ID, one(u2), store.FlagsAdd, kw("D", "a")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"store one more", storeFlags(inbox.ID, one(u3), store.FlagsAdd, kw("e")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"store one more among known", storeFlags(inbox.ID, all, store.FlagsAdd, kw("a", "e", "b")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"replace with one more", storeFlags(inbox.ID, one(u1), store.FlagsReplace, kw("a", "e")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"known, other case", storeFlags(inbox.ID, all, store.FlagsAdd, kw("A", "B", "C", "d")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"append one more", appendOne(inbox.ID, kw("x")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"multiappend, one more in the second", appendOne(inbox.ID, kw("a"), kw("y")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"append known", appendOne(inbox.ID, kw("c", "d")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"remove from every message", storeFlags(inbox.ID, all, store.FlagsRemove, kw("a", "b", "c", "d")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"still full", storeFlags(inbox.ID, one(u1), store.FlagsAdd, kw("e")), store.ErrTooManyKeywords, inbox.ID, []string{"a", "b", "c", "D"}},
		{"removing is never refused", storeFlags(inbox.ID, all, store.FlagsRemove, kw("e", "f", "g", "h", "i")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"system flags at the limit", storeFlags(inbox.ID, all, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"give keywords back", storeFlags(inbox.ID, one(u1), store.FlagsAdd, kw("a", "b", "c", "D")), nil, inbox.ID, []string{"a", "b", "c", "D"}},

		{"too long", storeFlags(other.ID, all, store.FlagsAdd, kw("elevenbytes")), nil, other.ID, nil}, // no message: nothing stored
		{"setup other", appendOne(other.ID, kw("tenbytes10")), nil, other.ID, []string{"tenbytes10"}},
		{"store too long", storeFlags(other.ID, all, store.FlagsAdd, kw("elevenbytes")), store.ErrKeywordTooLong, other.ID, []string{"tenbytes10"}},
		{"append too long", appendOne(other.ID, kw("elevenbytes")), store.ErrKeywordTooLong, other.ID, []string{"tenbytes10"}},
		{"copy one too many", copyTo(inbox.ID, one(u1), other.ID), store.ErrTooManyKeywords, other.ID, []string{"tenbytes10"}},
		{"move one too many", moveTo(inbox.ID, one(u1), other.ID), store.ErrTooManyKeywords, other.ID, []string{"tenbytes10"}},
		{"mark two", storeFlags(inbox.ID, one(u2), store.FlagsAdd, kw("a", "D")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"mark three", storeFlags(inbox.ID, one(u3), store.FlagsAdd, kw("c")), nil, inbox.ID, []string{"a", "b", "c", "D"}},
		{"copy within the limit", copyTo(inbox.ID, one(u2), other.ID), nil, other.ID, []string{"a", "D", "tenbytes10"}},
		{"move up to the limit", moveTo(inbox.ID, one(u3), other.ID), nil, other.ID, []string{"a", "c", "D", "tenbytes10"}},

		{"legacy: shown whole", func() error { return nil }, nil, legacy.ID, []string{"l1", "l2", "l3", "l4", long}},
		{"legacy: long one stored", storeFlags(legacy.ID, all, store.FlagsReplace, kw(long)), nil, legacy.ID, []string{"l1", "l2", "l3", "l4", long}},
		{"legacy: known ones stored", storeFlags(legacy.ID, one(old[0]), store.FlagsAdd, kw("L1", "l2", "l3", "l4")), nil, legacy.ID, []string{"l1", "l2", "l3", "l4", long}},
		{"legacy: known appended", appendOne(legacy.ID, kw("l3", long)), nil, legacy.ID, []string{"l1", "l2", "l3", "l4", long}},
		{"legacy: new one", storeFlags(legacy.ID, all, store.FlagsAdd, kw("n")), store.ErrTooManyKeywords, legacy.ID, []string{"l1", "l2", "l3", "l4", long}},
		{"legacy: long one copied", copyTo(legacy.ID, one(old[1]), roomy.ID), nil, roomy.ID, []string{long}},
		{"legacy: too many copied", copyTo(legacy.ID, one(old[0]), roomy.ID), store.ErrTooManyKeywords, roomy.ID, []string{long}},
	} {
		beforeMsgs := map[store.MailboxID][]store.Message{}
		beforeBox := map[store.MailboxID]store.Mailbox{}
		for _, id := range []store.MailboxID{inbox.ID, other.ID, legacy.ID, roomy.ID} {
			beforeMsgs[id] = h.fetchAll(id)
			beforeBox[id] = must(h.s.Snapshot(ctx, id))(t).Mailbox
		}
		err := step.do()
		if step.err == nil && err != nil || step.err != nil && !errors.Is(err, step.err) {
			t.Fatalf("%s: err = %v, want %v", step.name, err, step.err)
		}
		if got := h.keywordsOf(step.mbox); !slices.Equal(got, step.want) {
			t.Fatalf("%s: keywords = %q, want %q", step.name, got, step.want)
		}
		if err == nil {
			continue
		}
		// A refused change changed nothing anywhere.
		for id, msgs := range beforeMsgs {
			if got := h.fetchAll(id); !slices.EqualFunc(got, msgs, sameMessage) {
				t.Fatalf("%s: refused, but mailbox %d changed: %+v, was %+v", step.name, id, got, msgs)
			}
			if mb := must(h.s.Snapshot(ctx, id))(t).Mailbox; mb.HighestModSeq != beforeBox[id].HighestModSeq || mb.UIDNext != beforeBox[id].UIDNext {
				t.Fatalf("%s: refused, but mailbox %d's counters moved: %+v, were %+v", step.name, id, mb, beforeBox[id])
			}
		}
	}
}

func sameMessage(a, b store.Message) bool {
	return a.UID == b.UID && a.ModSeq == b.ModSeq && a.Flags.Sys == b.Flags.Sys && slices.Equal(a.Flags.Keywords, b.Flags.Keywords)
}

// testKeywordLimitConcurrent: sessions adding different new keywords at
// once to a mailbox one short of its limit cannot pass it together.
func testKeywordLimitConcurrent(t *testing.T, h *harness) {
	h.env.Limits = store.MailboxLimits{MaxKeywords: 3}
	h.reopen()
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 4, kw("a", "b"))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = h.s.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, kw(fmt.Sprintf("new%d", i)), 0)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrTooManyKeywords):
			t.Fatalf("StoreFlags: %v", err)
		}
	}
	got := h.keywordsOf(inbox.ID)
	if ok != 1 || len(got) != 3 || !strings.HasPrefix(got[2], "new") {
		t.Fatalf("%d of %d concurrent STOREs of a new keyword passed, keywords %q; want 1 and 3 keywords", ok, n, got)
	}
}
