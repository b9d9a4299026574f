// Package storetest is the conformance suite that every store.Store backend
// runs: one t.Run per behaviour, including a second observing session (an
// events subscriber and a second reader), reopening a store on the same data
// and concurrent writers, the change feed, and the search index
// (store.SearchIndex, which every backend implements) with its catch-up
// after appends and reindex. Messages are written through package ingest,
// as the server writes them.
//
// A backend's test calls Run with a function that opens its store for an Env;
// opening the same Env again (after Close) must open the same data.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// Env says where a store keeps its data and where it publishes events.
type Env struct {
	// Dir is a directory for the store's data (a backend that keeps its
	// data elsewhere uses it as a key for that data).
	Dir string
	// Bus receives the store's events.
	Bus events.Bus
	// Limits are the mailbox limits the store enforces (zero: none).
	Limits store.MailboxLimits
}

// OpenFunc opens a store for env. The store must be closed by the caller
// (Run does); Close must be safe to call twice.
type OpenFunc func(t *testing.T, env Env) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Accounts", testAccounts},
		{"AccountNames", testAccountNames},
		{"DefaultMailboxes", testDefaultMailboxes},
		{"CreateMailbox", testCreateMailbox},
		{"InvalidNames", testInvalidNames},
		{"DeleteMailbox", testDeleteMailbox},
		{"UIDValidityRenewed", testUIDValidityRenewed},
		{"RenameMailbox", testRenameMailbox},
		{"RenameInbox", testRenameInbox},
		{"MailboxLimits", testMailboxLimits},
		{"KeywordSet", testKeywordSet},
		{"KeywordLimits", testKeywordLimits},
		{"KeywordLimitConcurrent", testKeywordLimitConcurrent},
		{"Subscriptions", testSubscriptions},
		{"AppendFetchStatus", testAppendFetchStatus},
		{"StatusDeleted", testStatusDeleted},
		{"FetchSets", testFetchSets},
		{"WriteBlob", testWriteBlob},
		{"Anatomy", testAnatomy},
		{"FetchContent", testFetchContent},
		{"MultiAppendAtomic", testMultiAppendAtomic},
		{"StoreFlags", testStoreFlags},
		{"StoreFlagsUnchangedSince", testUnchangedSince},
		{"Expunge", testExpunge},
		{"Copy", testCopy},
		{"Move", testMove},
		{"Changes", testChanges},
		{"ModSeqStep", testModSeqStep},
		{"ChangesCopyMove", testChangesCopyMove},
		{"SearchCandidates", testSearchCandidates},
		{"SearchCatchUp", testSearchCatchUp},
		{"ReindexLists", testReindexLists},
		{"SortFields", testSortFields},
		{"ClaimRecent", testClaimRecent},
		{"UIDsNotReused", testUIDsNotReused},
		{"ConcurrentAppend", testConcurrentAppend},
		{"Events", testEvents},
		{"DeleteAccount", testDeleteAccount},
		{"Quota", testQuota},
		{"SCRAMSecret", testSCRAMSecret},
		{"CheckSound", testCheckSound},
		{"RestoreMailbox", testRestoreMailbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, open: open, env: Env{Dir: t.TempDir(), Bus: events.NewMemory()}}
			h.s = h.open(t, h.env)
			t.Cleanup(func() { _ = h.s.Close() })
			tc.fn(t, h)
		})
	}
}

type harness struct {
	t    *testing.T
	open OpenFunc
	env  Env
	s    store.Store
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.open(h.t, h.env)
}

var ctx = context.Background()

// must(f())(t) returns f's value, failing t on f's error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func (h *harness) account(name string) store.Account {
	h.t.Helper()
	return must(h.s.CreateAccount(ctx, name, "hash"))(h.t)
}

func (h *harness) mailbox(acct store.AccountID, name string) store.Mailbox {
	h.t.Helper()
	return must(h.s.Mailbox(ctx, acct, name))(h.t)
}

// blob writes a message as every caller does (package ingest), so that
// its reference carries its anatomy and index text.
func (h *harness) blob(content string) store.BlobRef {
	h.t.Helper()
	return must(ingest.Write(ctx, h.s, strings.NewReader(content), -1, nil))(h.t)
}

func message(i int) string {
	return fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n", i, i)
}

// appendN appends n distinct messages one by one and returns their UIDs.
func (h *harness) appendN(mbox store.MailboxID, n int, flags store.Flags) []store.UID {
	h.t.Helper()
	var uids []store.UID
	for i := 0; i < n; i++ {
		ref := h.blob(message(int(time.Now().UnixNano()) + i))
		res := must(h.s.Append(ctx, mbox, []store.NewMessage{{Blob: ref, Flags: flags}}))(h.t)
		uids = append(uids, res.UIDs...)
	}
	return uids
}

