package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// Helpers for tests of copies between backends (store.Dumper,
// store.Restorer, `rookery store copy`): a source installation that
// exercises what a copy must keep, and a comparison of two installations
// as clients see them.

// CopyFixtureBig is the size of the large message CopyFixture stores
// (a few MiB: kept in a file by the embedded backend).
const CopyFixtureBig = 3<<20 + 12345

// CopyFixture fills st with accounts that exercise what a copy must keep:
// alice and bob (created with the password hash "hash-NAME" unless they
// exist already), with own quotas, nested mailboxes, a NoSelect
// placeholder, special-use, renamed and recreated names (retired
// UIDVALIDITYs), every system flag and keywords in mixed case (one no
// message carries any more), internal dates in several zones, a \Recent
// boundary, expunged messages (QRESYNC history) from EXPUNGE and MOVE,
// copies sharing contents, subscriptions to a missing name, a large
// message of CopyFixtureBig bytes, and an account deleted (dave).
func CopyFixture(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("copy fixture: %s: %v", what, err)
		}
	}
	account := func(name string) store.Account {
		t.Helper()
		a, err := st.Account(ctx, name)
		if errors.Is(err, store.ErrNoSuchAccount) {
			a, err = st.CreateAccount(ctx, name, "hash-"+name)
		}
		fail("account "+name, err)
		return a
	}
	mailbox := func(a store.Account, name string) store.Mailbox {
		t.Helper()
		m, err := st.Mailbox(ctx, a.ID, name)
		fail("mailbox "+name, err)
		return m
	}
	n := 0
	add := func(m store.Mailbox, content string, flags store.Flags) store.UID {
		t.Helper()
		ref, err := ingest.Write(ctx, st, strings.NewReader(content), -1, nil)
		fail("write", err)
		zone := time.FixedZone("", (n%13-6)*3600+(n%2)*1800)
		res, err := st.Append(ctx, m.ID, []store.NewMessage{{Blob: ref, Flags: flags,
			InternalDate: time.Date(2024, time.Month(n%12+1), n%28+1, 10, n, 7, 0, zone)}})
		fail("append", err)
		n++
		return res.UIDs[0]
	}
	msg := func(i int) string {
		return fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: alice@example.org\r\nSubject: message %d\r\n"+
			"Date: Mon, 1 Jan 2024 10:00:00 +0100\r\nMessage-ID: <m%d@example.org>\r\n\r\nbody of message %d: copyword%d\r\n", i, i, i, i, i, i)
	}
	set := func(lo, hi store.UID) imapnum.Set { return imapnum.Set{{Start: lo, Stop: hi}} }

	alice := account("alice")
	bob := account("bob")
	storage, count := int64(50<<20), int64(1000)
	fail("quota", st.SetQuota(ctx, "alice", store.Quota{StorageBytes: &storage, Messages: &count}))
	zero := int64(0)
	fail("quota", st.SetQuota(ctx, "bob", store.Quota{Messages: &zero}))

	for _, c := range []struct{ name, use string }{
		{"Work/Projects/2024", ""}, {"Lists", ""}, {"Tmp", ""}, {"Spam2", `\Junk`}, {"Ünïcode/Ordner", ""},
	} {
		_, err := st.CreateMailbox(ctx, alice.ID, c.name, c.use)
		fail("create "+c.name, err)
	}
	fail("rename", st.RenameMailbox(ctx, alice.ID, "Lists", "Lists-old"))
	_, err := st.CreateMailbox(ctx, alice.ID, "Lists", "")
	fail("create Lists again", err)
	fail("delete Tmp", st.DeleteMailbox(ctx, alice.ID, "Tmp"))
	inbox := mailbox(alice, "INBOX")
	kws := [][]string{nil, {"$Forwarded"}, {"$label1", "Custom"}, {"$Junk", "MixedCase"}}
	for i := 0; i < 40; i++ {
		add(inbox, msg(i), store.Flags{Sys: store.SysFlags(i % 32), Keywords: kws[i%len(kws)]})
	}
	big := "Subject: big\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("a line of a big message, bigword\r\n", CopyFixtureBig/35)
	big += strings.Repeat("x", CopyFixtureBig-len(big))
	add(inbox, big, store.Flags{Sys: store.FlagSeen})
	add(inbox, msg(1), store.Flags{}) // the content of UID 2 again
	_, _, err = st.ClaimRecent(ctx, inbox.ID)
	fail("claim recent", err)
	add(inbox, msg(100), store.Flags{Keywords: []string{"$Recent1"}})
	add(inbox, msg(101), store.Flags{})

	_, err = st.StoreFlags(ctx, inbox.ID, set(1, 5), store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0)
	fail("store", err)
	_, err = st.StoreFlags(ctx, inbox.ID, set(1, 44), store.FlagsRemove, store.Flags{Keywords: []string{"custom"}}, 0)
	fail("store", err)
	_, err = st.Expunge(ctx, inbox.ID, nil) // the \Deleted ones (16 of 40)
	fail("expunge", err)
	_, err = st.StoreFlags(ctx, inbox.ID, set(1, 3), store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0)
	fail("store", err)
	_, err = st.Copy(ctx, inbox.ID, set(1, 7), mailbox(alice, "Work/Projects/2024").ID)
	fail("copy", err)
	_, err = st.Move(ctx, inbox.ID, set(30, 33), mailbox(alice, "Lists").ID)
	fail("move", err)
	fail("delete Work/Projects", st.DeleteMailbox(ctx, alice.ID, "Work/Projects"))
	add(mailbox(alice, "Ünïcode/Ordner"), msg(200), store.Flags{Sys: store.FlagDraft | store.FlagAnswered | store.FlagFlagged})
	fail("subscribe", st.SetSubscribed(ctx, alice.ID, "Shared/Missing", true))
	fail("unsubscribe", st.SetSubscribed(ctx, alice.ID, "Junk", false))

	bobInbox := mailbox(bob, "INBOX")
	for i := 300; i < 303; i++ {
		add(bobInbox, msg(i), store.Flags{Keywords: []string{"$Important"}})
	}
	_, err = st.StoreFlags(ctx, bobInbox.ID, set(2, 2), store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0)
	fail("store", err)
	_, err = st.Expunge(ctx, bobInbox.ID, nil)
	fail("expunge", err)

	account("dave")
	fail("delete dave", st.DeleteAccount(ctx, "dave"))
}

