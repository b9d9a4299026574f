package storetest

import (
	"slices"
	"testing"
	"time"

	"rookery/internal/store"
)

// testRestoreMailbox: store.Restorer.RestoreMailbox creates a mailbox
// with the UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special-use and keyword
// set given, replacing a mailbox that never held a message or a
// placeholder, and refuses a UIDVALIDITY the rules forbid for the name,
// a mailbox that held messages, and what the store could not hold.
func testRestoreMailbox(t *testing.T, h *harness) {
	r, ok := h.s.(store.Restorer)
	if !ok {
		t.Skip("the backend is not a store.Restorer")
	}
	a := h.account("alice")
	old := h.mailbox(a.ID, "INBOX")
	d := store.MailboxDump{Mailbox: store.Mailbox{Name: "INBOX", UIDValidity: 1000, UIDNext: 10, HighestModSeq: 20},
		Keywords: []string{"bar", "$Foo"}}
	m := must(r.RestoreMailbox(ctx, a.ID, d))(t)
	if m.ID == old.ID || m.UIDValidity != 1000 || m.UIDNext != 10 || m.HighestModSeq != 20 {
		t.Fatalf("restored INBOX %+v (the unused one was %+v)", m, old)
	}
	got := h.mailbox(a.ID, "INBOX")
	if got != m {
		t.Fatalf("Mailbox(INBOX) = %+v, RestoreMailbox returned %+v", got, m)
	}
	snap := must(h.s.Snapshot(ctx, m.ID))(t)
	if !slices.Equal(snap.Keywords, []string{"$Foo", "bar"}) || snap.RecentFrom != 10 || len(snap.UIDs) != 0 {
		t.Fatalf("snapshot of the restored INBOX: %+v", snap)
	}
	zone := time.FixedZone("", -7*3600-1800)
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, zone)
	msgs := []store.RestoreMessage{
		{Blob: h.blob(message(1)), UID: 3, ModSeq: 7, Flags: store.Flags{Sys: store.FlagSeen}, InternalDate: date, SaveDate: date},
		{Blob: h.blob(message(2)), UID: 9, ModSeq: 20, Flags: store.Flags{Keywords: []string{"new"}}, InternalDate: date, SaveDate: date},
	}
	if n := must(r.RestoreMessages(ctx, m.ID, msgs))(t); n != 2 {
		t.Fatalf("RestoreMessages added %d, want 2", n)
	}
	fetched := h.fetchAll(m.ID)
	if !slices.Equal(uidsOf(fetched), []store.UID{3, 9}) || fetched[0].ModSeq != 7 || !fetched[1].InternalDate.Equal(date) {
		t.Fatalf("restored messages: %+v", fetched)
	}
	if _, off := fetched[0].InternalDate.Zone(); off != -7*3600-1800 {
		t.Fatalf("internal date zone %d, want %d", off, -7*3600-1800)
	}
	st := must(h.s.Status(ctx, m.ID))(t)
	if st.Messages != 2 || st.Unseen != 1 || st.Recent != 0 || st.UIDNext != 10 || st.HighestModSeq != 20 {
		t.Fatalf("status of the restored INBOX: %+v", st)
	}
	// A new append goes on from the restored UIDNEXT and HIGHESTMODSEQ.
	res := must(h.s.Append(ctx, m.ID, []store.NewMessage{{Blob: h.blob(message(3))}}))(t)
	if res.UIDValidity != 1000 || !slices.Equal(res.UIDs, []store.UID{10}) || res.ModSeq != 21 {
		t.Fatalf("append after restore: %+v", res)
	}
	// A mailbox that held messages stays.
	_, err := r.RestoreMailbox(ctx, a.ID, d)
	wantErr(t, err, store.ErrMailboxExists)

	// Parents are created; a new name may carry any value above the floor.
	nested := must(r.RestoreMailbox(ctx, a.ID, store.MailboxDump{Mailbox: store.Mailbox{Name: "a/b/c", UIDValidity: 5,
		UIDNext: 1, HighestModSeq: 1, SpecialUse: `\Archive`}}))(t)
	if nested.SpecialUse != `\Archive` || h.mailbox(a.ID, "a/b/c").ID != nested.ID {
		t.Fatalf("restored a/b/c: %+v", nested)
	}
	for _, p := range []string{"a", "a/b"} {
		if pm := h.mailbox(a.ID, p); pm.NoSelect {
			t.Fatalf("parent %s: %+v", p, pm)
		}
	}

	// A name that had UIDVALIDITY v refuses v and below, not above.
	box := must(h.s.CreateMailbox(ctx, a.ID, "box", ""))(t)
	h.appendN(box.ID, 1, store.Flags{})
	must(0, h.s.DeleteMailbox(ctx, a.ID, "box"))(t)
	bd := store.MailboxDump{Mailbox: store.Mailbox{Name: "box", UIDValidity: box.UIDValidity, UIDNext: 5, HighestModSeq: 5}}
	_, err = r.RestoreMailbox(ctx, a.ID, bd)
	wantErr(t, err, store.ErrRestoreConflict)
	bd.UIDValidity = 1
	_, err = r.RestoreMailbox(ctx, a.ID, bd)
	wantErr(t, err, store.ErrRestoreConflict)
	if _, err := h.s.Mailbox(ctx, a.ID, "box"); err == nil {
		t.Fatal("a refused RestoreMailbox left a mailbox")
	}
	bd.UIDValidity = box.UIDValidity + 1
	if nb := must(r.RestoreMailbox(ctx, a.ID, bd))(t); nb.UIDValidity != box.UIDValidity+1 || nb.ID == box.ID {
		t.Fatalf("restored box: %+v (deleted one %+v)", nb, box)
	}

	// A placeholder that held messages gives way; its value is retired.
	pc := must(h.s.CreateMailbox(ctx, a.ID, "p/c", ""))(t)
	_ = pc
	p := h.mailbox(a.ID, "p")
	h.appendN(p.ID, 1, store.Flags{})
	must(0, h.s.DeleteMailbox(ctx, a.ID, "p"))(t)
	if ph := h.mailbox(a.ID, "p"); !ph.NoSelect {
		t.Fatalf("p after DELETE: %+v", ph)
	}
	pd := store.MailboxDump{Mailbox: store.Mailbox{Name: "p", UIDValidity: p.UIDValidity, UIDNext: 3, HighestModSeq: 3}}
	_, err = r.RestoreMailbox(ctx, a.ID, pd)
	wantErr(t, err, store.ErrRestoreConflict)
	pd.UIDValidity = p.UIDValidity + 7
	np := must(r.RestoreMailbox(ctx, a.ID, pd))(t)
	if np.NoSelect || np.UIDValidity != p.UIDValidity+7 {
		t.Fatalf("restored over the placeholder: %+v", np)
	}
	if c := h.mailbox(a.ID, "p/c"); c.ID != pc.ID {
		t.Fatalf("the placeholder's child changed: %+v", c)
	}

	// What the store could not hold.
	for _, bad := range []struct {
		d    store.MailboxDump
		want error
	}{
		{store.MailboxDump{Mailbox: store.Mailbox{Name: "x//y", UIDValidity: 9, UIDNext: 1, HighestModSeq: 1}}, store.ErrInvalidName},
		{store.MailboxDump{Mailbox: store.Mailbox{Name: "inbox", UIDValidity: 9, UIDNext: 1, HighestModSeq: 1}}, store.ErrInvalidName},
		{store.MailboxDump{Mailbox: store.Mailbox{Name: "x", UIDValidity: 9, UIDNext: 1, HighestModSeq: 1, SpecialUse: `\Bogus`}}, store.ErrSpecialUseInvalid},
	} {
		_, err := r.RestoreMailbox(ctx, a.ID, bad.d)
		wantErr(t, err, bad.want)
	}
	if _, err := r.RestoreMailbox(ctx, a.ID, store.MailboxDump{Mailbox: store.Mailbox{Name: "x", UIDNext: 1, HighestModSeq: 1}}); err == nil {
		t.Fatal("RestoreMailbox with UIDVALIDITY 0 succeeded")
	}
	_, err = r.RestoreMailbox(ctx, a.ID+1000, store.MailboxDump{Mailbox: store.Mailbox{Name: "x", UIDValidity: 9, UIDNext: 1, HighestModSeq: 1}})
	wantErr(t, err, store.ErrNoSuchAccount)
}