func (h *harness) fetchAll(mbox store.MailboxID) []store.Message {
	h.t.Helper()
	var out []store.Message
	err := h.s.Fetch(ctx, mbox, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(m store.Message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func uidsOf(ms []store.Message) []store.UID {
	var out []store.UID
	for _, m := range ms {
		out = append(out, m.UID)
	}
	return out
}

func names(ms []store.Mailbox) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func readBlob(t *testing.T, s store.Store, id store.BlobID) string {
	t.Helper()
	b := must(s.OpenBlob(ctx, id))(t)
	defer b.Close()
	data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func testAccounts(t *testing.T, h *harness) {
	a := h.account("alice")
	if a.ID == 0 || a.Name != "alice" || a.PasswordHash != "hash" || a.Created.IsZero() {
		t.Fatalf("CreateAccount = %+v", a)
	}
	_, err := h.s.CreateAccount(ctx, "alice", "x")
	wantErr(t, err, store.ErrAccountExists)
	got := must(h.s.Account(ctx, "alice"))(t)
	if got.ID != a.ID || got.PasswordHash != "hash" {
		t.Fatalf("Account = %+v", got)
	}
	_, err = h.s.Account(ctx, "nobody")
	wantErr(t, err, store.ErrNoSuchAccount)
	if err := h.s.SetPasswordHash(ctx, "alice", "new"); err != nil {
		t.Fatal(err)
	}
	if got := must(h.s.Account(ctx, "alice"))(t); got.PasswordHash != "new" {
		t.Fatalf("hash = %q", got.PasswordHash)
	}
	wantErr(t, h.s.SetPasswordHash(ctx, "nobody", "x"), store.ErrNoSuchAccount)

	h.account("bob")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 2, store.Flags{})
	infos := must(h.s.Accounts(ctx))(t)
	if len(infos) != 2 || infos[0].Name != "alice" || infos[1].Name != "bob" {
		t.Fatalf("Accounts = %+v", infos)
	}
	if infos[0].Messages != 2 || infos[0].Bytes <= 0 || infos[0].Mailboxes != 6 || infos[1].Messages != 0 {
		t.Fatalf("usage = %+v", infos)
	}
}

// testAccountNames checks that account names are case-insensitive
// (store.CanonicalAccountName) for every method that takes one.
func testAccountNames(t *testing.T, h *harness) {
	a := must(h.s.CreateAccount(ctx, "Alice", "hash"))(t)
	if a.Name != "alice" {
		t.Fatalf("CreateAccount(Alice).Name = %q, want alice", a.Name)
	}
	for _, name := range []string{"alice", "ALICE", "ａｌｉｃｅ"} {
		_, err := h.s.CreateAccount(ctx, name, "x")
		wantErr(t, err, store.ErrAccountExists)
		if got := must(h.s.Account(ctx, name))(t); got.ID != a.ID || got.Name != "alice" {
			t.Errorf("Account(%q) = %+v", name, got)
		}
	}
	for _, name := range []string{"", "a b", "tab\there", "nul\x00"} {
		_, err := h.s.CreateAccount(ctx, name, "x")
		wantErr(t, err, store.ErrInvalidAccountName)
	}
	if err := h.s.SetPasswordHash(ctx, "ALICE", "new"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetSCRAMSecret(ctx, "Alice", "scram"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetQuota(ctx, "aLiCe", store.Quota{Messages: i64(7)}); err != nil {
		t.Fatal(err)
	}
	got := must(h.s.Account(ctx, "alice"))(t)
	if got.PasswordHash != "new" || got.SCRAMSecret != "scram" || h.quota(a.ID).MessageLimit != 7 {
		t.Errorf("after changes under other spellings: %+v, quota %+v", got, h.quota(a.ID))
	}
	h.appendN(h.mailbox(a.ID, "INBOX").ID, 1, store.Flags{})
	if bs := must(h.s.BlobsToIndex(ctx, "ALICE"))(t); len(bs) != 1 {
		t.Errorf("BlobsToIndex(ALICE) = %d contents, want 1", len(bs))
	}
	if err := h.s.DeleteAccount(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	_, err := h.s.Account(ctx, "alice")
	wantErr(t, err, store.ErrNoSuchAccount)
}

func testDefaultMailboxes(t *testing.T, h *harness) {
	a := h.account("alice")
	mbs := must(h.s.Mailboxes(ctx, a.ID))(t)
	want := map[string]string{"INBOX": "", "Drafts": `\Drafts`, "Sent": `\Sent`, "Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`}
	if len(mbs) != len(want) {
		t.Fatalf("Mailboxes = %v", names(mbs))
	}
	for _, m := range mbs {
		su, ok := want[m.Name]
		if !ok || m.SpecialUse != su || m.NoSelect || m.UIDValidity == 0 || m.UIDNext != 1 || m.Account != a.ID {
			t.Fatalf("mailbox %+v", m)
		}
	}
	if !slices.IsSortedFunc(mbs, func(a, b store.Mailbox) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatalf("not sorted: %v", names(mbs))
	}
	subs := must(h.s.Subscriptions(ctx, a.ID))(t)
	if len(subs) != 6 || !slices.IsSorted(subs) || !slices.Contains(subs, "INBOX") {
		t.Fatalf("Subscriptions = %v", subs)
	}
	// INBOX is matched case-insensitively.
	if m := h.mailbox(a.ID, "iNbOx"); m.Name != "INBOX" {
		t.Fatalf("name = %q", m.Name)
	}
	// Accounts are independent.
	b := h.account("bob")
	if h.mailbox(b.ID, "INBOX").ID == h.mailbox(a.ID, "INBOX").ID {
		t.Fatal("accounts share INBOX")
	}
}

func testCreateMailbox(t *testing.T, h *harness) {
	a := h.account("alice")
	m := must(h.s.CreateMailbox(ctx, a.ID, "a/b/c", ""))(t)
	if m.Name != "a/b/c" || m.NoSelect || m.UIDNext != 1 || m.UIDValidity == 0 {
		t.Fatalf("CreateMailbox = %+v", m)
	}
	for _, p := range []string{"a", "a/b"} {
		pm := h.mailbox(a.ID, p)
		if pm.NoSelect {
			t.Fatalf("parent %q is NoSelect", p)
		}
	}
	_, err := h.s.CreateMailbox(ctx, a.ID, "a/b", "")
	wantErr(t, err, store.ErrMailboxExists)
	_, err = h.s.CreateMailbox(ctx, a.ID, "inbox", "")
	wantErr(t, err, store.ErrMailboxExists)
	// Other names are case-sensitive.
	must(h.s.CreateMailbox(ctx, a.ID, "A", ""))(t)
	_, err = h.s.Mailbox(ctx, a.ID, "x")
	wantErr(t, err, store.ErrNoSuchMailbox)
	f := must(h.s.CreateMailbox(ctx, a.ID, "Spam", `\junk`))(t)
	if f.SpecialUse != `\Junk` {
		t.Fatalf("special use = %q", f.SpecialUse)
	}
	for _, bad := range []string{`\Bogus`, `\All`, `\Flagged`} {
		_, err = h.s.CreateMailbox(ctx, a.ID, "Bogus", bad)
		wantErr(t, err, store.ErrSpecialUseInvalid)
	}
	must(h.s.CreateMailbox(ctx, a.ID, "Über/日本", ""))(t)
	if got := h.mailbox(a.ID, "Über/日本"); got.Name != "Über/日本" {
		t.Fatalf("name = %q", got.Name)
	}
}

func testInvalidNames(t *testing.T, h *harness) {
	a := h.account("alice")
	for _, n := range []string{"", "/", "a//b", "/a", "a/", "a\x01b", "a\x7fb", "tab\there", "bad\xffutf8"} {
		_, err := h.s.CreateMailbox(ctx, a.ID, n, "")
		if !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("CreateMailbox(%q): err = %v", n, err)
		}
	}
	if err := h.s.RenameMailbox(ctx, a.ID, "Sent", "x//y"); !errors.Is(err, store.ErrInvalidName) {
		t.Errorf("rename to invalid: %v", err)
	}
}

func testDeleteMailbox(t *testing.T, h *harness) {
	a := h.account("alice")
	wantErr(t, h.s.DeleteMailbox(ctx, a.ID, "inbox"), store.ErrInboxDelete)
	wantErr(t, h.s.DeleteMailbox(ctx, a.ID, "nope"), store.ErrNoSuchMailbox)

	leaf := must(h.s.CreateMailbox(ctx, a.ID, "leaf", ""))(t)
	if err := h.s.DeleteMailbox(ctx, a.ID, "leaf"); err != nil {
		t.Fatal(err)
	}
	_, err := h.s.Mailbox(ctx, a.ID, "leaf")
	wantErr(t, err, store.ErrNoSuchMailbox)
	_, err = h.s.Status(ctx, leaf.ID)
	wantErr(t, err, store.ErrNoSuchMailbox)

	must(h.s.CreateMailbox(ctx, a.ID, "p/c", ""))(t)
	p := h.mailbox(a.ID, "p")
	h.appendN(p.ID, 2, store.Flags{})
	if err := h.s.DeleteMailbox(ctx, a.ID, "p"); err != nil {
		t.Fatal(err)
	}
	ph := h.mailbox(a.ID, "p")
	if !ph.NoSelect {
		t.Fatalf("p after delete: %+v", ph)
	}
	_, err = h.s.Status(ctx, p.ID)
	if err == nil {
		t.Fatal("old incarnation still has a status")
	}
	_, err = h.s.Append(ctx, ph.ID, []store.NewMessage{{Blob: h.blob("x")}})
	wantErr(t, err, store.ErrMailboxNoSelect)
	wantErr(t, h.s.DeleteMailbox(ctx, a.ID, "p"), store.ErrHasChildren)

	// Creating over the placeholder makes it selectable and empty.
	np := must(h.s.CreateMailbox(ctx, a.ID, "p", ""))(t)
	if np.NoSelect || np.UIDValidity == p.UIDValidity {
		t.Fatalf("recreated p: %+v (old %+v)", np, p)
	}
	if st := must(h.s.Status(ctx, np.ID))(t); st.Messages != 0 {
		t.Fatalf("recreated p has %d messages", st.Messages)
	}
	// Back to a placeholder, then delete the child, then the placeholder.
	if err := h.s.DeleteMailbox(ctx, a.ID, "p"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteMailbox(ctx, a.ID, "p/c"); err != nil {
		t.Fatal(err)
	}
	// The childless placeholder stays until deleted.
	if !h.mailbox(a.ID, "p").NoSelect {
		t.Fatal("placeholder vanished")
	}
	if err := h.s.DeleteMailbox(ctx, a.ID, "p"); err != nil {
		t.Fatal(err)
	}
	_, err = h.s.Mailbox(ctx, a.ID, "p")
	wantErr(t, err, store.ErrNoSuchMailbox)
	// A sibling with a common prefix is not a child.
	must(h.s.CreateMailbox(ctx, a.ID, "q", ""))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "q2", ""))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "q.x", ""))(t)
	if err := h.s.DeleteMailbox(ctx, a.ID, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Mailbox(ctx, a.ID, "q"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("q not deleted: %v", err)
	}
}

// testUIDValidityRenewed: a name never designates two mailboxes with one
// UIDVALIDITY (RFC 9051 §2.3.1.1). A mailbox created with a name (after
// delete, over a placeholder, after a rename away, after a reopen) gets a
// greater UIDVALIDITY than every earlier mailbox of that name; a mailbox
// renamed to a name does not carry a UIDVALIDITY an earlier mailbox of
// that name had, and keeps its messages. Mailbox IDs are never reused.
// Mailboxes of different names may share a value.
func testUIDValidityRenewed(t *testing.T, h *harness) {
	a := h.account("alice")
	past := map[string][]uint32{} // name → UIDVALIDITY of its earlier mailboxes
	ids := map[store.MailboxID]bool{}
	for _, m := range must(h.s.Mailboxes(ctx, a.ID))(t) {
		ids[m.ID] = true
	}
	fresh := func(m store.Mailbox) {
		t.Helper()
		for _, v := range past[m.Name] {
			if m.UIDValidity <= v {
				t.Fatalf("new %q has UIDVALIDITY %d, an earlier one had %d", m.Name, m.UIDValidity, v)
			}
		}
		if ids[m.ID] {
			t.Fatalf("new %q reuses mailbox ID %d", m.Name, m.ID)
		}
		ids[m.ID] = true
	}
	gone := func(m store.Mailbox) { past[m.Name] = append(past[m.Name], m.UIDValidity) }
	for i := 0; i < 3; i++ {
		m := must(h.s.CreateMailbox(ctx, a.ID, "box", ""))(t)
		fresh(m)
		if err := h.s.DeleteMailbox(ctx, a.ID, "box"); err != nil {
			t.Fatal(err)
		}
		gone(m)
		if i == 1 {
			h.reopen()
		}
	}
	// Placeholders are incarnations too.
	pc := must(h.s.CreateMailbox(ctx, a.ID, "p/c", ""))(t)
	fresh(pc)
	p := h.mailbox(a.ID, "p")
	fresh(p)
	must(0, h.s.DeleteMailbox(ctx, a.ID, "p"))(t)
	gone(p)
	ph := h.mailbox(a.ID, "p")
	fresh(ph)
	np := must(h.s.CreateMailbox(ctx, a.ID, "p", ""))(t)
	gone(ph)
	fresh(np)
	// Renamed away (keeping its UIDVALIDITY), then created again.
	must(0, h.s.RenameMailbox(ctx, a.ID, "p", "q"))(t)
	gone(np)
	gone(pc)
	if q := h.mailbox(a.ID, "q"); q.ID != np.ID || q.UIDValidity != np.UIDValidity {
		t.Fatalf("renamed to a new name: %+v, was %+v", q, np)
	}
	h.reopen()
	fresh(must(h.s.CreateMailbox(ctx, a.ID, "p", ""))(t))
	fresh(must(h.s.CreateMailbox(ctx, a.ID, "p/c", ""))(t))
	// Renamed onto the name of a deleted mailbox created with it (in
	// the same second they may share a UIDVALIDITY).
	for i := range 5 {
		xn, yn := "x"+strconv.Itoa(i), "y"+strconv.Itoa(i)
		x := must(h.s.CreateMailbox(ctx, a.ID, xn, ""))(t)
		fresh(x)
		y := must(h.s.CreateMailbox(ctx, a.ID, yn, ""))(t)
		fresh(y)
		uids := h.appendN(y.ID, 2, store.Flags{Sys: store.FlagSeen, Keywords: []string{"$Kept"}})
		must(0, h.s.DeleteMailbox(ctx, a.ID, xn))(t)
		gone(x)
		must(0, h.s.RenameMailbox(ctx, a.ID, yn, xn))(t)
		nx := h.mailbox(a.ID, xn)
		for _, v := range past[xn] {
			if nx.UIDValidity == v {
				t.Fatalf("%s renamed to %s carries UIDVALIDITY %d, which the deleted %s had", yn, xn, v, xn)
			}
		}
		if nx.ID != y.ID {
			fresh(nx)
		}
		if got := h.fetchAll(nx.ID); !slices.Equal(uidsOf(got), uids) || got[0].Flags.Sys != store.FlagSeen {
			t.Fatalf("messages after rename: %+v, want UIDs %v", got, uids)
		}
		if st := must(h.s.Status(ctx, nx.ID))(t); st.Messages != 2 || st.Unseen != 0 {
			t.Fatalf("status after rename: %+v", st)
		}
		// A new incarnation keeps the keyword set, with its messages.
		if got := h.keywordsOf(nx.ID); !slices.Equal(got, []string{"$Kept"}) {
			t.Fatalf("keywords after rename: %q", got)
		}
	}
}

func testRenameMailbox(t *testing.T, h *harness) {
	a := h.account("alice")
	must(h.s.CreateMailbox(ctx, a.ID, "a/b/c", ""))(t)
	am := h.mailbox(a.ID, "a")
	bm := h.mailbox(a.ID, "a/b")
	uids := h.appendN(bm.ID, 2, store.Flags{})
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "a", "Sent"), store.ErrMailboxExists)
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "a", "a/b/x"), store.ErrInvalidName)
	wantErr(t, h.s.RenameMailbox(ctx, a.ID, "nope", "x"), store.ErrNoSuchMailbox)

	if err := h.s.RenameMailbox(ctx, a.ID, "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	got := names(must(h.s.Mailboxes(ctx, a.ID))(t))
	for _, n := range []string{"x", "x/y", "x/y/b", "x/y/b/c"} {
		if !slices.Contains(got, n) {
			t.Fatalf("%q missing after rename: %v", n, got)
		}
	}
	for _, n := range []string{"a", "a/b", "a/b/c"} {
		if slices.Contains(got, n) {
			t.Fatalf("%q left after rename: %v", n, got)
		}
	}
	nb := h.mailbox(a.ID, "x/y/b")
	if nb.ID != bm.ID || nb.UIDValidity != bm.UIDValidity {
		t.Fatalf("renamed child: %+v, was %+v", nb, bm)
	}
	if ny := h.mailbox(a.ID, "x/y"); ny.UIDValidity != am.UIDValidity {
		t.Fatalf("UIDVALIDITY changed by rename: %+v", ny)
	}
	if msgs := h.fetchAll(nb.ID); !slices.Equal(uidsOf(msgs), uids) {
		t.Fatalf("messages after rename: %v", uidsOf(msgs))
	}
	// A sibling with a common prefix is not moved.
	must(h.s.CreateMailbox(ctx, a.ID, "s", ""))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "s2", ""))(t)
	if err := h.s.RenameMailbox(ctx, a.ID, "s", "t"); err != nil {
		t.Fatal(err)
	}
	h.mailbox(a.ID, "s2")
}