// SameInstallation fails t unless a and b hold the same installation as
// clients see it: accounts with their passwords, SCRAM verifiers,
// quotas and subscriptions; mailboxes with their MailboxIDs, UIDVALIDITY,
// UIDNEXT, HIGHESTMODSEQ, special-use, keyword sets, \Recent boundaries
// and STATUS counters; messages with their UIDs, mod-sequences, flags,
// dates, sizes and contents (byte for byte); and Changes (expunged UIDs
// included) since every few mod-sequences. Account IDs may differ, and
// so may what each store's configuration sets (MailboxLimits; default
// quotas when they differ show as differences of effective limits).
func SameInstallation(t testing.TB, a, b store.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("same installation: %v", err)
		}
	}
	same := func(what string, x, y any) {
		t.Helper()
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s differs:\n  %+v\n  %+v", what, x, y)
		}
	}
	aa, err := a.Accounts(ctx)
	must(err)
	ba, err := b.Accounts(ctx)
	must(err)
	if len(aa) != len(ba) {
		t.Fatalf("%d accounts, %d accounts", len(aa), len(ba))
	}
	for i := range aa {
		x, y := aa[i], ba[i]
		acctA, acctB := x.ID, y.ID
		x.ID, y.ID = 0, 0
		// A listing need not carry the SCRAM verifier (the embedded
		// backend's leaves it out): compared from Account below.
		x.SCRAMSecret, y.SCRAMSecret = "", ""
		same("account "+x.Name, x, y)
		ax, err := a.Account(ctx, x.Name)
		must(err)
		bx, err := b.Account(ctx, y.Name)
		must(err)
		same("SCRAM secret of "+x.Name, ax.SCRAMSecret, bx.SCRAMSecret)
		qa, err := a.Quota(ctx, acctA)
		must(err)
		qb, err := b.Quota(ctx, acctB)
		must(err)
		qa.MailboxLimit, qb.MailboxLimit = 0, 0 // configuration, not data
		same("quota of "+x.Name, qa, qb)
		sa, err := a.Subscriptions(ctx, acctA)
		must(err)
		sb, err := b.Subscriptions(ctx, acctB)
		must(err)
		same("subscriptions of "+x.Name, sa, sb)
		ma, err := a.Mailboxes(ctx, acctA)
		must(err)
		mb, err := b.Mailboxes(ctx, acctB)
		must(err)
		for _, ms := range [][]store.Mailbox{ma, mb} {
			for j := range ms {
				ms[j].Account = 0
			}
		}
		same("mailboxes of "+x.Name, ma, mb)
		if t.Failed() {
			return
		}
		for _, m := range ma {
			if !m.NoSelect {
				sameMailbox(t, a, b, x.Name+"/"+m.Name, m)
			}
		}
	}
}