func testRenameInbox(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	must(h.s.CreateMailbox(ctx, a.ID, "INBOX/child", ""))(t)
	h.appendN(inbox.ID, 3, store.Flags{Sys: store.FlagFlagged})
	// Leave a gap so that renumbering is visible.
	first := h.fetchAll(inbox.ID)[0].UID
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: first, Stop: first}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	before := h.fetchAll(inbox.ID)
	hms := h.mailbox(a.ID, "INBOX").HighestModSeq

	if err := h.s.RenameMailbox(ctx, a.ID, "inbox", "Old/Mail"); err != nil {
		t.Fatal(err)
	}
	ni := h.mailbox(a.ID, "INBOX")
	if ni.ID != inbox.ID || ni.UIDValidity != inbox.UIDValidity || ni.UIDNext != inbox.UIDNext+3 {
		t.Fatalf("INBOX after rename: %+v", ni)
	}
	if st := must(h.s.Status(ctx, ni.ID))(t); st.Messages != 0 {
		t.Fatalf("INBOX still has %d messages", st.Messages)
	}
	h.mailbox(a.ID, "INBOX/child")
	h.mailbox(a.ID, "Old")
	om := h.mailbox(a.ID, "Old/Mail")
	if om.ID == inbox.ID {
		t.Fatal("moved INBOX kept its ID")
	}
	after := h.fetchAll(om.ID)
	if len(after) != 2 || after[0].UID != 1 || after[1].UID != 2 {
		t.Fatalf("moved messages: %v", uidsOf(after))
	}
	for i := range after {
		if after[i].Blob != before[i].Blob || after[i].Flags.Sys != store.FlagFlagged {
			t.Fatalf("moved message %d: %+v, was %+v", i, after[i], before[i])
		}
	}
	// Sessions on INBOX learn that the messages went away.
	ch := must(h.s.Changes(ctx, ni.ID, hms))(t)
	if !slices.Equal(ch.Expunged, uidsOf(before)) {
		t.Fatalf("INBOX expunged = %v, want %v", ch.Expunged, uidsOf(before))
	}
	// New mail still goes to INBOX, with fresh UIDs.
	if u := h.appendN(ni.ID, 1, store.Flags{}); u[0] < inbox.UIDNext+3 {
		t.Fatalf("UID %d reused", u[0])
	}
	// INBOX may be renamed to one of its own children: its children
	// stay where they are (RFC 9051 §6.3.6).
	if err := h.s.RenameMailbox(ctx, a.ID, "INBOX", "INBOX/old"); err != nil {
		t.Fatalf("rename INBOX to INBOX/old: %v", err)
	}
	if st := must(h.s.Status(ctx, h.mailbox(a.ID, "INBOX/old").ID))(t); st.Messages != 1 {
		t.Fatalf("INBOX/old has %d messages, want 1", st.Messages)
	}
}

func testSubscriptions(t *testing.T, h *harness) {
	a := h.account("alice")
	for _, n := range []string{"Trash", "Junk", "Archive", "Drafts", "Sent"} {
		if err := h.s.SetSubscribed(ctx, a.ID, n, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.s.SetSubscribed(ctx, a.ID, "does/not/exist", true); err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetSubscribed(ctx, a.ID, "does/not/exist", true); err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetSubscribed(ctx, a.ID, "inbox", true); err != nil {
		t.Fatal(err)
	}
	if got := must(h.s.Subscriptions(ctx, a.ID))(t); !slices.Equal(got, []string{"INBOX", "does/not/exist"}) {
		t.Fatalf("Subscriptions = %v", got)
	}
	if err := h.s.SetSubscribed(ctx, a.ID, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	if got := must(h.s.Subscriptions(ctx, a.ID))(t); !slices.Equal(got, []string{"does/not/exist"}) {
		t.Fatalf("Subscriptions = %v", got)
	}
}

func testAppendFetchStatus(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	date := time.Date(2024, 3, 4, 5, 6, 7, 0, time.FixedZone("", -5*3600))
	r1, r2 := h.blob(message(1)), h.blob(message(2)+"longer")
	res := must(h.s.Append(ctx, inbox.ID, []store.NewMessage{
		{Blob: r1, Flags: store.Flags{Sys: store.FlagSeen, Keywords: []string{"$Label1", "Work"}}, InternalDate: date},
		{Blob: r2},
	}))(t)
	if res.UIDValidity != inbox.UIDValidity || !slices.Equal(res.UIDs, []store.UID{1, 2}) {
		t.Fatalf("Append = %+v", res)
	}
	msgs := h.fetchAll(inbox.ID)
	if len(msgs) != 2 {
		t.Fatalf("Fetch = %+v", msgs)
	}
	m := msgs[0]
	if m.UID != 1 || m.Flags.Sys != store.FlagSeen || !slices.Equal(m.Flags.Keywords, []string{"$Label1", "Work"}) ||
		!m.InternalDate.Equal(date) || m.Size != r1.Size || m.Blob != r1.ID || m.ModSeq == 0 || m.SaveDate.IsZero() {
		t.Fatalf("message 1 = %+v", m)
	}
	if _, off := m.InternalDate.Zone(); off != -5*3600 {
		t.Fatalf("internal date zone offset %d", off)
	}
	if d := time.Since(msgs[1].InternalDate); d < -time.Minute || d > time.Minute {
		t.Fatalf("default internal date %v", msgs[1].InternalDate)
	}
	if got := readBlob(t, h.s, m.Blob); got != message(1) {
		t.Fatalf("blob = %q", got)
	}
	st := must(h.s.Status(ctx, inbox.ID))(t)
	if st.Messages != 2 || st.Unseen != 1 || st.Deleted != 0 || st.Recent != 2 || st.Size != r1.Size+r2.Size ||
		st.UIDNext != 3 || st.HighestModSeq != m.ModSeq {
		t.Fatalf("Status = %+v", st)
	}
	snap := must(h.s.Snapshot(ctx, inbox.ID))(t)
	if !slices.Equal(snap.UIDs, []store.UID{1, 2}) || snap.FirstUnseen != 2 ||
		!slices.Equal(snap.Keywords, []string{"$Label1", "Work"}) || snap.HighestModSeq != st.HighestModSeq {
		t.Fatalf("Snapshot = %+v", snap)
	}
	_, err := h.s.Append(ctx, store.MailboxID(1<<40), []store.NewMessage{{Blob: r1}})
	wantErr(t, err, store.ErrNoSuchMailbox)
	_, err = h.s.OpenBlob(ctx, "0000000000000000000000000000000000000000000000000000000000000000")
	wantErr(t, err, store.ErrNoSuchMessage)
}

// testStatusDeleted checks the \Deleted counters of Status: DELETED and
// DeletedSize (RFC 9208 DELETED-STORAGE), through flag changes, expunge, and
// with messages in another mailbox that must not count.
func testStatusDeleted(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	other := h.mailbox(a.ID, "Trash")
	r1, r2, r3 := h.blob(message(1)), h.blob(message(2)+"two"), h.blob(message(3)+"three!")
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{
		{Blob: r1, Flags: store.Flags{Sys: store.FlagDeleted | store.FlagSeen}},
		{Blob: r2},
		{Blob: r3, Flags: store.Flags{Sys: store.FlagFlagged}},
	}))(t)
	must(h.s.Append(ctx, other.ID, []store.NewMessage{{Blob: r2, Flags: store.Flags{Sys: store.FlagDeleted}}}))(t)
	check := func(step string, deleted uint32, size int64) {
		t.Helper()
		st := must(h.s.Status(ctx, inbox.ID))(t)
		if st.Deleted != deleted || st.DeletedSize != size {
			t.Fatalf("%s: Deleted=%d DeletedSize=%d, want %d %d", step, st.Deleted, st.DeletedSize, deleted, size)
		}
	}
	check("after append", 1, r1.Size)
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	check("after +FLAGS \\Deleted", 2, r1.Size+r3.Size)
	// Keywords and other system flags do not make a message \Deleted.
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagAnswered, Keywords: []string{"Deleted"}}, 0))(t)
	check("after a keyword", 2, r1.Size+r3.Size)
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.FlagsRemove, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	check("after -FLAGS \\Deleted", 1, r3.Size)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	check("after expunge", 0, 0)
	if st := must(h.s.Status(ctx, other.ID))(t); st.Deleted != 1 || st.DeletedSize != r2.Size {
		t.Fatalf("other mailbox: %+v", st)
	}
}