// sameMailbox is SameInstallation for one mailbox (the same ID on both
// sides).
func sameMailbox(t testing.TB, a, b store.Store, name string, m store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	var snaps [2]store.Snapshot
	var stats [2]store.MailboxStatus
	var msgs [2][]store.Message
	for i, s := range []store.Store{a, b} {
		snap, err := s.Snapshot(ctx, m.ID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		snap.Account = 0
		snaps[i] = snap
		st, err := s.Status(ctx, m.ID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st.Account = 0
		stats[i] = st
		if err := s.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(msg store.Message) error {
			msgs[i] = append(msgs[i], msg)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if !reflect.DeepEqual(snaps[0], snaps[1]) {
		t.Errorf("%s: snapshots differ:\n  %+v\n  %+v", name, snaps[0], snaps[1])
	}
	if stats[0] != stats[1] {
		t.Errorf("%s: STATUS differs:\n  %+v\n  %+v", name, stats[0], stats[1])
	}
	if len(msgs[0]) != len(msgs[1]) {
		t.Fatalf("%s: %d messages, %d messages", name, len(msgs[0]), len(msgs[1]))
	}
	for j, x := range msgs[0] {
		y := msgs[1][j]
		_, offX := x.InternalDate.Zone()
		_, offY := y.InternalDate.Zone()
		if !reflect.DeepEqual(x.Flags, y.Flags) || x.UID != y.UID || x.ModSeq != y.ModSeq || !x.InternalDate.Equal(y.InternalDate) ||
			offX != offY || !x.SaveDate.Equal(y.SaveDate) || x.Size != y.Size || x.Blob != y.Blob {
			t.Errorf("%s: message %d differs:\n  %+v\n  %+v", name, j, x, y)
			continue
		}
		if ca, cb := content(t, a, x.Blob), content(t, b, y.Blob); !bytes.Equal(ca, cb) {
			t.Errorf("%s UID %d: contents differ (%d and %d bytes)", name, x.UID, len(ca), len(cb))
		}
	}
	hms := snaps[0].HighestModSeq
	for _, since := range []store.ModSeq{0, 1, hms / 2, hms - 1, hms} {
		ca, err := a.Changes(ctx, m.ID, since)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cb, err := b.Changes(ctx, m.ID, since)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ca.Account, cb.Account = 0, 0
		if fmt.Sprint(ca) != fmt.Sprint(cb) {
			t.Errorf("%s: changes since %d differ:\n  %v\n  %v", name, since, ca, cb)
		}
	}
}

// content reads a stored content whole.
func content(t testing.TB, s store.Store, id store.BlobID) []byte {
	t.Helper()
	f, err := s.OpenBlob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