func testFetchSets(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	refs := make([]store.NewMessage, 100)
	for i := range refs {
		refs[i] = store.NewMessage{Blob: h.blob(message(i))}
	}
	must(h.s.Append(ctx, inbox.ID, refs))(t)
	fetch := func(set imapnum.Set) []store.UID {
		var out []store.UID
		if err := h.s.Fetch(ctx, inbox.ID, set, func(m store.Message) error {
			out = append(out, m.UID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Unordered, reversed and overlapping ranges: a union, in UID order.
	if got := fetch(imapnum.Set{{Start: 9, Stop: 7}, {Start: 2, Stop: 2}, {Start: 8, Stop: 10}, {Start: 150, Stop: 99}}); !slices.Equal(got, []store.UID{2, 7, 8, 9, 10, 99, 100}) {
		t.Fatalf("Fetch = %v", got)
	}
	// Many ranges (every third UID).
	var set imapnum.Set
	var want []store.UID
	for u := uint32(100); u >= 1 && u <= 100; u -= 3 {
		set = append(set, imapnum.Range{Start: u, Stop: u})
		want = append(want, u)
	}
	slices.Sort(want)
	if got := fetch(set); !slices.Equal(got, want) {
		t.Fatalf("Fetch every third = %v", got)
	}
	if got := fetch(nil); len(got) != 0 {
		t.Fatalf("Fetch of empty set = %v", got)
	}
	// fn's error stops the fetch and is returned.
	stop := errors.New("stop")
	n := 0
	err := h.s.Fetch(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 100}}, func(store.Message) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("Fetch stop: n=%d err=%v", n, err)
	}
}

func testWriteBlob(t *testing.T, h *harness) {
	_, err := h.s.WriteBlob(ctx, strings.NewReader("0123456789"), 5)
	wantErr(t, err, store.ErrTooBig)
	r1 := must(h.s.WriteBlob(ctx, strings.NewReader("0123456789"), 10))(t)
	r2 := must(h.s.WriteBlob(ctx, bytes.NewReader([]byte("0123456789")), -1))(t)
	if r1.ID != r2.ID || r1.Size != r2.Size || r1.Size != 10 || len(r1.ID) != 64 || !bytes.Equal(r1.Anatomy, r2.Anatomy) {
		t.Fatalf("refs %+v %+v", r1, r2)
	}
	// Content is readable once a message references it (a store may keep
	// small contents with the metadata, written by Append).
	inbox := h.mailbox(h.account("alice").ID, "INBOX")
	if _, err := h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: r1}}); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, h.s, r1.ID); got != "0123456789" {
		t.Fatalf("content %q", got)
	}
	// Large contents, one byte either side of sizes a store may treat
	// differently, round-trip too.
	for _, n := range []int{64<<10 - 1, 64 << 10, 64<<10 + 1, 1 << 20} {
		body := strings.Repeat("x", n-2) + "\r\n"
		ref := must(h.s.WriteBlob(ctx, strings.NewReader(body), -1))(t)
		if ref.Size != int64(n) {
			t.Fatalf("size %d, want %d", ref.Size, n)
		}
		if _, err := h.s.WriteBlob(ctx, strings.NewReader(body), int64(n-1)); !errors.Is(err, store.ErrTooBig) {
			t.Fatalf("%d bytes with limit %d: %v", n, n-1, err)
		}
		if _, err := h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			t.Fatal(err)
		}
		if got := readBlob(t, h.s, ref.ID); got != body {
			t.Fatalf("%d bytes: read %d bytes back", n, len(got))
		}
	}
}

func testMultiAppendAtomic(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	good := h.blob(message(1))
	bogus := store.BlobRef{ID: "1111111111111111111111111111111111111111111111111111111111111111", Size: 5}
	if _, err := h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: good}, {Blob: bogus}}); err == nil {
		t.Fatal("append with a bogus blob succeeded")
	}
	st := must(h.s.Status(ctx, inbox.ID))(t)
	if st.Messages != 0 || st.UIDNext != inbox.UIDNext || st.HighestModSeq != inbox.HighestModSeq {
		t.Fatalf("partial append: %+v", st)
	}
	box := must(h.s.CreateMailbox(ctx, a.ID, "gone", ""))(t)
	if err := h.s.DeleteMailbox(ctx, a.ID, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err := h.s.Append(ctx, box.ID, []store.NewMessage{{Blob: good}, {Blob: good}})
	wantErr(t, err, store.ErrNoSuchMailbox)
	// The failed appends did not break the blob: it can still be used.
	res := must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: good}, {Blob: good}}))(t)
	if !slices.Equal(res.UIDs, []store.UID{1, 2}) {
		t.Fatalf("UIDs = %v", res.UIDs)
	}
}

func testStoreFlags(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 3, store.Flags{})
	all := imapnum.Set{{Start: 1, Stop: 3}}
	hms := h.mailbox(a.ID, "INBOX").HighestModSeq

	res := must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen, Keywords: []string{"Work"}}, 0))(t)
	if len(res.Updated) != 2 || len(res.Unchanged) != 0 || res.Updated[0].UID != 1 || res.Updated[0].ModSeq != hms+1 ||
		res.Updated[0].Flags.Sys != store.FlagSeen || !slices.Equal(res.Updated[0].Flags.Keywords, []string{"Work"}) {
		t.Fatalf("add = %+v", res)
	}
	// Keywords are case-insensitive: adding "WORK" again is a no-op.
	res = must(h.s.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Sys: store.FlagSeen, Keywords: []string{"WORK"}}, 0))(t)
	if len(res.Updated) != 1 || res.Updated[0].UID != 3 || !slices.Equal(uidsOf(res.Unchanged), []store.UID{1, 2}) {
		t.Fatalf("add again = %+v", res)
	}
	if got := h.mailbox(a.ID, "INBOX").HighestModSeq; got != hms+2 {
		t.Fatalf("HIGHESTMODSEQ = %d, want %d", got, hms+2)
	}
	// A no-op change does not bump the mod-sequence.
	res = must(h.s.StoreFlags(ctx, inbox.ID, all, store.FlagsRemove, store.Flags{Sys: store.FlagDraft}, 0))(t)
	if len(res.Updated) != 0 || len(res.Unchanged) != 3 {
		t.Fatalf("no-op = %+v", res)
	}
	if got := h.mailbox(a.ID, "INBOX").HighestModSeq; got != hms+2 {
		t.Fatalf("no-op bumped HIGHESTMODSEQ to %d", got)
	}
	res = must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsRemove, store.Flags{Keywords: []string{"work"}}, 0))(t)
	if len(res.Updated) != 1 || res.Updated[0].Flags.Keywords != nil || res.Updated[0].Flags.Sys != store.FlagSeen {
		t.Fatalf("remove = %+v", res)
	}
	res = must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.FlagsReplace,
		store.Flags{Sys: store.FlagFlagged | store.FlagAnswered, Keywords: []string{"b", "A", "a"}}, 0))(t)
	if len(res.Updated) != 1 || res.Updated[0].Flags.Sys != store.FlagFlagged|store.FlagAnswered || !slices.Equal(res.Updated[0].Flags.Keywords, []string{"A", "b"}) {
		t.Fatalf("replace = %+v", res)
	}
	msgs := h.fetchAll(inbox.ID)
	if msgs[0].Flags.Sys != store.FlagFlagged|store.FlagAnswered || !slices.Equal(msgs[0].Flags.Keywords, []string{"A", "b"}) ||
		msgs[1].Flags.Keywords != nil || msgs[2].Flags.Sys != store.FlagSeen {
		t.Fatalf("stored flags: %+v", msgs)
	}
	snap := must(h.s.Snapshot(ctx, inbox.ID))(t)
	// Message 3 got "WORK", message 2 lost "Work": one keyword either way.
	if len(snap.Keywords) != 3 || snap.Keywords[0] != "A" || snap.Keywords[1] != "b" || !strings.EqualFold(snap.Keywords[2], "work") || snap.FirstUnseen != 1 {
		t.Fatalf("snapshot keywords %v first unseen %d", snap.Keywords, snap.FirstUnseen)
	}
	// Nonexistent UIDs are ignored.
	res = must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 50, Stop: 60}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0))(t)
	if len(res.Updated)+len(res.Unchanged)+len(res.Modified) != 0 {
		t.Fatalf("store on missing UIDs = %+v", res)
	}
}

func testUnchangedSince(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 3, store.Flags{})
	// Message 2 changes after ms.
	ms := h.fetchAll(inbox.ID)[2].ModSeq
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagFlagged}, 0))(t)
	res := must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, ms))(t)
	if !slices.Equal(res.Modified, []store.UID{2}) || !slices.Equal(uidsOf(res.Updated), []store.UID{1, 3}) {
		t.Fatalf("unchangedSince = %+v", res)
	}
	if h.fetchAll(inbox.ID)[1].Flags.Sys&store.FlagSeen != 0 {
		t.Fatal("modified message was changed")
	}
}

func testExpunge(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 5, store.Flags{})
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 4}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	before := h.mailbox(a.ID, "INBOX").HighestModSeq
	if st := must(h.s.Status(ctx, inbox.ID))(t); st.Deleted != 3 {
		t.Fatalf("Deleted = %d", st.Deleted)
	}
	// UID EXPUNGE: only \Deleted messages in the set.
	got := must(h.s.Expunge(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}))(t).UIDs
	if !slices.Equal(got, []store.UID{2}) {
		t.Fatalf("UID EXPUNGE = %v", got)
	}
	got = must(h.s.Expunge(ctx, inbox.ID, nil))(t).UIDs
	if !slices.Equal(got, []store.UID{3, 4}) {
		t.Fatalf("EXPUNGE = %v", got)
	}
	if got := uidsOf(h.fetchAll(inbox.ID)); !slices.Equal(got, []store.UID{1, 5}) {
		t.Fatalf("left = %v", got)
	}
	after := h.mailbox(a.ID, "INBOX").HighestModSeq
	if after != before+2 {
		t.Fatalf("HIGHESTMODSEQ %d → %d", before, after)
	}
	// Nothing to expunge: no change.
	if got := must(h.s.Expunge(ctx, inbox.ID, nil))(t).UIDs; len(got) != 0 {
		t.Fatalf("second EXPUNGE = %v", got)
	}
	if h.mailbox(a.ID, "INBOX").HighestModSeq != after {
		t.Fatal("empty expunge bumped HIGHESTMODSEQ")
	}
	ch := must(h.s.Changes(ctx, inbox.ID, before))(t)
	if !slices.Equal(ch.Expunged, []store.UID{2, 3, 4}) || len(ch.Updated) != 0 {
		t.Fatalf("Changes = %+v", ch)
	}
	ch = must(h.s.Changes(ctx, inbox.ID, before+1))(t)
	if !slices.Equal(ch.Expunged, []store.UID{3, 4}) {
		t.Fatalf("Changes since first expunge = %+v", ch.Expunged)
	}
}

func testCopy(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	arch := h.mailbox(a.ID, "Archive")
	h.appendN(arch.ID, 2, store.Flags{}) // destination UIDs start at 3
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	ref := h.blob("shared content")
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{
		{Blob: h.blob(message(1)), InternalDate: date},
		{Blob: ref, Flags: store.Flags{Sys: store.FlagSeen, Keywords: []string{"k"}}, InternalDate: date},
		{Blob: h.blob(message(3)), InternalDate: date},
	}))(t)
	res := must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 2}}, arch.ID))(t)
	if res.UIDValidity != arch.UIDValidity || !slices.Equal(res.SrcUIDs, []store.UID{2, 3}) || !slices.Equal(res.DstUIDs, []store.UID{3, 4}) {
		t.Fatalf("Copy = %+v", res)
	}
	src := h.fetchAll(inbox.ID)
	dst := h.fetchAll(arch.ID)
	if len(src) != 3 || len(dst) != 4 {
		t.Fatalf("counts %d %d", len(src), len(dst))
	}
	c := dst[2]
	if c.Blob != ref.ID || c.Flags.Sys != store.FlagSeen || !slices.Equal(c.Flags.Keywords, []string{"k"}) || !c.InternalDate.Equal(date) || c.Size != ref.Size {
		t.Fatalf("copy = %+v", c)
	}
	// The blob is shared: expunging the original keeps the copy readable.
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	if got := readBlob(t, h.s, c.Blob); got != "shared content" {
		t.Fatalf("shared blob = %q", got)
	}
	// Copy of nothing.
	res = must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 90, Stop: 99}}, arch.ID))(t)
	if len(res.SrcUIDs) != 0 {
		t.Fatalf("empty copy = %+v", res)
	}
	_, err := h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.MailboxID(1<<40))
	wantErr(t, err, store.ErrNoSuchMailbox)
}

func testMove(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	trash := h.mailbox(a.ID, "Trash")
	h.appendN(inbox.ID, 3, store.Flags{Sys: store.FlagFlagged})
	before := h.fetchAll(inbox.ID)
	hms := h.mailbox(a.ID, "INBOX").HighestModSeq
	res := must(h.s.Move(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}, {Start: 3, Stop: 3}}, trash.ID))(t)
	if !slices.Equal(res.SrcUIDs, []store.UID{1, 3}) || !slices.Equal(res.DstUIDs, []store.UID{1, 2}) || res.UIDValidity != trash.UIDValidity || res.ModSeq != hms+1 {
		t.Fatalf("Move = %+v", res)
	}
	if got := uidsOf(h.fetchAll(inbox.ID)); !slices.Equal(got, []store.UID{2}) {
		t.Fatalf("source left %v", got)
	}
	moved := h.fetchAll(trash.ID)
	if len(moved) != 2 || moved[1].Blob != before[2].Blob || moved[1].Flags.Sys != store.FlagFlagged {
		t.Fatalf("moved %+v", moved)
	}
	if got := readBlob(t, h.s, moved[0].Blob); got == "" {
		t.Fatal("moved blob empty")
	}
	ch := must(h.s.Changes(ctx, inbox.ID, hms))(t)
	if !slices.Equal(ch.Expunged, []store.UID{1, 3}) || ch.HighestModSeq != res.ModSeq {
		t.Fatalf("source changes %+v", ch)
	}
	// Move with expunge drops the last reference only once.
	must(h.s.StoreFlags(ctx, trash.ID, imapnum.Set{{Start: 1, Stop: 2}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, trash.ID, nil))(t)
	if st := must(h.s.Status(ctx, trash.ID))(t); st.Messages != 0 {
		t.Fatalf("trash %+v", st)
	}
}

func testChanges(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 3, store.Flags{})
	since := h.mailbox(a.ID, "INBOX").HighestModSeq
	if ch := must(h.s.Changes(ctx, inbox.ID, since))(t); len(ch.Updated)+len(ch.Expunged) != 0 || ch.HighestModSeq != since {
		t.Fatalf("no changes = %+v", ch)
	}
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0))(t)
	h.appendN(inbox.ID, 1, store.Flags{})
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	ch := must(h.s.Changes(ctx, inbox.ID, since))(t)
	if !slices.Equal(uidsOf(ch.Updated), []store.UID{3, 4}) || !slices.Equal(ch.Expunged, []store.UID{1}) {
		t.Fatalf("Changes = %+v", ch)
	}
	if ch.Updated[0].Flags.Sys != store.FlagSeen || ch.Updated[0].ModSeq <= since {
		t.Fatalf("updated %+v", ch.Updated[0])
	}
	if all := must(h.s.Changes(ctx, inbox.ID, 0))(t); len(all.Updated) != 3 {
		t.Fatalf("Changes since 0 = %v", uidsOf(all.Updated))
	}
}

func testClaimRecent(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 3, store.Flags{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimed := map[store.UID]int{}
	for range 2 {
		wg.Go(func() {
			lo, hi, err := h.s.ClaimRecent(ctx, inbox.ID)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for u := lo; u < hi; u++ {
				claimed[u]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(claimed) != 3 {
		t.Fatalf("claimed %v", claimed)
	}
	for u, n := range claimed {
		if n != 1 {
			t.Fatalf("UID %d claimed %d times", u, n)
		}
	}
	if st := must(h.s.Status(ctx, inbox.ID))(t); st.Recent != 0 {
		t.Fatalf("Recent = %d after claims", st.Recent)
	}
	h.appendN(inbox.ID, 2, store.Flags{})
	if st := must(h.s.Status(ctx, inbox.ID))(t); st.Recent != 2 {
		t.Fatalf("Recent = %d", st.Recent)
	}
	lo, hi := must2(t)(h.s.ClaimRecent(ctx, inbox.ID))
	if lo != 4 || hi != 6 {
		t.Fatalf("ClaimRecent = [%d, %d)", lo, hi)
	}
	lo, hi = must2(t)(h.s.ClaimRecent(ctx, inbox.ID))
	if lo != hi {
		t.Fatalf("second ClaimRecent = [%d, %d)", lo, hi)
	}
}

func must2(t *testing.T) func(a, b store.UID, err error) (store.UID, store.UID) {
	return func(a, b store.UID, err error) (store.UID, store.UID) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func testUIDsNotReused(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	h.appendN(inbox.ID, 3, store.Flags{Sys: store.FlagDeleted})
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	h.reopen()
	m := h.mailbox(a.ID, "INBOX")
	if m.UIDNext != 4 || m.UIDValidity != inbox.UIDValidity || m.ID != inbox.ID {
		t.Fatalf("after reopen: %+v", m)
	}
	if u := h.appendN(inbox.ID, 1, store.Flags{}); u[0] != 4 {
		t.Fatalf("UID after expunge+reopen = %d", u[0])
	}
	ch := must(h.s.Changes(ctx, inbox.ID, 0))(t)
	if !slices.Equal(ch.Expunged, []store.UID{1, 2, 3}) {
		t.Fatalf("expunged after reopen = %v", ch.Expunged)
	}
	// Expunging the highest UID does not free it either.
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 4, Stop: 4}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	h.reopen()
	if u := h.appendN(inbox.ID, 1, store.Flags{}); u[0] != 5 {
		t.Fatalf("UID = %d, want 5", u[0])
	}
}

func testConcurrentAppend(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	const workers, per = 8, 10
	var wg sync.WaitGroup
	results := make([][]store.UID, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				ref, err := ingest.Write(ctx, h.s, strings.NewReader(message(w*1000+i)), -1, nil)
				if err != nil {
					t.Error(err)
					return
				}
				res, err := h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}})
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], res.UIDs...)
			}
		})
	}
	// A concurrent reader sees consistent snapshots meanwhile.
	wg.Go(func() {
		for range 20 {
			snap, err := h.s.Snapshot(ctx, inbox.ID)
			if err != nil {
				t.Error(err)
				return
			}
			if len(snap.UIDs) > 0 && snap.UIDs[len(snap.UIDs)-1] >= snap.UIDNext {
				t.Errorf("snapshot UID %d >= UIDNEXT %d", snap.UIDs[len(snap.UIDs)-1], snap.UIDNext)
			}
		}
	})
	wg.Wait()
	seen := map[store.UID]bool{}
	for _, r := range results {
		if !slices.IsSorted(r) {
			t.Fatalf("one writer's UIDs not increasing: %v", r)
		}
		for _, u := range r {
			if seen[u] {
				t.Fatalf("UID %d given twice", u)
			}
			seen[u] = true
		}
	}
	if len(seen) != workers*per {
		t.Fatalf("%d UIDs", len(seen))
	}
	if got := h.fetchAll(inbox.ID); len(got) != workers*per || got[len(got)-1].UID != workers*per {
		t.Fatalf("fetched %d, last %d", len(got), got[len(got)-1].UID)
	}
}

func testEvents(t *testing.T, h *harness) {
	a := h.account("alice")
	sub := h.env.Bus.Subscribe(int64(a.ID))
	defer sub.Close()
	inbox := h.mailbox(a.ID, "INBOX")
	expect := func(what string, mbox store.MailboxID, modseq store.ModSeq) {
		t.Helper()
		select {
		case <-sub.C():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event", what)
		}
		evs, _ := sub.Drain()
		if len(evs) == 0 {
			t.Fatalf("%s: no event", what)
		}
		ev := evs[len(evs)-1]
		if ev.Account != int64(a.ID) || (mbox != 0 && ev.Mailbox != int64(mbox)) || ev.ModSeq != modseq {
			t.Fatalf("%s: event %+v, want mailbox %d modseq %d", what, ev, mbox, modseq)
		}
	}
	h.appendN(inbox.ID, 2, store.Flags{})
	// appendN made two appends: both events, the last one current.
	expect("append", inbox.ID, h.mailbox(a.ID, "INBOX").HighestModSeq)
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	expect("store", inbox.ID, h.mailbox(a.ID, "INBOX").HighestModSeq)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	expect("expunge", inbox.ID, h.mailbox(a.ID, "INBOX").HighestModSeq)
	trash := h.mailbox(a.ID, "Trash")
	must(h.s.Copy(ctx, inbox.ID, imapnum.Set{{Start: 2, Stop: 2}}, trash.ID))(t)
	expect("copy", trash.ID, h.mailbox(a.ID, "Trash").HighestModSeq)
	box := must(h.s.CreateMailbox(ctx, a.ID, "new", ""))(t)
	expect("create", box.ID, 0)
	if err := h.s.RenameMailbox(ctx, a.ID, "new", "newer"); err != nil {
		t.Fatal(err)
	}
	expect("rename", box.ID, 0)
	if err := h.s.DeleteMailbox(ctx, a.ID, "newer"); err != nil {
		t.Fatal(err)
	}
	expect("delete", box.ID, 0)
	if err := h.s.SetSubscribed(ctx, a.ID, "x", true); err != nil {
		t.Fatal(err)
	}
	expect("subscribe", 0, 0)
	// Another account's changes are not seen.
	b := h.account("bob")
	h.appendN(h.mailbox(b.ID, "INBOX").ID, 1, store.Flags{})
	if evs, _ := sub.Drain(); len(evs) != 0 {
		t.Fatalf("foreign events %+v", evs)
	}
}

func testDeleteAccount(t *testing.T, h *harness) {
	a := h.account("alice")
	b := h.account("bob")
	shared := h.blob("shared between accounts")
	own := h.blob("alice only")
	must(h.s.Append(ctx, h.mailbox(a.ID, "INBOX").ID, []store.NewMessage{{Blob: shared}, {Blob: own}}))(t)
	must(h.s.Append(ctx, h.mailbox(b.ID, "INBOX").ID, []store.NewMessage{{Blob: shared}}))(t)
	if err := h.s.DeleteAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.s.DeleteAccount(ctx, "alice"), store.ErrNoSuchAccount)
	_, err := h.s.Account(ctx, "alice")
	wantErr(t, err, store.ErrNoSuchAccount)
	if mbs := must(h.s.Mailboxes(ctx, a.ID))(t); len(mbs) != 0 {
		t.Fatalf("mailboxes left: %v", names(mbs))
	}
	if got := readBlob(t, h.s, shared.ID); got != "shared between accounts" {
		t.Fatalf("shared blob = %q", got)
	}
	infos := must(h.s.Accounts(ctx))(t)
	if len(infos) != 1 || infos[0].Name != "bob" || infos[0].Messages != 1 {
		t.Fatalf("Accounts = %+v", infos)
	}
	// The name can be used again, with fresh mailboxes.
	a2 := h.account("alice")
	if st := must(h.s.Status(ctx, h.mailbox(a2.ID, "INBOX").ID))(t); st.Messages != 0 {
		t.Fatalf("new alice has %d messages", st.Messages)
	}
}

// testAnatomy checks that the anatomy computed at ingest is stored with
// the blob, returned by FetchAnatomy only, kept for a blob row that
// exists, and that SetAnatomy fills a missing one.
func testAnatomy(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	ref := h.blob(message(1))
	if len(ref.Anatomy) == 0 {
		t.Fatal("ingest.Write returned no anatomy")
	}
	bare := h.blob(message(2))
	bare.Anatomy = nil // as if written before anatomies existed
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}, {Blob: bare}}))(t)
	again := ref
	again.Anatomy = []byte("other")
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: again}}))(t)
	got := map[store.UID][]byte{}
	err := h.s.FetchAnatomy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 10}}, func(m store.Message) error {
		got[m.UID] = m.Anatomy
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[1], ref.Anatomy) || got[2] != nil || !bytes.Equal(got[3], ref.Anatomy) {
		t.Fatalf("FetchAnatomy: %v", got)
	}
	err = h.s.Fetch(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 10}}, func(m store.Message) error {
		if m.Anatomy != nil {
			t.Errorf("Fetch read the anatomy of UID %d", m.UID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetAnatomy(ctx, bare.ID, []byte("parsed later")); err != nil {
		t.Fatal(err)
	}
	// An anatomy of the same version stays; one of an older version (a
	// smaller first byte) is replaced.
	if err := h.s.SetAnatomy(ctx, ref.ID, append([]byte{ref.Anatomy[0]}, "must not replace"...)); err != nil {
		t.Fatal(err)
	}
	old := h.blob(message(3))
	old.Anatomy = []byte{1, 'o', 'l', 'd'}
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: old}}))(t)
	if err := h.s.SetAnatomy(ctx, old.ID, []byte{2, 'n', 'e', 'w'}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.SetAnatomy(ctx, old.ID, []byte{1, 'n', 'o'}); err != nil {
		t.Fatal(err)
	}
	err = h.s.FetchAnatomy(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 10}}, func(m store.Message) error {
		got[m.UID] = m.Anatomy
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[2]) != "parsed later" || !bytes.Equal(got[1], ref.Anatomy) || string(got[4]) != "\x02new" {
		t.Fatalf("after SetAnatomy: %v", got)
	}
}

// testFetchContent checks that FetchContent gives each message's anatomy
// and, where it gives a content, exactly the content OpenBlob reads, for
// small and large messages.
func testFetchContent(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	bodies := map[store.UID]string{}
	for i, n := range []int{10, 64<<10 + 10, 300} {
		body := "Subject: " + strconv.Itoa(i) + "\r\n\r\n" + strings.Repeat("z", n) + "\r\n"
		res := must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: h.blob(body)}}))(t)
		bodies[res.UIDs[0]] = body
	}
	n := 0
	err := h.s.FetchContent(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 10}}, func(m store.Message) error {
		n++
		if len(m.Anatomy) == 0 {
			t.Errorf("UID %d: no anatomy", m.UID)
		}
		if m.Content != nil && string(m.Content) != bodies[m.UID] {
			t.Errorf("UID %d: content of %d bytes, want %d", m.UID, len(m.Content), len(bodies[m.UID]))
		}
		if got := readBlob(t, h.s, m.Blob); got != bodies[m.UID] {
			t.Errorf("UID %d: OpenBlob read %d bytes, want %d", m.UID, len(got), len(bodies[m.UID]))
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("FetchContent: %d messages, %v", n, err)
	}
}

// testModSeqStep: one call that changes a mailbox advances its
// HIGHESTMODSEQ by exactly one and gives that mod-sequence to every
// message it changed (sessions rely on it to apply their own changes
// without asking for them again).
func testModSeqStep(t *testing.T, h *harness) {
	a := h.account("alice")
	inbox := h.mailbox(a.ID, "INBOX")
	step := func(what string, before store.ModSeq) store.ModSeq {
		t.Helper()
		after := h.mailbox(a.ID, "INBOX").HighestModSeq
		if after != before+1 {
			t.Fatalf("%s: HIGHESTMODSEQ %d → %d, want one step", what, before, after)
		}
		ch := must(h.s.Changes(ctx, inbox.ID, before))(t)
		for _, m := range ch.Updated {
			if m.ModSeq != after {
				t.Fatalf("%s: UID %d has mod-sequence %d, want %d", what, m.UID, m.ModSeq, after)
			}
		}
		return after
	}
	hms := inbox.HighestModSeq
	refs := []store.NewMessage{{Blob: h.blob(message(1))}, {Blob: h.blob(message(2))}, {Blob: h.blob(message(3))}}
	if ar := must(h.s.Append(ctx, inbox.ID, refs))(t); ar.ModSeq != hms+1 {
		t.Fatalf("Append result: mod-sequence %d, want %d", ar.ModSeq, hms+1)
	}
	hms = step("MULTIAPPEND", hms)
	res := must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	for _, m := range res.Updated {
		if m.ModSeq != hms+1 {
			t.Fatalf("StoreFlags result: UID %d mod-sequence %d, want %d", m.UID, m.ModSeq, hms+1)
		}
	}
	hms = step("StoreFlags", hms)
	ex := must(h.s.Expunge(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 2}}))(t)
	if ex.ModSeq != hms+1 {
		t.Fatalf("Expunge result: mod-sequence %d, want %d", ex.ModSeq, hms+1)
	}
	step("Expunge", hms)
}

// testCheckSound runs a backend's own check (store.Checker, when it has
// one) after the changes every path of the store makes: a sound store
// has no finding, and repairing it changes nothing.
func testCheckSound(t *testing.T, h *harness) {
	ch, ok := h.s.(store.Checker)
	if !ok {
		t.Skip("the backend has no Check")
	}
	a, b := h.account("alice"), h.account("bob")
	inbox, trash := h.mailbox(a.ID, "INBOX"), h.mailbox(a.ID, "Trash")
	big := h.blob("Subject: big\r\n\r\n" + strings.Repeat("a line of a large message\r\n", 5000))
	must(h.s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: big}, {Blob: h.blob(message(1))}, {Blob: h.blob(message(2))}}))(t)
	must(h.s.Append(ctx, h.mailbox(b.ID, "INBOX").ID, []store.NewMessage{{Blob: big}}))(t)
	h.appendN(inbox.ID, 3, store.Flags{Sys: store.FlagSeen})
	all := imapnum.Set{{Start: 1, Stop: 100}}
	must(h.s.Copy(ctx, inbox.ID, all, trash.ID))(t)
	must(h.s.Move(ctx, trash.ID, imapnum.Set{{Start: 1, Stop: 2}}, h.mailbox(a.ID, "Archive").ID))(t)
	must(h.s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 3}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0))(t)
	must(h.s.Expunge(ctx, inbox.ID, nil))(t)
	must(h.s.CreateMailbox(ctx, a.ID, "Lists/Go", ""))(t)
	if err := h.s.RenameMailbox(ctx, a.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteMailbox(ctx, a.ID, "Trash"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteAccount(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	h.waitIndexed()
	for _, repair := range []bool{false, true} {
		rep := must(ch.Check(ctx, store.CheckOptions{Repair: repair, Contents: true}))(t)
		for _, f := range rep.Findings {
			t.Errorf("Check(repair %v) on a sound store: %s %s: %s", repair, f.Kind, f.Subject, f.Detail)
		}
		if rep.Accounts != 1 || rep.Messages == 0 {
			t.Errorf("Check counted %+v", rep)
		}
	}
}
